"""Live data SQL. Row-level security decides which buses a caller sees (a parent: their child's only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

_BUSES = text("""
SELECT v.id, v.plate, r.code AS route, r.name AS route_name, p.time, p.speed_kmh, p.heading,
       ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
  FROM vehicles v
  LEFT JOIN bus_routes r ON r.id = v.route_id
  LEFT JOIN LATERAL (
        SELECT time, speed_kmh, heading, geom FROM positions
         WHERE vehicle_id = v.id ORDER BY time DESC LIMIT 1) p ON true
 ORDER BY v.plate
""")


async def visible_buses(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Each bus the caller may see, with its route and latest position (if any)."""
    return [dict(r) for r in (await conn.execute(_BUSES)).mappings()]


# --- alerts and the live event log, under the caller's scope -------------------------------------------

_ALERT_COLUMNS = """
a.id, a.type, a.severity, a.count, a.sensor_id, a.event_id, a.first_at, a.last_at, a.acked_at, a.acked_by,
a.cleared_at, a.parent_id, a.escalation_step, ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat, a.context
"""

_ACTIVE_ALERTS = text(f"""
SELECT {_ALERT_COLUMNS} FROM alerts a
 WHERE a.cleared_at IS NULL AND a.parent_id IS NULL
 ORDER BY a.id
""")


async def active_alerts(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Alerts not yet cleared and not inhibited, that the caller may see."""
    return [dict(r) for r in (await conn.execute(_ACTIVE_ALERTS)).mappings()]


async def alert(conn: AsyncConnection, alert_id: int) -> dict[str, Any] | None:
    query = text(f"SELECT {_ALERT_COLUMNS} FROM alerts a WHERE a.id = :id")
    row = (await conn.execute(query, {"id": alert_id})).mappings().first()
    return dict(row) if row else None


async def acknowledge(conn: AsyncConnection, alert_id: int, who: str) -> None:
    """Acknowledged once: a second acknowledgement keeps the first person and time."""
    query = text("UPDATE alerts SET acked_at = now(), acked_by = :who WHERE id = :id AND acked_at IS NULL")
    await conn.execute(query, {"id": alert_id, "who": who})


async def clear(conn: AsyncConnection, alert_id: int) -> None:
    query = text("UPDATE alerts SET cleared_at = now() WHERE id = :id AND cleared_at IS NULL")
    await conn.execute(query, {"id": alert_id})


async def last_event_id(conn: AsyncConnection) -> int:
    """The newest event id the caller can see (0 when none)."""
    return int((await conn.execute(text("SELECT coalesce(max(id), 0) FROM live_events"))).scalar_one())


async def ids_between(conn: AsyncConnection, after: int, upto: int) -> list[int]:
    """Ids of the log with `after < id <= upto`, every jurisdiction's (ids only; migration 0027)."""
    query = text("SELECT twin_live_ids(:after, :upto)")
    return [int(i) for i in (await conn.execute(query, {"after": after, "upto": upto})).scalars()]


NO_END = 2**62  # `upto` of a read with no upper bound (a bigint)


class Revoked(Exception):
    """The reader's account was disabled or its token revoked since the stream opened."""


# The payload as JSON text: the fan-out wraps it into each message as it is (twin.live.fanout._event).
_READ = text(
    "SELECT id, kind, payload::text AS payload, at"
    " FROM twin_live_read(:uid, :ver, :after, :upto, :gaps, :limit)"
)
_REVOKED = "42501"  # insufficient_privilege, raised by twin_live_read (migration 0023)


async def read_events(
    conn: AsyncConnection,
    user_id: int,
    version: int,
    after: int,
    *,
    upto: int | None = None,
    gaps: list[int] | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Events the user may see with `after < id <= upto`, plus the awaited ids `gaps`, oldest first, read
    in one statement that sets the user's scope too (payloads as JSON text); raises Revoked."""
    params = {
        "uid": user_id,
        "ver": version,
        "after": after,
        "upto": upto if upto is not None else NO_END,
        "gaps": gaps or [],
        "limit": limit,
    }
    try:
        return [dict(r) for r in (await conn.execute(_READ, params)).mappings()]
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == _REVOKED:
            raise Revoked from exc
        raise


@dataclass(frozen=True)
class Read:
    """One stream group's read for `read_many`: as `read_events`' arguments."""

    user_id: int
    version: int
    after: int
    upto: int | None
    gaps: list[int]


_READ_MANY = text(
    "SELECT g, id, kind, payload::text AS payload, at"
    " FROM twin_live_read_many(:uids, :vers, :afters, :uptos, :gap_of, :gap_ids, :limit)"
)


async def read_many(
    conn: AsyncConnection, reads: list[Read], limit: int
) -> list[list[dict[str, Any]] | None]:
    """`read_events` for several readers in one statement (migration 0027), each in their own scope; a
    reader whose account was disabled or token revoked gets None."""
    gap_of = [n for n, r in enumerate(reads, start=1) for _ in r.gaps]
    params = {
        "uids": [r.user_id for r in reads],
        "vers": [r.version for r in reads],
        "afters": [r.after for r in reads],
        "uptos": [r.upto if r.upto is not None else NO_END for r in reads],
        "gap_of": gap_of,
        "gap_ids": [i for r in reads for i in r.gaps],
        "limit": limit,
    }
    found: list[list[dict[str, Any]] | None] = [[] for _ in reads]
    for row in (await conn.execute(_READ_MANY, params)).mappings():
        n = row["g"] - 1
        if row["id"] is None:
            found[n] = None
        elif (rows := found[n]) is not None:
            rows.append({"id": row["id"], "kind": row["kind"], "payload": row["payload"], "at": row["at"]})
    return found


async def parent_schools(conn: AsyncConnection) -> list[str]:
    """Org paths of the schools of the caller's children and of their buses (a parent's request)."""
    return list((await conn.execute(text("SELECT twin_parent_schools()"))).scalar_one())
