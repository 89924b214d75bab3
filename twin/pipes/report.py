"""The printable excavation plan: HTML (Jinja2) and PDF (WeasyPrint), with a map and a depth profile drawn
as SVG by matplotlib. Built only from the stored plan document, so a plan prints the same later."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from matplotlib.figure import Figure  # no pyplot: no global state, safe in worker threads

TEMPLATES = Path(__file__).parent / "templates"
COLOURS = {
    "water": "#1f77b4",
    "drainage": "#8c564b",
    "gas": "#d4a017",
    "power": "#d62728",
    "telecom": "#2ca02c",
    "heat": "#e377c2",
}


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(("html",))
    )


def render_html(doc: dict[str, Any]) -> str:
    """The plan a crew takes out, as one self-contained HTML page."""
    return (
        _env()
        .get_template("plan.html")
        .render(plan=doc, map_svg=map_svg(doc), profile_svg=profile_svg(doc), colours=COLOURS)
    )


def render_pdf(doc: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=render_html(doc)).write_pdf()
    return pdf


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight")
    text = out.getvalue()
    return text[text.find("<svg") :]  # drop the XML prologue: the SVG is inlined into HTML


def map_svg(doc: dict[str, Any]) -> str:
    """Plan view in the campus metric CRS: the trench close up with the pipes around it, and an overview
    with the valves to close and the buildings to notify."""
    fig = Figure(figsize=(9, 4.6))
    near, overview = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
    for ax in (near, overview):
        _draw(ax, doc)
    xs, ys = zip(*doc["metric"]["top"], strict=True)
    margin = 6.0
    near.set_xlim(min(xs) - margin, max(xs) + margin)
    near.set_ylim(min(ys) - margin, max(ys) + margin)
    near.set_aspect("equal", adjustable="box")
    near.set_title("trench", fontsize=9)
    overview.set_title("valves to close and buildings to notify", fontsize=9)
    near.legend(fontsize=7, loc="best")
    return _svg(fig)


def _draw(ax: Any, doc: dict[str, Any]) -> None:
    m = doc["metric"]
    for pipe in m["pipes"]:
        xs, ys = zip(*pipe["coords"], strict=True)
        ax.plot(xs, ys, color=COLOURS.get(pipe["utility"], "grey"), lw=1.2, alpha=0.8)
    xs, ys = zip(*m["top"], strict=True)
    ax.fill(xs, ys, color="#f4a582", alpha=0.5, label="trench top")
    xs, ys = zip(*m["bottom"], strict=True)
    ax.fill(xs, ys, color="#b2182b", alpha=0.6, label="trench bottom")
    xs, ys = zip(*m["centreline"], strict=True)
    ax.plot(xs, ys, color=COLOURS.get(doc["utility"], "black"), lw=2.5, label=f"{doc['utility']} pipe")
    for v in doc["valves_to_close"]:
        if v["xy"]:
            ax.plot(*v["xy"], marker="X", color="black", ms=8, ls="none")
            ax.annotate(
                v["code"] or str(v["id"]), v["xy"], xytext=(4, 4), textcoords="offset points", fontsize=6
            )
    for b in doc["buildings_to_notify"]:
        ax.plot(*b["xy"], marker="s", color="#4d4d4d", ms=5, ls="none")
        ax.annotate(b["code"], b["xy"], xytext=(4, -8), textcoords="offset points", fontsize=6)
    ax.set_aspect("equal", adjustable="datalim")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.tick_params(labelsize=6)
    ax.set_xlabel(f"easting (m, EPSG:{m['srid']})", fontsize=7)
    ax.set_ylabel("northing (m)", fontsize=7)


def profile_svg(doc: dict[str, Any]) -> str:
    """Long section: ground, pipe top and bottom, trench bottom along the stations."""
    st = doc["profile"]
    s = [p["s"] for p in st]
    fig = Figure(figsize=(7, 2.8))
    ax = fig.subplots()
    ax.plot(s, [p["ground"] for p in st], color="#4d9221", label="ground (DEM)")
    ax.plot(s, [p["pipe_top"] for p in st], color=COLOURS.get(doc["utility"], "black"), label="pipe top")
    ax.plot(
        s,
        [p["pipe_bottom"] for p in st],
        color=COLOURS.get(doc["utility"], "black"),
        ls="--",
        label="pipe bottom",
    )
    ax.fill_between(
        s, [p["bottom"] for p in st], [p["ground"] for p in st], color="#f4a582", alpha=0.4, label="dug"
    )
    ax.set_xlabel("station (m)")
    ax.set_ylabel("elevation (m)")
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="lower right")
    return _svg(fig)
