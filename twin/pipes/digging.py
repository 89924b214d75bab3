"""The excavation plan as the server makes it: find the pipe, read the DEM, plan, trace isolation, store.

The stored document is what the printable plan and the 3D cut (issue #7) are built from: trench outlines
and the profile in both the campus metric CRS (`metric`) and CRS84 (`geojson`).
"""

from __future__ import annotations

import asyncio
import math
import os
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any

import shapely
from shapely.geometry import mapping
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access import Caller
from twin.config import PipeSettings
from twin.crs import transformer
from twin.errors import UnprocessableContent
from twin.pipes import queries
from twin.pipes.dem import Dem
from twin.pipes.excavation import ExcavationPlan, OtherPipe, TrenchOptions, plan_excavation, search_radius
from twin.pipes.isolation import isolate
from twin.pipes.network import XY, Link, Network
from twin.pipes.trace import CACHE


class NoDem(UnprocessableContent):
    title = "No DEM for the campus"


@dataclass(frozen=True)
class ExcavationQuery:
    campus: str
    utility: str
    pipe_id: int | None = None
    point: tuple[float, float] | None = None
    soil: str | None = None
    load: str = "static"
    shored: bool = False
    length_m: float | None = None
    assumed_depth_m: float | None = None
    failed_valves: tuple[int, ...] = ()


@lru_cache(maxsize=8)
def _dem(path: str, srid: int, mtime: float) -> Dem:
    return Dem(path, srid)


def open_dem(ref: queries.DemRef) -> Dem:
    try:
        mtime = os.stat(ref.path).st_mtime
    except OSError as exc:
        raise NoDem(f"the campus DEM file is missing ({exc.strerror}); load it again with twin load") from exc
    return _dem(ref.path, ref.srid, mtime)


async def create_plan(
    conn: AsyncConnection, caller: Caller, q: ExcavationQuery, settings: PipeSettings
) -> dict[str, Any]:
    """The plan for the pipe (or around the clicked point on it), stored; returned with its id."""
    c = await queries.campus(conn, caller, q.campus)
    if q.pipe_id is not None:
        pipe = await queries.pipe_id(conn, caller, c, q.utility, q.pipe_id)
        around = None
    else:
        assert q.point is not None
        pipe, _ = await queries.nearest_pipe(conn, caller, c, q.utility, *q.point, settings.max_click_m)
        around = _to_metric(q.point, c.metric_srid)
    ref = await queries.dem(conn, c)
    if ref is None:
        raise NoDem(f"campus {c.code} has no DEM: load one with `twin load dem.tif --campus {c.code}`")
    dem = open_dem(ref)
    net = await CACHE.get(conn, caller, c, q.utility, settings.snap_tolerance_m)
    opts = TrenchOptions(
        soil=q.soil or settings.soil,
        load=q.load,
        shored=q.shored,
        bedding_m=settings.bedding_m,
        around=around,
        length_m=q.length_m or settings.point_trench_m,
        survey_ground=await queries.end_ground(conn, pipe),
        assumed_depth_m=q.assumed_depth_m,
        default_clearance_m=settings.default_clearance_m,
    )

    def ground(points: Any) -> list[float | None]:
        return dem.heights(points, c.metric_srid)

    link = oriented(net, pipe)
    others = await queries.pipes_near(conn, caller, c, q.utility, pipe, search_radius(link, opts))

    def work() -> tuple[ExcavationPlan, Any]:
        near = [OtherPipe(o.utility, o.link, o.pressure) for o in others]
        return plan_excavation(link, q.utility, ground, near, opts), isolate(net, pipe, q.failed_valves)

    plan, iso = await asyncio.to_thread(work)
    if q.soil is None:
        plan.assumptions.append(f"soil not given: the configured default, {plan.soil_label}, is assumed")
    doc = await _document(conn, c, q, plan, iso, net, others)
    request = {k: v for k, v in asdict(q).items() if v not in (None, ())}
    plan_id = await queries.store_plan(
        conn, caller, c, q.utility, pipe, request, doc, plan.top.wkt, c.metric_srid
    )
    doc["id"] = plan_id
    return doc


