"""Check a raw layer against its spec and turn it into rows ready to insert, or say what is wrong."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Boolean, DateTime, Float, Integer

from twin.crs import CoordinateRangeError, CrsSpec, UnknownCrsError, parse_crs, to_storage
from twin.errors import ImportRejected
from twin.ingest.reader import RawLayer
from twin.ingest.spec import LayerSpec
from twin.models import Base
from twin.models.campus import BUILDING_USES, GROUND_KINDS
from twin.models.live import SENSOR_TYPES
from twin.models.org import ORG_LEVELS, PERSON_ROLES
from twin.models.pipes import DEPTH_REFS, DEVICE_KINDS, LINK_STATUS, NODE_KINDS, POSITIONS, UTILITIES
from twin.models.risk import HAZARD_GRADES, HAZARD_STATES, METHODS, RISK_CATEGORIES

# Allowed values per (table, column): checked here so the message can list them.
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("org_units", "level"): ORG_LEVELS,
    ("people", "role"): PERSON_ROLES,
    ("buildings", "use"): BUILDING_USES,
    ("grounds", "kind"): GROUND_KINDS,
    ("pipe_nodes", "kind"): NODE_KINDS,
    ("pipe_segments", "depth_ref"): DEPTH_REFS,
    ("pipe_segments", "status"): LINK_STATUS,
    ("valves", "kind"): DEVICE_KINDS,
    ("valves", "normal_position"): POSITIONS,
    ("sensors", "type"): SENSOR_TYPES,
    ("hazards", "grade"): HAZARD_GRADES,
    ("hazards", "state"): HAZARD_STATES,
    ("hazards", "category"): RISK_CATEGORIES,
}
for _t in ("pipe_nodes", "pipe_segments", "valves", "service_connections"):
    CHOICES[(_t, "utility")] = UTILITIES
for _t in ("risk_points", "risk_zones"):
    CHOICES[(_t, "category")] = RISK_CATEGORIES
    CHOICES[(_t, "method")] = METHODS

Row = dict[str, Any]


def layer_crs(raw: RawLayer, override: str | None) -> CrsSpec:
    """The CRS the layer's coordinates are in: the named one, else the file's own."""
    try:
        if override:
            return parse_crs(override)
        if raw.crs is None:
            raise ImportRejected(
                "declares no CRS; name it with --crs (e.g. EPSG:4490 or GCJ-02)", layer=raw.name
            )
        epsg = raw.crs.to_epsg(min_confidence=70)
        if epsg is None:
            raise ImportRejected(
                f"has a CRS with no EPSG code ({raw.crs.name}); name it with --crs", layer=raw.name
            )
        return parse_crs(epsg)
    except UnknownCrsError as exc:
        raise ImportRejected(str(exc), layer=raw.name) from exc


def restore_truncated_names(raw: RawLayer, spec: LayerSpec) -> None:
    """Shapefile (dBase) field names stop at 10 characters: map each back to the one column it can be."""
    renames = {}
    for column in raw.frame.columns:
        if column in spec.columns or len(column) != 10:
            continue
        candidates = [c for c in spec.columns if c.startswith(column)]
        if len(candidates) == 1:
            renames[column] = candidates[0]
    if renames:
        raw.frame = raw.frame.rename(columns=renames)


def check_columns(raw: RawLayer, spec: LayerSpec) -> None:
    restore_truncated_names(raw, spec)
    geometry_name = raw.frame.geometry.name if raw.has_geometry else None
    present = [c for c in raw.frame.columns if c != geometry_name]
    unknown = sorted(set(present) - set(spec.columns))
    if unknown:
        raise ImportRejected(f"unknown columns {unknown}; allowed: {list(spec.columns)}", layer=raw.name)
    missing = [c for c in spec.required if c not in present]
    if missing:
        raise ImportRejected(f"missing required columns {missing}", layer=raw.name)
    if spec.geometry and not raw.has_geometry:
        raise ImportRejected(f"has no geometry; expected {spec.geometry}", layer=raw.name)


def _check_org_code(row: Row, layer: str, feature: str) -> None:
    """Province, city and county carry GB/T 2260 six-digit codes; a school its own identifier."""
    code, level = str(row.get("code", "")), row.get("level")
    if level != "school" and not (len(code) == 6 and code.isdigit()):
        raise ImportRejected(
            f"{level} code {code!r} must be a 6-digit administrative code (GB/T 2260)",
            layer=layer,
            feature=feature,
            field="code",
        )
    if level == "school" and not code.isalnum():
        raise ImportRejected(
            f"school code {code!r} must be letters and digits", layer=layer, feature=feature, field="code"
        )


def clean_rows(raw: RawLayer, spec: LayerSpec, crs_override: str | None) -> list[Row]:
    """Rows with typed values and 4326 geometries; the first problem found is raised."""
    check_columns(raw, spec)
    geoms = _clean_geometries(raw, spec, crs_override) if spec.geometry else None
    table = Base.metadata.tables[spec.table]
    rows: list[Row] = []
    records = raw.frame.drop(columns=[raw.frame.geometry.name] if raw.has_geometry else []).to_dict("records")
    for i, record in enumerate(records):
        feature = _feature_label(i, record)
        row: Row = {}
        for column in spec.columns:
            value = _none_if_missing(record.get(column))
            if value is None:
                if column in spec.required:
                    raise ImportRejected(
                        "required value is empty", layer=raw.name, feature=feature, field=column
                    )
                continue
            row[column] = _coerce(value, spec, table, column, raw.name, feature)
        if geoms is not None and geoms[i] is not None:
            row["geom"] = geoms[i]
        if spec.table == "org_units":
            _check_org_code(row, raw.name, feature)
        rows.append(row)
    return rows


def _feature_label(index: int, record: Row) -> str:
    for key in ("code", "device_id", "number", "plate"):
        value = record.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return f"{index + 1} ({key} {value!r})"
    return str(index + 1)


def _none_if_missing(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _coerce(value: Any, spec: LayerSpec, table: Any, column: str, layer: str, feature: str) -> Any:
    allowed = CHOICES.get((spec.table, column))
    if allowed is not None:
        if str(value) not in allowed:
            raise ImportRejected(
                f"{value!r} is not allowed; allowed: {', '.join(allowed)}",
                layer=layer,
                feature=feature,
                field=column,
            )
        return str(value)
    if column in spec.json_fields:
        try:
            return json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError as exc:
            raise ImportRejected(
                f"not valid JSON ({exc.msg})", layer=layer, feature=feature, field=column
            ) from exc
    if column in spec.list_fields:
        return [part.strip() for part in str(value).split(",") if part.strip()]
    if column in spec.refs:
        return str(value)
    target = table.columns.get(column)
    try:
        return typed_value(value, target.type if target is not None else None)
    except (TypeError, ValueError) as exc:
        raise ImportRejected(str(exc), layer=layer, feature=feature, field=column) from exc


def typed_value(value: Any, sqltype: Any) -> Any:
    """`value` as the Python type of `sqltype` (booleans, whole and finite numbers, local times)."""
    if isinstance(sqltype, Boolean):
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in {"1", "true", "yes", "y", "是"}:
                return True
            if lowered in {"0", "false", "no", "n", "否"}:
                return False
            raise ValueError(f"{value!r} is not a yes/no value")
        return bool(value)
    if isinstance(sqltype, Integer):
        number = float(value)
        if not math.isfinite(number) or number != int(number):
            raise ValueError(f"{value!r} is not a whole number")
        return int(number)
    if isinstance(sqltype, Float):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        return number
    if isinstance(sqltype, DateTime):
        stamp = pd.Timestamp(value)
        if stamp is pd.NaT:
            raise ValueError(f"{value!r} is not a date and time")
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize("Asia/Shanghai")  # Chinese deliveries write local time
        result: datetime = stamp.to_pydatetime()
        return result
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _clean_geometries(raw: RawLayer, spec: LayerSpec, crs_override: str | None) -> list[BaseGeometry | None]:
    crs = layer_crs(raw, crs_override)
    series = raw.frame.geometry
    codes = raw.frame.drop(columns=[series.name]).to_dict("records")
    out: list[BaseGeometry | None] = []
    for i, geom in enumerate(series.array):
        if spec.geometry_optional and (geom is None or geom.is_empty):
            out.append(None)
            continue
        out.append(_clean_one(geom, spec, crs, raw.name, _feature_label(i, codes[i])))
    return out


def _clean_one(
    geom: BaseGeometry | None, spec: LayerSpec, crs: CrsSpec, layer: str, feature: str
) -> BaseGeometry:
    if geom is None or geom.is_empty:
        raise ImportRejected("has no geometry", layer=layer, feature=feature)
    expected = spec.geometry or "GEOMETRY"
    kind = geom.geom_type.upper()
    if expected == "MULTIPOLYGON" and kind == "POLYGON":
        geom = MultiPolygon([geom])
    elif expected not in ("GEOMETRY", kind):
        raise ImportRejected(
            f"wrong geometry type {geom.geom_type}; expected {expected.title()}", layer=layer, feature=feature
        )
    coords = shapely.get_coordinates(geom, include_z=True)
    if not np.isfinite(coords[:, :2]).all():
        raise ImportRejected("has non-finite coordinates (NaN or infinity)", layer=layer, feature=feature)
    try:
        stored = to_storage(shapely.force_2d(geom), crs)
    except CoordinateRangeError as exc:
        raise ImportRejected(f"in {crs.label}, {exc}", layer=layer, feature=feature) from exc
    except Exception as exc:  # pyproj raises on points it cannot project
        raise ImportRejected(
            f"cannot be transformed from {crs.label}: {exc}", layer=layer, feature=feature
        ) from exc
    if not stored.is_valid:
        raise ImportRejected(
            f"invalid geometry: {shapely.is_valid_reason(stored)}", layer=layer, feature=feature
        )
    return stored
