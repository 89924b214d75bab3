"""plan_excavation(...) -> ExcavationPlan: the trench to reach a pipe (模拟开挖), pure, in metres.

Per station s along the centreline (domain note, GB 50268-2008 §4.3):
  z_top(s) = ground at survey − depth to top (or z_bot = ground − depth to invert), interpolated end to end;
  H(s) = DEM(s) − z_bot(s) + bedding;  B = D0 + 2·(b1 + b2);  slope 1:m by soil and load at the top;
  A(s) = (B + m·H)·H;  V = Σ (A_i + A_{i+1})/2 · Δs;  top width = B + 2·m·H.
Tables (slopes, working widths) are data files with their source and status.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from shapely.geometry import LineString, Point, Polygon
from shapely.ops import nearest_points, substring, unary_union

from twin.errors import UnprocessableContent
from twin.pipes.clearances import PipeSide, clearance
from twin.pipes.network import XY, Link

DATA = Path(__file__).parent / "data"
LOADS = ("none", "static", "dynamic")
SHORING_M = 0.2  # b2, the thickness of shoring per side (GB 50268: 0.15–0.2 m)
SPECIAL_PLAN_M = 3.0  # ≥ 3 m: a dangerous sub-project needing a special plan (建办质〔2018〕31号)
CALCULATION_M = 5.0  # > 5 m: the slope table no longer applies; a calculation is needed
SPOIL = "spoil at least 0.8 m from the trench edge and at most 1.5 m high"
Ground = Callable[[Sequence[XY]], Sequence[float | None]]


class DemNotCovering(UnprocessableContent):
    title = "DEM does not cover the trench"


class MissingDepths(UnprocessableContent):
    title = "Pipe depths missing"


@dataclass(frozen=True)
class SoilRow:
    soil: str
    label: str
    vertical_max_m: float
    slopes: dict[str, float]
    source: str
    status: str


@cache
def soils() -> dict[str, SoilRow]:
    rows: dict[str, SoilRow] = {}
    with (DATA / "trench_slopes.csv").open(encoding="utf-8") as f:
        for raw in csv.DictReader(f):
            slopes = {load: float(raw[f"slope_{load}_load"]) for load in LOADS}
            row = SoilRow(
                raw["soil"], raw["label"], float(raw["vertical_max_m"]), slopes, raw["source"], raw["status"]
            )
            if not (0 < row.vertical_max_m <= 3 and all(0 <= m <= 3 for m in slopes.values()) and row.source):
                raise ValueError(f"trench_slopes.csv: implausible row {raw}")
            rows[row.soil] = row
    return rows


@cache
def working_widths() -> list[tuple[float, float, float, str, str]]:
    with (DATA / "working_width.csv").open(encoding="utf-8") as f:
        rows = [
            (
                float(r["max_diameter_mm"]),
                float(r["b1_rigid_m"]),
                float(r["b1_flexible_m"]),
                r["source"],
                r["status"],
            )
            for r in csv.DictReader(f)
        ]
    if rows != sorted(rows) or not all(r[3] for r in rows):
        raise ValueError("working_width.csv must be sorted by diameter, each row with a source")
    return rows


RIGID = {"ductile_iron", "steel", "cast_iron", "concrete"}


@dataclass(frozen=True)
class TrenchOptions:
    soil: str = "sandy_loam"
    load: str = "static"  # at the top of the slope: none, static (spoil, stacked pipes), dynamic (traffic)
    shored: bool = False  # vertical shored walls instead of slopes (no room)
    bedding_m: float = 0.15
    step_m: float = 1.0
    around: XY | None = None  # dig a pit of `length_m` around this point instead of along the whole pipe
    length_m: float = 3.0
    survey_ground: tuple[float | None, float | None] = (None, None)  # ground at the pipe's ends when surveyed
    assumed_depth_m: float | None = None  # used, and written into the plan, when the survey has no depth
    default_clearance_m: float = 1.0


@dataclass(frozen=True)
class OtherPipe:
    utility: str
    link: Link
    pressure: str | None = None


@dataclass
class Station:
    s: float
    x: float
    y: float
    ground: float
    pipe_top: float
    pipe_bottom: float
    bottom: float  # trench bottom, with bedding
    depth: float  # H
    slope: float  # m
    top_width: float
    area: float


@dataclass
class Conflict:
    utility: str
    pipe: object
    code: str | None
    kind: str  # "crosses the trench" | "within clearance"
    distance_m: float  # horizontal, wall to wall, to the pipe being dug for
    required_m: float
    vertical_gap_m: float | None
    source: str
    fallback: bool
    uncertainty_m: float


@dataclass
class ExcavationPlan:
    pipe: object
    code: str | None
    utility: str
    diameter_mm: float
    depth_ref: str
    soil: str
    soil_label: str
    load: str
    walls: str  # vertical | sloped | shored
    bedding_m: float
    bottom_width_m: float
    working_width_m: float
    length_m: float
    volume_m3: float
    max_depth_m: float
    stations: list[Station]
    centreline: LineString
    top: Polygon
    bottom: Polygon
    flags: dict[str, bool]
    conflicts: list[Conflict] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    safety: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def plan_excavation(
    pipe: Link, utility: str, ground: Ground, others: Sequence[OtherPipe], opts: TrenchOptions
) -> ExcavationPlan:
    """The trench, its profile, volume, flags and conflicts for reaching `pipe`."""
    soil = soils().get(opts.soil)
    if soil is None:
        raise UnprocessableContent(f"unknown soil {opts.soil!r}; known: {', '.join(soils())}", field="soil")
    if opts.load not in LOADS:
        raise UnprocessableContent(f"unknown load {opts.load!r}; known: {', '.join(LOADS)}", field="load")
    assumptions: list[str] = []
    line = LineString(pipe.coords)
    if line.length <= 0:
        raise UnprocessableContent(f"pipe {pipe.code or pipe.id} has no length", field="pipe_id")
    start_s, end_s = _extent(line, opts)
    centre = substring(line, start_s, end_s)
    positions = _stations(start_s, end_s, opts.step_m)
    points = [line.interpolate(s) for s in positions]
    heights = list(ground([(p.x, p.y) for p in points]))
    _check_coverage(heights, positions, pipe)
    d = (pipe.diameter_mm or 0) / 1000
    tops = _pipe_tops(pipe, line.length, positions, d, ground, opts, assumptions)
    b1, ww_source = _working_width(pipe.diameter_mm or 0, pipe)
    h_max = max(float(h or 0) - (t - d) + opts.bedding_m for h, t in zip(heights, tops, strict=True))
    walls = "shored" if opts.shored else ("vertical" if h_max <= soil.vertical_max_m else "sloped")
    slope = soil.slopes[opts.load] if walls == "sloped" else 0.0
    width = d + 2 * (b1 + (SHORING_M if walls == "shored" else 0.0))
    stations = [
        _station(s, p, g, t, d, opts.bedding_m, width, slope)
        for s, p, g, t in zip(positions, points, heights, tops, strict=True)
    ]
    volume = sum((a.area + b.area) / 2 * (b.s - a.s) for a, b in itertools.pairwise(stations))
    top = _dig_polygon(centre, stations, start_s)
    bottom = centre.buffer(width / 2, cap_style="flat")
    flags = {
        # past the soil's limit for unsupported vertical walls the walls are sloped (table) or shored;
        # past 5 m the slope table no longer holds, so the walls need support whatever was chosen
        "shoring_needed": (walls == "shored" and h_max > soil.vertical_max_m) or h_max > CALCULATION_M,
        "special_plan": h_max >= SPECIAL_PLAN_M,
        "calculation_needed": h_max > CALCULATION_M,
    }
    plan = ExcavationPlan(
        pipe=pipe.id,
        code=pipe.code,
        utility=utility,
        diameter_mm=pipe.diameter_mm or 0,
        depth_ref=pipe.depth_ref,
        soil=soil.soil,
        soil_label=soil.label,
        load=opts.load,
        walls=walls,
        bedding_m=opts.bedding_m,
        bottom_width_m=round(width, 3),
        working_width_m=b1,
        length_m=round(end_s - start_s, 2),
        volume_m3=round(volume, 2),
        max_depth_m=round(h_max, 2),
        stations=stations,
        centreline=centre,
        top=top,
        bottom=bottom,
        flags=flags,
        assumptions=assumptions,
        sources={"slopes": f"{soil.source} ({soil.status})", "working width": ww_source},
    )
    plan.conflicts = conflicts(plan, utility, pipe, others, opts.default_clearance_m)
    plan.safety = safety_notes(plan, soil)
    return plan


def _extent(line: LineString, opts: TrenchOptions) -> tuple[float, float]:
    if opts.around is None:
        return 0.0, line.length
    at = line.project(Point(opts.around))
    half = min(opts.length_m, line.length) / 2
    start = min(max(at - half, 0.0), line.length - 2 * half)
    return start, start + 2 * half


def _stations(start: float, end: float, step: float) -> list[float]:
    count = max(1, math.ceil((end - start) / step))
    return [start + (end - start) * i / count for i in range(count + 1)]


def _check_coverage(heights: list[float | None], positions: list[float], pipe: Link) -> None:
    missing = [
        round(s, 1) for s, h in zip(positions, heights, strict=True) if h is None or not math.isfinite(h)
    ]
    if missing:
        raise DemNotCovering(
            f"the campus DEM has no ground height at {len(missing)} of {len(positions)} stations along pipe"
            f" {pipe.code or pipe.id} (first at {missing[0]} m); load a DEM that covers the trench",
            stations_m=missing[:20],
        )


def _pipe_tops(
    pipe: Link, length: float, positions: list[float], d: float, ground: Ground, opts: TrenchOptions,
    notes: list[str],
) -> list[float]:  # fmt: skip
    """Elevation of the pipe's top at each station, from the surveyed depths and the ground at survey."""
    depths = [pipe.start_depth_m, pipe.end_depth_m]
    if depths[0] is None and depths[1] is None:
        if opts.assumed_depth_m is None:
            raise MissingDepths(
                f"pipe {pipe.code or pipe.id} has no surveyed depth at either end; survey it, or send"
                " assumed_depth_m to plan with an assumed depth (it is printed in the plan)",
                field="assumed_depth_m",
            )
        depths = [opts.assumed_depth_m, opts.assumed_depth_m]
        notes.append(f"depth assumed {opts.assumed_depth_m} m ({pipe.depth_ref}) at both ends: not surveyed")
    elif None in depths:
        known = next(v for v in depths if v is not None)
        notes.append(f"depth of one end not surveyed: the other end's {known} m is used for both")
        depths = [known, known]
    surveyed = list(opts.survey_ground)
    if None in surveyed:
        dem = list(ground([pipe.coords[0], pipe.coords[-1]]))
        surveyed = [s if s is not None else g for s, g in zip(surveyed, dem, strict=True)]
        notes.append("ground at survey not recorded for a pipe end: the DEM's height there is used")
    if None in surveyed:
        raise DemNotCovering(f"no ground height at the ends of pipe {pipe.code or pipe.id}", field="pipe_id")
    tops = []
    for s in positions:
        t = s / length
        g = float(surveyed[0]) + (float(surveyed[1]) - float(surveyed[0])) * t  # type: ignore[arg-type]
        depth = float(depths[0]) + (float(depths[1]) - float(depths[0])) * t  # type: ignore[arg-type]
        # depth_ref: drainage depths reach the invert (bottom), the others the pipe's top
        tops.append(g - depth + d if pipe.depth_ref == "invert" else g - depth)
    return tops


