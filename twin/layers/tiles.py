"""OGC API - Tiles: Mapbox vector tiles of the collections, per collection or all layers of the campus.

Tile matrix sets come from morecantile (WebMercatorQuad, WorldCRS84Quad). A tile is rendered by
twin.layers.tiles_sql on the caller's scoped connection and kept in the per-process cache of
twin.layers.tile_cache under the caller's jurisdiction; `invalidate` drops the tiles an edit touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import morecantile
from morecantile import TileMatrixSet
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access import Caller
from twin.access.roles import Role
from twin.access.scope import planner_scope
from twin.errors import InvalidInput, NotFound
from twin.layers.registry import COLLECTIONS, Collection, collection
from twin.layers.tile_cache import BBox, RenderedTile, TileCache, TileKey, rendered
from twin.layers.tiles_sql import TileWindow, field_types, render, visible_extent

MVT = "application/vnd.mapbox-vector-tile"
MATRIX_SETS: dict[str, int] = {"WebMercatorQuad": 3857, "WorldCRS84Quad": 4326}  # id -> PostGIS SRID
# Written by writers that never call invalidate() (sensors, bus positions): rendered on every request,
# their layers appended to the cached ones.
# Patrol checkpoints carry their coverage, which the scheduler changes in another table: never cached.
VOLATILE = frozenset({"vehicles", "alerts", "patrol_checkpoints", "patrol_visits"})
WORLD: BBox = (-180.0, -90.0, 180.0, 90.0)


class TileSettings(BaseSettings):
    """Vector tiles: MVT geometry, per-tile limits and the cache (environment `TWIN_TILES_*`)."""

    model_config = SettingsConfigDict(env_prefix="TWIN_TILES_")

    extent: int = 4096
    buffer: int = 256
    max_features: int = 20_000  # per layer and tile
    max_zoom: int = 22
    cache_bytes: int = 64 * 1024 * 1024
    cache_ttl_s: float = 300.0
    max_age_s: int = 60  # Cache-Control: private, max-age
    listen: bool = True  # drop tiles on every worker when any process commits a change (tile_events)


@lru_cache(maxsize=1)
def tile_settings() -> TileSettings:
    return TileSettings()


@lru_cache(maxsize=1)
def tile_cache() -> TileCache:
    s = tile_settings()
    return TileCache(s.cache_bytes, s.cache_ttl_s)


def matrix_set(tms_id: str) -> TileMatrixSet:
    """The tile matrix set by its id; 404 naming those served."""
    if tms_id not in MATRIX_SETS:
        raise NotFound(f"no tile matrix set {tms_id!r}; tile matrix sets: {', '.join(MATRIX_SETS)}")
    return _matrix_set(tms_id)


@lru_cache
def _matrix_set(tms_id: str) -> TileMatrixSet:
    # morecantile hands out a deep copy on every get(): a third of a cold tile's time before this cache.
    return morecantile.tms.get(tms_id)


def max_zoom(tms: TileMatrixSet) -> int:
    return min(tms.maxzoom, tile_settings().max_zoom)


def check_tile(tms_id: str, z: int, x: int, y: int) -> morecantile.Tile:
    """The tile, if it exists in the tile matrix set; 404 naming the valid range otherwise."""
    tms = matrix_set(tms_id)
    top = max_zoom(tms)
    if not tms.minzoom <= z <= top:
        raise NotFound(f"zoom {z} is outside {tms_id}: z must be {tms.minzoom}–{top}", field="z")
    matrix = tms.matrix(z)
    if not 0 <= x < matrix.matrixWidth:
        raise NotFound(f"x {x} is outside {tms_id} at z {z}: x must be 0–{matrix.matrixWidth - 1}", field="x")
    if not 0 <= y < matrix.matrixHeight:
        top_row = matrix.matrixHeight - 1
        raise NotFound(f"y {y} is outside {tms_id} at z {z}: y must be 0–{top_row}", field="y")
    return morecantile.Tile(x, y, z)


def layer_ids(param: str | None) -> tuple[str, ...]:
    """The collections asked for with `collections=a,b` (all of them when absent), in registry order."""
    if not param:
        return tuple(COLLECTIONS)
    asked = {p.strip() for p in param.split(",") if p.strip()}
    unknown = sorted(asked - COLLECTIONS.keys())
    if unknown:
        raise InvalidInput(
            f"unknown collections {', '.join(unknown)}; collections: {', '.join(COLLECTIONS)}",
            field="collections",
        )
    return tuple(c for c in COLLECTIONS if c in asked)


@lru_cache(maxsize=65_536)
def _tile_bounds(tms_id: str, z: int, x: int, y: int) -> Any:
    return _matrix_set(tms_id).bounds(morecantile.Tile(x, y, z))


def buffered_bounds(tms_id: str, z: int, x: int, y: int) -> BBox:
    """The tile's lon/lat box grown by twice the MVT buffer: what any feature drawn in it must touch."""
    b = _tile_bounds(tms_id, z, x, y)
    s = tile_settings()
    grow = 2 * s.buffer / s.extent
    dx, dy = (b.right - b.left) * grow, (b.top - b.bottom) * grow
    return (
        max(b.left - dx, -180.0),
        max(b.bottom - dy, -90.0),
        min(b.right + dx, 180.0),
        min(b.top + dy, 90.0),
    )


