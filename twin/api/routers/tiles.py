"""OGC API - Tiles: tile matrix sets, tilesets, vector tiles (MVT), TileJSON and the campus style."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from twin.api.deps import Cached, CachedCaller, Scoped, get_engine
from twin.layers import collection, tiles
from twin.layers.tile_cache import RenderedTile
from twin.layers.tile_style import campus_style

CollectionId = Annotated[str, Path(description="A collection id, e.g. buildings")]
Collections = Annotated[
    str | None,
    Query(description="Comma-separated collection ids to draw as layers (default: every collection)"),
]


def _links(request: Request) -> tiles.Links:
    return tiles.Links(str(request.base_url).rstrip("/"))


async def _tile(
    request: Request, who: CachedCaller, tms: str, z: int, x: int, y: int, layers: tuple[str, ...]
) -> RenderedTile:
    """From the cache without a database round trip when possible, else rendered in a scoped transaction."""
    database = tiles.database_key(get_engine(request).url)
    hit = tiles.cached_tile(database, who.caller, tms, z, x, y, layers)
    if hit is not None:
        return hit
    async with who.scoped() as scoped:
        return await tiles.tile(scoped.conn, scoped.caller, tms, z, x, y, layers)


def tile_headers(tile: RenderedTile) -> dict[str, str]:
    return {
        "ETag": tile.etag,
        "Cache-Control": f"private, max-age={tiles.tile_settings().max_age_s}",
        "Vary": "Authorization",
    }


def not_modified(if_none_match: str, tile: RenderedTile) -> bool:
    return tile.etag in {tag.strip() for tag in if_none_match.split(",")} or if_none_match.strip() == "*"


def _tile_response(request: Request, tile: RenderedTile) -> Response:
    headers = tile_headers(tile)
    if not_modified(request.headers.get("if-none-match", ""), tile):
        return Response(status_code=304, headers=headers)
    return Response(tile.content, media_type=tiles.MVT, headers=headers)


def tiles_router() -> APIRouter:
    router = APIRouter(tags=["tiles"])

    @router.get("/tileMatrixSets", summary="The tile matrix sets tiles are served in")
    async def matrix_sets(request: Request) -> dict[str, Any]:
        return tiles.matrix_sets(_links(request))

    @router.get("/tileMatrixSets/{tms}", summary="A tile matrix set's definition (OGC 2D TMS)")
    async def matrix_set(tms: str) -> dict[str, Any]:
        return tiles.matrix_set_document(tms)

    @router.get("/collections/{collection_id}/tiles", summary="A collection's vector tilesets")
    async def collection_tilesets(
        request: Request, collection_id: CollectionId, scoped: Scoped
    ) -> dict[str, Any]:
        return tiles.tilesets(_links(request), collection_id)

    @router.get(
        "/collections/{collection_id}/tiles/{tms}", summary="A collection's tileset in one matrix set"
    )
    async def collection_tileset(
        request: Request, collection_id: CollectionId, tms: str, scoped: Scoped
    ) -> dict[str, Any]:
        collection(collection_id)
        return tiles.tileset(_links(request), tms, collection_id)

    @router.get("/collections/{collection_id}/tiles/{tms}/tilejson.json", summary="TileJSON of a collection")
    async def collection_tilejson(
        request: Request, collection_id: CollectionId, tms: str, scoped: Scoped
    ) -> dict[str, Any]:
        links = _links(request)
        return await tiles.tilejson(scoped.conn, scoped.caller, links, tms, collection_id, (collection_id,))

    @router.get(
        "/collections/{collection_id}/tiles/{tms}/{z}/{x}/{y}",
        summary="A vector tile (MVT) of one collection",
        response_class=Response,
        responses={200: {"content": {tiles.MVT: {}}}, 304: {"description": "Not modified"}},
    )
    async def collection_tile(
        request: Request, collection_id: CollectionId, tms: str, z: int, x: int, y: int, who: Cached
    ) -> Response:
        collection(collection_id)
        return _tile_response(request, await _tile(request, who, tms, z, x, y, (collection_id,)))

    @router.get("/tiles", summary="The campus vector tilesets (every collection as a layer)")
    async def dataset_tilesets(request: Request, scoped: Scoped) -> dict[str, Any]:
        return tiles.tilesets(_links(request), None)

    @router.get("/tiles/{tms}/tilejson.json", summary="TileJSON of the campus tileset")
    async def dataset_tilejson(
        request: Request, tms: str, scoped: Scoped, collections: Collections = None
    ) -> dict[str, Any]:
        layers = tiles.layer_ids(collections)
        return await tiles.tilejson(scoped.conn, scoped.caller, _links(request), tms, None, layers)

    @router.get(
        "/tiles/{tms}/{z}/{x}/{y}",
        summary="A vector tile (MVT) with one layer per collection",
        response_class=Response,
        responses={200: {"content": {tiles.MVT: {}}}, 304: {"description": "Not modified"}},
    )
    async def dataset_tile(
        request: Request, tms: str, z: int, x: int, y: int, who: Cached, collections: Collections = None
    ) -> Response:
        return _tile_response(request, await _tile(request, who, tms, z, x, y, tiles.layer_ids(collections)))

    @router.get("/styles/campus/style.json", summary="A MapLibre style of the campus tileset")
    async def style(request: Request) -> dict[str, Any]:
        url = _links(request).template("WebMercatorQuad", None)
        return campus_style(url, maxzoom=tiles.max_zoom(tiles.matrix_set("WebMercatorQuad")))

    return router
