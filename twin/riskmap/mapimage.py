"""The four-colour map as an image (PNG or SVG, matplotlib): legend, level numbers, black-and-white print.

Every zone carries its level number as text so the map reads without colour; `bw=True` replaces the fills
by hatch patterns (one per level) for black-and-white printers.
"""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on a server

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon
from shapely.geometry import shape

HATCHES = {1: "xxxx", 2: "////", 3: "....", 4: ""}
FONT = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def _label_at(geometry: dict[str, Any]) -> tuple[float, float]:
    """A point inside the zone (an L-shaped zone's centroid may lie outside it)."""
    point = shape(geometry).representative_point()
    return point.x, point.y


def _draw_zone(ax: Any, feature: dict[str, Any], bw: bool) -> None:
    props = feature["properties"]
    level = props["effective_level"]
    for ring in _rings(feature["geometry"]):
        if bw:
            patch = Polygon(
                ring, closed=True, facecolor="white", edgecolor="black", hatch=HATCHES.get(level, "")
            )
        else:
            patch = Polygon(ring, closed=True, facecolor=props["colour"], edgecolor="#333333", alpha=0.85)
        ax.add_patch(patch)
    if feature["geometry"]["type"] in ("Polygon", "MultiPolygon"):
        x, y = _label_at(feature["geometry"])
        ax.text(
            x,
            y,
            str(level) if level else "–",
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold",
            bbox={"boxstyle": "circle,pad=0.2", "facecolor": "white", "edgecolor": "black", "linewidth": 0.5},
        )


def _legend(ax: Any, legend: list[dict[str, Any]], bw: bool) -> None:
    handles = [
        Patch(
            facecolor="white" if bw else entry["colour"],
            edgecolor="black",
            hatch=HATCHES.get(entry["level"], "") if bw else None,
            label=f"{entry['level']}  {entry['zh']} {entry['en']}",
        )
        for entry in legend
    ]
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="风险等级 level", fontsize=8
    )


def render(collection: dict[str, Any], title: str, fmt: str, *, bw: bool = False) -> bytes:
    """The map of `collection` (four_colour's output) as PNG or SVG bytes."""
    plt.rcParams["font.sans-serif"] = FONT
    plt.rcParams["svg.fonttype"] = "none"  # text stays text in SVG: searchable, readable by screen readers
    fig = Figure(figsize=(10, 7), dpi=120)
    ax = fig.add_subplot()
    # Higher risks drawn last, on top of the lower zones they lie in.
    for feature in sorted(collection["features"], key=lambda f: -(f["properties"]["effective_level"] or 9)):
        _draw_zone(ax, feature, bw)
    ax.autoscale_view()
    # Metres east and north at the same scale: a degree of longitude is cos(latitude) of one of latitude.
    y0, y1 = ax.get_ylim()
    ax.set_aspect(1 / max(math.cos(math.radians((y0 + y1) / 2)), 0.01), adjustable="datalim")
    ax.set_title(title)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.ticklabel_format(useOffset=False)
    _legend(ax, collection["legend"], bw)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format=fmt)
    return out.getvalue()
