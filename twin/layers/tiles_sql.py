"""Every SQL statement of the vector tiles: ST_AsMVT over the collections, with bound parameters only.

The queries run on the caller's scoped connection, so row-level security filters the rows; they also
write the caller's scope in (`org_path <@ :scope`) so the planner can size it (twin.access.planner_scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Integer,
    ScalarSelect,
    Select,
    String,
    Text,
    and_,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.db.types import LTree
from twin.layers.registry import Collection

GEOM = "mvt_geom"
STORAGE_SRID = 4326


@dataclass(frozen=True)
class TileWindow:
    """Where one tile lies: its envelope in the tile matrix set's CRS and a generous 4326 box to prefilter."""

    z: int
    x: int
    y: int
    srid: int  # the tile matrix set's CRS (3857 or 4326)
    bounds: tuple[float, float, float, float] | None  # native bounds; None for ST_TileEnvelope (3857)
    prefilter: tuple[float, float, float, float]  # lon/lat, buffered, for the `&&` index test
    extent: int
    buffer: int
    limit: int


def _envelope(w: TileWindow) -> ColumnElement[Any]:
    if w.bounds is None:
        return func.ST_TileEnvelope(literal(w.z, Integer), literal(w.x, Integer), literal(w.y, Integer))
    xmin, ymin, xmax, ymax = w.bounds
    return func.ST_MakeEnvelope(
        literal(xmin, Float),
        literal(ymin, Float),
        literal(xmax, Float),
        literal(ymax, Float),
        literal(w.srid, Integer),
    )


def _prefilter(w: TileWindow) -> ColumnElement[Any]:
    west, south, east, north = w.prefilter
    return func.ST_MakeEnvelope(
        literal(west, Float),
        literal(south, Float),
        literal(east, Float),
        literal(north, Float),
        literal(STORAGE_SRID, Integer),
    )


def property_columns(c: Collection) -> list[ColumnElement[Any]]:
    """The collection's properties as MVT can carry them: numbers, booleans and text; the rest as text."""
    columns: list[ColumnElement[Any]] = []
    for col in c.property_columns:
        if isinstance(col.type, Geometry):
            continue
        if isinstance(col.type, Integer | Float | Boolean | String):
            columns.append(col)
        else:  # arrays, jsonb (which ST_AsMVT would spread into keys), timestamps, numerics
            columns.append(cast(col, Text).label(col.name))
    return columns


def field_types(c: Collection) -> dict[str, str]:
    """TileJSON `fields`: each property's name and its MVT value type."""
    kinds: dict[str, str] = {}
    for col in property_columns(c):
        t = col.type
        kinds[col.name] = (
            "Boolean" if isinstance(t, Boolean) else "Number" if isinstance(t, Integer | Float) else "String"
        )
    return kinds


def _in_scope(c: Collection, scope: str | None) -> ColumnElement[bool]:
    if scope is None:
        return true()
    return c.scope_column.op("<@")(cast(literal(scope, Text), LTree()))


def layer_sql(c: Collection, w: TileWindow, scope: str | None) -> ScalarSelect[Any]:
    """One MVT layer named after the collection: its features in the tile, at most `w.limit` of them."""
    geom = c.geometry
    rows = (
        select(
            c.id_column.label("id"),
            *property_columns(c),
            func.ST_AsMVTGeom(
                func.ST_Transform(geom, literal(w.srid, Integer)),
                _envelope(w),
                literal(w.extent, Integer),
                literal(w.buffer, Integer),
                true(),
            ).label(GEOM),
        )
        .select_from(c.from_clause)
        .where(and_(geom.op("&&")(_prefilter(w)), _in_scope(c, scope)))
        .order_by(c.id_column)
        .limit(literal(w.limit, Integer))
        .subquery("features")
    )
    return (
        select(
            func.ST_AsMVT(
                rows.table_valued(),
                literal(c.id, Text),
                literal(w.extent, Integer),
                literal(GEOM, Text),
                literal("id", Text),
            )
        )
        .where(rows.c[GEOM].is_not(None))
        .scalar_subquery()
    )


async def render(
    conn: AsyncConnection, collections: list[Collection], w: TileWindow, scope: str | None
) -> bytes:
    """The tile: one layer per collection, concatenated (MVT layers are repeated protobuf fields)."""
    statement = select(*(layer_sql(c, w, scope).label(c.id) for c in collections))
    row = (await conn.execute(statement)).one()
    return b"".join(bytes(part) for part in row if part)


def _extent_sql(c: Collection, scope: str | None) -> Select[Any]:
    e = func.ST_Extent(c.geometry)
    return (
        select(func.ST_XMin(e), func.ST_YMin(e), func.ST_XMax(e), func.ST_YMax(e))
        .select_from(c.from_clause)
        .where(_in_scope(c, scope))
    )


async def visible_extent(
    conn: AsyncConnection, collections: list[Collection], scope: str | None
) -> tuple[float, float, float, float] | None:
    """The lon/lat box of what the caller can see of `collections`, or None when they see nothing."""
    boxes = []
    for c in collections:
        row = (await conn.execute(_extent_sql(c, scope))).one()
        if row[0] is not None:
            boxes.append(tuple(float(v) for v in row))
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
