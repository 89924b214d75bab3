"""CQL2 (text and JSON) filters to bound SQLAlchemy expressions over a collection's queryables.

pygeofilter parses; this module walks its AST itself rather than using pygeofilter's SQLAlchemy backend,
so that only queryable names, known functions and type-compatible literals get through: every literal
becomes a bound parameter of the right type and a mistake is a 400 naming it, never a database error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import shapely
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    and_,
    func,
    literal,
    not_,
    or_,
)
from sqlalchemy.types import TypeEngine

from twin.crs import CoordinateRangeError, CrsSpec, swap_xy, to_storage
from twin.errors import InvalidInput

LANGUAGES = ("cql2-text", "cql2-json")
Expr = ColumnElement[Any]

_SPATIAL: dict[type[ast.Node], Callable[..., Expr]] = {
    ast.GeometryIntersects: func.ST_Intersects,
    ast.GeometryDisjoint: func.ST_Disjoint,
    ast.GeometryContains: func.ST_Contains,
    ast.GeometryWithin: func.ST_Within,
    ast.GeometryTouches: func.ST_Touches,
    ast.GeometryCrosses: func.ST_Crosses,
    ast.GeometryOverlaps: func.ST_Overlaps,
    ast.GeometryEquals: func.ST_Equals,
}
_COMPARE: dict[type[ast.Node], Callable[[Any, Any], Expr]] = {
    ast.Equal: lambda a, b: a == b,
    ast.NotEqual: lambda a, b: a != b,
    ast.LessThan: lambda a, b: a < b,
    ast.LessEqual: lambda a, b: a <= b,
    ast.GreaterThan: lambda a, b: a > b,
    ast.GreaterEqual: lambda a, b: a >= b,
}
_ARITHMETIC: dict[type[ast.Node], Callable[[Any, Any], Expr]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mul: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def category(type_: TypeEngine[Any]) -> str:
    """'number', 'string', 'datetime', 'boolean' or 'other' for a column type (what a literal must match)."""
    try:
        python = type_.python_type
    except NotImplementedError:
        return "other"
    if python is bool:
        return "boolean"
    if python in (int, float) or python.__name__ == "Decimal":
        return "number"
    if python is str:
        return "string"
    if python in (datetime, date):
        return "datetime"
    return "other"


def parse(text: str, language: str) -> ast.Node:
    """The AST of a filter, or InvalidInput with the parser's first complaint."""
    if language not in LANGUAGES:
        raise InvalidInput(f"filter-lang {language!r} is not supported; use one of: {', '.join(LANGUAGES)}")
    try:
        if language == "cql2-json":
            return parse_json(json.loads(text))
        return parse_text(text)
    except Exception as exc:  # lark and json raise many kinds; all mean "this is not a filter"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"the filter is not valid {language}: {first}") from None


