"""OGC API - Features Part 4 (create, replace, update, delete) and the versions of a feature.

Thin: check the media type and size of the body, call twin.layers.edits / versions, render. Each write
commits before it answers, then the tiles it touched are invalidated (twin.layers.edits.finish).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from twin.api.deps import Scoped, get_settings
from twin.crs import CRS84_URI
from twin.errors import PayloadTooLarge, UnsupportedMediaType
from twin.layers import Collection, edits, validate, versions

GEOJSON = "application/geo+json"
FEATURE_TYPES = (GEOJSON, "application/json")
PATCH_TYPES = ("application/merge-patch+json", *FEATURE_TYPES)
ITEM = "/collections/{collection_id}/items/{fid}"

IfMatch = Annotated[str | None, Header(description='ETag of the version you edited: "{fid}-{version}"')]
ContentCrs = Annotated[str | None, Header(description="CRS of the coordinates sent; default CRS84")]


class VersionOut(BaseModel):
    version: int
    operation: str
    changed_by: int | None
    changed_at: datetime


class VersionList(BaseModel):
    collection: str
    id: int
    versions: list[VersionOut]


async def read_body(request: Request, accepted: tuple[str, ...]) -> bytes:
    """The request body, if its media type is one of `accepted` (415) and it is not too large (413)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in accepted:
        raise UnsupportedMediaType(
            f"send the feature as {' or '.join(accepted)}, not {media or 'a body without Content-Type'}",
            accepted=list(accepted),
        )
    limit = get_settings(request).edit.max_feature_bytes
    too_large = PayloadTooLarge(f"a feature may be at most {limit} bytes; simplify or split it", limit=limit)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def feature_response(
    feature: dict[str, Any], change: edits.Change, status: int = 200, **headers: str
) -> Response:
    return JSONResponse(
        jsonable_encoder(feature),
        status_code=status,
        media_type=GEOJSON,
        headers={"ETag": change.etag, "Content-Crs": f"<{CRS84_URI}>", **headers},
    )


def target(collection_id: str, fid: str) -> tuple[Collection, int]:
    c = edits.editable(collection_id)
    return c, edits.feature_id(fid, c)


async def _written(scoped: Scoped, change: edits.Change, status: int = 200, **headers: str) -> Response:
    feature = await edits.read_feature(scoped.conn, edits.editable(change.collection), change.fid)
    await edits.finish(scoped.conn, change)
    return feature_response(feature, change, status, **headers)


def edits_router() -> APIRouter:
    router = APIRouter(tags=["edits"])

    @router.post("/collections/{collection_id}/items", status_code=201, summary="Add a feature")
    async def create(
        collection_id: str, request: Request, scoped: Scoped, content_crs: ContentCrs = None
    ) -> Response:
        c = edits.editable(collection_id)
        raw = await read_body(request, FEATURE_TYPES)
        change = await edits.create(scoped.conn, c, raw, validate.content_crs(content_crs))
        location = f"{str(request.base_url).rstrip('/')}/collections/{c.id}/items/{change.fid}"
        return await _written(scoped, change, 201, Location=location)

    @router.put(ITEM, summary="Replace a feature (If-Match required)")
    async def replace(
        collection_id: str,
        fid: str,
        request: Request,
        scoped: Scoped,
        if_match: IfMatch = None,
        content_crs: ContentCrs = None,
    ) -> Response:
        c, n = target(collection_id, fid)
        raw = await read_body(request, FEATURE_TYPES)
        change = await edits.replace(scoped.conn, c, n, if_match, raw, validate.content_crs(content_crs))
        return await _written(scoped, change)

    @router.patch(ITEM, summary="Change a feature with a JSON merge patch (If-Match required)")
    async def patch(
        collection_id: str,
        fid: str,
        request: Request,
        scoped: Scoped,
        if_match: IfMatch = None,
        content_crs: ContentCrs = None,
    ) -> Response:
        c, n = target(collection_id, fid)
        raw = await read_body(request, PATCH_TYPES)
        change = await edits.patch(scoped.conn, c, n, if_match, raw, validate.content_crs(content_crs))
        return await _written(scoped, change)

    @router.delete(ITEM, status_code=204, summary="Delete a feature (If-Match required; restorable)")
    async def remove(collection_id: str, fid: str, scoped: Scoped, if_match: IfMatch = None) -> Response:
        change = await edits.remove(scoped.conn, *target(collection_id, fid), if_match)
        await edits.finish(scoped.conn, change)
        return Response(status_code=204)

    @router.get(f"{ITEM}/versions", response_model=VersionList, summary="Versions of a feature")
    async def list_versions(collection_id: str, fid: str, scoped: Scoped) -> Any:
        c, n = target(collection_id, fid)
        return {"collection": c.id, "id": n, "versions": await versions.list_versions(scoped.conn, c, n)}

    @router.get(f"{ITEM}/versions/{{version}}", summary="One version of a feature, as a GeoJSON Feature")
    async def get_version(collection_id: str, fid: str, version: int, scoped: Scoped) -> Response:
        feature = await versions.get_version(scoped.conn, *target(collection_id, fid), version)
        return JSONResponse(jsonable_encoder(feature), media_type=GEOJSON)

    @router.post(f"{ITEM}/versions/{{version}}/restore", summary="Restore a version (If-Match required)")
    async def restore(
        collection_id: str, fid: str, version: int, scoped: Scoped, if_match: IfMatch = None
    ) -> Response:
        change = await versions.restore(scoped.conn, *target(collection_id, fid), version, if_match)
        return await _written(scoped, change)

    return router