def _working_width(diameter_mm: float, pipe: Link) -> tuple[float, str]:
    rigid = pipe.material in RIGID
    for max_d, b_rigid, b_flexible, source, status in working_widths():
        if diameter_mm <= max_d:
            return (b_rigid if rigid else b_flexible), f"{source} ({status})"
    raise UnprocessableContent(
        f"no working width for DN{diameter_mm:g}: larger than the table", field="pipe_id"
    )


def _station(
    s: float, p: Point, g: float | None, top: float, d: float, bedding: float, width: float, m: float
) -> Station:
    assert g is not None
    bottom = top - d - bedding
    h = max(g - bottom, 0.0)
    return Station(
        s=round(s, 2),
        x=p.x,
        y=p.y,
        ground=round(g, 3),
        pipe_top=round(top, 3),
        pipe_bottom=round(top - d, 3),
        bottom=round(bottom, 3),
        depth=round(h, 3),
        slope=m,
        top_width=round(width + 2 * m * h, 3),
        area=round((width + m * h) * h, 3),
    )


def _dig_polygon(centre: LineString, stations: list[Station], start_s: float) -> Polygon:
    """The top outline: each interval buffered by its larger half-width (flat ends), unioned."""
    parts = []
    for a, b in itertools.pairwise(stations):
        piece = substring(centre, a.s - start_s, b.s - start_s)
        half = max(a.top_width, b.top_width) / 2
        parts.append(piece.buffer(half, cap_style="flat", join_style="mitre"))
    shape = (
        unary_union(parts) if parts else Point(stations[0].x, stations[0].y).buffer(stations[0].top_width / 2)
    )
    return shape if isinstance(shape, Polygon) else shape.convex_hull


