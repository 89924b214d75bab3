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


def _scope(caller: Caller | None) -> dict[str, Any]:
    """The planner's copy of the scope; None for the schema owner (the CLI), whom RLS does not filter."""
    return {"scope": planner_scope(caller) if caller is not None else None}


SCOPE = "(CAST(:scope AS ltree) IS NULL OR org_path <@ CAST(:scope AS ltree))"


async def campus(conn: AsyncConnection, caller: Caller | None, code: str) -> CampusRef:
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
    conn: AsyncConnection, caller: Caller | None, c: CampusRef, utility: str, *, snap_m: float
) -> Network:
    """The utility's network on the campus: nodes, segments, devices and service connections."""
    params = {"campus": c.id, "utility": utility, "srid": c.metric_srid, **_scope(caller)}
    where = f"campus_id = :campus AND utility = :utility AND {SCOPE}"
    nodes = await conn.execute(
        text(
            "SELECT id, code, kind, ground_elev_m, ST_X(g) AS x, ST_Y(g) AS y FROM"
            f" (SELECT *, ST_Transform(geom, CAST(:srid AS integer)) AS g FROM pipe_nodes WHERE {where}) n"
        ),
        params,
    )
    links = await conn.execute(
        text(
            "SELECT id, code, start_node_id, end_node_id, status, diameter_mm, start_depth_m, end_depth_m,"
            " depth_ref, material, pressure_class,"
            " ST_AsGeoJSON(ST_Transform(geom, CAST(:srid AS integer)), 3) AS line"
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
        [Node(r.id, r.kind, (r.x, r.y), r.ground_elev_m, r.code) for r in nodes],
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
        r.material,
        r.pressure_class,
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


async def features(
    conn: AsyncConnection, table: str, ids: list[Any], columns: str, **params: Any
) -> list[dict[str, Any]]:
    """GeoJSON features (CRS84) of `ids` from one of the network tables; `columns` are the property pairs
    (constants of this package, with `params` bound)."""
    if table not in {"pipe_segments", "pipe_nodes", "valves"} or not ids:
        return []
    rows = await conn.execute(
        text(
            f"SELECT json_build_object('type', 'Feature', 'id', id, 'geometry',"
            f" ST_AsGeoJSON(geom, 7)::json, 'properties', json_build_object({columns}))::text AS f"
            f" FROM {table} WHERE id = ANY(:ids) ORDER BY id"
        ),
        {"ids": list(ids), **params},
    )
    return [json.loads(r.f) for r in rows]


@dataclass(frozen=True)
class DemRef:
    path: str
    srid: int


async def dem(conn: AsyncConnection, c: CampusRef) -> DemRef | None:
    row = (
        await conn.execute(
            text("SELECT path, srid FROM campus_rasters WHERE campus_id = :c AND kind = 'dem'"), {"c": c.id}
        )
    ).first()
    return DemRef(row.path, row.srid) if row else None


async def end_ground(conn: AsyncConnection, pipe: int) -> tuple[float | None, float | None]:
    """Ground elevation recorded at survey at the pipe's two end nodes."""
    row = (
        await conn.execute(
            text(
                "SELECT a.ground_elev_m AS a, b.ground_elev_m AS b FROM pipe_segments s"
                " LEFT JOIN pipe_nodes a ON a.id = s.start_node_id"
                " LEFT JOIN pipe_nodes b ON b.id = s.end_node_id"
                " WHERE s.id = :id"
            ),
            {"id": pipe},
        )
    ).one()
    return row.a, row.b


@dataclass(frozen=True)
class NearbyPipe:
    utility: str
    link: Link
    pressure: str | None


async def pipes_near(
    conn: AsyncConnection, caller: Caller, c: CampusRef, utility: str, pipe: int, within_m: float
) -> list[NearbyPipe]:
    """Every other utility's segment on the campus within `within_m` metres of `pipe`, in the metric CRS."""
    rows = await conn.execute(
        text(
            "WITH p AS (SELECT ST_Transform(geom, CAST(:srid AS integer)) AS g"
            " FROM pipe_segments WHERE id = :id)"
            " SELECT s.id, s.code, s.utility, s.start_node_id, s.end_node_id, s.status, s.diameter_mm,"
            " s.start_depth_m, s.end_depth_m, s.depth_ref, s.pressure_class, s.material,"
            " ST_AsGeoJSON(ST_Transform(s.geom, CAST(:srid AS integer)), 3) AS line"
            " FROM pipe_segments s, p WHERE s.campus_id = :campus AND s.utility <> :utility"
            f" AND {SCOPE.replace('org_path', 's.org_path')}"
            " AND ST_DWithin(ST_Transform(s.geom, CAST(:srid AS integer)), p.g, :within)"
        ),
        {
            "id": pipe,
            "srid": c.metric_srid,
            "campus": c.id,
            "utility": utility,
            "within": within_m,
            **_scope(caller),
        },
    )
    return [NearbyPipe(r.utility, _link(r), r.pressure_class) for r in rows]


async def building_points(conn: AsyncConnection, ids: list[Any], srid: int) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = await conn.execute(
        text(
            "SELECT id, code, name, ST_X(c) AS x, ST_Y(c) AS y, ST_X(l) AS lon, ST_Y(l) AS lat FROM"
            " (SELECT id, code, name, ST_Transform(ST_PointOnSurface(geom), CAST(:srid AS integer)) AS c,"
            "  ST_PointOnSurface(geom) AS l FROM buildings WHERE id = ANY(:ids)) b ORDER BY code"
        ),
        {"ids": list(ids), "srid": srid},
    )
    return [
        {"id": r.id, "code": r.code, "name": r.name, "xy": [r.x, r.y], "position": [r.lon, r.lat]}
        for r in rows
    ]


async def store_plan(
    conn: AsyncConnection, caller: Caller, c: CampusRef, utility: str, pipe: int, request: dict[str, Any],
    plan: dict[str, Any], top_wkt: str, srid: int,
) -> int:  # fmt: skip
    return int(
        (
            await conn.execute(
                text(
                    "INSERT INTO excavation_plans (org_path, campus_id, utility, segment_id, created_by,"
                    " request, plan, geom) VALUES (CAST(:org AS ltree), :campus, :utility, :pipe, :user,"
                    " CAST(:request AS jsonb), CAST(:plan AS jsonb),"
                    " ST_Transform(ST_GeomFromText(:wkt, CAST(:srid AS integer)), 4326))"
                    " RETURNING id"
                ),
                {
                    "org": c.org_path,
                    "campus": c.id,
                    "utility": utility,
                    "pipe": pipe,
                    "user": caller.user_id,
                    "request": json.dumps(request),
                    "plan": json.dumps(plan),
                    "wkt": top_wkt,
                    "srid": srid,
                },
            )
        ).scalar_one()
    )


async def stored_plan(conn: AsyncConnection, caller: Caller, plan_id: int) -> dict[str, Any]:
    row = (
        await conn.execute(
            text(f"SELECT plan FROM excavation_plans WHERE id = :id AND {SCOPE}"),
            {"id": plan_id, **_scope(caller)},
        )
    ).first()
    if row is None:
        raise NotFound(f"no excavation plan {plan_id} in your jurisdiction")
    plan: dict[str, Any] = row.plan
    return plan
