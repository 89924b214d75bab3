"""Small hand-drawn networks whose isolation a reader can check on paper."""

from __future__ import annotations

from twin.pipes import Device, Link, Network, Node, build_network


def line_network(utility: str = "water", kinds: tuple[str, str] = ("gate_valve", "gate_valve")) -> Network:
    """S(source) -P1- A -P2- B -P3- C, valves V1 on P2 beside A and V2 on P2 beside B; C feeds building X,
    B feeds building Y."""
    source = "source"
    return build_network(
        utility,
        [Node("S", source), Node("A"), Node("B"), Node("C")],
        [Link("P1", "S", "A"), Link("P2", "A", "B"), Link("P3", "B", "C")],
        [Device("V1", "P2", "A", kinds[0]), Device("V2", "P2", "B", kinds[1])],
        [("C", "X"), ("B", "Y")],
    )


def loop_network(*, p4_closed: bool = False, v3_open: bool = True) -> Network:
    """S -P1- A; A -P2- B and A -P4- D -P5- B close a loop; B -P3- C.
    V0 on P1 beside A, V3 on P4 beside D, V4 on P3 beside B."""
    return build_network(
        "water",
        [Node("S", "source"), Node("A"), Node("B"), Node("C"), Node("D")],
        [
            Link("P1", "S", "A"),
            Link("P2", "A", "B"),
            Link("P3", "B", "C"),
            Link("P4", "A", "D", closed=p4_closed),
            Link("P5", "D", "B"),
        ],
        [
            Device("V0", "P1", "A"),
            Device("V3", "P4", "D", normal_open=v3_open),
            Device("V4", "P3", "B"),
        ],
        [("C", "X")],
    )
