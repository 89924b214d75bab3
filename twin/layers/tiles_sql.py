"""Every SQL statement of the vector tiles: ST_AsMVT over the collections, with bound parameters only.

The queries run on the caller's scoped connection, so row-level security filters the rows; they also
write the caller's scope in (`org_path <@ :scope`) so the planner can size it (twin.access.planner_scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
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
    bindparam,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.db.types import LTree
from twin.layers.registry import Collection, collection

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


def _p(name: str, kind: Any) -> Any:
    return bindparam(name, type_=kind)


def _envelope(native: bool) -> ColumnElement[Any]:
    """The tile's envelope in the matrix set's CRS: ST_TileEnvelope for Web Mercator, else its bounds."""
    if not native:
        return func.ST_TileEnvelope(_p("z", Integer), _p("x", Integer), _p("y", Integer))
    return func.ST_MakeEnvelope(
        _p("xmin", Float), _p("ymin", Float), _p("xmax", Float), _p("ymax", Float), _p("srid", Integer)
    )


def _prefilter() -> ColumnElement[Any]:
    return func.ST_MakeEnvelope(
        _p("west", Float),
        _p("south", Float),
        _p("east", Float),
        _p("north", Float),
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


def _in_scope(c: Collection, scoped: bool) -> ColumnElement[bool]:
    if not scoped:
        return true()
    return c.scope_column.op("<@")(cast(_p("scope", Text), LTree()))


def layer_sql(c: Collection, native: bool, scoped: bool) -> ScalarSelect[Any]:
    """One MVT layer named after the collection: its features in the tile, at most `w.limit` of them."""
    geom = c.geometry
    rows = (
        select(
            c.id_column.label("id"),
            *property_columns(c),
            func.ST_AsMVTGeom(
                func.ST_Transform(geom, _p("srid", Integer)),
                _envelope(native),
                _p("extent", Integer),
                _p("buffer", Integer),
                true(),
            ).label(GEOM),
        )
        .select_from(c.from_clause)
        .where(and_(geom.op("&&")(_prefilter()), _in_scope(c, scoped)))
        .order_by(c.id_column)
        .limit(_p("limit", Integer))
        .subquery("features")
    )
    return (
        select(
            func.ST_AsMVT(
                rows.table_valued(),
                literal(c.id, Text),
                _p("extent", Integer),
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
    statement = _statement(tuple(c.id for c in collections), w.bounds is not None, scope is not None)
    row = (await conn.execute(statement, _parameters(w, scope))).one()
    return b"".join(bytes(part) for part in row if part)


@lru_cache(maxsize=1024)
def _statement(collection_ids: tuple[str, ...], native: bool, scoped: bool) -> Select[Any]:
    """Built once per shape: constructing the SQLAlchemy tree cost more than the query on small tiles."""
    return select(*(layer_sql(collection(c), native, scoped).label(c) for c in collection_ids))


def _parameters(w: TileWindow, scope: str | None) -> dict[str, Any]:
    west, south, east, north = w.prefilter
    values: dict[str, Any] = {
        "z": w.z,
        "x": w.x,
        "y": w.y,
        "srid": w.srid,
        "extent": w.extent,
        "buffer": w.buffer,
        "limit": w.limit,
        "west": west,
        "south": south,
        "east": east,
        "north": north,
        "scope": scope,
    }
    if w.bounds is not None:
        values.update(zip(("xmin", "ymin", "xmax", "ymax"), w.bounds, strict=True))
    return values


def _extent_sql(c: Collection, scope: str | None) -> Select[Any]:
    e = func.ST_Extent(c.geometry)
    return (
        select(func.ST_XMin(e), func.ST_YMin(e), func.ST_XMax(e), func.ST_YMax(e))
        .select_from(c.from_clause)
        .where(_in_scope(c, scope is not None))
    )


async def visible_extent(
    conn: AsyncConnection, collections: list[Collection], scope: str | None
) -> tuple[float, float, float, float] | None:
    """The lon/lat box of what the caller can see of `collections`, or None when they see nothing."""
    boxes = []
    for c in collections:
        row = (await conn.execute(_extent_sql(c, scope), {"scope": scope})).one()
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
