"""Survey deliveries (地下管线探测成果): a point table and a line table per utility with Chinese field names,
turned into the `pipe_nodes`, `pipe_segments` and `valves` layers that twin.ingest checks and writes.

The mapping (layer prefixes, field aliases, feature words, materials) is data: data/survey.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from twin.errors import ImportRejected

DATA = Path(__file__).parent / "data"
Record = dict[str, Any]


@dataclass(frozen=True)
class SurveyTable:
    utility: str
    depth_ref: str
    kind: str  # points | lines


@cache
def mapping() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DATA / "survey.yaml").read_text(encoding="utf-8"))
    for key in ("source", "status", "utilities", "points", "lines", "features", "devices", "materials"):
        if key not in doc:
            raise ValueError(f"survey.yaml lacks {key!r}")
    return doc


def classify(name: str, geometry_type: str | None) -> SurveyTable | None:
    """The utility and table kind of a layer named like JS_point, 给水点, PS线…; None if it is not one."""
    m = mapping()
    for code, spec in m["utilities"].items():
        prefixes = [code, *spec["names"]]
        prefix = next((p for p in prefixes if name.upper().startswith(p.upper())), None)
        if prefix is None:
            continue
        rest = name[len(prefix) :]
        if any(rest.endswith(s) for s in m["point_suffixes"]) and rest:
            kind = "points"
        elif any(rest.endswith(s) for s in m["line_suffixes"]) and rest:
            kind = "lines"
        elif geometry_type:
            kind = "points" if "point" in geometry_type.lower() else "lines"
        else:
            return None
        return SurveyTable(spec["utility"], spec["depth_ref"], kind)
    return None


def _field(record: Record, aliases: list[str]) -> Any:
    for alias in aliases:
        if alias in record and record[alias] is not None and str(record[alias]).strip() not in ("", "nan"):
            return record[alias]
    return None


def diameter_mm(value: Any) -> float | None:
    """管径 as delivered: 150, "DN150", "Φ300", "400×300" (a box section: its width), "4孔" (ducts: None)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    numbers = re.findall(r"\d+(?:\.\d+)?", str(value))
    return float(numbers[0]) if numbers else None


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def convert(
    tables: list[tuple[SurveyTable, list[Record]]], layer_names: list[str]
) -> dict[str, list[Record]]:
    """Rows of pipe_nodes, pipe_segments and valves from the survey tables (geometry under "geometry")."""
    m = mapping()
    nodes: list[Record] = []
    segments: list[Record] = []
    for (table, records), layer in zip(tables, layer_names, strict=True):
        for i, rec in enumerate(records):
            if table.kind == "points":
                nodes.append(_node(m, table, rec, layer, i))
            else:
                segments.append(_segment(m, table, rec, layer, i))
    return {"pipe_nodes": nodes, "pipe_segments": segments, "valves": _valves(m, nodes, segments)}


def _node(m: dict[str, Any], table: SurveyTable, rec: Record, layer: str, i: int) -> Record:
    f = m["points"]
    code = _field(rec, f["code"])
    if code is None:
        raise ImportRejected(f"no point number (one of {', '.join(f['code'])})", layer=layer, feature=i)
    feature = _field(rec, f["feature"])
    return {
        "utility": table.utility,
        "code": str(code),
        "kind": m["features"].get(str(feature).strip(), "junction") if feature is not None else "junction",
        "feature": feature,
        "ground_elev_m": _number(_field(rec, f["ground_elev_m"])),
        "well_depth_m": _number(_field(rec, f["well_depth_m"])),
        "owner": _field(rec, f["owner"]),
        "geometry": rec["geometry"],
    }


