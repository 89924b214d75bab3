"""A statistic as a picture: a choropleth of the groups' areas, or a bar chart (matplotlib, PNG or SVG)."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on a server

import geopandas as gpd
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

FONT = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
MAX_BARS = 40


def _save(fig: Figure, f: str) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format=f, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return out.getvalue()


def choropleth(frame: gpd.GeoDataFrame, measure: str, title: str, f: str) -> bytes:
    """Groups' areas shaded by `measure`, with a colour bar; groups without an area are left out."""
    with plt.rc_context({"font.family": FONT}):
        fig, ax = plt.subplots(figsize=(8, 7))
        drawn = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        if drawn.empty:
            ax.text(0.5, 0.5, "no areas to draw", ha="center", va="center", transform=ax.transAxes)
        else:
            drawn.plot(
                column=measure,
                ax=ax,
                cmap="OrRd",
                edgecolor="#555555",
                linewidth=0.4,
                legend=True,
                legend_kwds={"label": measure, "shrink": 0.6},
                missing_kwds={"color": "#eeeeee", "label": "no data"},
            )
        ax.set_title(title)
        ax.set_axis_off()
        return _save(fig, f)


def bar_chart(rows: list[dict[str, Any]], measures: list[str], title: str, f: str) -> bytes:
    """One group of bars per org unit (the largest first, at most MAX_BARS), one bar per measure."""
    ranked = sorted(rows, key=lambda r: -(r.get(measures[0]) or 0))[:MAX_BARS]
    with plt.rc_context({"font.family": FONT}):
        fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(ranked) * len(measures)), 5))
        width = 0.8 / max(len(measures), 1)
        for i, m in enumerate(measures):
            xs = [k + i * width for k in range(len(ranked))]
            ax.bar(xs, [r.get(m) or 0 for r in ranked], width=width, label=m)
        ax.set_xticks([k + 0.4 - width / 2 for k in range(len(ranked))])
        ax.set_xticklabels([str(r["name"]) for r in ranked], rotation=60, ha="right", fontsize=8)
        ax.set_title(title)
        ax.legend()
        return _save(fig, f)
