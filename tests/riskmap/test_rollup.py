"""The roll-up point -> zone -> floor -> building -> campus -> county -> city -> province, kept by triggers.

After every edit the incremental counts must equal a full recount done here in plain SQL (the reference),
and a zone's colour must follow the highest risk linked to it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

# The reference: counts per roll-up key recomputed from scratch, independently of the triggers' SQL.
RECOUNT = """
WITH items AS (
    SELECT 'p' AS what, effective_level AS lvl, org_path, campus_id, building_id, floor, zone_id FROM risk_points
    UNION ALL SELECT 'z', level, org_path, campus_id, building_id, floor, id FROM risk_zones
), keyed AS (
    SELECT what, lvl, 'org:' || subpath(org_path, 0, n)::text AS key
      FROM items, generate_series(1, nlevel(org_path)) n
    UNION ALL SELECT what, lvl, 'campus:' || campus_id FROM items
    UNION ALL SELECT what, lvl, 'building:' || building_id FROM items WHERE building_id IS NOT NULL
    UNION ALL SELECT what, lvl, 'floor:' || building_id || ':' || floor FROM items
     WHERE building_id IS NOT NULL AND floor IS NOT NULL
    UNION ALL SELECT what, lvl, 'zone:' || zone_id FROM items WHERE zone_id IS NOT NULL
)
SELECT key, what, lvl, count(*) FROM keyed WHERE lvl IS NOT NULL GROUP BY key, what, lvl
"""


def recount(conn: Connection) -> dict[tuple[str, str, int], int]:
    return {(r[0], r[1], r[2]): r[3] for r in conn.execute(text(RECOUNT))}


def maintained(conn: Connection) -> dict[tuple[str, str, int], int]:
    out: dict[tuple[str, str, int], int] = {}
    for key, points, zones in conn.execute(text("SELECT key, points, zones FROM risk_rollup")):
        for what, counts in (("p", points), ("z", zones)):
            for level, n in enumerate(counts, start=1):
                if n:
                    out[(key, what, level)] = n
    return out


def row(conn: Connection, key: str) -> tuple[list[int], list[int]]:
    r = conn.execute(text("SELECT points, zones FROM risk_rollup WHERE key = :k"), {"k": key}).one()
    return list(r.points), list(r.zones)


def a_point_in_a_zone(conn: Connection) -> Any:
    return conn.execute(
        text(
            "SELECT p.id, p.level, p.zone_id, p.building_id, p.floor, p.campus_id, p.org_path::text AS org_path"
            " FROM risk_points p WHERE p.zone_id IS NOT NULL AND p.building_id IS NOT NULL"
            " AND p.floor IS NOT NULL AND NOT p.dynamic ORDER BY p.id LIMIT 1"
        )
    ).one()


@pytest.fixture
def conn(owner: Engine) -> Any:
    """A transaction rolled back after the test: the module's database stays the sample."""
    with owner.connect() as c:
        transaction = c.begin()
        yield c
        transaction.rollback()


def test_the_loaded_sample_rolls_up_to_the_recount(conn: Connection) -> None:
    assert maintained(conn) == recount(conn)
    province = row(conn, "org:410000")
    assert sum(province[0]) == conn.execute(text("SELECT count(*) FROM risk_points")).scalar_one()


def test_raising_a_point_updates_every_level_up_to_the_province(conn: Connection) -> None:
    p = a_point_in_a_zone(conn)
    keys = [
        f"zone:{p.zone_id}",
        f"floor:{p.building_id}:{p.floor}",
        f"building:{p.building_id}",
        f"campus:{p.campus_id}",
        *(f"org:{'.'.join(p.org_path.split('.')[:n])}" for n in range(1, 5)),
    ]
    before = {k: row(conn, k)[0] for k in keys}
    new = 1 if p.level != 1 else 4
    conn.execute(text("UPDATE risk_points SET level = :l WHERE id = :id"), {"l": new, "id": p.id})
    for k in keys:
        after = row(conn, k)[0]
        assert after[p.level - 1] == before[k][p.level - 1] - 1, k
        assert after[new - 1] == before[k][new - 1] + 1, k
    assert maintained(conn) == recount(conn)


def test_delete_insert_and_moves_keep_the_roll_up_equal_to_a_recount(conn: Connection) -> None:
    p = a_point_in_a_zone(conn)
    conn.execute(text("DELETE FROM risk_points WHERE id = :id"), {"id": p.id})
    assert maintained(conn) == recount(conn)
    other_zone = conn.execute(
        text("SELECT id FROM risk_zones WHERE id <> :z ORDER BY id LIMIT 1"), {"z": p.zone_id}
    ).scalar_one()
    conn.execute(
        text(
            "UPDATE risk_points SET zone_id = :z, floor = coalesce(floor, 0) + 1 WHERE id = (SELECT min(id) FROM risk_points)"
        ),
        {"z": other_zone},
    )
    assert maintained(conn) == recount(conn)
    conn.execute(
        text(
            "INSERT INTO risk_points (org_path, campus_id, code, name, category, level, geom)"
            " SELECT org_path, campus_id, 'RP-NEW', 'new', 'fire', 1, geom FROM risk_points ORDER BY id LIMIT 1"
        )
    )
    conn.execute(text("UPDATE risk_zones SET level = 1 WHERE id = :z"), {"z": other_zone})
    assert maintained(conn) == recount(conn)
    conn.execute(text("DELETE FROM risk_zones WHERE id = :z"), {"z": p.zone_id})  # points: zone_id SET NULL
    assert maintained(conn) == recount(conn)
    assert row(conn, f"zone:{p.zone_id}") == ([0, 0, 0, 0], [0, 0, 0, 0])


def test_a_zone_takes_the_colour_of_its_highest_point(conn: Connection) -> None:
    p = a_point_in_a_zone(conn)
    conn.execute(text("UPDATE risk_zones SET level = 4 WHERE id = :z"), {"z": p.zone_id})
    conn.execute(text("UPDATE risk_points SET level = 4 WHERE zone_id = :z"), {"z": p.zone_id})
    points, zones = row(conn, f"zone:{p.zone_id}")
    assert (points[:3], zones[:3]) == ([0, 0, 0], [0, 0, 0])
    conn.execute(text("UPDATE risk_points SET level = 1 WHERE id = :id"), {"id": p.id})
    points, _ = row(conn, f"zone:{p.zone_id}")
    assert points[0] == 1


def test_the_rebuild_gives_what_the_triggers_kept(conn: Connection) -> None:
    p = a_point_in_a_zone(conn)
    conn.execute(text("UPDATE risk_points SET level = 2 WHERE id = :id"), {"id": p.id})
    kept = maintained(conn)
    conn.execute(text("SELECT twin_rollup_rebuild()"))
    assert maintained(conn) == kept
