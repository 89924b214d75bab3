"""Evacuation routes over the campus walkway network (roads and walkways), by shortest path.

Pure computation in the campus's metric CRS: lines, a building footprint and assembly points in, routes
out. The network pieces need not be noded where a walkway meets a road: a dangling end is joined to the
nearest point of another piece, and the last leg to an assembly point crosses open ground.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import networkx as nx
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.strtree import STRtree

XY = tuple[float, float]
SNAP_M = 15.0  # a dangling end farther than this from any other piece stays unjoined


@dataclass(frozen=True)
class AssemblyPoint:
    code: str
    name: str | None
    point: Point


@dataclass(frozen=True)
class Route:
    assembly_point: str
    name: str | None
    length_m: float
    line: LineString


def _key(xy: tuple[float, ...]) -> XY:
    return (round(xy[0], 2), round(xy[1], 2))


def walk_graph(lines: list[LineString]) -> nx.Graph:
    """Vertices of the lines as nodes, their segments as edges weighted by length; dangling ends joined."""
    graph = nx.Graph()
    for line in lines:
        coords = [_key(c) for c in line.coords]
        for a, b in itertools.pairwise(coords):
            if a != b:
                graph.add_edge(a, b, length=math.dist(a, b))
    _join_dangling_ends(graph)
    return graph


def _join_dangling_ends(graph: nx.Graph) -> None:
    """Split the nearest other segment at the foot of each dead end's perpendicular and link the end to it."""
    for end in [n for n in graph.nodes if graph.degree(n) == 1]:
        edges = [(a, b) for a, b in graph.edges if end not in (a, b)]
        if not edges:
            return
        segments = [LineString([a, b]) for a, b in edges]
        tree = STRtree(segments)
        here = Point(end)
        index = int(tree.nearest(here))
        segment = segments[index]
        if segment.distance(here) > SNAP_M:
            continue
        foot = _key(segment.interpolate(segment.project(here)).coords[0])
        a, b = edges[index]
        if foot not in (a, b):
            graph.remove_edge(a, b)
            graph.add_edge(a, foot, length=math.dist(a, foot))
            graph.add_edge(foot, b, length=math.dist(foot, b))
        if foot != end:
            graph.add_edge(end, foot, length=math.dist(end, foot))


def _nearest_node(graph: nx.Graph, geometry: shapely.Geometry) -> XY:
    return min(graph.nodes, key=lambda n: geometry.distance(Point(n)))


def evacuation_routes(
    lines: list[LineString], footprint: Polygon, points: list[AssemblyPoint], k: int = 2
) -> list[Route]:
    """The `k` shortest routes from the building's nearest network node to distinct assembly points."""
    graph = walk_graph(lines)
    if graph.number_of_nodes() == 0 or not points:
        return []
    start = _nearest_node(graph, footprint)
    lengths, paths = nx.single_source_dijkstra(graph, start, weight="length")
    routes = []
    for ap in points:
        node = _nearest_node(graph, ap.point)
        if node not in paths:
            continue
        coords = [*paths[node], (ap.point.x, ap.point.y)]
        if len(coords) < 2 or coords[0] == coords[-1]:
            coords = [start, (ap.point.x, ap.point.y)]
        length = lengths[node] + ap.point.distance(Point(node))
        routes.append(Route(ap.code, ap.name, round(length, 1), LineString(coords)))
    return sorted(routes, key=lambda r: r.length_m)[:k]
