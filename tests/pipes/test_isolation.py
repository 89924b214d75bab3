"""isolate(): the steps of the domain note, on networks small enough to check by hand (tests/pipes/nets.py)."""

from __future__ import annotations

import pytest

from tests.pipes.nets import line_network, loop_network
from twin.errors import NotFound
from twin.pipes import Device, isolate
from twin.pipes.network import build_network


def test_pipe_with_valves_at_both_ends_is_a_segment_of_its_own() -> None:
    iso = isolate(line_network(), "P2")
    assert iso.segment_pipes == ["P2"]
    assert iso.segment_nodes == []
    assert iso.valves_to_close == ["V1", "V2"]


def test_parts_cut_from_the_source_are_unintended_isolation() -> None:
    iso = isolate(line_network(), "P2")
    assert set(iso.unintended_nodes) == {"B", "C"}
    assert iso.unintended_pipes == ["P3"]
    assert iso.buildings_out == ["X", "Y"]


def test_failed_valve_merges_segment_with_neighbour() -> None:
    iso = isolate(line_network(), "P2", failed_valves=["V2"])
    assert set(iso.segment_pipes) == {"P2", "P3"}
    assert set(iso.segment_nodes) == {"B", "C"}
    assert iso.valves_to_close == ["V1"]
    assert iso.unintended_nodes == []
    assert iso.buildings_out == ["X", "Y"]
    assert any("V2" in note for note in iso.notes)


def test_inoperable_valve_is_passed_over_like_a_failed_one() -> None:
    net = line_network()
    devices = [net.devices["V1"], Device("V2", "P2", "B", operable=False)]
    seized = build_network("water", net.nodes.values(), net.links.values(), devices)
    iso = isolate(seized, "P2")
    assert iso.valves_to_close == ["V1"]
    assert set(iso.segment_pipes) == {"P2", "P3"}


def test_valve_inside_a_loop_of_the_segment_is_not_closed() -> None:
    iso = isolate(loop_network(), "P2")
    assert set(iso.segment_pipes) == {"P2", "P4", "P5"}
    assert set(iso.segment_nodes) == {"A", "B", "D"}
    assert iso.valves_to_close == ["V0", "V4"]  # V3 sits inside the loop: closing it isolates nothing


def test_closed_pipe_is_not_an_edge() -> None:
    iso = isolate(loop_network(p4_closed=True), "P2")
    assert "P4" not in iso.segment_pipes
    assert set(iso.segment_pipes) == {"P2", "P5"}


def test_normally_closed_valve_is_a_barrier_never_listed_to_close() -> None:
    iso = isolate(loop_network(v3_open=False), "P2")
    assert set(iso.segment_pipes) == {"P2", "P4", "P5"}
    assert "V3" not in iso.valves_to_close


def test_gas_isolates_with_squeeze_off_points_and_gas_valves() -> None:
    iso = isolate(line_network("gas", ("squeeze_off", "gas_valve")), "P2")
    assert iso.valves_to_close == ["V1", "V2"]


def test_power_isolates_with_breakers_and_ignores_water_valve_kinds() -> None:
    iso = isolate(line_network("power", ("breaker", "gate_valve")), "P2")
    # a gate valve is no barrier on a cable: the breaker is closed and the section grows to C
    assert iso.valves_to_close == ["V1"]
    assert set(iso.segment_pipes) == {"P2", "P3"}


def test_unknown_pipe_is_not_found() -> None:
    with pytest.raises(NotFound, match="P9"):
        isolate(line_network(), "P9")


def test_unknown_failed_valve_is_not_found() -> None:
    with pytest.raises(NotFound, match="V9"):
        isolate(line_network(), "P2", failed_valves=["V9"])


def test_network_without_source_says_unintended_isolation_was_not_assessed() -> None:
    net = line_network()
    bare = build_network(
        "water", [n for k, n in net.nodes.items() if k != "S"], [net.links["P2"], net.links["P3"]]
    )
    iso = isolate(bare, "P3")
    assert iso.unintended_nodes == []
    assert any("no source" in note for note in iso.notes)
