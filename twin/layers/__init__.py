"""OGC API Features (Parts 1–4) and Tiles (MVT) over the spatial tables."""

from twin.layers.registry import COLLECTIONS, Collection, collection

__all__ = ["COLLECTIONS", "Collection", "collection"]