def search_radius(pipe: Link, opts: TrenchOptions, ground_relief_m: float = 1.0) -> float:
    """How far from the pipe another utility can matter: the widest top the trench could have (steepest
    slope in the table at the deepest surveyed depth, plus some ground relief), the largest clearance in the
    table or the default, and the survey tolerance."""
    from twin.pipes.clearances import table

    depths = [d for d in (pipe.start_depth_m, pipe.end_depth_m, opts.assumed_depth_m) if d is not None]
    h = max([*depths, 1.0]) + (pipe.diameter_mm or 0) / 1000 + opts.bedding_m + ground_relief_m
    slope = max(max(row.slopes.values()) for row in soils().values())
    widest = max([r.min_m for r in table()] + [opts.default_clearance_m])
    return (
        (pipe.diameter_mm or 0) / 2000
        + 2 * (working_widths()[-1][2] + SHORING_M)
        + slope * h
        + widest
        + 0.15 * h
    )


def uncertainty(depth_to_centre: float) -> tuple[float, float]:
    """CJJ 61 survey tolerance (plan, depth) for a pipe whose centre lies h deep (h < 1 m counts as 1 m)."""
    h = max(depth_to_centre, 1.0)
    return 0.10 * h, 0.15 * h


def conflicts(
    plan: ExcavationPlan, utility: str, pipe: Link, others: Sequence[OtherPipe], default_m: float
) -> list[Conflict]:
    """Other utilities' pipes that cross the trench prism (plan and depth) or lie within clearance."""
    found = []
    me = PipeSide(utility, pipe.diameter_mm)
    r_me = (pipe.diameter_mm or 0) / 2000
    for other in others:
        if other.link.id == pipe.id or len(other.link.coords) < 2:
            continue
        line = LineString(other.link.coords)
        r = (other.link.diameter_mm or 0) / 2000
        h_centre = _depth_to_centre(other.link)
        du_plan, du_depth = uncertainty(h_centre)
        wall = max(line.distance(plan.centreline) - r - r_me, 0.0)
        side = PipeSide(other.utility, other.link.diameter_mm, other.pressure)
        if _in_prism(plan, other.link, line, du_plan, du_depth):
            c = clearance("vertical" if wall <= du_plan else "horizontal", me, side, default_m)
            found.append(
                _conflict(
                    other, "crosses the trench", wall, c, _vertical_gap(plan, other.link, line), du_plan
                )
            )
        elif wall <= du_plan:  # crosses above or below the pipe: the crossing (vertical) clearance applies
            c = clearance("vertical", me, side, default_m)
            gap = _vertical_gap(plan, other.link, line)
            if gap is not None and gap < c.min_m + du_depth:
                found.append(_conflict(other, "within vertical clearance", wall, c, gap, du_plan))
        else:
            c = clearance("horizontal", me, side, default_m)
            if wall < c.min_m + du_plan:
                found.append(_conflict(other, "within clearance", wall, c, None, du_plan))
    return sorted(found, key=lambda c: (c.distance_m, str(c.pipe)))


