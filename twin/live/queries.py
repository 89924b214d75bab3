"""Live data SQL. Row-level security decides which buses a caller sees (a parent: their child's only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
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
