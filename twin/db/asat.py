"""The versioned tables as they were at an instant (time travel), from `feature_versions` (migration 0006).

A versioned table's state at T is, per feature, the newest version recorded at or before T unless that
version is a deletion; features history has never met (bulk loads, never edited since) are their current
row from their `updated_at` on, which is also the time a baseline version carries.

The past state is given as common table expressions named like the tables (`WITH risk_zones AS (...)`):
inside a statement, the CTE shadows the table, so the queries written for today's state (the layers'
items, the four-colour map, the roll-up) read the past without a second copy of their SQL. A CTE's body
may still name its own table: without RECURSIVE, PostgreSQL resolves a name inside a CTE's own body to
the table, not to the CTE.

Row-level security applies to `feature_versions` as to the tables: a version is visible where its
feature was. The scale a zone is coloured with is today's: the scales are not versioned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CTE, Table, column, text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.errors import InvalidInput
from twin.models import Base
from twin.models.versions import VERSIONED_TABLES

# Columns a version keeps outside `properties` (twin_version_keep of migration 0006).
_OWN = {"id": "v.feature_id", "version": "v.version", "org_path": "v.org_path", "geom": "v.geom"}


def _counts(kind: str) -> str:
    summed = (f"coalesce(sum(x.{kind}) FILTER (WHERE x.lvl = {i}), 0)" for i in (1, 2, 3, 4))
    return "ARRAY[" + ", ".join(summed) + "]::int[]"


# The roll-up, recounted from the (past) points and zones: twin_rollup_rebuild of migration 0008.
_ROLLUP = (
    "SELECT k.key, min(k.kind) AS kind, min(k.path::text)::ltree AS org_path, min(k.campus_id) AS campus_id,"
    " min(k.building_id) AS building_id, min(k.floor) AS floor, min(k.zone_id) AS zone_id,"
    f" {_counts('p')} AS points, {_counts('z')} AS zones"
    " FROM (SELECT 1 AS p, 0 AS z, effective_level AS lvl, org_path, campus_id, building_id, floor, zone_id"
    " FROM risk_points UNION ALL"
    " SELECT 0, 1, level, org_path, campus_id, building_id, floor, id FROM risk_zones) x,"
    " twin_rollup_keys(x.org_path, x.campus_id, x.building_id, x.floor, x.zone_id) k"
    " WHERE x.lvl BETWEEN 1 AND 4 GROUP BY k.key"
)
RISK_TABLES = ("buildings", "risk_zones", "risk_points", "risk_rollup")


@dataclass(frozen=True)
class AsAt:
    """An instant to read the versioned tables at, and the caller's planner scope (None: no filter)."""

    at: datetime
    scope: str | None = None

    def params(self) -> dict[str, Any]:
        return {"as_at": self.at, "as_at_scope": self.scope}


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _scoped(alias: str, scope: str | None) -> str:
    # The planner's copy of the scope (twin.access.planner_scope); row-level security enforces it anyway.
    return f" AND {alias}.org_path <@ CAST(:as_at_scope AS ltree)" if scope is not None else ""


def table_sql(name: str, scope: str | None) -> str:
    """The SELECT giving `name`'s rows as they were at :as_at, columns in the table's order."""
    if name == "risk_rollup":
        return _ROLLUP
    if name not in VERSIONED_TABLES:
        raise ValueError(f"{name} has no versions")
    names = [c.name for c in _table(name).columns]
    past = ", ".join(f"{_OWN.get(n, f'r.{_q(n)}')} AS {_q(n)}" for n in names)
    now = ", ".join(f"t.{_q(n)}" for n in names)
    return (
        f"SELECT {past} FROM (SELECT DISTINCT ON (feature_id) feature_id, version, org_path, geom, operation,"
        f" properties FROM feature_versions v WHERE v.collection = '{name}' AND v.changed_at <= :as_at"
        f"{_scoped('v', scope)} ORDER BY feature_id, changed_at DESC, version DESC) v,"
        f" jsonb_populate_record(NULL::{name}, v.properties) r WHERE v.operation <> 'delete'"
        f" UNION ALL SELECT {now} FROM {name} t WHERE t.updated_at <= :as_at{_scoped('t', scope)}"
        f" AND NOT EXISTS (SELECT 1 FROM feature_versions h WHERE h.collection = '{name}'"
        " AND h.feature_id = t.id)"
    )


def _q(name: str) -> str:
    return f'"{name}"'


def with_clause(tables: Iterable[str], as_at: AsAt) -> str:
    """`WITH a AS (...), b AS (...) ` shadowing `tables` (in dependency order) for a text statement."""
    return "WITH " + ", ".join(f"{t} AS ({table_sql(t, as_at.scope)})" for t in tables) + " "


def ctes(tables: Iterable[str], as_at: AsAt) -> list[CTE]:
    """The same as SQLAlchemy CTEs, for a Core statement (`select(...).add_cte(*ctes)`)."""
    out = []
    for name in tables:
        typed = [column(c.name, c.type) for c in _table(name).columns]
        body = text(table_sql(name, as_at.scope)).bindparams(**_used(name, as_at))
        out.append(body.columns(*typed).cte(name))
    return out


def _used(name: str, as_at: AsAt) -> dict[str, Any]:
    """The bound values a table's SQL uses (the roll-up uses none: it reads the CTEs before it)."""
    if name == "risk_rollup":
        return {}
    params: dict[str, Any] = {"as_at": as_at.at}
    if as_at.scope is not None:
        params["as_at_scope"] = as_at.scope
    return params


async def earliest(conn: AsyncConnection, scope: str | None) -> datetime | None:
    """When the first campus under `scope` (default: the caller's jurisdiction) came into the twin."""
    where = " WHERE org_path <@ CAST(:p AS ltree)" if scope is not None else ""
    found = await conn.execute(text(f"SELECT min(created_at) FROM campuses{where}"), {"p": scope})
    value: datetime | None = found.scalar_one()
    return value


async def check_not_before(conn: AsyncConnection, as_at: AsAt, *, field: str) -> None:
    """Refuse an instant before the first campus in scope existed: there is nothing to show then."""
    first = await earliest(conn, as_at.scope)
    if first is not None and as_at.at < first:
        raise InvalidInput(
            f"{field}: {as_at.at.isoformat()} is before the campus existed in the twin; the earliest"
            f" instant with a state to show is {first.isoformat()}",
            field=field,
            earliest=first.isoformat(),
        )


def instant(text: str, field: str) -> datetime:
    """One RFC 3339 date-time (UTC when it names no offset), or a 400 naming `field`."""
    value = None
    if "/" not in text and "T" in text.upper():
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            value = None
    if value is None:
        raise InvalidInput(
            f"{field} {text!r}: give one RFC 3339 date-time such as 2026-05-01T12:00:00+08:00 "
            "(the state as it was at that instant)",
            field=field,
        )
    return value if value.tzinfo else value.replace(tzinfo=UTC)
