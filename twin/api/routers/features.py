"""OGC API - Features, Parts 1–3 (read): landing page, conformance, collections, queryables, items.

The landing page and the conformance list are public; everything that shows data needs a signed-in
caller (`Scoped`), and row-level security limits it to the caller's jurisdiction.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from twin.api.deps import Scoped
from twin.errors import NotFound
from twin.layers import features as doc
from twin.layers import params as p
from twin.layers import past, queries
from twin.layers.registry import COLLECTIONS, collection


def _query_doc(names: tuple[str, ...]) -> dict[str, Any]:
    return {
        "parameters": [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in names
        ]
    }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _html(request: Request) -> bool:
    return doc.wants_html(request.query_params.get("f"), request.headers.get("accept", ""))


def _page(
    request: Request,
    page: str,
    body: dict[str, Any],
    allowed: tuple[str, ...] = p.PAGE_PARAMS,
    media_type: str = doc.JSON,
    **context: Any,
) -> Response:
    p.check_known(request.query_params, allowed)
    if _html(request):
        return HTMLResponse(doc.render(page, doc=body, base=_base(request), **context))
    return JSONResponse(body, media_type=media_type)


def features_router() -> APIRouter:
    router = APIRouter(tags=["features"])

    @router.get("/", summary="Landing page", openapi_extra=_query_doc(p.PAGE_PARAMS))
    async def landing(request: Request) -> Response:
        return _page(request, "landing", doc.landing(_base(request)))

    @router.get("/conformance", summary="Conformance classes", openapi_extra=_query_doc(p.PAGE_PARAMS))
    async def conformance(request: Request) -> Response:
        return _page(request, "conformance", doc.conformance(_base(request)))

    @router.get("/collections", summary="Feature collections", openapi_extra=_query_doc(p.PAGE_PARAMS))
    async def collections(request: Request, scoped: Scoped) -> Response:
        base = _base(request)
        docs = [
            doc.collection_doc(c, await queries.extent(scoped.conn, c, scoped.caller), base)
            for c in COLLECTIONS.values()
        ]
        return _page(request, "collections", doc.collections_doc(docs, base))

    @router.get(
        "/collections/{collection_id}",
        summary="A feature collection",
        openapi_extra=_query_doc(p.PAGE_PARAMS),
    )
    async def one_collection(request: Request, collection_id: str, scoped: Scoped) -> Response:
        c = collection(collection_id)
        extent = await queries.extent(scoped.conn, c, scoped.caller)
        return _page(request, "collection", doc.collection_doc(c, extent, _base(request)))

    @router.get(
        "/collections/{collection_id}/queryables",
        summary="What a filter may name",
        openapi_extra=_query_doc(p.PAGE_PARAMS),
    )
    async def queryables(request: Request, collection_id: str, scoped: Scoped) -> Response:
        c = collection(collection_id)
        return _page(request, "queryables", doc.queryables_doc(c, _base(request)), media_type=doc.SCHEMA)

    @router.get(
        "/collections/{collection_id}/items",
        summary="Features (bbox, datetime, filter, sortby, crs)",
        openapi_extra=_query_doc(p.ITEMS_PARAMS),
    )
    async def items(request: Request, collection_id: str, scoped: Scoped) -> Response:
        c = collection(collection_id)
        params = dict(request.query_params)
        query, spec = p.items_query(params, c)
        query = await past.at_instant(scoped.conn, c, query, scoped.caller)
        found = await queries.features(scoped.conn, c, replace(query, limit=query.limit + 1), scoped.caller)
        matched = queries.matched_from_page(query.offset, query.limit, len(found))
        if matched is None:
            matched = await queries.number_matched(scoped.conn, c, query.where, scoped.caller, query.ctes)
        more = len(found) > query.limit
        found = found[: query.limit]
        url = f"{_base(request)}/collections/{c.id}"
        links = doc.page_links(f"{url}/items", params, query.offset, query.limit, more)
        body = doc.feature_collection(found, matched, links, url)
        return _feature_response(request, "items", body, spec.uri, c.title, c.id)

    @router.get(
        "/collections/{collection_id}/items/{fid}",
        summary="One feature",
        openapi_extra=_query_doc(p.ITEM_PARAMS),
    )
    async def item(request: Request, collection_id: str, fid: str, scoped: Scoped) -> Response:
        c = collection(collection_id)
        p.check_known(request.query_params, p.ITEM_PARAMS)
        spec = p.crs_param(request.query_params.get("crs"))
        number = _fid(fid, c.id)
        row = await queries.feature(scoped.conn, c, number, p.output(spec), scoped.caller)
        if row is None:
            raise _missing(fid, c.id)
        url = f"{_base(request)}/collections/{c.id}"
        response = _feature_response(
            request, "item", doc.feature_doc(row[0], f"{url}/items/{fid}", url), spec.uri, c.title, c.id
        )
        if row[1] is not None:
            response.headers["ETag"] = f'"{number}-{row[1]}"'
        return response

    return router


def _feature_response(
    request: Request, page: str, body: str, crs_uri: str, title: str, collection_id: str
) -> Response:
    headers = {"Content-Crs": f"<{crs_uri}>"}
    if _html(request):
        html = doc.render(
            page, doc=json.loads(body), base=_base(request), title=title, collection_id=collection_id
        )
        return HTMLResponse(html, headers=headers)
    return Response(body, media_type=doc.GEOJSON, headers=headers)


def _missing(fid: str, collection_id: str) -> NotFound:
    # The same answer whether the feature does not exist or is outside the caller's jurisdiction.
    return NotFound(f"no feature {fid!r} in collection {collection_id!r}")


def _fid(fid: str, collection_id: str) -> int:
    if not fid.isdigit() or int(fid) > 2**31 - 1:
        raise _missing(fid, collection_id)
    return int(fid)
