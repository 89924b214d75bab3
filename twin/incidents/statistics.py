"""Incident statistics for one caller: hot spots of an org unit (campus, school, county, city…)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access.scope import Caller, planner_scope
from twin.errors import NotFound
from twin.incidents import hotspots
from twin.incidents import queries as q
from twin.incidents.catalogue import catalogue


async def hot_spots(
    conn: AsyncConnection, caller: Caller, org_code: str | None, f: q.Filter, res: int
) -> dict[str, Any]:
    """Where incidents gather in the org unit `org_code` (default: the caller's jurisdiction)."""
    catalogue().require("statistics", caller.role, "incident statistics")
    hotspots.check_resolution(res)
    path = planner_scope(caller)
    org: dict[str, Any] | None = None
    if org_code is not None:
        org = await q.org_unit(conn, org_code)
        inside = org is not None and (
            caller.whole or org["path"] == caller.org_path or org["path"].startswith(caller.org_path + ".")
        )
        if org is None or not inside:
            raise NotFound(f"no org unit {org_code!r} in your jurisdiction")
        path = org["path"]
    rows = await q.points(conn, q.Filter(**{**vars(f), "scope": path}))
    out = await hotspots.summarise_async(rows, res)
    if org is not None:
        out["org"] = {k: org[k] for k in ("code", "name", "level")}
    return out
