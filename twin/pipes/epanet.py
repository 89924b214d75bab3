"""EPANET models (.inp, read by WNTR) as a Network, with an isolation-valve layer beside them.

EPANET's [VALVES] are control valves (PRV, FCV…), not isolation valves: they stay links here, and the
isolation valves come as a separate layer of (link, node) rows, as WNTR's `generate_valve_layer` makes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twin.errors import ImportRejected
from twin.pipes.network import Device, Key, Link, Network, Node, build_network


def read_inp(path: Path) -> Any:
    """The WNTR WaterNetworkModel of an .inp file; ImportRejected when WNTR cannot read it."""
    import wntr

    try:
        return wntr.network.WaterNetworkModel(str(path))
    except Exception as exc:  # WNTR raises bare exceptions of many kinds for a bad file
        raise ImportRejected(f"not a readable EPANET .inp file: {exc}", layer=path.name) from exc


def network_from_wntr(wn: Any, valve_layer: Any = None, *, honour_status: bool = True) -> Network:
    """Junctions, reservoirs and tanks (sources), pipes, pumps and control valves as links.

    `honour_status=False` keeps pipes the model marks Closed as ordinary links, as WNTR's own
    valve_segments does; the product honours them (a closed pipe carries nothing). Pumps and control
    valves stay links whatever their initial status: controls switch them during the day (Net3's pump 10
    starts Closed and runs later), so they may feed a part that a valve closure cuts off.
    """
    from wntr.network import LinkStatus

    nodes = [Node(name, _kind(node.node_type), _xy(node.coordinates)) for name, node in wn.nodes()]
    links = [
        Link(
            name,
            link.start_node_name,
            link.end_node_name,
            closed=honour_status and _shut_pipe(link, LinkStatus.Closed),
            diameter_mm=getattr(link, "diameter", 0.0) * 1000 or None,
            coords=_line(link),
        )
        for name, link in wn.links()
    ]
    devices = []
    if valve_layer is not None:
        for number, row in valve_layer.iterrows():
            devices.append(Device(number, row["link"], row["node"]))
    return build_network("water", nodes, links, devices)


def wntr_segments(wn: Any, valve_layer: Any) -> set[frozenset[tuple[str, Key]]]:
    """WNTR's own valve segmentation, as a set of segments of ("node"|"link", name)."""
    import wntr

    node_seg, link_seg, _ = wntr.metrics.valve_segments(wn.to_graph(), valve_layer)
    groups: dict[int, set[tuple[str, Key]]] = {}
    for name, seg in node_seg.items():
        groups.setdefault(int(seg), set()).add(("node", name))
    for name, seg in link_seg.items():
        groups.setdefault(int(seg), set()).add(("link", name))
    return {frozenset(g) for g in groups.values()}


def partition(net: Network, failed: tuple[Key, ...] = ()) -> set[frozenset[tuple[str, Key]]]:
    """The Network's segmentation in the same shape as wntr_segments."""
    return {
        frozenset({("node", n) for n in seg.nodes} | {("link", lk) for lk in seg.links})
        for seg in net.segments(failed)
    }


def _shut_pipe(link: Any, closed: Any) -> bool:
    return bool(link.link_type == "Pipe" and link.initial_status == closed)


def _line(link: Any) -> tuple[tuple[float, float], ...]:
    ends = (_xy(link.start_node.coordinates), _xy(link.end_node.coordinates))
    return tuple(p for p in ends if p is not None)


def _kind(node_type: str) -> str:
    return {"Reservoir": "source", "Tank": "tank"}.get(node_type, "junction")


def _xy(coords: tuple[float, float] | None) -> tuple[float, float] | None:
    return (float(coords[0]), float(coords[1])) if coords is not None else None


def inp_layers(path: Path, crs: str | None) -> list[Any]:
    """The .inp's junctions, reservoirs and tanks as a `pipe_nodes` layer and its pipes, pumps and control
    valves as a `pipe_segments` layer, for twin.ingest (which checks and writes them like any delivery).

    Coordinates come from [COORDINATES] (and [VERTICES]) in the CRS the user names: the format has none.
    EPANET's node elevation is stored as the ground elevation at survey (demand nodes sit at ground level
    in the hydraulic models schools receive); depths are not in the format and stay empty, which
    `twin pipes check` reports.
    """
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    from twin.ingest.reader import RawLayer

    if not crs:
        raise ImportRejected(
            "an EPANET .inp carries no CRS: name the CRS of its [COORDINATES] with --crs,"
            " e.g. --crs EPSG:4546",
            layer=path.name,
        )
    wn = read_inp(path)
    nodes = []
    for name, node in wn.nodes():
        if node.coordinates is None:
            raise ImportRejected("node has no [COORDINATES] entry", layer="pipe_nodes", feature=name)
        nodes.append(
            {
                "utility": "water",
                "code": name,
                "kind": {"Reservoir": "source", "Tank": "tank"}.get(node.node_type, "junction"),
                "ground_elev_m": getattr(node, "elevation", None),
                "geometry": Point(node.coordinates),
            }
        )
    links = []
    for name, link in wn.links():
        points = [link.start_node.coordinates, *link.vertices, link.end_node.coordinates]
        closed = link.link_type == "Pipe" and str(link.initial_status).lower().endswith("closed")
        links.append(
            {
                "utility": "water",
                "code": name,
                "start_node": link.start_node_name,
                "end_node": link.end_node_name,
                "depth_ref": "top",
                "diameter_mm": round(float(getattr(link, "diameter", 0.0) or 0.0) * 1000, 1) or None,
                "status": "closed" if closed else "open",
                "geometry": LineString(points),
            }
        )
    widest: dict[str, float] = {}
    for row in links:
        for end in (row["start_node"], row["end_node"]):
            widest[end] = max(widest.get(end, 0.0), row["diameter_mm"] or 0.0)
    for row in links:
        if row["diameter_mm"] is None:  # a pump has no diameter: take the widest pipe it joins
            row["diameter_mm"] = max(widest[row["start_node"]], widest[row["end_node"]]) or 100.0
    return [
        RawLayer("pipe_nodes", gpd.GeoDataFrame(nodes, geometry="geometry"), None, True),
        RawLayer("pipe_segments", gpd.GeoDataFrame(links, geometry="geometry"), None, True),
    ]
