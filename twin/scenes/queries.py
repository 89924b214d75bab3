"""Every SQL statement of the scenes domain, with bound parameters.

Row-level security limits each statement to the caller's jurisdiction; the `org_path <@ :scope` copies
are for the planner only (twin.access.scope.planner_scope). Geometries come as WKB in lon/lat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access import Caller
from twin.access.scope import planner_scope
from twin.errors import NotFound
from twin.scenes.buildings import BuildingRow
from twin.scenes.pipes import PipeRow

SCOPE = "(CAST(:scope AS ltree) IS NULL OR {t}org_path <@ CAST(:scope AS ltree))"


def _scope(caller: Caller | None) -> dict[str, Any]:
    return {"scope": planner_scope(caller) if caller is not None else None}


BUILDING_COLUMNS = "id, code, name, use, floors, height_m, base_elev_m, ST_AsBinary(geom) AS wkb"


def _where(alias: str = "") -> str:
    return SCOPE.format(t=f"{alias}." if alias else "")


@dataclass(frozen=True)
class CampusRow:
    id: int
    code: str
    name: str
    org_path: str
    metric_srid: int
    lon: float  # a point on the campus: the scene's origin
    lat: float
    bbox: tuple[float, float, float, float]  # lon/lat, for invalidation


async def campus(conn: AsyncConnection, caller: Caller | None, code: str) -> CampusRow:
    """The campus `code` in the caller's jurisdiction, or NotFound."""
    row = (
        await conn.execute(
            text(
                "SELECT id, code, name, org_path::text AS org_path, metric_srid,"
                " ST_X(ST_PointOnSurface(boundary)) AS lon, ST_Y(ST_PointOnSurface(boundary)) AS lat,"
                " ST_XMin(boundary) AS x0, ST_YMin(boundary) AS y0, ST_XMax(boundary) AS x1,"
                f" ST_YMax(boundary) AS y1 FROM campuses WHERE code = :code AND {_where()}"
            ),
            {"code": code, **_scope(caller)},
        )
    ).first()
    if row is None:
        raise NotFound(f"no campus {code!r} in your jurisdiction")
    return CampusRow(
        row.id, row.code, row.name, row.org_path, row.metric_srid, row.lon, row.lat,
        (row.x0, row.y0, row.x1, row.y1),
    )  # fmt: skip


async def buildings(conn: AsyncConnection, caller: Caller | None, campus_id: int) -> list[BuildingRow]:
    rows = await conn.execute(
        text(f"SELECT {BUILDING_COLUMNS} FROM buildings WHERE campus_id = :c AND {_where()} ORDER BY id"),
        {"c": campus_id, **_scope(caller)},
    )
    return [
        BuildingRow(r.id, r.code, r.name, r.use, r.floors, r.height_m, r.base_elev_m, bytes(r.wkb))
        for r in rows
    ]