class FilterBuilder:
    """Turns one parsed filter into a SQL expression over `columns` (queryable name -> column)."""

    def __init__(self, columns: Mapping[str, Expr], geometry_names: set[str], crs: CrsSpec) -> None:
        self.columns = columns
        self.geometry_names = geometry_names
        self.crs = crs

    def build(self, node: Any) -> Expr:
        if isinstance(node, ast.Not):
            return not_(self.build(node.sub_node))
        if isinstance(node, ast.And):
            return and_(self.build(node.lhs), self.build(node.rhs))
        if isinstance(node, ast.Or):
            return or_(self.build(node.lhs), self.build(node.rhs))
        if isinstance(node, ast.Include):
            return literal(not node.not_, Boolean)
        for kind, method in self._predicates():
            if isinstance(node, kind):
                return method(node)
        raise InvalidInput(f"the filter uses {type(node).__name__}, which this server does not support")

    def _predicates(self) -> list[tuple[type[Any], Callable[[Any], Expr]]]:
        return [
            (ast.Comparison, self._comparison),
            (ast.Between, self._between),
            (ast.Like, self._like),
            (ast.In, self._in),
            (ast.IsNull, self._is_null),
            (ast.SpatialComparisonPredicate, self._spatial),
            (ast.BBox, self._bbox),
            (ast.TemporalPredicate, self._temporal),
        ]

    # --- predicates ------------------------------------------------------------------------------------

    def _comparison(self, node: Any) -> Expr:
        lhs, rhs = self._pair(node.lhs, node.rhs)
        return _COMPARE[type(node)](lhs, rhs)

    def _between(self, node: Any) -> Expr:
        lhs = self.scalar(node.lhs)
        low, high = self.scalar(node.low, like=lhs), self.scalar(node.high, like=lhs)
        expr = lhs.between(low, high)
        return not_(expr) if node.not_ else expr

    def _like(self, node: Any) -> Expr:
        lhs = self.scalar(node.lhs)
        if category(lhs.type) != "string" or not isinstance(node.pattern, str):
            raise InvalidInput("LIKE compares a text property with a text pattern")
        pattern = literal(node.pattern, String)
        expr = lhs.ilike(pattern) if node.nocase else lhs.like(pattern)
        return not_(expr) if node.not_ else expr

    def _in(self, node: Any) -> Expr:
        lhs = self.scalar(node.lhs)
        options = [self.scalar(option, like=lhs) for option in node.sub_nodes]
        expr = or_(*(lhs == option for option in options)) if options else literal(False, Boolean)
        return not_(expr) if node.not_ else expr

    def _is_null(self, node: Any) -> Expr:
        lhs = self.scalar(node.lhs)
        return lhs.is_not(None) if node.not_ else lhs.is_(None)

    def _spatial(self, node: Any) -> Expr:
        return _SPATIAL[type(node)](self.spatial(node.lhs), self.spatial(node.rhs))

    def _bbox(self, node: Any) -> Expr:
        box = shapely.box(node.minx, node.miny, node.maxx, node.maxy)
        return func.ST_Intersects(self.spatial(node.lhs), self.geometry_literal(box))

    def _temporal(self, node: Any) -> Expr:
        lhs = self.scalar(node.lhs)
        if category(lhs.type) != "datetime":
            raise InvalidInput("temporal operators (T_...) apply to date and time properties only")
        start, end = self._instants(node.rhs, lhs)
        op = node.op.value
        if op == "BEFORE" and start is not None:
            return lhs < start
        if op == "AFTER" and end is not None:
            return lhs > end
        if op in ("DURING", "TEQUALS", "TOVERLAPS"):  # T_INTERSECTS arrives as TOVERLAPS
            strict = op == "DURING"
            return within(lhs, start, end, strict=strict)
        raise InvalidInput(
            f"the temporal operator {op} is not supported here; use T_INTERSECTS, T_BEFORE, "
            "T_AFTER, T_DURING or T_EQUALS with a timestamp or a closed side"
        )

    # --- operands --------------------------------------------------------------------------------------

    def _pair(self, a: Any, b: Any) -> tuple[Expr, Expr]:
        if _is_literal(a) and not _is_literal(b):
            rhs = self.scalar(b)
            return self.scalar(a, like=rhs), rhs
        lhs = self.scalar(a)
        return lhs, self.scalar(b, like=lhs)

    def scalar(self, node: Any, like: Expr | None = None) -> Expr:
        """A property, arithmetic or function as SQL, or a literal bound with the type `like` needs."""
        if isinstance(node, ast.Attribute):
            return self.attribute(node.name, like)
        if isinstance(node, ast.Arithmetic):
            lhs, rhs = self._pair(node.lhs, node.rhs)
            if category(lhs.type) != "number" or category(rhs.type) != "number":
                raise InvalidInput("arithmetic (+ - * /) applies to numbers only")
            return _ARITHMETIC[type(node)](lhs, rhs)
        if isinstance(node, ast.Function):
            return self._function(node, like)
        return bound(node, like)

    def attribute(self, name: str, like: Expr | None = None) -> Expr:
        column = self.columns.get(name)
        if column is None:
            known = ", ".join(sorted(self.columns))
            raise InvalidInput(
                f"the filter names {name!r}, which is not queryable; queryables: {known}", field=name
            )
        if like is not None and category(like.type) != category(column.type):
            raise InvalidInput(
                f"{name!r} is {category(column.type)}, it cannot be compared with {category(like.type)}",
                field=name,
            )
        return column

    def _function(self, node: Any, like: Expr | None) -> Expr:
        name = node.name.lower()
        if name in ("casei", "lower", "accenti") and len(node.arguments) == 1:  # pygeofilter: CASEI -> lower
            arg = self.scalar(node.arguments[0], like)
            if category(arg.type) != "string":
                raise InvalidInput(f"{node.name.upper()} applies to text")
            return arg if name == "accenti" else func.lower(arg, type_=String())
        raise InvalidInput(f"the function {node.name!r} is not supported; functions: CASEI, ACCENTI")

    def spatial(self, node: Any) -> Expr:
        if isinstance(node, ast.Attribute):
            if node.name not in self.geometry_names:
                names = ", ".join(sorted(self.geometry_names))
                raise InvalidInput(
                    f"spatial operators compare the geometry ({names}), not {node.name!r}", field=node.name
                )
            return self.columns[node.name]
        if isinstance(node, values.Geometry):
            return self.geometry_literal(shapely.geometry.shape(node.geometry))
        if isinstance(node, values.Envelope):
            return self.geometry_literal(shapely.box(node.x1, node.y1, node.x2, node.y2))
        raise InvalidInput("a spatial operator needs the geometry property and a geometry literal")

    def geometry_literal(self, geom: shapely.Geometry) -> Expr:
        return storage_geometry(geom, self.crs)

    def _instants(self, node: Any, like: Expr) -> tuple[Expr | None, Expr | None]:
        if isinstance(node, values.Interval):
            start = bound(node.start, like) if _is_instant(node.start) else None
            end = bound(node.end, like) if _is_instant(node.end) else None
            return start, end
        instant = self.scalar(node, like)
        return instant, instant