def _window(tms_id: str, tile: morecantile.Tile) -> TileWindow:
    s = tile_settings()
    srid = MATRIX_SETS[tms_id]
    native = None
    if tms_id != "WebMercatorQuad":  # ST_TileEnvelope knows Web Mercator only
        xy = matrix_set(tms_id).xy_bounds(tile)
        native = (xy.left, xy.bottom, xy.right, xy.top)
    return TileWindow(
        z=tile.z,
        x=tile.x,
        y=tile.y,
        srid=srid,
        bounds=native,
        prefilter=buffered_bounds(tms_id, tile.z, tile.x, tile.y),
        extent=s.extent,
        buffer=s.buffer,
        limit=s.max_features,
    )


def scope_key(caller: Caller) -> str | None:
    """The cache's name for what the caller may see; None when their tiles must not be shared or kept."""
    if caller.role is Role.parent:  # a parent sees their own child's bus: per person, and it moves
        return None
    return "whole" if caller.whole else caller.org_path


async def tile(
    conn: AsyncConnection, caller: Caller, tms_id: str, z: int, x: int, y: int, layers: tuple[str, ...]
) -> RenderedTile:
    """The MVT of `layers` in tile z/x/y as `caller` may see it; its steady layers from the cache."""
    t = check_tile(tms_id, z, x, y)
    for c in layers:
        collection(c)
    steady = tuple(c for c in layers if c not in VOLATILE)
    moving = [collection(c) for c in layers if c in VOLATILE]
    part = await _steady(conn, caller, tms_id, t, steady) if steady else None
    if not moving and part is not None:
        return part
    fresh = await render(conn, moving, _window(tms_id, t), planner_scope(caller))
    return rendered((part.content if part else b"") + fresh)


def cached_tile(
    database: str, caller: Caller, tms_id: str, z: int, x: int, y: int, layers: tuple[str, ...]
) -> RenderedTile | None:
    """The tile from the cache without touching the database, when every layer of it is cacheable."""
    scope = scope_key(caller)
    if scope is None or any(c in VOLATILE for c in layers):
        return None
    t = check_tile(tms_id, z, x, y)
    for c in layers:
        collection(c)
    return tile_cache().get(TileKey(database, scope, tms_id, t.z, t.x, t.y, layers))


def database_key(url: Any) -> str:
    return f"{url.host}:{url.port}/{url.database}"


async def _steady(
    conn: AsyncConnection, caller: Caller, tms_id: str, t: morecantile.Tile, layers: tuple[str, ...]
) -> RenderedTile:
    scope = scope_key(caller)
    database = database_key(conn.engine.url)
    key = None if scope is None else TileKey(database, scope, tms_id, t.z, t.x, t.y, layers)
    cache = tile_cache()
    if key is not None and (hit := cache.get(key)) is not None:
        return hit
    generation = cache.generation
    chosen = [collection(c) for c in layers]
    result = rendered(await render(conn, chosen, _window(tms_id, t), planner_scope(caller)))
    if key is not None:
        cache.put(key, result, generation)
    return result


def invalidate(collection_id: str, *bboxes: tuple[float, float, float, float]) -> int:
    """Drop the cached tiles of `collection_id` touching any lon/lat bbox; returns how many were dropped.

    Call after an edit commits, with the feature's box before and after the edit. Covers every zoom and
    tile matrix set and every jurisdiction held by this process (the cache is per process), and the
    collections derived from this one (four_colour from risk_zones and risk_points; a risk point's box
    covers its zone, see twin.layers.edits.bbox_columns). Levels raised by the database (hazards, alerts
    on dynamic risks) arrive through the tile listener (twin.layers.tile_events), with the zones' boxes.
    """
    dropped = 0
    for cid in (collection_id, *(c.id for c in COLLECTIONS.values() if collection_id in c.derived_from)):
        dropped += tile_cache().invalidate(cid, bboxes, lambda k: buffered_bounds(k.tms, k.z, k.x, k.y))
    return dropped


