"""Statistics over HTTP: counts by org level and period, H3 hex bins, Gi* hot spots; files and pictures.

Thin: parse, call twin.stats, render. Every number is of the caller's jurisdiction only (row-level
security on the facts; groups named only inside the caller's own subtree).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from twin.api.deps import Scoped, Statistics, get_settings
from twin.api.routers.hazards import clock
from twin.config import StatsSettings
from twin.errors import InvalidInput
from twin.stats import exports, images, service
from twin.stats.json_rows import json_document
from twin.stats.parallel import Parallel
from twin.stats.queries import GROUPS
from twin.stats.topics import describe

GEOJSON = "application/geo+json"
Formats = Literal["json", "geojson", "csv", "xlsx", "gpkg", "parquet", "png", "svg"]
Period = Annotated[
    str | None,
    Query(
        description="2026, 2026-Q2, 2026-05, 2026-05-17 or 2026-03-01/2026-06-30 (local dates, end included)"
    ),
]
Resolution = Annotated[int, Query(description="H3 resolution, 4 (≈23 km) to 10 (≈66 m)")]


def _cache(request: Request) -> service.HotspotCache:
    cache = getattr(request.app.state, "hotspot_cache", None)
    if cache is None:
        cache = request.app.state.hotspot_cache = service.HotspotCache(
            get_settings(request).stats.hotspot_cache_s
        )
    return cache


def _download(content: bytes, media: str, name: str) -> Response:
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _picture(result: service.Result, f: str, view: str, measure: str | None) -> Response:
    measures = result.topic.columns
    chosen = measure or measures[0]
    if chosen not in measures:
        raise InvalidInput(
            f"measure: {result.topic.name} has {', '.join(measures)}, not {chosen!r}", field="measure"
        )
    title = f"{result.topic.title} — by {result.query.group_by}"
    if view == "map":
        frame = exports.to_frame(result.rows, result.columns)
        return Response(images.choropleth(frame, chosen, title, f), media_type=images.FORMATS[f])
    shown = [chosen] if measure else list(result.topic.measures)
    return Response(images.bar_chart(result.rows, shown, title, f), media_type=images.FORMATS[f])


def stats_router() -> APIRouter:
    router = APIRouter(tags=["statistics"])

    @router.get("/stats", summary="The statistics there are: topics, measures, splits, group levels")
    async def topics(scoped: Scoped) -> Any:
        service.check_reader(scoped.caller)
        return {"topics": describe(), "groups": list(GROUPS)}

    @router.get("/stats/hexbins", summary="Counts per H3 hexagon (GeoJSON)")
    async def hexbins(
        scoped: Scoped, request: Request, topic: str = "hazards", res: Resolution = 7, period: Period = None
    ) -> Response:
        settings = get_settings(request).stats
        body = await service.hexbins(scoped.conn, scoped.caller, topic, res, period, settings)
        return JSONResponse(body, media_type=GEOJSON)

    @router.get("/stats/hotspots", summary="Hot and cold spots by Getis-Ord Gi* over H3 cells (GeoJSON)")
    async def hotspots(
        scoped: Scoped, request: Request, topic: str = "hazards", res: Resolution = 7, period: Period = None
    ) -> Response:
        settings = get_settings(request).stats
        body = await service.hotspots(
            scoped.conn, scoped.caller, topic, res, period, settings, _cache(request)
        )
        return JSONResponse(body, media_type=GEOJSON)

    @router.get("/stats/{topic}", summary="A statistic by province, city, county or school, and by period")
    async def statistic(
        topic: str,
        scoped: Statistics,  # planned for its values, in the scope's round trip; parts on the same pool
        request: Request,
        group_by: Literal["province", "city", "county", "school"] = "school",
        period: Period = None,
        per: Annotated[
            Literal["day", "week", "month", "quarter", "year"] | None, Query(description="time buckets")
        ] = None,
        split: Annotated[str | None, Query(description="a second key: category, type, grade, kind…")] = None,
        f: Formats = "json",
        view: Annotated[Literal["chart", "map"], Query(description="for png/svg")] = "chart",
        measure: Annotated[str | None, Query(description="the measure a picture shows")] = None,
        within: Annotated[
            str | None, Query(description="an org unit's code: only the groups under it (drill-down)")
        ] = None,
    ) -> Response:
        query = service.Query(topic, group_by, period, per, split, within)
        settings = get_settings(request).stats
        if f == "json":
            return await _json(scoped, request, query, clock(request), settings)
        spatial = f in (*exports.SPATIAL, "geojson") or (f in images.FORMATS and view == "map")
        result = await service.statistic(
            scoped.conn, scoped.caller, query, clock(request), settings, geometry=spatial
        )
        if f in images.FORMATS:
            return _picture(result, f, view, measure)
        if f == "geojson":
            meta = {
                "topic": topic,
                "title": result.topic.title,
                "group_by": group_by,
                "period": period,
            }
            return JSONResponse(
                exports.feature_collection(result.rows, result.columns, **meta, within=within),
                media_type=GEOJSON,
            )
        content = exports.export(result.rows, result.columns, f, f"{topic}_by_{group_by}")
        return _download(content, exports.FORMATS[f], f"{topic}-by-{group_by}.{f}")

    return router


async def _json(
    scoped: Statistics, request: Request, query: service.Query, now: datetime, settings: StatsSettings
) -> Response:
    """The statistic as JSON: the rows array comes from PostgreSQL as text and is spliced in unparsed;
    a large one by school is built in parts at once (twin.stats.parallel), said in `Twin-Stats-Parts`."""
    parallel = Parallel(scoped.parts, request.app.state.stats_split_cache)
    result = await service.statistic_json(scoped.conn, scoped.caller, query, now, settings, parallel)
    body = json_document(query, result.topic.title, result.columns, result.rows)
    return Response(body, media_type="application/json", headers={"Twin-Stats-Parts": str(result.parts)})
