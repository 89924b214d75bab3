"""Query parameters of OGC API Features (Parts 1–3, Part 5 sortby) checked and turned into an ItemQuery.

Every mistake is an InvalidInput naming the parameter and what is allowed; nothing here touches SQL text:
names are looked up among the collection's queryables and values become bound parameters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import shapely
from sqlalchemy import ColumnElement, DateTime, Float, Integer, func, literal

from twin.crs import (
    ACCEPTED_SRIDS,
    CRS84,
    CRS84_URI,
    STORAGE_SRID,
    CrsSpec,
    UnknownCrsError,
    epsg_uri,
    parse_crs,
)
from twin.db import asat
from twin.errors import InvalidInput
from twin.layers.cql import FilterBuilder, bound, category, parse, storage_geometry, within
from twin.layers.queries import ItemQuery, Output
from twin.layers.registry import COLLECTIONS, Collection, collection

Expr = ColumnElement[Any]

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 10
ITEMS_PARAMS = (
    "f",
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "datetime",
    "as-at",
    "properties",
    "sortby",
    "filter",
    "filter-lang",
    "filter-crs",
    "crs",
)
ITEM_PARAMS = ("f", "crs")
PAGE_PARAMS = ("f",)
SUPPORTED_CRS = [CRS84_URI, *(epsg_uri(srid) for srid in sorted(ACCEPTED_SRIDS))]
GEOGRAPHIC = frozenset({4326, 4490})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_known(params: Mapping[str, str], allowed: tuple[str, ...] | list[str]) -> None:
    unknown = [name for name in params if name not in allowed]
    if unknown:
        raise InvalidInput(
            f"unknown query parameter {unknown[0]!r}; allowed: {', '.join(allowed)}", field=unknown[0]
        )


def queryables(c: Collection) -> dict[str, Expr]:
    """Queryable name -> column: the scalar properties, and the geometry as 'geometry' and by its name."""
    return dict(_queryables(c.id))


@lru_cache(maxsize=64)
def _queryables(collection_id: str) -> dict[str, Expr]:
    c = collection(collection_id)
    columns = {col.name: col for col in c.property_columns if category(col.type) != "other"}
    return {**columns, "geometry": c.geometry, c.geometry_column: c.geometry}


def crs_param(value: str | None, name: str = "crs") -> CrsSpec:
    if value is None:
        return CRS84
    try:
        spec = parse_crs(value)
    except UnknownCrsError:
        spec = None
    if spec is None or spec.srid is None:
        raise InvalidInput(
            f"{name} {value!r} is not supported; supported: {', '.join(SUPPORTED_CRS)}", field=name
        )
    return spec


def output(spec: CrsSpec) -> Output:
    assert spec.srid is not None
    return Output(srid=spec.srid, flip=spec.northing_first, digits=7 if spec.srid in GEOGRAPHIC else 3)


def integer(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be an integer from {low} to {high}, not {text!r}", field=name)
    return value


def bbox(text: str, spec: CrsSpec, geometry: Expr) -> Expr:
    """The bbox (4 or 6 numbers, in `spec`'s axis order) as an intersection test on the geometry."""
    try:
        numbers = [float(v) for v in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(v) for v in numbers):
        raise InvalidInput(f"bbox must be 4 or 6 comma-separated numbers, not {text!r}", field="bbox")
    half = len(numbers) // 2
    low, high = numbers[:half], numbers[half:]
    if low[0] > high[0] or low[1] > high[1]:
        raise InvalidInput(f"bbox {text!r}: the lower corner comes first", field="bbox")
    if spec.srid == STORAGE_SRID and not spec.gcj02:
        return func.ST_Intersects(geometry, _storage_envelope(text, low, high, spec.northing_first))
    box = storage_geometry(shapely.box(low[0], low[1], high[0], high[1]), spec)
    return func.ST_Intersects(geometry, box)


def _storage_envelope(text: str, low: list[float], high: list[float], lat_first: bool) -> Expr:
    """A lon/lat bbox as bound numbers: the common case needs no geometry built in Python."""
    (y1, x1), (y2, x2) = (low[:2], high[:2]) if lat_first else (low[1::-1], high[1::-1])
    if not (-180 <= x1 <= 180 and -180 <= x2 <= 180 and -90 <= y1 <= 90 and -90 <= y2 <= 90):
        raise InvalidInput(
            f"bbox {text!r} is out of range: not longitudes in [-180, 180] and latitudes in [-90, 90] "
            "in the axis order of bbox-crs",
            field="bbox",
        )
    corners = (literal(v, Float) for v in (x1, y1, x2, y2))
    return func.ST_MakeEnvelope(*corners, literal(STORAGE_SRID, Integer))


def _instant(text: str, end: bool) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = datetime.combine(date.fromisoformat(text), time(), UTC)
            return day + timedelta(days=1) - timedelta(microseconds=1) if end else day
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"datetime {text!r} is not an RFC 3339 date-time, a date or '..'", field="datetime"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


EDIT_TIME = (None, "updated_at")  # collections whose own time, if any, is when a feature's state began


def as_at(params: Mapping[str, str], c: Collection) -> datetime | None:
    """The instant to read a versioned collection at ("as at"), or None for today's features.

    `as-at=<instant>` asks for it on any versioned collection. `datetime=<instant>` asks for it too where
    the features' own time is the edit time (`updated_at`) or there is none: OGC API Features selects
    the features whose time intersects `datetime`, and a version's time is the period it was the
    feature's state, so at one instant exactly one version of each feature that then existed matches.
    Where the features have a time of their own (a hazard's `found_at`), `datetime` keeps filtering by
    it, and dates and intervals keep filtering every collection by its time column as before.
    """
    if "as-at" in params:
        if not c.versioned:
            raise InvalidInput(
                f"collection {c.id!r} keeps no history; as-at applies to: {_versioned()}", field="as-at"
            )
        if "datetime" in params:
            raise InvalidInput("send as-at or datetime, not both", field="as-at")
        return asat.instant(params["as-at"], "as-at")
    text = params.get("datetime")
    if text is None or not c.versioned or c.temporal_column not in EDIT_TIME:
        return None
    if c.temporal_column is None or _is_instant(text):
        return asat.instant(text, "datetime")
    return None


def _versioned() -> str:
    return ", ".join(k for k, v in COLLECTIONS.items() if v.versioned)


def _is_instant(text: str) -> bool:
    return "/" not in text and "T" in text.upper()


def datetime_filter(text: str, c: Collection) -> Expr:
    """An instant, a date (the whole day) or an interval `start/end` with `..` for an open side."""
    if c.temporal_column is None:
        raise InvalidInput(f"collection {c.id!r} has no time; datetime does not apply", field="datetime")
    column = c.from_clause.c[c.temporal_column]
    first, _, second = text.partition("/") if "/" in text else (text, "", text)
    start, end = _instant(first, end=False), _instant(second, end=True)
    if start and end and start > end:
        raise InvalidInput(f"datetime {text!r}: the interval ends before it starts", field="datetime")
    stamp = DateTime(timezone=True)
    return within(column, literal(start, stamp) if start else None, literal(end, stamp) if end else None)


def properties(text: str, c: Collection) -> list[str]:
    allowed = [col.name for col in c.property_columns]
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in allowed:
            raise InvalidInput(
                f"properties names {name!r}, which {c.id} does not have; properties: {', '.join(allowed)}",
                field="properties",
            )
    return names


def sortby(text: str, c: Collection) -> list[Expr]:
    allowed = {n: col for n, col in queryables(c).items() if n not in ("geometry", c.geometry_column)}
    order: list[Expr] = []
    for part in (p.strip() for p in text.split(",")):
        name = part.lstrip("+-").strip()
        if not _NAME.fullmatch(name) or name not in allowed:
            raise InvalidInput(
                f"sortby names {name!r}, which is not sortable; sortable: "
                f"{', '.join(allowed)} (prefix - for descending)",
                field="sortby",
            )
        order.append(allowed[name].desc() if part.startswith("-") else allowed[name].asc())
    return order


def cql_filter(params: Mapping[str, str], c: Collection) -> Expr:
    tree = parse(params["filter"], params.get("filter-lang", "cql2-text"))
    spec = crs_param(params.get("filter-crs"), "filter-crs")
    names = {"geometry", c.geometry_column}
    return FilterBuilder(queryables(c), names, spec).build(tree)


def _equals(name: str, text: str, column: Expr) -> Expr:
    kind = category(column.type)
    value: Any = text
    try:
        if kind == "number":
            value = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
        elif kind == "boolean":
            value = {"true": True, "false": False}[text.lower()]
        elif kind == "datetime":
            value = _instant(text, end=False)
    except (ValueError, KeyError):
        raise InvalidInput(f"{name}={text!r}: {name} is {kind}", field=name) from None
    return column == bound(value, column)


def item_params(c: Collection) -> list[str]:
    """Every query parameter /items accepts: the standard ones and the queryables (as `name=value`)."""
    return [*ITEMS_PARAMS, *(n for n in queryables(c) if n not in ("geometry", c.geometry_column))]


def items_query(params: Mapping[str, str], c: Collection) -> tuple[ItemQuery, CrsSpec]:
    """The checked ItemQuery of an /items request and the CRS its output is in."""
    check_known(params, item_params(c))
    spec = crs_param(params.get("crs"))
    where: list[Expr] = []
    if "bbox" in params:
        where.append(bbox(params["bbox"], crs_param(params.get("bbox-crs"), "bbox-crs"), c.geometry))
    elif "bbox-crs" in params:
        raise InvalidInput("bbox-crs needs a bbox", field="bbox-crs")
    past = as_at(params, c)
    if "datetime" in params and past is None:
        where.append(datetime_filter(params["datetime"], c))
    if "filter" in params:
        where.append(cql_filter(params, c))
    columns = queryables(c)
    where += [_equals(n, v, columns[n]) for n, v in params.items() if n not in ITEMS_PARAMS]
    query = ItemQuery(
        where=where,
        order_by=sortby(params["sortby"], c) if params.get("sortby") else [],
        properties=properties(params["properties"], c) if "properties" in params else None,
        limit=integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=integer(params, "offset", 0, 0, 2**31 - 1),
        output=output(spec),
        as_at=past,
    )
    return query, spec