# Metadata: tile matrix sets, tilesets, TileJSON.


@dataclass(frozen=True)
class Links:
    """Absolute URLs of the tiles API, from the request's base URL."""

    base: str  # no trailing slash

    def tileset(self, tms_id: str, collection_id: str | None) -> str:
        prefix = f"/collections/{collection_id}" if collection_id else ""
        return f"{self.base}{prefix}/tiles/{tms_id}"

    def template(self, tms_id: str, collection_id: str | None, layers: tuple[str, ...] | None = None) -> str:
        url = self.tileset(tms_id, collection_id) + "/{z}/{x}/{y}"
        if layers and collection_id is None and layers != tuple(COLLECTIONS):
            url += "?collections=" + ",".join(layers)
        return url


def matrix_sets(links: Links) -> dict[str, Any]:
    return {
        "tileMatrixSets": [
            {
                "id": tms_id,
                "title": _matrix_set(tms_id).title,
                "uri": _matrix_set(tms_id).uri,
                "links": [
                    {
                        "rel": "self",
                        "type": "application/json",
                        "href": f"{links.base}/tileMatrixSets/{tms_id}",
                    }
                ],
            }
            for tms_id in MATRIX_SETS
        ]
    }


def matrix_set_document(tms_id: str) -> dict[str, Any]:
    document: dict[str, Any] = matrix_set(tms_id).model_dump(mode="json", exclude_none=True, by_alias=True)
    return document


def tileset(links: Links, tms_id: str, collection_id: str | None) -> dict[str, Any]:
    """A tileset's description (OGC API Tiles `tileSet`), for one collection or the campus dataset."""
    tms = matrix_set(tms_id)
    title = collection(collection_id).title if collection_id else "Campus"
    return {
        "title": f"{title} ({tms_id})",
        "dataType": "vector",
        "crs": tms.crs.srs if hasattr(tms.crs, "srs") else str(tms.crs),
        "tileMatrixSetURI": tms.uri,
        "links": [
            {"rel": "self", "type": "application/json", "href": links.tileset(tms_id, collection_id)},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                "type": "application/json",
                "href": f"{links.base}/tileMatrixSets/{tms_id}",
            },
            {
                "rel": "item",
                "type": MVT,
                "templated": True,
                "href": links.template(tms_id, collection_id),
            },
            {
                "rel": "describedby",
                "type": "application/json",
                "href": links.tileset(tms_id, collection_id) + "/tilejson.json",
            },
        ],
    }


def tilesets(links: Links, collection_id: str | None) -> dict[str, Any]:
    if collection_id:
        collection(collection_id)
    return {"tilesets": [tileset(links, tms_id, collection_id) for tms_id in MATRIX_SETS]}


def vector_layer(c: Collection, tms: TileMatrixSet) -> dict[str, Any]:
    return {
        "id": c.id,
        "description": c.description,
        "geometry_type": c.geometry_type,
        "minzoom": tms.minzoom,
        "maxzoom": max_zoom(tms),
        "fields": field_types(c),
    }


async def tilejson(
    conn: AsyncConnection,
    caller: Caller,
    links: Links,
    tms_id: str,
    collection_id: str | None,
    layers: tuple[str, ...],
) -> dict[str, Any]:
    """TileJSON 3.0.0 of a tileset, its bounds those of what the caller can see."""
    tms = matrix_set(tms_id)
    chosen = [collection(collection_id)] if collection_id else [collection(c) for c in layers]
    bounds = await visible_extent(conn, chosen, planner_scope(caller)) or WORLD
    top = max_zoom(tms)
    return {
        "tilejson": "3.0.0",
        "name": chosen[0].title if collection_id else "Campus",
        "description": chosen[0].description if collection_id else "Every spatial layer of the campus",
        "scheme": "xyz",
        "tiles": [links.template(tms_id, collection_id, layers)],
        "minzoom": tms.minzoom,
        "maxzoom": top,
        "bounds": list(bounds),
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, min(17, top)],
        "vector_layers": [vector_layer(c, tms) for c in chosen],
    }