def _conflict(other: OtherPipe, kind: str, wall: float, c: object, gap: float | None, du: float) -> Conflict:
    from twin.pipes.clearances import Clearance

    assert isinstance(c, Clearance)
    return Conflict(
        other.utility, other.link.id, other.link.code, kind, round(wall, 2), c.min_m,
        None if gap is None else round(gap, 2), c.source, c.fallback, round(du, 2),
    )  # fmt: skip


def _depth_to_centre(link: Link) -> float:
    depths = [v for v in (link.start_depth_m, link.end_depth_m) if v is not None]
    depth = sum(depths) / len(depths) if depths else 1.0
    r = (link.diameter_mm or 0) / 2000
    return depth - r if link.depth_ref == "invert" else depth + r


def _other_z(plan: ExcavationPlan, link: Link, line: LineString) -> tuple[float, float, Station] | None:
    """(top, bottom) elevation of the other pipe where it comes nearest the centreline, from its depths and
    the ground there, and the trench station beside that point."""
    depths = [v for v in (link.start_depth_m, link.end_depth_m) if v is not None]
    if not depths:
        return None
    p = nearest_points(line, plan.centreline)[0]
    t = line.project(p) / line.length if line.length else 0.0
    a = link.start_depth_m if link.start_depth_m is not None else depths[0]
    b = link.end_depth_m if link.end_depth_m is not None else depths[-1]
    depth = a + (b - a) * t
    station = min(plan.stations, key=lambda st: math.dist((st.x, st.y), (p.x, p.y)))
    d = (link.diameter_mm or 0) / 1000
    top = station.ground - depth + (d if link.depth_ref == "invert" else 0.0)
    return top, top - d, station


