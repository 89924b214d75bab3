"""What each utility adds to its mains: sources and outlets, services, pipe sizes and isolation devices."""

from __future__ import annotations

import math
import random

import networkx as nx

from twin.samples.layout import Building
from twin.samples.netbuild import Network, pipe
from twin.samples.netspec import (
    GAS_USERS,
    OWNER,
    Utility,
    branch_valves,
    first_segment,
    inoperable,
    serve_all,
    service_valves,
    size,
    spares,
    tie_valves,
)

MIN_FALL = 0.003  # 0.3 %: least gradient of a gravity sewer of these sizes
WATER_CLOSED = 4  # of the grid's six independent loops, two stay closed in normal operation


def water(net: Network, spec: Utility, root: str, blds: list[Building], rng: random.Random) -> None:
    net.nodes[root].kind = "source"  # connection to the municipal main at the gate
    plain = sorted(c for c, n in net.nodes.items() if n.kind == "junction")
    for code in plain[::3]:
        net.nodes[code].kind = "hydrant"
    entries = serve_all(net, spec, blds, rng)
    loads = net.path_loads(root, {e: float(b.occupancy) for e, b in entries.items()})
    size(net, loads, ((5000, 300), (2000, 200), (600, 150)), 100)
    for seg in net.segments.values():
        if seg.role == "service":
            seg.diameter = 80 if entries[seg.end].occupancy >= 300 else 50
        seg.material = "ductile_iron" if seg.diameter >= 200 else "PE"
    net.add_valve(first_segment(net, root), root, "butterfly_valve")
    branch_valves(net, {True: "butterfly_valve", False: "gate_valve"})
    service_valves(net, "gate_valve")
    # Normally closed valves bound metering zones; never one that cuts a node off.
    candidates = [v for v in net.valves if net.segments[v.segment].role == "main" and v.node != root]
    closed = 0
    for valve in rng.sample(candidates, len(candidates)):
        if closed == WATER_CLOSED:
            break
        valve.position = "closed"
        if nx.is_connected(net.graph(open_only=True)):
            closed += 1
        else:
            valve.position = "open"
    inoperable(net, rng, 3)


def drainage(net: Network, spec: Utility, root: str, blds: list[Building], rng: random.Random) -> None:
    outlet = net.node((385.0, 4.0), "outlet")  # discharge to the municipal sewer under the south street
    net.link(root, outlet, pipe(600, "concrete", "direct", owner=OWNER))
    # Gravity: every main points towards the outlet; the wished-for depth grows downstream.
    dist = nx.single_source_dijkstra_path_length(net.graph(), outlet, weight="length")
    far = max(dist.values())
    for code, node in net.nodes.items():
        node.depth = round(3.3 - 1.5 * dist[code] / far, 2)
    for seg in net.segments.values():
        if dist[seg.start] < dist[seg.end]:
            seg.start, seg.end = seg.end, seg.start
    entries = serve_all(net, spec, blds, rng, towards_main=True)
    _gravity(net, outlet)
    loads = net.path_loads(outlet, dict.fromkeys(entries, 1.0))
    size(net, loads, ((13, 600), (7, 500), (3, 400)), 300)
    for seg in net.segments.values():
        seg.material = "concrete" if seg.diameter >= 500 else "HDPE"


def _gravity(net: Network, outlet: str) -> None:
    """Deepen nodes, from the top of the network down, until every pipe falls at least MIN_FALL and no node
    is shallower than one upstream of it (where the ground rises downstream, the sewer goes deeper)."""
    dist = nx.single_source_dijkstra_path_length(net.graph(), outlet, weight="length")
    upstream: dict[str, list[tuple[str, float]]] = {code: [] for code in net.nodes}
    for code, seg in net.segments.items():
        upstream[seg.end].append((seg.start, net.line(code).length))
    for code in sorted(net.nodes, key=lambda c: (-dist[c], c)):
        node = net.nodes[code]
        ground = net.ground(*node.xy)
        wanted = [node.depth or 0.0]
        for up, length in upstream[code]:
            above = net.nodes[up]
            invert_above = net.ground(*above.xy) - (above.depth or 0.0)
            wanted += [above.depth or 0.0, ground - invert_above + max(MIN_FALL * length, 0.02)]
        node.depth = math.ceil(round(max(wanted) * 100, 6)) / 100


