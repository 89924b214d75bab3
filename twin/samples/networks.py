"""The six utility networks of the sample campus, laid beside the roads.

Each utility follows the road grid at its own offset from the road centreline (a whole-graph shift, so
the topology of the roads carries over exactly): water and power on one side, gas and telecom on the
other, drainage under the carriageway, heat in a trench along the east/south verges. Which road pieces a
utility uses differs: water is the full looped grid; drainage, power and telecom a shortest-path tree from
their root; gas and heat only what reaches the buildings they serve.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace

import networkx as nx
from shapely.geometry import Point, Polygon

from twin.samples.layout import MAIN_GATE, Building
from twin.samples.netbuild import XY, Network
from twin.samples.netspec import TIES, UTILITIES, Utility, served, well_depths
from twin.samples.terrain import Terrain
from twin.samples.utilities import FINISH

Edge = tuple[XY, XY]
TIE_POINT: XY = (200.0, 150.0)  # ties (normally open links) are taken near the campus centre
DRAINAGE_ROOT: XY = (385.0, 25.0)  # the south-east road corner: lowest point of the site, by the outfall
MAIN_YEARS = (2008, 2008, 2012, 2016, 2020)  # built with the school, some runs renewed since


def build_networks(
    roads: nx.Graph, blds: list[Building], terrain: Terrain, rng: random.Random
) -> dict[str, Network]:
    return {name: _build(UTILITIES[name], roads, blds, terrain, rng) for name in UTILITIES}


def _shift(xy: XY, off: XY) -> XY:
    return (round(xy[0] + off[0], 3), round(xy[1] + off[1], 3))


def _key(u: XY, v: XY) -> Edge:
    return (u, v) if u <= v else (v, u)


def _tree_edges(roads: nx.Graph, root: XY, targets: list[XY] | None = None) -> set[Edge]:
    """Edges of the shortest-path tree from `root` (only the branches reaching `targets` when given)."""
    paths = nx.single_source_dijkstra_path(roads, root, weight="length")
    edges: set[Edge] = set()
    for node in targets if targets is not None else sorted(paths):
        edges |= {_key(a, b) for a, b in itertools.pairwise(paths[node])}
    return edges


def _nearest_edge(roads: nx.Graph, footprint: Polygon) -> Edge:
    centre = footprint.centroid
    return min(
        (_key(u, v) for u, v in roads.edges),
        key=lambda e: (round(roads.edges[e]["line"].distance(centre), 3), e),
    )


def _road_root(utility: str, roads: nx.Graph, blds: list[Building]) -> XY:
    if utility == "drainage":
        return DRAINAGE_ROOT
    if utility == "heat":
        boiler = next(b for b in blds if b.use == "boiler")
        return min(roads.nodes, key=lambda n: (boiler.footprint.distance(Point(n)), n))
    return MAIN_GATE


def _road_subset(spec: Utility, roads: nx.Graph, blds: list[Building]) -> set[Edge]:
    root = _road_root(spec.utility, roads, blds)
    if spec.utility == "water":
        return {_key(u, v) for u, v in roads.edges}
    if spec.utility in ("gas", "heat"):
        edges: set[Edge] = set()
        for b in served(spec.utility, blds):
            near = _nearest_edge(roads, b.footprint)
            edges |= _tree_edges(roads, root, list(near)) | {near}
        return edges
    return _tree_edges(roads, root)


def _tie_edges(roads: nx.Graph, used: set[Edge], count: int) -> list[Edge]:
    """Road pieces outside the network joining two of its nodes, nearest the centre first: each one, kept
    normally open, closes a loop."""
    nodes = {n for e in used for n in e}
    free = [_key(u, v) for u, v in roads.edges if _key(u, v) not in used and u in nodes and v in nodes]
    free.sort(key=lambda e: (round(math.dist(roads.edges[e]["line"].centroid.coords[0], TIE_POINT), 3), e))
    return free[:count]


def _build(
    spec: Utility, roads: nx.Graph, blds: list[Building], terrain: Terrain, rng: random.Random
) -> Network:
    net = Network(spec.utility, spec.prefix, spec.depth_ref, terrain.at)
    used = _road_subset(spec, roads, blds)
    ties = _tie_edges(roads, used, TIES.get(spec.utility, 0))
    plain, branch = spec.kinds[0], spec.kinds[1]
    for u, v in sorted(used) + ties:
        a, b = net.node(_shift(u, spec.offset), plain), net.node(_shift(v, spec.offset), plain)
        role = "tie" if (u, v) in ties else "main"
        net.link(a, b, replace(spec.main, year=rng.choice(MAIN_YEARS), role=role))
    for node in net.nodes.values():
        node.depth = round(rng.uniform(*spec.main_depth), 2)
        if net.degree(node.code) >= 3:
            node.kind = branch
    root = net.node(_shift(_road_root(spec.utility, roads, blds), spec.offset))
    FINISH[spec.utility](net, spec, root, blds, rng)
    well_depths(net)
    return net
