"""Networks from rows: snapping link ends to nodes, and the topology report a surveyor acts on."""

from __future__ import annotations

from twin.pipes import Link, Node, build_network, topology_report


def test_link_ends_within_tolerance_snap_to_the_surveyed_node() -> None:
    nodes = [Node("A", "source", (0.0, 0.0)), Node("B", "junction", (10.0, 0.0))]
    links = [
        Link("P1", None, None, coords=((0.05, 0.02), (9.9, 0.0))),
        Link("P2", "B", None, coords=((10, 0), (20, 0))),
    ]
    net = build_network("water", nodes, links, snap_m=0.2)
    assert (net.links["P1"].start, net.links["P1"].end) == ("A", "B")
    assert net.links["P2"].end == "P2:end"  # nothing within 0.2 m: a new node, reported as a dangle


def test_ends_beyond_tolerance_stay_apart_and_form_a_second_part() -> None:
    nodes = [Node("A", "source", (0.0, 0.0)), Node("B", "junction", (10.0, 0.0))]
    links = [
        Link("P1", "A", "B", coords=((0, 0), (10, 0))),
        Link("P2", None, None, coords=((10.5, 0), (20, 0))),
    ]
    report = topology_report(build_network("water", nodes, links, snap_m=0.2))
    assert report.parts == [1, 1]
    assert report.sourceless_parts == 1
    assert set(report.dangles) == {"B", "P2:start", "P2:end"}


def test_report_lists_duplicates_and_missing_depths() -> None:
    nodes = [Node("A", "source", (0.0, 0.0)), Node("B", "end", (10.0, 0.0))]
    line = ((0.0, 0.0), (10.0, 0.0))
    links = [
        Link("P1", "A", "B", start_depth_m=1.2, end_depth_m=1.3, coords=line),
        Link("P2", "B", "A", start_depth_m=1.2, end_depth_m=1.3, coords=line[::-1]),
        Link("P3", "A", "B", start_depth_m=None, end_depth_m=1.0, coords=((0, 0), (5, 5), (10, 0))),
    ]
    report = topology_report(build_network("water", nodes, links))
    assert report.duplicates == [("P1", "P2")]  # P3 joins the same nodes by another route: no duplicate
    assert report.missing_depths == ["P3"]
    assert report.dangles == []
    assert not report.clean