async def buildings_in_box(
    conn: AsyncConnection, caller: Caller | None, box: tuple[float, float, float, float]
) -> list[BuildingRow]:
    """Buildings whose centre lies in the lon/lat box (half-open, so each building is in one tile)."""
    rows = await conn.execute(
        text(
            f"SELECT {BUILDING_COLUMNS} FROM buildings"
            " WHERE geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
            " AND ST_X(ST_Centroid(geom)) >= :x0 AND ST_X(ST_Centroid(geom)) < :x1"
            " AND ST_Y(ST_Centroid(geom)) >= :y0 AND ST_Y(ST_Centroid(geom)) < :y1"
            f" AND {_where()} ORDER BY id"
        ),
        {"x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3], **_scope(caller)},
    )
    return [
        BuildingRow(r.id, r.code, r.name, r.use, r.floors, r.height_m, r.base_elev_m, bytes(r.wkb))
        for r in rows
    ]


async def extent(
    conn: AsyncConnection, caller: Caller | None
) -> tuple[tuple[float, float, float, float], int] | None:
    """The lon/lat extent of the buildings the caller sees, and how many there are."""
    row = (
        await conn.execute(
            text(
                "SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1, n FROM"
                f" (SELECT ST_Extent(geom) AS e, count(*) AS n FROM buildings WHERE {_where()}) s"
            ),
            _scope(caller),
        )
    ).first()
    if row is None or row.n == 0:
        return None
    return (row.x0, row.y0, row.x1, row.y1), int(row.n)


def _pipe(r: Any) -> PipeRow:
    coords = shapely.get_coordinates(shapely.from_wkb(bytes(r.wkb)))
    return PipeRow(
        r.id, r.code, r.utility, r.diameter_mm, r.start_depth_m, r.end_depth_m, r.depth_ref, r.material,
        [(float(x), float(y)) for x, y in coords],
    )  # fmt: skip


PIPE_COLUMNS = (
    "id, code, utility, diameter_mm, start_depth_m, end_depth_m, depth_ref, material,"
    " ST_AsBinary(geom) AS wkb"
)


async def pipes(conn: AsyncConnection, caller: Caller | None, campus_id: int) -> list[PipeRow]:
    rows = await conn.execute(
        text(f"SELECT {PIPE_COLUMNS} FROM pipe_segments WHERE campus_id = :c AND {_where()} ORDER BY id"),
        {"c": campus_id, **_scope(caller)},
    )
    return [_pipe(r) for r in rows]


async def pipes_by_id(conn: AsyncConnection, caller: Caller | None, ids: list[int]) -> list[PipeRow]:
    if not ids:
        return []
    rows = await conn.execute(
        text(f"SELECT {PIPE_COLUMNS} FROM pipe_segments WHERE id = ANY(:ids) AND {_where()} ORDER BY id"),
        {"ids": ids, **_scope(caller)},
    )
    return [_pipe(r) for r in rows]


async def zones(conn: AsyncConnection, caller: Caller | None, campus_id: int) -> list[dict[str, Any]]:
    """The campus's risk zones with their roll-up counts (for the effective level) and building base."""
    rows = await conn.execute(
        text(
            "SELECT z.id, z.code, z.name, z.category, z.level, z.floor, z.org_path::text AS org_path,"
            " b.base_elev_m AS building_base, coalesce(r.points, '{0,0,0,0}') AS points,"
            " coalesce(r.zones, '{0,0,0,0}') AS zones, ST_AsBinary(z.geom) AS wkb,"
            " ST_X(ST_PointOnSurface(z.geom)) AS lon, ST_Y(ST_PointOnSurface(z.geom)) AS lat"
            " FROM risk_zones z LEFT JOIN risk_rollup r ON r.key = 'zone:' || z.id"
            " LEFT JOIN buildings b ON b.id = z.building_id"
            f" WHERE z.campus_id = :c AND {_where('z')} ORDER BY z.id"
        ),
        {"c": campus_id, **_scope(caller)},
    )
    return [dict(r._mapping) for r in rows]


async def dem(conn: AsyncConnection, campus_id: int) -> tuple[str, int] | None:
    row = (
        await conn.execute(
            text("SELECT path, srid FROM campus_rasters WHERE campus_id = :c AND kind = 'dem'"),
            {"c": campus_id},
        )
    ).first()
    return (row.path, row.srid) if row else None


async def excavation_plan(conn: AsyncConnection, caller: Caller | None, plan_id: int) -> dict[str, Any]:
    row = (
        await conn.execute(
            text(
                "SELECT p.plan, p.segment_id, p.campus_id, ST_XMin(p.geom) AS x0, ST_YMin(p.geom) AS y0,"
                " ST_XMax(p.geom) AS x1, ST_YMax(p.geom) AS y1"
                f" FROM excavation_plans p WHERE p.id = :id AND {_where('p')}"
            ),
            {"id": plan_id, **_scope(caller)},
        )
    ).first()
    if row is None:
        raise NotFound(f"no excavation plan {plan_id} in your jurisdiction")
    return {
        "plan": row.plan,
        "segment_id": row.segment_id,
        "campus_id": row.campus_id,
        "bbox": (row.x0, row.y0, row.x1, row.y1),
    }


async def open_alerts(conn: AsyncConnection, caller: Caller | None, campus_id: int) -> list[dict[str, Any]]:
    """Unacknowledged alerts of the campus with a position (the big screen pins them)."""
    return await _rows(
        conn,
        "SELECT a.id, a.type, a.severity, a.count, ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat FROM alerts a"
        " WHERE a.campus_id = :c AND a.geom IS NOT NULL AND a.acked_at IS NULL AND a.cleared_at IS NULL"
        f" AND {_where('a')} ORDER BY a.id DESC LIMIT 500",
        {"c": campus_id, **_scope(caller)},
    )


async def buses(conn: AsyncConnection, caller: Caller | None, campus_id: int) -> list[dict[str, Any]]:
    """The campus's vehicles at their last known position."""
    return await _rows(
        conn,
        "SELECT v.id, v.plate, p.time::text AS time, p.speed_kmh, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat"
        " FROM vehicles v CROSS JOIN LATERAL (SELECT time, speed_kmh, geom FROM positions"
        "  WHERE vehicle_id = v.id ORDER BY time DESC LIMIT 1) p"
        f" WHERE v.campus_id = :c AND {_where('v')} ORDER BY v.id",
        {"c": campus_id, **_scope(caller)},
    )


async def _rows(conn: AsyncConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = await conn.execute(text(sql), params)
    return [dict(r._mapping) for r in rows]


async def quad_counts(
    conn: AsyncConnection, caller: Caller | None, boxes: list[tuple[float, float, float, float]]
) -> list[tuple[int, float, float]]:
    """For each lon/lat box: buildings whose centroid lies in it (half-open), lowest base, highest roof."""
    rows = await conn.execute(
        text(
            "SELECT b.i, count(x.id) AS n, coalesce(min(x.base_elev_m), 0) AS low,"
            " coalesce(max(x.base_elev_m + x.height_m), 1) AS high"
            " FROM unnest(CAST(:x0 AS float8[]), CAST(:y0 AS float8[]), CAST(:x1 AS float8[]),"
            "  CAST(:y1 AS float8[])) WITH ORDINALITY AS b(x0, y0, x1, y1, i)"
            " LEFT JOIN LATERAL (SELECT id, base_elev_m, height_m, ST_Centroid(geom) AS c FROM buildings"
            "  WHERE geom && ST_MakeEnvelope(b.x0, b.y0, b.x1, b.y1, 4326)"
            f"  AND {_where()}) x ON ST_X(x.c) >= b.x0 AND ST_X(x.c) < b.x1"
            "  AND ST_Y(x.c) >= b.y0 AND ST_Y(x.c) < b.y1"
            " GROUP BY b.i ORDER BY b.i"
        ),
        {
            "x0": [b[0] for b in boxes],
            "y0": [b[1] for b in boxes],
            "x1": [b[2] for b in boxes],
            "y1": [b[3] for b in boxes],
            **_scope(caller),
        },
    )
    return [(int(r.n), float(r.low), float(r.high)) for r in rows]
