"""The four-colour map (四色图): zones coloured by the highest risk inside them, and the roll-up summaries.

A zone's level is the highest (lowest-numbered) of its own level and those of the risk points linked to
it by `zone_id` ("从严从高"). The link is the point's zone_id, not spatial containment: the sample data
and the editor set it, and it keeps one edit O(depth) (a containment test would have to re-run for every
point whenever a zone's outline moved). Counts come from `risk_rollup`, kept by triggers (migration 0008).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twin.riskmap.scales import Scale

NOT_GRADED = "#9E9E9E"


def highest(points: Sequence[int], zones: Sequence[int]) -> int | None:
    """The highest level (lowest number) with anything counted, or None."""
    for i, (p, z) in enumerate(zip(points, zones, strict=True), start=1):
        if p + z > 0:
            return i
    return None


def counts(row: dict[str, Any]) -> dict[str, Any]:
    """A roll-up row as the API shows it: counts per level of points and zones, and the highest level."""
    points, zones = list(row["points"]), list(row["zones"])
    return {
        "points": {str(i): n for i, n in enumerate(points, start=1)},
        "zones": {str(i): n for i, n in enumerate(zones, start=1)},
        "total_points": sum(points),
        "total_zones": sum(zones),
        "highest_level": highest(points, zones),
    }


def zone_feature(row: dict[str, Any], scale: Scale) -> dict[str, Any]:
    """One zone as a GeoJSON Feature with its effective level, colour and label."""
    level = highest(row["points"], row["zones"]) or row["level"]
    known = level is not None and any(lv.level == level for lv in scale.levels)
    entry = scale.level(level) if known and level is not None else None
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": row["geometry"],
        "properties": {
            "code": row["code"],
            "name": row["name"],
            "category": row["category"],
            "building": row["building"],
            "floor": row["floor"],
            "level": row["level"],
            "effective_level": level,
            "colour": entry.colour if entry else NOT_GRADED,
            "label": entry.label if entry else "not graded",
            "label_zh": entry.zh if entry else "未分级",
            "points_by_level": list(row["points"]),
        },
    }


def four_colour(rows: list[dict[str, Any]], scales: dict[str, Scale], legend_scale: Scale) -> dict[str, Any]:
    """The FeatureCollection of zones; `scales` maps each zone's org path to the scale it grades with."""
    return {
        "type": "FeatureCollection",
        "features": [zone_feature(r, scales[r["org_path"]]) for r in rows],
        "legend": legend(legend_scale),
    }


def legend(scale: Scale) -> list[dict[str, Any]]:
    return [
        {"level": lv.level, "colour": lv.colour, "name": lv.colour_name, "zh": lv.zh, "en": lv.en}
        for lv in scale.levels
    ]