def _segment(m: dict[str, Any], table: SurveyTable, rec: Record, layer: str, i: int) -> Record:
    f = m["lines"]
    start, end = _field(rec, f["start_node"]), _field(rec, f["end_node"])
    if start is None or end is None:
        raise ImportRejected(
            f"a pipe needs its start and end point numbers ({f['start_node'][0]}, {f['end_node'][0]})",
            layer=layer,
            feature=i,
        )
    code = _field(rec, f["code"]) or f"{start}-{end}"
    material = _field(rec, f["material"])
    year = _number(_field(rec, f["year"]))
    return {
        "utility": table.utility,
        "code": str(code),
        "start_node": str(start),
        "end_node": str(end),
        "start_depth_m": _number(_field(rec, f["start_depth_m"])),
        "end_depth_m": _number(_field(rec, f["end_depth_m"])),
        "depth_ref": table.depth_ref,
        "diameter_mm": diameter_mm(_field(rec, f["diameter"])),
        "material": m["materials"].get(str(material).strip(), material) if material is not None else None,
        "laying": _field(rec, f["laying"]),
        "pressure_class": _field(rec, f["pressure_class"]),
        "owner": _field(rec, f["owner"]),
        "year": int(year) if year else None,
        "geometry": rec["geometry"],
    }


def _valves(m: dict[str, Any], nodes: list[Record], segments: list[Record]) -> list[Record]:
    """A valve point sits in the line: the device goes on the first pipe (by code) that ends at it."""
    words = set(m["devices"]["features"])
    at: dict[tuple[str, str], list[str]] = {}
    for seg in sorted(segments, key=lambda s: s["code"]):
        for end in (seg["start_node"], seg["end_node"]):
            at.setdefault((seg["utility"], end), []).append(seg["code"])
    valves = []
    for node in nodes:
        pipes = at.get((node["utility"], node["code"]))
        if node["feature"] is not None and str(node["feature"]).strip() in words and pipes:
            valves.append(
                {
                    "utility": node["utility"],
                    "code": f"V-{node['code']}",
                    "kind": m["devices"]["kind"][node["utility"]],
                    "segment": pipes[0],
                    "node": node["code"],
                    "normal_position": "open",
                    "geometry": node["geometry"],
                }
            )
    return valves


def survey_layers(raws: list[Any]) -> list[Any] | None:
    """The delivery's layers as pipe_nodes, pipe_segments and valves when every layer is a survey table
    (JS_point, 给水线…); None when the delivery is not a survey (its layers are named after tables)."""
    import geopandas as gpd

    from twin.ingest.reader import RawLayer

    tables = []
    for raw in raws:
        geom_type = None
        if raw.has_geometry:
            present = raw.frame.geometry.dropna()
            geom_type = str(present.iloc[0].geom_type) if len(present) else None
        table = classify(raw.name, geom_type)
        if table is None or not raw.has_geometry or not _has_key_fields(table, set(raw.frame.columns)):
            return None
        tables.append(table)
    crs = {str(r.crs) for r in raws}
    if len(crs) > 1:
        raise ImportRejected(f"the survey tables declare different CRSs: {', '.join(sorted(crs))}")
    records = [_records(raw) for raw in raws]
    rows = convert(list(zip(tables, records, strict=True)), [r.name for r in raws])
    for node in rows["pipe_nodes"]:
        node.pop("feature")
    layers = []
    for name, table_rows in rows.items():
        if table_rows:
            frame = gpd.GeoDataFrame(table_rows, geometry="geometry", crs=raws[0].crs)
            layers.append(RawLayer(name, frame, raws[0].crs, True))
    return layers


def _records(raw: Any) -> list[Record]:
    attributes = raw.frame.drop(columns=[raw.frame.geometry.name]).to_dict("records")
    return [{**rec, "geometry": geom} for rec, geom in zip(attributes, raw.frame.geometry, strict=True)]


def _has_key_fields(table: SurveyTable, columns: set[str]) -> bool:
    """A survey table carries its point numbers (points) or start and end point numbers (lines)."""
    m = mapping()
    if table.kind == "points":
        return bool(columns & set(m["points"]["code"]))
    lines = m["lines"]
    return bool(columns & set(lines["start_node"])) and bool(columns & set(lines["end_node"]))