def _in_prism(plan: ExcavationPlan, link: Link, line: LineString, du_plan: float, du_depth: float) -> bool:
    """Whether the other pipe, widened by its survey tolerance, reaches into the dug volume: the trench is
    B wide at the bottom and its walls rise at 1:m, so a pipe off the centreline must lie higher to be hit.
    A pipe of unknown depth is assumed to."""
    z = _other_z(plan, link, line)
    if z is None:
        return True
    top, bottom, station = z
    r = (link.diameter_mm or 0) / 2000
    offset = max(line.distance(plan.centreline) - r - du_plan, 0.0)
    beyond = offset - plan.bottom_width_m / 2
    if beyond <= 0:
        dug_to = station.bottom
    elif station.slope > 0:
        dug_to = station.bottom + beyond / station.slope
    else:
        return False  # vertical walls: nothing dug outside the bottom width
    return top + du_depth > dug_to and bottom - du_depth < station.ground


def _vertical_gap(plan: ExcavationPlan, link: Link, line: LineString) -> float | None:
    """Clear vertical distance between the other pipe and the pipe dug for where they come nearest (None:
    the other pipe's depth is unknown)."""
    z = _other_z(plan, link, line)
    if z is None:
        return None
    top, bottom, station = z
    return max(bottom - station.pipe_top, station.pipe_bottom - top, 0.0)


def safety_notes(plan: ExcavationPlan, soil: SoilRow) -> list[str]:
    notes = [f"Spoil: {SPOIL}."]
    if plan.walls == "vertical":
        notes.append(
            f"Vertical walls without shoring: allowed to {soil.vertical_max_m} m in {soil.label};"
            f" deepest point {plan.max_depth_m} m."
        )
    elif plan.walls == "sloped":
        slope = plan.stations[0].slope
        notes.append(f"Slope the walls at 1:{slope:g} ({soil.label}, {plan.load} load at the top).")
    else:
        notes.append("Shore the walls (shoring included in the bottom width).")
    if plan.flags["special_plan"]:
        notes.append(
            "Depth ≥ 3 m: a dangerous sub-project; a special construction plan is required"
            " (建办质〔2018〕31号)."
        )
    if plan.flags["calculation_needed"]:
        notes.append(
            "Depth > 5 m: the slope table does not apply; the support needs a calculation and expert review."
        )
    if plan.conflicts:
        notes.append(
            f"{len(plan.conflicts)} other pipe(s) in or near the trench: locate them by hand digging before"
            " machines go in; notify their owners."
        )
    return notes
