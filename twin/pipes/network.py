"""Network: nodes, links, isolation devices, sources and service connections of one utility.

Built from plain rows (the database, an EPANET model, a survey delivery); pure, no database. Coordinates
are in the campus metric CRS (metres) wherever a snap tolerance or a length is involved.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

Key = Hashable  # database ids (int) or EPANET names (str)
XY = tuple[float, float]

# Where a utility's supply comes from: a component that reaches none of these is out of service.
SOURCE_KINDS: dict[str, frozenset[str]] = {
    "water": frozenset({"source", "tank", "plant"}),
    "gas": frozenset({"source", "plant"}),  # a regulator is fed from upstream: not a source
    "power": frozenset({"source", "plant"}),  # building transformers are fed, not feeding
    "heat": frozenset({"source", "plant"}),
    "drainage": frozenset({"outlet", "plant"}),
    "telecom": frozenset({"source", "plant"}),
}
# Barrier devices per utility (domain note: gas and power isolate with their own devices).
BARRIER_KINDS: dict[str, frozenset[str]] = {
    "water": frozenset({"gate_valve", "butterfly_valve", "ball_valve"}),
    "heat": frozenset({"gate_valve", "butterfly_valve", "ball_valve"}),
    "drainage": frozenset({"gate_valve", "butterfly_valve", "ball_valve"}),
    "gas": frozenset({"gas_valve", "squeeze_off", "ball_valve"}),
    "power": frozenset({"switch", "breaker", "disconnector"}),
    "telecom": frozenset({"switch", "breaker", "disconnector"}),
}
END_KINDS = frozenset({"end", "source", "tank", "plant", "outlet", "meter", "hydrant", "transformer"})


@dataclass(frozen=True)
class Node:
    id: Key
    kind: str = "junction"
    xy: XY | None = None
    ground_m: float | None = None
    code: str | None = None


@dataclass(frozen=True)
class Link:
    """A pipe or cable run; `closed` links carry nothing (a closed pipe, a status-closed EPANET link)."""

    id: Key
    start: Key
    end: Key
    closed: bool = False
    diameter_mm: float | None = None
    start_depth_m: float | None = None
    end_depth_m: float | None = None
    depth_ref: str = "top"
    coords: tuple[XY, ...] = ()
    code: str | None = None
    material: str | None = None
    pressure_class: str | None = None

    @property
    def length_m(self) -> float:
        return sum(math.dist(a, b) for a, b in zip(self.coords, self.coords[1:], strict=False))


@dataclass(frozen=True)
class Device:
    """An isolation device on `link` beside `node`; a normally-closed one is a permanent barrier."""

    id: Key
    link: Key
    node: Key
    kind: str = "gate_valve"
    normal_open: bool = True
    operable: bool = True
    xy: XY | None = None
    code: str | None = None


@dataclass(frozen=True)
class Segment:
    """The nodes and links between barriers (one valve segment)."""

    nodes: frozenset[Key]
    links: frozenset[Key]


@dataclass
class Network:
    utility: str
    nodes: dict[Key, Node]
    links: dict[Key, Link]
    devices: dict[Key, Device] = field(default_factory=dict)
    sources: frozenset[Key] = frozenset()
    services: dict[Key, tuple[Key, ...]] = field(default_factory=dict)  # node -> buildings it feeds

    def __post_init__(self) -> None:
        for link in self.links.values():
            for end in (link.start, link.end):
                if end not in self.nodes:
                    raise ValueError(f"link {link.id!r} ends at unknown node {end!r}")
        for dev in self.devices.values():
            on = self.links.get(dev.link)
            if on is None or dev.node not in (on.start, on.end):
                raise ValueError(f"device {dev.id!r} is not on an end of link {dev.link!r} at {dev.node!r}")

    # --- indexing: vertices are nodes then links (a bipartite graph: node -- link -- node) ----------
    @cached_property
    def node_index(self) -> dict[Key, int]:
        return {key: i for i, key in enumerate(self.nodes)}

    @cached_property
    def link_index(self) -> dict[Key, int]:
        offset = len(self.nodes)
        return {key: offset + i for i, key in enumerate(self.links)}

    @cached_property
    def vertex_keys(self) -> list[tuple[str, Key]]:
        return [("node", k) for k in self.nodes] + [("link", k) for k in self.links]

    @cached_property
    def _ends(self) -> dict[tuple[Key, Key], int]:
        """(link, node) -> index of that end's connection in the edge arrays; closed links have none."""
        ends: dict[tuple[Key, Key], int] = {}
        for link in self.links.values():
            if not link.closed:
                for node in (link.start, link.end):
                    ends.setdefault((link.id, node), len(ends))
        return ends

    @cached_property
    def _edge_arrays(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        rows = np.fromiter(
            (self.link_index[lk] for lk, _ in self._ends), dtype=np.int64, count=len(self._ends)
        )
        cols = np.fromiter((self.node_index[n] for _, n in self._ends), dtype=np.int64, count=len(self._ends))
        return rows, cols

    @cached_property
    def _permanently_cut(self) -> NDArray[np.bool_]:
        """Connections behind a normally-closed device: never edges (domain note, step 1)."""
        cut = np.zeros(len(self._ends), dtype=bool)
        for dev in self.devices.values():
            end = self._ends.get((dev.link, dev.node))
            if end is not None and not dev.normal_open:
                cut[end] = True
        return cut

    @cached_property
    def _all_barriers(self) -> dict[Key, int]:
        kinds = BARRIER_KINDS.get(self.utility)
        found: dict[Key, int] = {}
        for dev in self.devices.values():
            end = self._ends.get((dev.link, dev.node))
            usable = dev.normal_open and dev.operable and (kinds is None or dev.kind in kinds)
            if end is not None and usable:
                found[dev.id] = end
        return found

    def barriers(self, failed: Iterable[Key] = ()) -> dict[Key, int]:
        """Open, operable devices that can be closed (device -> its connection), minus `failed`."""
        skip = set(failed)
        if not skip:
            return self._all_barriers
        return {dev: end for dev, end in self._all_barriers.items() if dev not in skip}

    @cached_property
    def _barrier_sides(self) -> tuple[list[Key], NDArray[np.int64], NDArray[np.int64]]:
        """Every barrier with the vertex of its link and of its node, for vectorised boundary tests."""
        ids = list(self._all_barriers)
        links = np.array([self.link_index[self.devices[d].link] for d in ids], dtype=np.int64)
        nodes = np.array([self.node_index[self.devices[d].node] for d in ids], dtype=np.int64)
        return ids, links, nodes

    def straddling(self, inside: NDArray[np.bool_], failed: Iterable[Key] = ()) -> list[Key]:
        """Barriers with exactly one side in `inside` (a segment's boundary), minus `failed`."""
        ids, links, nodes = self._barrier_sides
        skip = set(failed)
        hits = np.nonzero(inside[links] != inside[nodes])[0]
        return [ids[i] for i in hits.tolist() if ids[i] not in skip]

    @cached_property
    def _segment_labels(self) -> NDArray[np.int32]:
        return self.labels(self.cut_mask(self._all_barriers.values()))

    def segment_labels(self, failed: Iterable[Key] = ()) -> NDArray[np.int32]:
        """Segment label of every vertex with every barrier but `failed` closed."""
        skip = list(failed)
        if not skip:
            return self._segment_labels
        return self.labels(self.cut_mask(self.barriers(skip).values()))

    @cached_property
    def fed(self) -> NDArray[np.bool_]:
        """Vertices that reach a source with every barrier open (before any closure)."""
        labels = self.labels(np.zeros(len(self._ends), dtype=bool))
        return np.isin(labels, labels[[self.node_index[s] for s in self.sources]])

    def split(self, mask: NDArray[np.bool_]) -> tuple[list[Key], list[Key]]:
        """The node keys and link keys of the vertices in `mask`."""
        hits = np.nonzero(mask)[0].tolist()
        n = len(self.nodes)
        keys = self.vertex_keys
        return [keys[i][1] for i in hits if i < n], [keys[i][1] for i in hits if i >= n]

    def labels(self, cut: NDArray[np.bool_], removed: NDArray[np.bool_] | None = None) -> NDArray[np.int32]:
        """Component label of every vertex with the connections in `cut` taken out (and, when given,
        every connection touching a `removed` vertex)."""
        rows, cols = self._edge_arrays
        keep = ~(cut | self._permanently_cut)
        if removed is not None:
            keep &= ~(removed[rows] | removed[cols])
        size = len(self.nodes) + len(self.links)
        ones = np.ones(int(keep.sum()), dtype=np.int8)
        graph = coo_matrix((ones, (rows[keep], cols[keep])), shape=(size, size))
        _, labels = connected_components(graph, directed=False)
        return labels.astype(np.int32)

    def cut_mask(self, ends: Iterable[int]) -> NDArray[np.bool_]:
        cut = np.zeros(len(self._ends), dtype=bool)
        cut[list(ends)] = True
        return cut

    def segments(self, failed: Iterable[Key] = ()) -> list[Segment]:
        """The valve segments of the whole network (every open, operable barrier closed)."""
        labels = self.segment_labels(failed)
        groups: dict[int, tuple[set[Key], set[Key]]] = defaultdict(lambda: (set(), set()))
        for (kind, key), label in zip(self.vertex_keys, labels.tolist(), strict=True):
            groups[label][0 if kind == "node" else 1].add(key)
        return [Segment(frozenset(n), frozenset(lk)) for n, lk in groups.values()]

    def device_end(self, device: Key) -> int | None:
        dev = self.devices[device]
        return self._ends.get((dev.link, dev.node))


def build_network(
    utility: str,
    nodes: Iterable[Node],
    links: Iterable[Link],
    devices: Iterable[Device] = (),
    services: Iterable[tuple[Key, Key]] = (),
    *,
    snap_m: float = 0.0,
) -> Network:
    """A Network from rows; a link end without a node id is snapped to the nearest node within `snap_m`
    metres (in the metric CRS), or gets a new node there."""
    by_id = {n.id: n for n in nodes}
    snapper = _Snapper(by_id, snap_m)
    built: dict[Key, Link] = {}
    for link in links:
        start, end = link.start, link.end
        if start is None or start not in by_id:
            start = snapper.node_at(link.coords[0], link.id, "start")
        if end is None or end not in by_id:
            end = snapper.node_at(link.coords[-1], link.id, "end")
        built[link.id] = Link(**{**link.__dict__, "start": start, "end": end})
    fed: dict[Key, list[Key]] = defaultdict(list)
    for node, building in services:
        fed[node].append(building)
    kinds = SOURCE_KINDS.get(utility, frozenset())
    return Network(
        utility,
        by_id,
        built,
        {d.id: d for d in devices},
        frozenset(k for k, n in by_id.items() if n.kind in kinds),
        {k: tuple(v) for k, v in fed.items()},
    )


class _Snapper:
    """Finds or makes the node at a link end; a grid of `snap_m` cells keeps it linear."""

    def __init__(self, nodes: dict[Key, Node], snap_m: float) -> None:
        self.nodes, self.snap = nodes, max(snap_m, 1e-6)
        self.grid: dict[tuple[int, int], list[Key]] = defaultdict(list)
        for node in nodes.values():
            if node.xy is not None:
                self.grid[self._cell(node.xy)].append(node.id)

    def _cell(self, xy: XY) -> tuple[int, int]:
        return (math.floor(xy[0] / self.snap), math.floor(xy[1] / self.snap))

    def node_at(self, xy: XY, link: Key, end: str) -> Key:
        cx, cy = self._cell(xy)
        near = [
            (math.dist(xy, self.nodes[k].xy or xy), str(k), k)
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for k in self.grid[(cx + dx, cy + dy)]
        ]
        near = [n for n in near if n[0] <= self.snap]
        if near:
            return min(near)[2]
        key = f"{link}:{end}"
        self.nodes[key] = Node(key, "junction", xy)
        self.grid[(cx, cy)].append(key)
        return key


@dataclass
class TopologyReport:
    """What a surveyor must fix: dangles, duplicates, unconnected parts, missing depths."""

    utility: str
    nodes: int
    links: int
    dangles: list[Key]
    duplicates: list[tuple[Key, Key]]
    parts: list[int]  # sizes (links) of the connected parts, largest first
    missing_depths: list[Key]
    sourceless_parts: int

    @property
    def clean(self) -> bool:
        return not (self.dangles or self.duplicates or self.missing_depths) and len(self.parts) <= 1


def topology_report(net: Network, *, coincide_m: float = 0.01) -> TopologyReport:
    """Dangles: degree-1 nodes that are not an end kind (cap, meter, source…); duplicates: links between
    the same two nodes with the same shape; parts: connected components of the network ignoring devices."""
    degree: Counter[Key] = Counter()
    for link in net.links.values():
        degree[link.start] += 1
        degree[link.end] += 1
    dangles = [k for k, n in net.nodes.items() if degree[k] == 1 and n.kind not in END_KINDS]
    seen: dict[tuple[Key, Key], list[Link]] = defaultdict(list)
    duplicates: list[tuple[Key, Key]] = []
    for link in net.links.values():
        pair = tuple(sorted((link.start, link.end), key=str))
        for other in seen[pair]:  # type: ignore[index]
            if _same_shape(link, other, coincide_m):
                duplicates.append((other.id, link.id))
        seen[pair].append(link)  # type: ignore[index]
    labels = _physical_parts(net)
    link_labels = labels[len(net.nodes) :]
    parts = sorted(Counter(link_labels.tolist()).values(), reverse=True)
    source_labels = {int(labels[net.node_index[s]]) for s in net.sources}
    sourceless = len(set(link_labels.tolist()) - source_labels) if net.sources else 0
    missing = [k for k, lk in net.links.items() if lk.start_depth_m is None or lk.end_depth_m is None]
    return TopologyReport(
        net.utility, len(net.nodes), len(net.links), dangles, duplicates, parts, missing, sourceless
    )


def _physical_parts(net: Network) -> NDArray[np.int32]:
    """Component labels with every link joined to its ends, closed or not: what is laid in the ground."""
    rows = [net.link_index[k] for k, lk in net.links.items() for _ in (lk.start, lk.end)]
    cols = [net.node_index[n] for lk in net.links.values() for n in (lk.start, lk.end)]
    size = len(net.nodes) + len(net.links)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(size, size))
    return connected_components(graph, directed=False)[1].astype(np.int32)


def _same_shape(a: Link, b: Link, tol: float) -> bool:
    if not a.coords or not b.coords:
        return True  # no geometry to tell them apart: the same two nodes twice
    pts_b = list(b.coords) if b.coords[0] == a.coords[0] else list(reversed(b.coords))
    return len(a.coords) == len(pts_b) and all(
        math.dist(p, q) <= tol for p, q in zip(a.coords, pts_b, strict=True)
    )
