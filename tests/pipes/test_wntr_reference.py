"""The segmentation equals WNTR's `valve_segments` on WNTR's own EPANET networks (sets of sets).

WNTR is the outside reference: it ignores link status and sources, so these comparisons build the Network
with `honour_status=False`; where the product deliberately differs, a test below pins the difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import wntr

from twin.pipes import isolate
from twin.pipes.epanet import network_from_wntr, partition, wntr_segments

NETWORKS = Path(wntr.__file__).parent / "library" / "networks"


def model(name: str) -> Any:
    return wntr.network.WaterNetworkModel(str(NETWORKS / f"{name}.inp"))


@pytest.mark.parametrize("name", ["Net1", "Net2", "Net3", "ky4", "ky10"])
@pytest.mark.parametrize("n", [1, 2])
def test_strategic_layers_segment_like_wntr(name: str, n: int) -> None:
    wn = model(name)
    layer = wntr.network.generate_valve_layer(wn, "strategic", n, seed=7)
    assert partition(network_from_wntr(wn, layer, honour_status=False)) == wntr_segments(wn, layer)


@pytest.mark.parametrize("name", ["Net1", "Net3", "ky10"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_layers_segment_like_wntr(name: str, seed: int) -> None:
    wn = model(name)
    count = max(3, len(wn.link_name_list) // 2)
    layer = wntr.network.generate_valve_layer(wn, "random", count, seed=seed)
    assert partition(network_from_wntr(wn, layer, honour_status=False)) == wntr_segments(wn, layer)


def test_net6_strategic_layer_segments_like_wntr() -> None:
    wn = model("Net6")
    layer = wntr.network.generate_valve_layer(wn, "strategic", 1, seed=7)
    assert partition(network_from_wntr(wn, layer, honour_status=False)) == wntr_segments(wn, layer)


def test_isolated_segment_is_wntrs_segment_of_the_broken_pipe() -> None:
    wn = model("Net3")
    layer = wntr.network.generate_valve_layer(wn, "strategic", 2, seed=7)
    net = network_from_wntr(wn, layer, honour_status=False)
    node_seg, link_seg, _ = wntr.metrics.valve_segments(wn.to_graph(), layer)
    for pipe in ("10", "105", "20", "273"):
        iso = isolate(net, pipe)
        seg = link_seg[pipe]
        assert set(iso.segment_pipes) == set(link_seg[link_seg == seg].index)
        assert set(iso.segment_nodes) == set(node_seg[node_seg == seg].index)


def test_closed_pipe_is_no_edge_unlike_wntr() -> None:
    """Net3 pipe 330 is Closed in [PIPES]: it carries nothing, so it cannot hold a segment together.

    WNTR keeps it as an edge. Reference: WNTR's segmentation of the model with 330 removed, plus 330 alone.
    """
    wn = model("Net3")
    assert wn.get_link("330").initial_status == wntr.network.LinkStatus.Closed
    layer = wntr.network.generate_valve_layer(wn, "strategic", 2, seed=7)
    ours = partition(network_from_wntr(wn, layer, honour_status=True))
    assert ours != wntr_segments(wn, layer)

    without = model("Net3")
    without.remove_link("330", with_control=True)
    ref = wntr_segments(without, layer[layer["link"] != "330"])
    assert ours == ref | {frozenset({("link", "330")})}
