"""Risk zones as translucent volumes in the four colours of their effective level."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twin.scenes.buildings import local_polygons
from twin.scenes.frame import Frame
from twin.scenes.glb import Primitive, PropertyTable, write_glb
from twin.scenes.prism import prisms

ALPHA = 0.45
STOREY_M = 3.5
"""Storey height assumed to lift a zone on an upper floor when the building gives none."""


@dataclass(frozen=True)
class ZoneRow:
    id: int
    code: str
    name: str
    category: str | None
    effective_level: int | None
    colour: str  # "#RRGGBB" from the scale's palette
    label: str
    floor: int | None
    base_m: float  # ground or building base under the zone
    height_m: float
    footprint: bytes  # WKB lon/lat


def rgba(colour: str, alpha: float = ALPHA) -> tuple[float, float, float, float]:
    h = colour.lstrip("#")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, alpha)


def zone_bottom(base_m: float, floor: int | None, storey_m: float = STOREY_M) -> float:
    """A zone on floor n (1 = ground floor) starts (n - 1) storeys above the base; basements below."""
    if floor is None or floor == 1:
        return base_m
    return base_m + (floor - 1 if floor > 0 else floor) * storey_m


def volumes_glb(frame: Frame, rows: Sequence[ZoneRow]) -> bytes:
    polygons = local_polygons(frame, [r.footprint for r in rows])
    bottom = np.array([zone_bottom(r.base_m, r.floor) for r in rows], dtype="float64") - frame.h
    top = bottom + np.array([r.height_m for r in rows], dtype="float64")
    # A hair above the ground and inside walls would z-fight; lift by 5 cm.
    mesh = prisms(polygons, bottom + 0.05, top)
    palette = np.array([rgba(r.colour) for r in rows] or [rgba("#9E9E9E")])
    colours = palette[mesh.feature_ids.astype("int64")]
    prim = Primitive(
        mesh.positions.astype("float32"),
        mesh.normals.astype("float32"),
        mesh.indices.astype("uint32"),
        mesh.feature_ids.astype("float32"),
        colours=colours.astype("float32"),
        translucent=True,
    )
    table = PropertyTable(
        "risk_zone",
        {
            "id": [r.id for r in rows],
            "code": [r.code for r in rows],
            "name": [r.name for r in rows],
            "category": [r.category for r in rows],
            "effective_level": [r.effective_level if r.effective_level is not None else 0 for r in rows],
            "colour": [r.colour for r in rows],
            "label": [r.label for r in rows],
        },
    )
    return write_glb([prim], table)
