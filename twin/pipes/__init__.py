"""Pipe networks: topology, isolation trace, simulated excavation, clearance check.

Pure computation here (`from twin.pipes import Network, isolate` needs no server); SQL in queries.py,
the server's orchestration in trace.py and digging.py, the printable plan in report.py.
"""

from twin.pipes.clearances import clearance
from twin.pipes.excavation import ExcavationPlan, OtherPipe, TrenchOptions, conflicts, plan_excavation
from twin.pipes.isolation import Isolation, isolate
from twin.pipes.network import Device, Link, Network, Node, Segment, build_network, topology_report

__all__ = [
    "Device",
    "ExcavationPlan",
    "Isolation",
    "Link",
    "Network",
    "Node",
    "OtherPipe",
    "Segment",
    "TrenchOptions",
    "build_network",
    "clearance",
    "conflicts",
    "isolate",
    "plan_excavation",
    "topology_report",
]
