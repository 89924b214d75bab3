"""A small builder for one utility network: nodes, segments that end exactly on them, isolation devices
and service connections, with the operations the six utilities share."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import networkx as nx
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import nearest_points

from twin.samples.frame import HEIGHT_M, WIDTH_M

XY = tuple[float, float]
SNAP_M = 4.0  # a tee this close to an existing node reuses the node instead of cutting the pipe
ENTRY_OFFSET_M = 1.0  # service entry nodes sit this far outside the wall


@dataclass
class Node:
    code: str
    kind: str
    xy: XY
    depth: float | None = None  # to top or invert, as the network's depth_ref says
    well_depth: float | None = None


@dataclass
class Segment:
    code: str
    start: str
    end: str
    diameter: float
    material: str
    laying: str
    year: int
    role: str = "main"  # main | service | tie (a normally open link closing a loop) | spare (capped stub)
    pressure_class: str | None = None
    owner: str | None = None


def pipe(
    diameter: float,
    material: str,
    laying: str,
    year: int = 2008,
    *,
    role: str = "main",
    pressure: str | None = None,
    owner: str | None = None,
) -> Segment:
    """A segment template: the attributes of a pipe before it is linked between two nodes."""
    return Segment("", "", "", diameter, material, laying, year, role, pressure, owner)


@dataclass
class Valve:
    code: str
    kind: str
    segment: str
    node: str
    position: str
    operable: bool
    xy: XY


@dataclass
class Service:
    node: str
    building: str
    line: LineString


@dataclass
class Network:
    utility: str
    prefix: str  # survey code: JS, PS, RQ, DL, TX, RL
    depth_ref: str
    ground: Callable[[float, float], float]  # ground height at a local point (the DEM's value)
    nodes: dict[str, Node] = field(default_factory=dict)
    segments: dict[str, Segment] = field(default_factory=dict)
    valves: list[Valve] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    _by_xy: dict[XY, str] = field(default_factory=dict)

    # --- construction -------------------------------------------------------------------------------
    def node(self, xy: XY, kind: str = "junction") -> str:
        """The node at `xy` (to the millimetre), created when new."""
        key = (round(xy[0], 3), round(xy[1], 3))
        if key not in self._by_xy:
            code = f"{self.prefix}-N{len(self.nodes) + 1:03d}"
            self.nodes[code] = Node(code, kind, key)
            self._by_xy[key] = code
        return self._by_xy[key]

    def link(self, start: str, end: str, template: Segment) -> str:
        code = f"{self.prefix}-P{len(self.segments) + 1:03d}"
        self.segments[code] = replace(template, code=code, start=start, end=end)
        return code

    def line(self, code: str) -> LineString:
        seg = self.segments[code]
        return LineString([self.nodes[seg.start].xy, self.nodes[seg.end].xy])

    def split(self, code: str, xy: XY, kind: str) -> str:
        """Cut a segment at a point on it; the first part keeps the code, the depth is interpolated."""
        seg = self.segments[code]
        a, b = self.nodes[seg.start], self.nodes[seg.end]
        new = self.node(xy, kind)
        if a.depth is not None and b.depth is not None:
            t = math.dist(a.xy, self.nodes[new].xy) / math.dist(a.xy, b.xy)
            self.nodes[new].depth = round(a.depth + (b.depth - a.depth) * t, 2)
        self.link(new, seg.end, seg)
        seg.end = new
        return new

    def graph(self, *, open_only: bool = False) -> nx.Graph:
        """Undirected graph of node codes; with open_only, links behind a normally closed device are left
        out."""
        closed = {v.segment for v in self.valves if v.position == "closed"} if open_only else set()
        graph = nx.Graph()
        graph.add_nodes_from(self.nodes)
        for code, seg in self.segments.items():
            if code not in closed:
                graph.add_edge(seg.start, seg.end, code=code, length=self.line(code).length)
        return graph

    def degree(self, code: str) -> int:
        return sum(1 for s in self.segments.values() if code in (s.start, s.end))

    # --- services -----------------------------------------------------------------------------------
    def serve(
        self,
        building: str,
        footprint: Polygon,
        others: list[Polygon],
        template: Segment,
        *,
        entry_kind: str,
        entry_depth: float,
        tee_kind: str,
        towards_main: bool = False,
        role: str = "service",
    ) -> str:
        """Run a pipe from the nearest main to 1 m outside the building's wall and record the service
        connection; `towards_main` orients the pipe from the building (gravity drainage). With role
        "main" the pipe feeds the network from the building (a heating plant) and no connection is kept."""
        centre = footprint.centroid
        mains = sorted(
            (c for c, s in self.segments.items() if s.role == "main"),
            key=lambda c: (round(self.line(c).distance(centre), 3), c),
        )
        for code in mains[:8]:
            tee_xy = self._tee_point(code, centre)
            wall = nearest_points(footprint.exterior, Point(tee_xy))[0]
            dist = wall.distance(Point(tee_xy))
            if dist < 2 * ENTRY_OFFSET_M:
                continue
            entry_xy = (
                round(wall.x + (tee_xy[0] - wall.x) / dist * ENTRY_OFFSET_M, 3),
                round(wall.y + (tee_xy[1] - wall.y) / dist * ENTRY_OFFSET_M, 3),
            )
            pipe = LineString([tee_xy, entry_xy])
            if any(pipe.intersects(o) for o in others) or pipe.intersects(footprint):
                continue
            tee = self._tee_node(code, tee_xy, tee_kind)
            entry = self.node(entry_xy, entry_kind)
            self.nodes[entry].depth = entry_depth
            pipe_template = replace(template, role=role)
            if towards_main:
                self.link(entry, tee, pipe_template)
            else:
                self.link(tee, entry, pipe_template)
            if role == "service":
                self.services.append(Service(entry, building, LineString([entry_xy, (wall.x, wall.y)])))
            return entry
        raise RuntimeError(f"{self.utility}: no clear service route to building {building}")

    def _tee_point(self, code: str, centre: Point) -> XY:
        line = self.line(code)
        t = line.project(centre)
        if t < SNAP_M:
            return self.nodes[self.segments[code].start].xy
        if t > line.length - SNAP_M:
            return self.nodes[self.segments[code].end].xy
        p = line.interpolate(t)
        return (round(p.x, 3), round(p.y, 3))

    def _tee_node(self, code: str, xy: XY, kind: str) -> str:
        seg = self.segments[code]
        for end in (seg.start, seg.end):
            if self.nodes[end].xy == xy:
                return end
        return self.split(code, xy, kind)

    def stub(self, node: str, length: float, blocked: list[Polygon], template: Segment) -> str | None:
        """A short capped pipe square off the main at `node`, on whichever side is clear of buildings and
        inside the site; None when neither side is."""
        x, y = self.nodes[node].xy
        seg = next(s for s in self.segments.values() if node in (s.start, s.end))
        (ax, ay), (bx, by) = self.nodes[seg.start].xy, self.nodes[seg.end].xy
        norm = math.hypot(bx - ax, by - ay)
        for sign in (1.0, -1.0):
            end = (
                round(x - sign * (by - ay) / norm * length, 3),
                round(y + sign * (bx - ax) / norm * length, 3),
            )
            line = LineString([(x, y), end])
            inside = 1.0 <= end[0] <= WIDTH_M - 1.0 and 1.0 <= end[1] <= HEIGHT_M - 1.0
            if inside and end not in self._by_xy and all(line.distance(p) >= 2.0 for p in blocked):
                cap = self.node(end, "end")
                self.nodes[cap].depth = self.nodes[node].depth
                return self.link(node, cap, template)
        return None

    # --- devices ------------------------------------------------------------------------------------
    def add_valve(
        self, segment: str, node: str, kind: str, *, position: str = "open", operable: bool = True
    ) -> Valve:
        """An isolation device on `segment` beside `node`: 1 m along the pipe (a third of short pipes)."""
        line = self.line(segment)
        step = min(1.0, line.length / 3)
        at_start = self.segments[segment].start == node
        p = line.interpolate(step if at_start else line.length - step)
        valve = Valve(
            f"{self.prefix}-V{len(self.valves) + 1:03d}",
            kind,
            segment,
            node,
            position,
            operable,
            (round(p.x, 3), round(p.y, 3)),
        )
        self.valves.append(valve)
        return valve

    def path_loads(self, source: str, weights: dict[str, float]) -> dict[str, float]:
        """Per segment, the summed weight of the nodes whose shortest open path from `source` uses it: a
        stand-in for the flow a pipe carries, used to size it."""
        graph = self.graph(open_only=True)
        paths = nx.single_source_dijkstra_path(graph, source, weight="length")
        loads = dict.fromkeys(self.segments, 0.0)
        for node, weight in weights.items():
            path = paths[node]
            for a, b in itertools.pairwise(path):
                loads[graph.edges[a, b]["code"]] += weight
        return loads
