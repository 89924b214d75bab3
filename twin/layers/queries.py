"""The read SQL of OGC API Features: items, one item, counts and extents, every value a bound parameter.

Row-level security limits every statement to the caller's jurisdiction; each statement also says
`org_path <@ :scope` (twin.access.planner_scope) so the planner can size the scope and use the index.
Features leave PostgreSQL as GeoJSON text (json_build_object + ST_AsGeoJSON): Python only joins them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access import Caller
from twin.access.scope import planner_scope
from twin.crs import STORAGE_SRID
from twin.db.types import LTree
from twin.layers.registry import Collection, collection

Expr = ColumnElement[Any]

COUNT_CAP = 100_000
"""numberMatched is exact up to this many features and left out above it (counting is then not cheap)."""


@dataclass(frozen=True)
class Output:
    """How geometries leave the database: target SRID, authority axis order, decimals."""

    srid: int = STORAGE_SRID
    flip: bool = False
    digits: int = 7


@dataclass(frozen=True)
class ItemQuery:
    where: list[Expr] = field(default_factory=list)
    order_by: list[Expr] = field(default_factory=list)
    properties: list[str] | None = None  # None: all
    limit: int = 10
    offset: int = 0
    output: Output = field(default_factory=Output)
    # The past state of the tables the collection reads (twin.db.asat), shadowing them; empty: today.
    ctes: tuple[Any, ...] = ()
    as_at: datetime | None = None


def scope_filter(c: Collection, caller: Caller) -> list[Expr]:
    """The planner's copy of the caller's scope (RLS enforces it regardless)."""
    path = planner_scope(caller)
    if path is None:
        return []
    return [c.scope_column.op("<@")(cast(literal(path, String), LTree()))]


def _geometry_json(c: Collection, out: Output) -> Expr:
    geom: Expr = c.geometry
    if out.srid != STORAGE_SRID:
        geom = func.ST_Transform(geom, literal(out.srid, Integer))
    if out.flip:
        geom = func.ST_FlipCoordinates(geom)
    # options 0: no "crs" member (GeoJSON has none; Content-Crs says it)
    return cast(func.ST_AsGeoJSON(geom, literal(out.digits, Integer), literal(0, Integer)), JSON)


def _feature_json(c: Collection, names: list[str] | None, out: Output) -> Expr:
    return _feature_json_of(c.id, None if names is None else tuple(names), out)


@lru_cache(maxsize=512)
def _feature_json_of(collection_id: str, names: tuple[str, ...] | None, out: Output) -> Expr:
    """Built once per shape: the expression tree cost more to build than the query took on a campus."""
    c = collection(collection_id)
    columns = [col for col in c.property_columns if names is None or col.name in names]
    pairs: list[Any] = []
    for col in columns:
        pairs += [literal(col.name, String), col]
    properties = func.json_build_object(*pairs)
    feature = func.json_build_object(
        literal("type", String),
        literal("Feature", String),
        literal("id", String),
        c.id_column,
        literal("geometry", String),
        _geometry_json(c, out),
        literal("properties", String),
        properties,
    )
    return cast(feature, Text)


def _matching(c: Collection, where: list[Expr], caller: Caller, ctes: tuple[Any, ...]) -> Select[Any]:
    stmt = select(literal(1)).select_from(c.from_clause).where(*scope_filter(c, caller), *where)
    return stmt.add_cte(*ctes) if ctes else stmt


async def features(conn: AsyncConnection, c: Collection, q: ItemQuery, caller: Caller) -> list[str]:
    """One page of features as GeoJSON texts, in order."""
    stmt = (
        select(_feature_json(c, q.properties, q.output))
        .select_from(c.from_clause)
        .where(*scope_filter(c, caller), *q.where)
        .order_by(*q.order_by, c.id_column)
        .limit(q.limit)
        .offset(q.offset)
    )
    if q.ctes:
        stmt = stmt.add_cte(*q.ctes)
    return [str(text) for text in (await conn.execute(stmt)).scalars()]


def matched_from_page(offset: int, limit: int, fetched: int) -> int | None:
    """numberMatched known without counting: a page fetched with limit + 1 that came back short, or None.

    Most requests ask for more than there is (a campus has tens of buildings), so the count query, a
    second pass over the same rows, is only needed when the page is full or empty past the start.
    """
    if fetched > limit or (fetched == 0 and offset > 0):
        return None
    return offset + fetched


async def number_matched(
    conn: AsyncConnection, c: Collection, where: list[Expr], caller: Caller, ctes: tuple[Any, ...] = ()
) -> int | None:
    """How many features match, exactly, or None when more than COUNT_CAP do (the count stops there)."""
    capped = _matching(c, where, caller, ctes).limit(COUNT_CAP + 1).subquery()
    n = int((await conn.execute(select(func.count()).select_from(capped))).scalar_one())
    return None if n > COUNT_CAP else n


async def feature(
    conn: AsyncConnection, c: Collection, fid: int, out: Output, caller: Caller
) -> tuple[str, int | None] | None:
    """One feature as GeoJSON text and its version (None for collections without one), if visible."""
    version = c.from_clause.c["version"] if "version" in c.from_clause.c else literal(None, Integer)
    stmt = (
        select(_feature_json(c, None, out), version)
        .select_from(c.from_clause)
        .where(*scope_filter(c, caller), c.id_column == literal(fid, Integer))
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else (str(row[0]), row[1])


@dataclass(frozen=True)
class Extent:
    bbox: tuple[float, float, float, float] | None
    interval: tuple[datetime | None, datetime | None] | None


async def extent(conn: AsyncConnection, c: Collection, caller: Caller) -> Extent:
    """The caller-visible extent: estimated from statistics for the whole territory, else computed."""
    bbox = await _estimated_bbox(conn, c) if caller.whole else None
    box = cast(func.ST_Extent(c.geometry), Text).label("box")
    parts: list[Any] = [] if bbox else [box]
    time = c.from_clause.c[c.temporal_column] if c.temporal_column else None
    if time is not None:
        parts += [func.min(time), func.max(time)]
    if not parts:
        return Extent(bbox, None)
    stmt = select(*parts).select_from(c.from_clause).where(*scope_filter(c, caller))
    row = (await conn.execute(stmt)).one()
    values = list(row)
    if not bbox:
        bbox = _box_corners(values.pop(0))
    interval = (values[0], values[1]) if time is not None else None
    return Extent(bbox, interval)


async def _estimated_bbox(conn: AsyncConnection, c: Collection) -> tuple[float, float, float, float] | None:
    if c.source is not None:
        return None
    estimate = func.ST_EstimatedExtent(literal(c.table.name, String), literal(c.geometry_column, String))
    async with conn.begin_nested() as savepoint:
        try:
            box = (await conn.execute(select(cast(estimate, Text)))).scalar_one_or_none()
        except Exception:  # no statistics yet, or not allowed: compute instead
            await savepoint.rollback()
            return None
    return _box_corners(box)


def _box_corners(box: Any) -> tuple[float, float, float, float] | None:
    if box is None:
        return None
    text = str(box)
    corners = text[text.index("(") + 1 : text.rindex(")")].replace(",", " ").split()
    x1, y1, x2, y2 = (float(v) for v in corners)
    return (x1, y1, x2, y2)
