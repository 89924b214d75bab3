"""Pipe networks: topology, isolation trace, simulated excavation, clearance check.

Pure computation here (`from twin.pipes import Network, isolate` needs no server); SQL in queries.py.
"""

from twin.pipes.isolation import Isolation, isolate
from twin.pipes.network import Device, Link, Network, Node, Segment, build_network, topology_report

__all__ = [
    "Device",
    "Isolation",
    "Link",
    "Network",
    "Node",
    "Segment",
    "build_network",
    "isolate",
    "topology_report",
]