def gas(net: Network, spec: Utility, root: str, blds: list[Building], rng: random.Random) -> None:
    net.nodes[root].kind = "source"
    first = first_segment(net, root)
    line = net.line(first)
    at = line.interpolate(8.0 if net.segments[first].start == root else line.length - 8.0)
    regulator = net.split(first, (round(at.x, 3), round(at.y, 3)), "regulator")
    entries = serve_all(net, spec, blds, rng)
    loads = net.path_loads(root, {e: GAS_USERS[b.use] for e, b in entries.items()})
    size(net, loads, ((6, 150), (3, 100)), 80)
    for seg in net.segments.values():
        if {seg.start, seg.end} == {root, regulator}:  # medium pressure up to the regulator only
            seg.pressure_class, seg.diameter, seg.material = "medium_a", 150, "steel"
        elif seg.role == "service":
            seg.diameter = 80 if entries[seg.end].use == "boiler" else 50
    net.add_valve(first, root, "gas_valve")
    branch_valves(net, "gas_valve")
    service_valves(net, "gas_valve")
    tie_valves(net, "gas_valve")
    spares(net, blds, "gas_valve", pipe(80, "PE", "direct", pressure="low"))
    inoperable(net, rng, 1)


def power(net: Network, spec: Utility, root: str, blds: list[Building], rng: random.Random) -> None:
    net.nodes[root].kind = "source"  # the 10 kV incoming feeder
    entries = serve_all(net, spec, blds, rng)
    for entry, b in entries.items():
        if b.use == "utility" and "配电" in b.name:
            net.nodes[entry].kind = "transformer"
    net.add_valve(first_segment(net, root), root, "switch")
    branch_valves(net, "switch")
    service_valves(net, "breaker", at_building=True)
    tie_valves(net, "switch")  # the ring's normally open points
    inoperable(net, rng, 1)


def telecom(net: Network, spec: Utility, root: str, blds: list[Building], rng: random.Random) -> None:
    net.nodes[root].kind = "source"
    serve_all(net, spec, blds, rng)


def heat(net: Network, spec: Utility, root: str, blds: list[Building], rng: random.Random) -> None:
    boiler = next(b for b in blds if b.use == "boiler")
    others = [o.footprint for o in blds if o.code != boiler.code]
    # The boiler house feeds the network: its pipe is a main and no service connection is recorded.
    plant = net.serve(
        boiler.code,
        boiler.footprint,
        others,
        spec.main,
        entry_kind="plant",
        entry_depth=1.3,
        tee_kind=spec.kinds[3],
        role="main",
    )
    entries = serve_all(net, spec, blds, rng)
    loads = net.path_loads(plant, {e: float(b.occupancy) for e, b in entries.items()})
    size(net, loads, ((3000, 200), (1500, 150), (700, 125), (300, 100)), 80)
    for seg in net.segments.values():
        if seg.role == "service":
            seg.diameter = 100 if entries[seg.end].occupancy >= 600 else 80
    plant_seg = first_segment(net, plant)
    net.segments[plant_seg].diameter = 200
    net.add_valve(plant_seg, plant, "butterfly_valve")
    branch_valves(net, {True: "butterfly_valve", False: "gate_valve"})
    service_valves(net, "gate_valve")
    tie_valves(net, "gate_valve")
    spares(net, blds, "gate_valve", pipe(100, "steel", "direct"))
    inoperable(net, rng, 1)


FINISH = {"water": water, "drainage": drainage, "gas": gas, "power": power, "telecom": telecom, "heat": heat}