def within(column: Expr, start: Expr | None, end: Expr | None, *, strict: bool = False) -> Expr:
    """`column` between two instants, either side open (None)."""
    parts = []
    if start is not None:
        parts.append(column > start if strict else column >= start)
    if end is not None:
        parts.append(column < end if strict else column <= end)
    return and_(*parts) if parts else literal(True, Boolean)


def storage_geometry(geom: shapely.Geometry, crs: CrsSpec) -> Expr:
    """A client's geometry in `crs` (authority axis order) as a bound 4326 geometry."""
    if crs.northing_first:
        geom = swap_xy(geom)
    try:
        stored = to_storage(geom, crs)
    except CoordinateRangeError as exc:
        raise InvalidInput(f"a geometry is outside {crs.label}: {exc}") from None
    return func.ST_GeomFromText(literal(stored.wkt, String), literal(4326, Integer))


def _is_literal(node: Any) -> bool:
    return not isinstance(node, ast.Node)


def _is_instant(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, timedelta)


def bound(value: Any, like: Expr | None) -> Expr:
    """A literal as a bound parameter whose SQL type suits both the value and what it is compared with."""
    want = category(like.type) if like is not None else None
    kind, type_ = _literal_type(value)
    if want is not None and want != kind:
        name = getattr(like, "name", None) or "the property"
        raise InvalidInput(f"{value!r} is {kind}, it cannot be compared with {name!r} ({want})")
    return literal(value, type_)


def _literal_type(value: Any) -> tuple[str, TypeEngine[Any]]:
    if isinstance(value, bool):
        return "boolean", Boolean()
    if isinstance(value, int):
        return "number", BigInteger()
    if isinstance(value, float):
        return "number", Float()
    if isinstance(value, str):
        return "string", String()
    if isinstance(value, datetime):
        return "datetime", DateTime(timezone=True)
    if isinstance(value, date):
        return "datetime", Date()
    raise InvalidInput(f"the literal {value!r} is not supported here")
