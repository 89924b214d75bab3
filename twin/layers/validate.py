"""Check a GeoJSON Feature sent for an editable collection, or say exactly what is wrong with it.

Values are typed the way imports type them (twin.ingest.validate: the same allowed values, the same
coercion), but JSON already carries types, so a string is not accepted where a number is expected.
Nothing here touches the database; the domain (twin.layers.edits) stores what this returns.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ARRAY, Boolean, Column, DateTime, Float, Integer, String
from sqlalchemy.dialects.postgresql import JSONB

from twin.crs import CRS84, CoordinateRangeError, CrsSpec, UnknownCrsError, parse_crs, swap_xy, to_storage
from twin.errors import InvalidInput, UnprocessableContent
from twin.ingest.validate import CHOICES
from twin.ingest.validate import typed_value as typed_like_imports
from twin.layers.registry import Collection

# Kept by the database, never by the client: the scope key, the id, the version and the timestamps.
SYSTEM = frozenset({"id", "org_path", "version", "created_at", "updated_at"})
# Sent back by clients that PUT what they read; accepted and ignored.
IGNORED = frozenset({"id", "version", "created_at", "updated_at"})
CAMPUS_CODE = "campus"  # the campus may be named by its code instead of campus_id


def parse_json(raw: bytes) -> Any:
    """The document, parsed strictly: NaN and Infinity are not JSON numbers and are refused."""

    def refuse(token: str) -> None:
        raise InvalidInput(f"the body is not valid JSON: {token} is not a number in JSON (RFC 8259)")

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=refuse)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def content_crs(header: str | None) -> CrsSpec:
    """The CRS of the coordinates sent (`Content-Crs`, OGC API Features Part 2); CRS84 when not given."""
    if not header or not header.strip():
        return CRS84
    try:
        return parse_crs(header.strip().strip("<>"))
    except UnknownCrsError as exc:
        raise InvalidInput(f"Content-Crs: {exc}", header="Content-Crs") from exc


def feature_parts(doc: Any, *, partial: bool = False) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(properties, geometry) of a Feature; for a merge patch either may be left out."""
    if not isinstance(doc, dict):
        raise UnprocessableContent(f"expected a GeoJSON Feature object, got a JSON {type(doc).__name__}")
    if doc.get("type", "Feature" if partial else None) != "Feature":
        raise UnprocessableContent(f"expected a GeoJSON Feature, got type {doc.get('type')!r}")
    props = doc.get("properties", {} if partial else None)
    if not isinstance(props, dict):
        raise UnprocessableContent("a Feature needs a 'properties' object")
    if not partial and "geometry" not in doc:
        raise UnprocessableContent("a Feature needs a 'geometry' member")
    geometry = doc.get("geometry")
    if "geometry" in doc and not isinstance(geometry, dict):
        raise InvalidInput("the geometry may not be null: every feature of this collection has one")
    return props, geometry


def geometry(doc: dict[str, Any], c: Collection, crs: CrsSpec) -> BaseGeometry:
    """The geometry in storage lon/lat, of the collection's type, finite, in range and valid."""
    kind = doc.get("type")
    if kind != c.geometry_type:
        raise InvalidInput(f"wrong geometry type {kind}; {c.id} takes a {c.geometry_type}", field="geometry")
    _check_rings_closed(doc)
    try:
        geom = shape(doc)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, shapely.errors.ShapelyError) as exc:
        raise InvalidInput(f"the {kind} coordinates cannot be read: {exc}", field="geometry") from exc
    if geom.is_empty:
        raise InvalidInput("the geometry is empty", field="geometry")
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise InvalidInput("the geometry has non-finite coordinates (NaN or infinity)", field="geometry")
    geom = shapely.force_2d(geom)
    if crs.northing_first:  # Part 2: coordinates come in the authority's axis order
        geom = swap_xy(geom)
    try:
        stored = to_storage(geom, crs)
    except CoordinateRangeError as exc:
        raise InvalidInput(f"in {crs.label}, {exc}", field="geometry") from exc
    if not stored.is_valid:
        raise InvalidInput(f"invalid geometry: {shapely.is_valid_reason(stored)}", field="geometry")
    return stored


