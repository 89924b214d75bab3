"""Every SQL statement of the pipes domain, with bound parameters.

Row-level security limits each statement to the caller's jurisdiction (a sibling school's pipe simply is
not there: 404); the `org_path <@ :scope` copies are for the planner (twin.access.scope.planner_scope).
Geometries arrive in the campus metric CRS where lengths and distances matter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access import Caller
from twin.access.scope import planner_scope
from twin.errors import NotFound, UnprocessableContent
from twin.pipes.network import Device, Link, Network, Node, build_network


@dataclass(frozen=True)
class CampusRef:
    id: int
    code: str
    org_path: str
    metric_srid: int


@dataclass(frozen=True)
class Building:
    id: int
    code: str
    name: str


def _scope(caller: Caller) -> dict[str, Any]:
    return {"scope": planner_scope(caller)}


SCOPE = "(CAST(:scope AS ltree) IS NULL OR org_path <@ CAST(:scope AS ltree))"


async def campus(conn: AsyncConnection, caller: Caller, code: str) -> CampusRef:
    """The campus `code` in the caller's jurisdiction, or NotFound."""
    row = (
        await conn.execute(
            text(
                "SELECT id, code, org_path::text AS org_path, metric_srid FROM campuses"
                f" WHERE code = :code AND {SCOPE}"
            ),
            {"code": code, **_scope(caller)},
        )
    ).first()
    if row is None:
        raise NotFound(f"no campus {code!r} in your jurisdiction")
    return CampusRef(row.id, row.code, row.org_path, row.metric_srid)


async def load_network(
    conn: AsyncConnection, caller: Caller, c: CampusRef, utility: str, *, snap_m: float
) -> Network:
    """The utility's network on the campus: nodes, segments, devices and service connections."""
    params = {"campus": c.id, "utility": utility, "srid": c.metric_srid, **_scope(caller)}
    where = f"campus_id = :campus AND utility = :utility AND {SCOPE}"
    nodes = await conn.execute(
        text(
            "SELECT id, kind, ground_elev_m, ST_X(g) AS x, ST_Y(g) AS y FROM"
            f" (SELECT *, ST_Transform(geom, CAST(:srid AS integer)) AS g FROM pipe_nodes WHERE {where}) n"
        ),
        params,
    )
    links = await conn.execute(
        text(
            "SELECT id, code, start_node_id, end_node_id, status, diameter_mm, start_depth_m, end_depth_m,"
            " depth_ref, ST_AsGeoJSON(ST_Transform(geom, CAST(:srid AS integer)), 3) AS line"
            f" FROM pipe_segments WHERE {where}"
        ),
        params,
    )
    devices = await conn.execute(
        text(
            "SELECT id, code, kind, segment_id, node_id, normal_position, operable,"
            " ST_X(g) AS x, ST_Y(g) AS y FROM"
            f" (SELECT *, ST_Transform(geom, CAST(:srid AS integer)) AS g FROM valves WHERE {where}) v"
        ),
        params,
    )
    services = await conn.execute(
        text(f"SELECT node_id, building_id FROM service_connections WHERE {where}"), params
    )
    return build_network(
        utility,
        [Node(r.id, r.kind, (r.x, r.y), r.ground_elev_m) for r in nodes],
        [_link(r) for r in links],
        [
            Device(
                r.id,
                r.segment_id,
                r.node_id,
                r.kind,
                r.normal_position == "open",
                r.operable,
                (r.x, r.y),
                r.code,
            )
            for r in devices
        ],
        [(r.node_id, r.building_id) for r in services],
        snap_m=snap_m,
    )


def _link(r: Any) -> Link:
    coords = tuple((float(x), float(y)) for x, y, *_ in json.loads(r.line)["coordinates"])
    return Link(
        r.id,
        r.start_node_id,
        r.end_node_id,
        r.status == "closed",
        r.diameter_mm,
        r.start_depth_m,
        r.end_depth_m,
        r.depth_ref,
        coords,
        r.code,
    )


async def pipe_id(conn: AsyncConnection, caller: Caller, c: CampusRef, utility: str, pipe: int) -> int:
    """`pipe` if it is a segment of the utility on the campus (and visible to the caller), else NotFound."""
    found = (
        await conn.execute(
            text(
                "SELECT id FROM pipe_segments"
                f" WHERE id = :id AND campus_id = :campus AND utility = :utility AND {SCOPE}"
            ),
            {"id": pipe, "campus": c.id, "utility": utility, **_scope(caller)},
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no {utility} pipe {pipe} on campus {c.code}")
    return int(found)


async def nearest_pipe(
    conn: AsyncConnection, caller: Caller, c: CampusRef, utility: str, lon: float, lat: float, max_m: float
) -> tuple[int, float]:
    """The utility's pipe nearest a clicked point (KNN on the spatial index) and its distance in metres;
    UnprocessableContent when it lies farther than `max_m`."""
    row = (
        await conn.execute(
            text(
                "WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g)"
                " SELECT s.id, ST_Distance(ST_Transform(s.geom, CAST(:srid AS integer)),"
                " ST_Transform(p.g, CAST(:srid AS integer))) AS d"
                f" FROM pipe_segments s, p WHERE s.campus_id = :campus AND s.utility = :utility AND {SCOPE}"
                " ORDER BY s.geom <-> p.g LIMIT 1"
            ),
            {
                "lon": lon,
                "lat": lat,
                "srid": c.metric_srid,
                "campus": c.id,
                "utility": utility,
                **_scope(caller),
            },
        )
    ).first()
    if row is None:
        raise NotFound(f"campus {c.code} has no {utility} pipes")
    if row.d > max_m:
        raise UnprocessableContent(
            f"the nearest {utility} pipe is {row.d:.1f} m from the point; click within {max_m:g} m of a pipe",
            distance_m=round(float(row.d), 1),
            max_snap_m=max_m,
        )
    return int(row.id), float(row.d)


async def buildings(conn: AsyncConnection, ids: list[Any]) -> list[Building]:
    if not ids:
        return []
    rows = await conn.execute(
        text("SELECT id, code, name FROM buildings WHERE id = ANY(:ids) ORDER BY code"), {"ids": list(ids)}
    )
    return [Building(r.id, r.code, r.name) for r in rows]


async def features(conn: AsyncConnection, table: str, ids: list[Any], columns: str) -> list[dict[str, Any]]:
    """GeoJSON features (CRS84) of `ids` from one of the network tables."""
    if table not in {"pipe_segments", "pipe_nodes", "valves"} or not ids:
        return []
    rows = await conn.execute(
        text(
            f"SELECT json_build_object('type', 'Feature', 'id', id, 'geometry',"
            f" ST_AsGeoJSON(geom, 7)::json, 'properties', json_build_object({columns}))::text AS f"
            f" FROM {table} WHERE id = ANY(:ids) ORDER BY id"
        ),
        {"ids": list(ids)},
    )
    return [json.loads(r.f) for r in rows]
