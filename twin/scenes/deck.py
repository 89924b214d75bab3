"""The big screen's scene spec, built with pydeck and loadable by @deck.gl/json's JSONConverter.

Buildings are extruded polygons (deck.gl picks per building, which its Tile3DLayer cannot), pipes are
PathLayers with [lon, lat, z] paths (z below the ground), risk zones are translucent extruded polygons
in their level colours, alerts and buses are points. Every datum carries the properties a click shows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pydeck as pdk
import shapely

from twin.scenes.buildings import BuildingRow
from twin.scenes.pipes import OTHER, UTILITY_COLOURS, Ground, PipeRow, axis_lonlat
from twin.scenes.volumes import ZoneRow, rgba, zone_bottom

SEVERITY_COLOURS = {"critical": [220, 0, 0], "major": [240, 120, 0], "minor": [245, 200, 0]}
# The layer classes the page must register with its JSONConverter.
LAYER_CLASSES = ("PolygonLayer", "PathLayer", "ScatterplotLayer", "TextLayer")


def _rgb(colour: Sequence[float], alpha: float = 1.0) -> list[int]:
    return [round(c * 255) for c in colour[:3]] + [round(alpha * 255)]


def _rings(wkb: bytes, z: float) -> list[list[list[float]]]:
    polygon = shapely.from_wkb(wkb)
    rings = [polygon.exterior, *polygon.interiors]
    return [[[round(x, 7), round(y, 7), round(z, 2)] for x, y, *_ in ring.coords] for ring in rings]


def building_data(rows: Sequence[BuildingRow]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "code": r.code,
            "name": r.name,
            "use": r.use,
            "floors": r.floors,
            "height_m": r.height_m,
            "polygon": _rings(r.footprint, r.base_elev_m),
        }
        for r in rows
    ]


def pipe_data(rows: Sequence[PipeRow], ground: Ground, assumed_depth_m: float) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        axis, assumed = axis_lonlat(r, ground, assumed_depth_m)
        out.append(
            {
                "id": r.id,
                "code": r.code,
                "utility": r.utility,
                "diameter_mm": r.diameter_mm,
                "depth_assumed": assumed,
                "colour": _rgb(UTILITY_COLOURS.get(r.utility, OTHER)),
                "width_m": max(r.diameter_mm / 1000.0, 0.05),
                "path": [[round(x, 7), round(y, 7), round(z, 2)] for x, y, z in axis.tolist()],
            }
        )
    return out


def zone_data(rows: Sequence[ZoneRow]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "code": r.code,
            "name": r.name,
            "effective_level": r.effective_level,
            "label": r.label,
            "colour": _rgb(rgba(r.colour), 0.45),
            "height_m": r.height_m,
            "polygon": _rings(r.footprint, zone_bottom(r.base_m, r.floor) + 0.05),
        }
        for r in rows
    ]


def deck_spec(
    centre: tuple[float, float],
    buildings: list[dict[str, Any]],
    pipes: list[dict[str, Any]],
    zones: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    buses: list[dict[str, Any]],
) -> dict[str, Any]:
    """The deck.gl JSON (a dict) of the scene."""
    for a in alerts:
        a["colour"] = SEVERITY_COLOURS.get(a.get("severity", ""), [200, 0, 200])
    layers = [
        pdk.Layer(
            "PolygonLayer", data=buildings, id="buildings", get_polygon="polygon", extruded=True,
            get_elevation="height_m", get_fill_color=[220, 214, 204, 255], get_line_color=[90, 90, 90, 255],
            pickable=True, auto_highlight=True,
        ),
        pdk.Layer(
            "PathLayer", data=pipes, id="pipes", get_path="path", get_color="colour", get_width="width_m",
            width_units="meters", width_min_pixels=2, pickable=True, auto_highlight=True,
        ),
        pdk.Layer(
            "PolygonLayer", data=zones, id="risk_zones", get_polygon="polygon", extruded=True,
            get_elevation="height_m", get_fill_color="colour", stroked=False, pickable=True,
        ),
        pdk.Layer(
            "ScatterplotLayer", data=alerts, id="alerts", get_position="[lon, lat]", get_fill_color="colour",
            get_radius=6, radius_min_pixels=6, pickable=True,
        ),
        pdk.Layer(
            "ScatterplotLayer", data=buses, id="buses", get_position="[lon, lat]",
            get_fill_color=[250, 200, 0, 255], get_radius=4, radius_min_pixels=5, pickable=True,
        ),
        pdk.Layer(
            "TextLayer", data=buses, id="bus_plates", get_position="[lon, lat]", get_text="plate",
            get_size=14, get_pixel_offset=[0, -16],
        ),
    ]  # fmt: skip
    view = pdk.ViewState(longitude=centre[0], latitude=centre[1], zoom=16.5, pitch=55, bearing=-20)
    deck = pdk.Deck(layers=layers, initial_view_state=view, map_provider=None, map_style=None)
    spec: dict[str, Any] = json.loads(deck.to_json())
    for layer in spec["layers"]:
        # pydeck makes every string an expression ("@@=meters"); only accessors (get*) should be.
        for key, value in layer.items():
            if not key.startswith("get") and isinstance(value, str) and value.startswith("@@="):
                layer[key] = value[3:]
    return spec
