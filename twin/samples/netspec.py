"""What distinguishes the six utilities, and the steps their builders share (services, sizing, devices)."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from twin.samples.layout import Building
from twin.samples.netbuild import XY, Network, Segment, pipe

OWNER = "学校后勤处"
GAS_USERS = {"canteen": 3.0, "laboratory": 1.0, "boiler": 4.0}  # relative consumption, sizes the mains
HEATED = {"teaching", "dormitory", "library", "admin"}
NO_TELECOM = {"B16", "B17"}  # pump house and warehouse
TIES = {"power": 2, "heat": 1, "gas": 1}  # normally open links closing a loop (power: the ring's open points)
SPARES = {"gas": 2, "heat": 1}  # capped stubs reserved for future buildings (预留口), valved shut


@dataclass(frozen=True)
class Utility:
    utility: str
    prefix: str  # survey code
    depth_ref: str
    offset: XY  # from the road centreline, as a shift of the whole road graph
    main_depth: tuple[float, float]  # range the depth of main nodes is drawn from
    service_depth: tuple[float, float]
    kinds: tuple[str, str, str, str]  # node kinds: plain point of a main, branch, building entry, service tee
    main: Segment  # template of a main (diameters are re-sized from loads for most utilities)
    service: Segment


# utility, prefix, depth reference, offset, main depths, service depths, kinds (plain branch entry tee)
_ROWS = (
    ("water", "JS", "top", (1.5, 1.5), (1.2, 1.6), (1.0, 1.2), "junction tee meter tee"),
    (
        "drainage",
        "PS",
        "invert",
        (0.0, 0.0),
        (1.8, 3.5),
        (1.5, 1.5),
        "manhole manhole inspection_well manhole",
    ),
    ("gas", "RQ", "top", (-1.5, -1.5), (0.9, 1.2), (0.8, 0.9), "junction tee meter tee"),
    (
        "power",
        "DL",
        "top",
        (2.5, 2.5),
        (0.8, 1.0),
        (0.7, 0.8),
        "inspection_well inspection_well switch inspection_well",
    ),
    (
        "telecom",
        "TX",
        "top",
        (-2.5, -2.5),
        (0.7, 0.9),
        (0.6, 0.7),
        "inspection_well inspection_well end inspection_well",
    ),
    ("heat", "RL", "top", (3.5, -3.5), (1.2, 1.5), (1.0, 1.2), "junction tee meter tee"),
)
# main and service pipe templates: diameter mm, material, laying
_PIPES = {
    "water": ((150, "ductile_iron", "direct"), (50, "PE", "direct")),
    "drainage": ((300, "HDPE", "direct"), (300, "HDPE", "direct")),
    "gas": ((100, "PE", "direct"), (50, "PE", "direct")),
    "power": ((150, "MPP", "duct"), (100, "MPP", "duct")),
    "telecom": ((110, "HDPE", "duct"), (50, "HDPE", "duct")),
    "heat": ((150, "steel", "trench"), (80, "steel", "direct")),
}


def _utility(row: tuple[str, str, str, XY, tuple[float, float], tuple[float, float], str]) -> Utility:
    name, prefix, ref, offset, main_depth, service_depth, kinds = row
    plain, branch, entry, tee = kinds.split()
    pressure = "low" if name == "gas" else None
    main, service = (pipe(*p, pressure=pressure, owner=OWNER) for p in _PIPES[name])
    return Utility(
        name, prefix, ref, offset, main_depth, service_depth, (plain, branch, entry, tee), main, service
    )


UTILITIES: dict[str, Utility] = {row[0]: _utility(row) for row in _ROWS}


def served(utility: str, blds: list[Building]) -> list[Building]:
    """The buildings a utility connects, in code order."""
    if utility == "gas":
        return [b for b in blds if b.use in GAS_USERS]
    if utility == "heat":
        return [b for b in blds if b.use in HEATED]
    if utility == "telecom":
        return [b for b in blds if b.code not in NO_TELECOM]
    return list(blds)


def serve_all(
    net: Network, spec: Utility, blds: list[Building], rng: random.Random, *, towards_main: bool = False
) -> dict[str, Building]:
    """Service connections to every building the utility serves; entry node -> building."""
    entries: dict[str, Building] = {}
    for b in served(spec.utility, blds):
        others = [o.footprint for o in blds if o.code != b.code]
        template = replace(spec.service, year=b.year_built)
        depth = round(rng.uniform(*spec.service_depth), 2)
        entry = net.serve(
            b.code,
            b.footprint,
            others,
            template,
            entry_kind=spec.kinds[2],
            entry_depth=depth,
            tee_kind=spec.kinds[3],
            towards_main=towards_main,
        )
        entries[entry] = b
    return entries


def size(
    net: Network, loads: dict[str, float], steps: tuple[tuple[float, float], ...], smallest: float
) -> None:
    """Main diameters from the load each carries: the first step whose threshold the load reaches."""
    for code, seg in net.segments.items():
        if seg.role != "service":
            seg.diameter = next((d for threshold, d in steps if loads[code] >= threshold), smallest)


def branch_valves(net: Network, kind: str | dict[bool, str]) -> None:
    """At every node where mains branch, a valve on each main but one (N-1 valving); with a dict, the kind
    depends on whether the pipe is DN150 or more."""
    for code in net.nodes:
        mains = sorted(c for c, s in net.segments.items() if s.role == "main" and code in (s.start, s.end))
        if len(mains) >= 3:
            for seg in mains[1:]:
                big = net.segments[seg].diameter >= 150
                net.add_valve(seg, code, kind if isinstance(kind, str) else kind[big])


def service_valves(net: Network, kind: str, *, at_building: bool = False) -> None:
    """A valve on every service pipe, beside the main (or beside the building: breakers)."""
    entries = {s.node for s in net.services}
    for code, seg in net.segments.items():
        if seg.role == "service":
            entry, tee = (seg.end, seg.start) if seg.end in entries else (seg.start, seg.end)
            net.add_valve(code, entry if at_building else tee, kind)


def first_segment(net: Network, node: str) -> str:
    return min(c for c, s in net.segments.items() if node in (s.start, s.end))


def tie_valves(net: Network, kind: str) -> None:
    for code, seg in net.segments.items():
        if seg.role == "tie":
            net.add_valve(code, seg.start, kind, position="closed")


def spares(net: Network, blds: list[Building], kind: str, template: Segment) -> None:
    """Capped stubs off plain main nodes, each behind a closed valve."""
    blocked = [b.footprint for b in blds]
    plain_kind = UTILITIES[net.utility].kinds[0]
    plain = sorted(c for c, n in net.nodes.items() if n.kind == plain_kind and net.degree(c) == 2)
    made = 0
    for node in plain:
        if made == SPARES.get(net.utility, 0):
            break
        seg = net.stub(node, 3.0, blocked, replace(template, role="spare", year=2020, owner=OWNER))
        if seg is not None:
            net.add_valve(seg, node, kind, position="closed")
            made += 1


def inoperable(net: Network, rng: random.Random, count: int) -> None:
    """A few valves that are seized or buried: they will not close when asked."""
    candidates = [v for v in net.valves if v.position == "open"]
    for valve in rng.sample(candidates, min(count, len(candidates))):
        valve.operable = False


def well_depths(net: Network) -> None:
    """Chambers: manholes reach the invert; valve, cable and tee chambers go a little below the pipe."""
    for node in net.nodes.values():
        if node.depth is None:
            continue
        if net.depth_ref == "invert":
            node.well_depth = round(node.depth + 0.1, 2)
        elif node.kind in ("inspection_well", "tee", "regulator", "source", "plant"):
            node.well_depth = round(node.depth + 0.6, 2)
