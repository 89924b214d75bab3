"""The water network as an EPANET model (wntr), with the GeoPackage's node and pipe codes.

Isolation valves are not EPANET [VALVES] (those are control valves), so a pipe behind a normally closed
isolation valve is written with status Closed instead. Coordinates are in the campus metric CRS.
"""

from __future__ import annotations

from pathlib import Path

import wntr

from twin.samples.frame import Frame
from twin.samples.layout import Building
from twin.samples.netbuild import Network
from twin.samples.terrain import Terrain

SUPPLY_HEAD_M = 35.0  # municipal pressure at the connection, above ground
DEMAND_M3S_PER_PERSON = 2e-6  # about 0.17 m3 a day per occupant over a school day
HAZEN_WILLIAMS_C = {"PE": 140.0, "ductile_iron": 130.0}


def water_model(
    water: Network, blds: list[Building], terrain: Terrain, frame: Frame
) -> wntr.network.WaterNetworkModel:
    occupancy = {b.code: b.occupancy for b in blds}
    demand = {s.node: occupancy[s.building] * DEMAND_M3S_PER_PERSON for s in water.services}
    closed = {v.segment for v in water.valves if v.position == "closed"}
    wn = wntr.network.WaterNetworkModel()
    for code, node in water.nodes.items():
        ground = terrain.at(*node.xy)
        xy = (node.xy[0] + frame.origin_e, node.xy[1] + frame.origin_n)
        if node.kind == "source":
            wn.add_reservoir(code, base_head=ground + SUPPLY_HEAD_M, coordinates=xy)
        else:
            wn.add_junction(code, base_demand=demand.get(code, 0.0), elevation=ground, coordinates=xy)
    for code, seg in water.segments.items():
        wn.add_pipe(
            code,
            seg.start,
            seg.end,
            length=round(water.line(code).length, 3),
            diameter=seg.diameter / 1000.0,
            roughness=HAZEN_WILLIAMS_C[seg.material],
            minor_loss=0.0,
            initial_status="CLOSED" if code in closed else "OPEN",
        )
    return wn


def write_inp(path: Path, wn: wntr.network.WaterNetworkModel) -> Path:
    wntr.network.write_inpfile(wn, str(path), units="LPS")
    return path