def _check_rings_closed(doc: dict[str, Any]) -> None:
    """GeoJSON rings end where they start (RFC 7946 3.1.6); shapely would silently close them."""
    polygons = {"Polygon": [doc.get("coordinates")], "MultiPolygon": doc.get("coordinates")}.get(doc["type"])
    for p, rings in enumerate(polygons if isinstance(polygons, list) else []):
        for r, ring in enumerate(rings if isinstance(rings, list) else []):
            if isinstance(ring, list) and len(ring) > 1 and ring[0] != ring[-1]:
                where = f"ring {r + 1}" + (f" of polygon {p + 1}" if doc["type"] == "MultiPolygon" else "")
                raise InvalidInput(
                    f"invalid ring: {where} is not closed (its last position must repeat the first)",
                    field="geometry",
                )


def writable(c: Collection) -> dict[str, Column[Any]]:
    """The columns a client may set, by name."""
    return {
        col.name: col for col in c.table.columns if col.name not in SYSTEM and col.name != c.geometry_column
    }


def required(c: Collection) -> list[str]:
    return [
        name
        for name, col in writable(c).items()
        if not col.nullable and col.server_default is None and name != "campus_id"
    ]


def properties(c: Collection, props: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Typed column values; `campus` (a code) is passed through for the domain to resolve."""
    columns = writable(c)
    unknown = sorted(set(props) - set(columns) - IGNORED - {CAMPUS_CODE})
    if unknown:
        raise InvalidInput(
            f"unknown properties {unknown} for {c.id}; allowed: {[*columns, CAMPUS_CODE]}",
            properties=unknown,
            allowed=[*columns, CAMPUS_CODE],
        )
    values: dict[str, Any] = {}
    for name, value in props.items():
        if name in IGNORED:
            continue
        if name == CAMPUS_CODE:
            values[name] = _campus_code(value)
            continue
        values[name] = _value(c, columns[name], value)
    if not partial:
        missing = [name for name in required(c) if values.get(name) is None]
        if missing:
            raise InvalidInput(f"missing required properties {missing} for {c.id}", properties=missing)
    return values


def _campus_code(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput("campus must be the campus code, a string", property=CAMPUS_CODE)
    return value


def _value(c: Collection, column: Column[Any], value: Any) -> Any:
    name = column.name
    if value is None:
        if not column.nullable and column.server_default is None:
            raise InvalidInput(f"{name} is required and may not be null", property=name)
        return None
    allowed = CHOICES.get((c.table.name, name))
    if allowed is not None:
        if value not in allowed:
            raise InvalidInput(
                f"{name}: {value!r} is not allowed; allowed: {', '.join(allowed)}",
                property=name,
                allowed=allowed,
            )
        return value
    try:
        return _typed(column, value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name}: {exc}", property=name) from exc


def _typed(column: Column[Any], value: Any) -> Any:
    sqltype = column.type
    if isinstance(sqltype, JSONB):
        return value
    if isinstance(sqltype, ARRAY):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{value!r} is not a list of strings")
        return value
    if isinstance(sqltype, Boolean):
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not true or false")
        return value
    if isinstance(sqltype, Integer | Float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{value!r} is not a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        if isinstance(sqltype, Integer) and not -(2**31) <= value < 2**31:
            raise ValueError(f"{value!r} is out of range for a whole number column")
    elif isinstance(sqltype, DateTime):
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a date and time (ISO 8601 text)")
    elif not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    if isinstance(sqltype, String) and sqltype.length is not None and len(value) > sqltype.length:
        raise ValueError(f"is {len(value)} characters long; at most {sqltype.length}")
    return typed_like_imports(value, sqltype)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge key by key, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
