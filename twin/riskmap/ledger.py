"""The hazard ledger (隐患台账): filters, paging, and the CSV a school files away.

Overdue is computed from the clock at query time (deadline passed, still open), never stored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access.scope import Caller, planner_scope
from twin.errors import NotFound
from twin.riskmap import queries_hazards as qh
from twin.riskmap.deadlines import rules
from twin.riskmap.transitions import machine

# Ledger columns in the order of the domain notes (number, found at/by, place, name, …, result).
COLUMNS = (
    "number",
    "found_at",
    "found_by",
    "campus",
    "building",
    "floor",
    "lon",
    "lat",
    "name",
    "category",
    "grade",
    "state",
    "overdue",
    "description",
    "measures",
    "deadline",
    "responsible_department",
    "responsible_person",
    "funds_cny",
    "rectified_at",
    "accepted_by",
    "accepted_at",
    "result",
    "risk_point_id",
    "inspection_id",
    "photos",
    "id",
)


@dataclass(frozen=True)
class LedgerFilter:
    """What the ledger is asked for; every field optional."""

    states: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    org: str | None = None  # an org code: its subtree, inside the caller's jurisdiction
    overdue: bool | None = None
    found_from: date | None = None  # inclusive, local days
    found_to: date | None = None  # inclusive


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=rules().zone)


async def conditions(
    conn: AsyncConnection, caller: Caller, f: LedgerFilter, now: datetime
) -> list[ColumnElement[bool]]:
    h = qh.H.c
    where: list[ColumnElement[bool]] = []
    scope = planner_scope(caller)
    if scope is not None:
        where.append(qh.within(h.org_path, scope))
    if f.org is not None:
        path = await qh.find_org(conn, f.org)
        if path is None:
            raise NotFound(f"no org unit with code {f.org!r}")
        where.append(qh.within(h.org_path, path))
    if f.states:
        where.append(h.state.in_(f.states))
    if f.grades:
        where.append(h.grade.in_(f.grades))
    if f.categories:
        where.append(h.category.in_(f.categories))
    if f.overdue is not None:
        flag = qh.overdue(now, machine().open_states)
        where.append(flag if f.overdue else ~flag)
    if f.found_from is not None:
        where.append(h.found_at >= _local_start(f.found_from))
    if f.found_to is not None:
        where.append(h.found_at < _local_start(f.found_to + timedelta(days=1)))
    return where


async def read_ledger(
    conn: AsyncConnection, caller: Caller, f: LedgerFilter, now: datetime, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of matching hazards (newest first) and the number matching in all."""
    where = await conditions(conn, caller, f, now)
    return await qh.ledger_page(conn, now, machine().open_states, where, limit, offset)


async def hazard(conn: AsyncConnection, hazard_id: int, now: datetime) -> dict[str, Any]:
    """One ledger row of a visible hazard (404 otherwise)."""
    row = await qh.one_hazard(conn, qh.ledger_select(now, machine().open_states), hazard_id)
    if row is None:
        raise NotFound(f"no hazard {hazard_id}")
    return row


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The ledger as CSV, with a byte-order mark so spreadsheet programs read the Chinese right."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else value
