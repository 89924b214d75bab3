"""The campus MapLibre style over the campus tileset: no text layers, so no glyphs or sprites to fetch."""

from __future__ import annotations

from typing import Any

# The four-colour map (四色图): level 1 major risk red, 2 orange, 3 yellow, 4 low risk blue.
RISK_COLOURS = {1: "#E02020", 2: "#F08C00", 3: "#F5D000", 4: "#2878F0"}
UTILITY_COLOURS = {
    "water": "#1F78B4",
    "drainage": "#6A3D9A",
    "gas": "#E6AB02",
    "power": "#E31A1C",
    "telecom": "#33A02C",
    "heat": "#FF7F00",
}
POINT_COLOURS = {
    "pipe_nodes": "#555555",
    "valves": "#1F78B4",
    "risk_points": "#E02020",
    "hazards": "#B15928",
    "sensors": "#17BECF",
    "alerts": "#FF00FF",
    "bus_stops": "#FFFFFF",
    "vehicles": "#FFD700",
    "gates": "#2E7D32",
}
SOURCE = "campus"
OTHER = "#9E9E9E"


def _match(prop: str, colours: dict[Any, str]) -> list[Any]:
    expression: list[Any] = ["match", ["get", prop]]
    for value, colour in colours.items():
        expression += [value, colour]
    return [*expression, OTHER]


def _layer(id_: str, type_: str, source_layer: str, paint: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": id_, "type": type_, "source": SOURCE, "source-layer": source_layer, "paint": paint, **extra}


def _coverage_layer() -> dict[str, Any]:
    """Patrol checkpoints coloured by the share of their checks visited on time (grey: none due yet)."""
    share = ["get", "on_time_pct_7d"]
    colour = ["case", ["==", share, None], OTHER, ["step", share, "#E02020", 80, "#F5D000", 95, "#2E7D32"]]
    paint = {
        "circle-color": colour,
        "circle-radius": 6,
        "circle-stroke-color": "#5E35B1",
        "circle-stroke-width": 2,
    }
    return _layer("patrol_checkpoints", "circle", "patrol_checkpoints", paint)


def campus_style(tiles_url: str, *, minzoom: int = 0, maxzoom: int = 22) -> dict[str, Any]:
    """A MapLibre style (spec v8) drawing the campus tileset whose tile URL template is `tiles_url`."""
    layers: list[dict[str, Any]] = [
        {"id": "background", "type": "background", "paint": {"background-color": "#F4F1EA"}},
        _layer("campuses", "fill", "campuses", {"fill-color": "#DDE8D0", "fill-outline-color": "#7A9A6A"}),
        _layer(
            "risk_zones",
            "fill",
            "risk_zones",
            {
                "fill-color": _match("level", RISK_COLOURS),
                "fill-opacity": 0.45,
                "fill-outline-color": "#333333",
            },
        ),
        _layer(
            "four_colour",
            "fill",
            "four_colour",
            {
                # The colour of the zone's own scale (a province may choose others), from twin.riskmap.
                "fill-color": ["coalesce", ["get", "colour"], "#9E9E9E"],
                "fill-opacity": 0.55,
                "fill-outline-color": "#000000",
            },
        ),
        _layer("bus_routes", "line", "bus_routes", {"line-color": "#FFB300", "line-width": 3}),
        _layer(
            "patrol_routes",
            "line",
            "patrol_routes",
            {"line-color": "#5E35B1", "line-width": 2, "line-dasharray": [2, 1]},
        ),
        _layer(
            "pipe_segments",
            "line",
            "pipe_segments",
            {"line-color": _match("utility", UTILITY_COLOURS), "line-width": 2},
        ),
        _layer(
            "buildings",
            "fill-extrusion",
            "buildings",
            {
                "fill-extrusion-color": "#C8C2B8",
                "fill-extrusion-height": ["coalesce", ["get", "height_m"], 3],
                "fill-extrusion-base": 0,
                "fill-extrusion-opacity": 0.85,
            },
        ),
    ]
    for name, colour in POINT_COLOURS.items():
        layers.append(
            _layer(
                name,
                "circle",
                name,
                {
                    "circle-color": colour,
                    "circle-radius": 3 if name in {"pipe_nodes", "valves"} else 5,
                    "circle-stroke-color": "#222222",
                    "circle-stroke-width": 1,
                },
            )
        )
    layers.append(_coverage_layer())
    return {
        "version": 8,
        "name": "Campus Twin",
        "metadata": {"twin:legend": {"risk_level": RISK_COLOURS, "utility": UTILITY_COLOURS}},
        "sources": {
            SOURCE: {
                "type": "vector",
                "tiles": [tiles_url],
                "minzoom": minzoom,
                "maxzoom": maxzoom,
                "attribution": "Campus Twin",
            }
        },
        "layers": layers,
    }
