"""isolate(network, broken, failed_valves=()) -> Isolation: the isolation trace (爆管分析).

The steps of the domain note (shared/domain/pipes.md), on the bipartite graph node -- link -- node of
twin.pipes.network, where a device on link L beside node N is the connection L--N:
1. closed links and normally-closed devices are not connections;
2. cutting every open, operable barrier, the component holding the broken link is the segment S;
3. valves to close = barriers with exactly one side in S (a valve inside a loop of S isolates nothing);
4. removing S with every other barrier open, components that reached a source before and do not now are
   unintended isolation;
5. buildings out = those fed from S or from the unintended parts;
6. failed (or inaccessible) valves leave the barrier set, so S grows into its neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from twin.errors import NotFound
from twin.pipes.network import Key, Network


@dataclass
class Isolation:
    broken: Key
    valves_to_close: list[Key]
    segment_nodes: list[Key]
    segment_pipes: list[Key]
    unintended_nodes: list[Key]
    unintended_pipes: list[Key]
    buildings_out: list[Key]
    failed_valves: list[Key] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def isolate(network: Network, broken: Key, failed_valves: Iterable[Key] = ()) -> Isolation:
    """The valves to close, the segment cut off and who loses service when link `broken` fails."""
    if broken not in network.links:
        raise NotFound(f"pipe {broken!r} is not in the {network.utility} network")
    failed = list(dict.fromkeys(failed_valves))
    unknown = [v for v in failed if v not in network.devices]
    if unknown:
        raise NotFound(f"failed valves {unknown!r} are not devices of the {network.utility} network")
    notes: list[str] = []
    labels = network.segment_labels(failed)
    inside = labels == labels[network.link_index[broken]]
    to_close = network.straddling(inside, failed)
    if not network.barriers(failed):
        notes.append(
            f"the {network.utility} network has no isolation device that can close here: the whole connected"
            " network is the segment (divert the flow: plugs, bypass pumping, switching upstream)"
        )
    if network.links[broken].closed:
        notes.append(f"pipe {broken!r} is closed: it carries nothing, and closing valves isolates only it")
    unintended = _unintended(network, inside, notes)
    out = inside | unintended
    nodes, links = network.split(inside)
    lost_nodes, lost_links = network.split(unintended)
    buildings = sorted(
        {b for node, fed in network.services.items() if out[network.node_index[node]] for b in fed}, key=str
    )
    for dev in failed:
        notes.append(f"valve {dev!r} fails to close: the segment extends beyond it")
    return Isolation(
        broken, sorted(to_close, key=str), nodes, links, lost_nodes, lost_links, buildings, failed, notes
    )


def _unintended(network: Network, segment: NDArray[np.bool_], notes: list[str]) -> NDArray[np.bool_]:
    """Vertices that reached a source with every barrier open, and reach none once `segment` is removed."""
    none = np.zeros_like(segment)
    if not network.sources:
        notes.append(f"the {network.utility} network has no source node: unintended isolation not assessed")
        return none
    no_cut = np.zeros(len(network._ends), dtype=bool)
    after = _fed(network, network.labels(no_cut, removed=segment))
    return network.fed & ~after & ~segment


def _fed(network: Network, labels: NDArray[np.int32]) -> NDArray[np.bool_]:
    source_labels = labels[[network.node_index[s] for s in network.sources]]
    return np.isin(labels, source_labels)
