"""Risk zones, risk points and hazards of the sample campus, graded with the default bands of risk.md."""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.geometry import Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from twin.samples.layout import Building
from twin.samples.risk_catalog import (
    ACCIDENT_TYPES,
    MEASURES,
    POINTS,
    RESPONSIBLE,
    ZONES,
    Entry,
    Place,
)

Row = dict[str, Any]

LEC_VALUES = {"L": (10, 6, 3, 1, 0.5, 0.2, 0.1), "E": (10, 6, 3, 2, 1, 0.5), "C": (100, 40, 15, 7, 3, 1)}
CONTROL_LEVEL = {1: "school", 2: "department", 3: "grade", 4: "post"}
REVIEW = {1: "2026-03-01", 2: "2026-06-01", 3: "2026-09-01", 4: "2026-09-01"}
MEASURE_KEYS = ("engineering", "management", "training", "ppe", "emergency")
GB6441 = {
    "01": "物体打击",
    "02": "车辆伤害",
    "03": "机械伤害",
    "05": "触电",
    "06": "淹溺",
    "07": "灼烫",
    "08": "火灾",
    "09": "高处坠落",
    "10": "坍塌",
    "16": "锅炉爆炸",
    "17": "容器爆炸",
    "18": "其他爆炸",
    "19": "中毒和窒息",
    "20": "其他伤害",
}


def lec_level(d: float) -> int:
    """risk.md bands: D >= 320 major, 160-320 considerable, 70-160 general, below low (< 20 is 'not graded'
    but shown as low)."""
    return 1 if d >= 320 else 2 if d >= 160 else 3 if d >= 70 else 4


def ls_level(r: float) -> int:
    """risk.md default (AQ 3013 lineage): R >= 20 major, 15-16 considerable, 9-12 general, <= 8 low."""
    return 1 if r >= 20 else 2 if r >= 15 else 3 if r >= 9 else 4


def assess(method: str, values: tuple[float, ...]) -> tuple[dict[str, float], float, int]:
    """Inputs as stored, the score (their product) and the level; refuses values outside the lists."""
    if method == "LEC":
        inputs = dict(zip("LEC", values, strict=True))
        for key, value in inputs.items():
            if value not in LEC_VALUES[key]:
                raise ValueError(f"LEC {key}={value} not in {LEC_VALUES[key]}")
        score = round(inputs["L"] * inputs["E"] * inputs["C"], 2)
        return inputs, score, lec_level(score)
    inputs = dict(zip("LS", values, strict=True))
    if not all(v in (1, 2, 3, 4, 5) for v in inputs.values()):
        raise ValueError(f"LS inputs must be 1..5, got {inputs}")
    score = float(inputs["L"] * inputs["S"])
    return inputs, score, ls_level(score)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _bbox_point(footprint: Polygon, fx: float, fy: float) -> Point:
    x0, y0, x1, y1 = footprint.bounds
    return Point(round(x0 + fx * (x1 - x0), 3), round(y0 + fy * (y1 - y0), 3))


def _polygon(
    place: Place, blds: dict[str, Building], grounds: dict[str, BaseGeometry], site: Polygon
) -> tuple[Polygon, str | None, int | None]:
    kind = place[0]
    if kind == "b":
        _, code, floor, (fx0, fy0, fx1, fy1) = place
        footprint = blds[code].footprint
        a, b = _bbox_point(footprint, fx0, fy0), _bbox_point(footprint, fx1, fy1)
        return _largest(footprint.intersection(box(a.x, a.y, b.x, b.y))), code, floor
    if kind == "g":
        _, code, distance = place
        geom = grounds[code].buffer(distance, quad_segs=8) if distance else grounds[code]
        return _largest(geom.intersection(site)), None, None
    return box(*place[1:]), None, None


def _largest(geom: BaseGeometry) -> Polygon:
    parts = sorted(shapely.get_parts(geom), key=lambda p: -p.area)
    return shapely.normalize(parts[0])


def locate_point(place: Place, blds: dict[str, Building]) -> tuple[Point, str | None, int | None]:
    if place[0] == "b":
        _, code, floor, (fx, fy) = place
        point = _bbox_point(blds[code].footprint, fx, fy)
        if not blds[code].footprint.contains(point):
            raise ValueError(f"risk point {place} is outside building {code}")
        return point, code, floor
    return Point(place[1], place[2]), None, None


def _row(code: str, entry: Entry, staff: dict[str, str]) -> Row:
    name, category, _place, method, values, dynamic = entry
    inputs, score, level = assess(method, values)
    types = ACCIDENT_TYPES[category]
    hazards = "、".join(GB6441[t] for t in types.split(","))
    return {
        "code": code,
        "name": name,
        "category": category,
        "accident_types": types,
        "description": f"{name}：可能导致{hazards}",
        "method": method,
        "inputs": _json(inputs),
        "score": score,
        "level": level,
        "dynamic": dynamic,
        "measures": _json(dict(zip(MEASURE_KEYS, MEASURES[category], strict=True))),
        "control_level": CONTROL_LEVEL[level],
        "responsible": staff["vp_safety" if level == 1 else RESPONSIBLE[category]],
        "review_date": REVIEW[level],
    }


def risk_layers(
    blds: list[Building], grounds: list[Row], site: Polygon, staff: dict[str, str]
) -> tuple[list[Row], list[Row]]:
    """Zones, then points; a point inside a zone (same building and floor) refers to it."""
    by_code = {b.code: b for b in blds}
    ground_geoms = {g["code"]: g["geometry"] for g in grounds}
    zones: list[Row] = []
    for i, entry in enumerate(ZONES, start=1):
        poly, building, floor = _polygon(entry[2], by_code, ground_geoms, site)
        zones.append(
            {**_row(f"RZ-{i:02d}", entry, staff), "floor": floor, "building": building, "geometry": poly}
        )
    points: list[Row] = []
    for i, entry in enumerate(POINTS, start=1):
        point, building, floor = locate_point(entry[2], by_code)
        zone = next(
            (
                z["code"]
                for z in zones
                if z["geometry"].contains(point)
                and z["building"] == building
                and (z["floor"] is None or z["floor"] == floor)
            ),
            None,
        )
        points.append(
            {
                **_row(f"RP-{i:02d}", entry, staff),
                "floor": floor,
                "building": building,
                "zone": zone,
                "geometry": point,
            }
        )
    return zones, points