def oriented(net: Network, pipe: Any) -> Link:
    """The link with its line running from its start node to its end node, as its depths are given: a
    surveyor may digitise a line against the direction of 起点/终点."""
    link = net.links[pipe]
    start = net.nodes[link.start].xy
    if start is None or len(link.coords) < 2:
        return link
    if math.dist(start, link.coords[-1]) < math.dist(start, link.coords[0]):
        return replace(link, coords=tuple(reversed(link.coords)))
    return link


def _to_metric(lonlat: tuple[float, float], srid: int) -> XY:
    x, y = transformer(4326, srid).transform(*lonlat)
    return (float(x), float(y))


async def _document(
    conn: AsyncConnection, c: queries.CampusRef, q: ExcavationQuery, plan: ExcavationPlan, iso: Any,
    net: Any, others: list[queries.NearbyPipe],
) -> dict[str, Any]:  # fmt: skip
    to_lonlat = transformer(c.metric_srid, 4326)

    def lonlat(geom: Any) -> dict[str, Any]:
        return dict(mapping(shapely.transform(geom, lambda xy: _lonlat(to_lonlat, xy))))

    valves = [net.devices[v] for v in iso.valves_to_close]
    buildings = await queries.building_points(conn, iso.buildings_out, c.metric_srid)
    conflicts = [asdict(x) for x in plan.conflicts]
    return {
        "campus": c.code,
        "utility": q.utility,
        "pipe": {
            "id": plan.pipe,
            "code": plan.code,
            "diameter_mm": plan.diameter_mm,
            "depth_ref": plan.depth_ref,
        },
        "soil": {"soil": plan.soil, "label": plan.soil_label, "load": plan.load},
        "trench": {
            "walls": plan.walls,
            "length_m": plan.length_m,
            "bottom_width_m": plan.bottom_width_m,
            "working_width_m": plan.working_width_m,
            "bedding_m": plan.bedding_m,
            "max_depth_m": plan.max_depth_m,
            "volume_m3": plan.volume_m3,
            "slope": plan.stations[0].slope,
            "max_top_width_m": max(st.top_width for st in plan.stations),
        },
        "profile": [asdict(st) for st in plan.stations],
        "flags": plan.flags,
        "conflicts": conflicts,
        "valves_to_close": [
            {
                "id": v.id,
                "code": v.code,
                "kind": v.kind,
                "xy": list(v.xy or ()),
                "position": _pos(to_lonlat, v.xy),
            }
            for v in valves
        ],
        "buildings_to_notify": buildings,
        "isolation": {
            "segment_pipes": iso.segment_pipes,
            "unintended_pipes": iso.unintended_pipes,
            "notes": iso.notes,
        },
        "assumptions": plan.assumptions,
        "safety": plan.safety,
        "sources": plan.sources,
        "metric": {
            "srid": c.metric_srid,
            "centreline": list(plan.centreline.coords),
            "top": list(plan.top.exterior.coords),
            "bottom": list(plan.bottom.exterior.coords),
            "pipes": [
                {"id": o.link.id, "code": o.link.code, "utility": o.utility, "coords": list(o.link.coords)}
                for o in others
            ],
        },
        "geojson": {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {"part": "top"}, "geometry": lonlat(plan.top)},
                {"type": "Feature", "properties": {"part": "bottom"}, "geometry": lonlat(plan.bottom)},
                {
                    "type": "Feature",
                    "properties": {"part": "centreline"},
                    "geometry": lonlat(plan.centreline),
                },
            ],
        },
    }


def _lonlat(to_lonlat: Any, xy: Any) -> Any:
    import numpy as np

    lon, lat = to_lonlat.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def _pos(to_lonlat: Any, xy: XY | None) -> list[float]:
    if xy is None:
        return []
    lon, lat = to_lonlat.transform(*xy)
    return [round(lon, 7), round(lat, 7)]
