"""Topology check of a campus's networks (`twin pipes check`, `GET /pipes/topology`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access import Caller
from twin.models.pipes import UTILITIES
from twin.pipes import queries
from twin.pipes.network import Network, topology_report


async def topology(
    conn: AsyncConnection, caller: Caller | None, campus: str, utilities: list[str] | None, snap_m: float
) -> list[dict[str, Any]]:
    """Per utility: dangles, duplicates, unconnected parts, missing depths (ids), and whether it is clean."""
    c = await queries.campus(conn, caller, campus)
    reports = []
    for utility in utilities or list(UTILITIES):
        net = await queries.load_network(conn, caller, c, utility, snap_m=snap_m)
        if not net.links:
            continue
        reports.append({**_named(net), "campus": c.code})
    return reports


def _named(net: Network) -> dict[str, Any]:
    """The report with survey codes in place of database ids."""
    report = topology_report(net)
    node = {k: n.code or k for k, n in net.nodes.items()}
    link = {k: lk.code or k for k, lk in net.links.items()}
    doc = asdict(report)
    doc["dangles"] = [node[k] for k in report.dangles]
    doc["duplicates"] = [[link[a], link[b]] for a, b in report.duplicates]
    doc["missing_depths"] = [link[k] for k in report.missing_depths]
    doc["clean"] = report.clean
    return doc
