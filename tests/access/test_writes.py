"""Writes are checked where reads are: the database's policies, by role and by scope, for every table.

These go through the server's own database role (`twin_app`) exactly as a request does, so they hold for
any endpoint that writes, including ones not written yet.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.access import world as w
from twin.config import Settings
from twin.db.provision import libpq_dsn

INSERT_RISK = (
    "INSERT INTO risk_points (org_path, campus_id, code, name, category, geom)"
    " SELECT org_path, id, %s, 'new risk', 'fire', ST_Centroid(boundary) FROM campuses WHERE code = %s"
)


@pytest.fixture
def as_user(world_db: tuple[Settings, w.World]) -> Iterator[object]:
    settings, world = world_db
    conns: list[psycopg.Connection] = []

    def connect(key: str) -> psycopg.Connection:
        conn = psycopg.connect(libpq_dsn(settings.db.sync_url()))
        conn.execute("SET ROLE twin_app")
        assert conn.execute(
            "SELECT count(*) FROM twin_begin_request(%s, 1)", (world.users[key],)
        ).fetchone() == (1,)
        conns.append(conn)
        return conn

    yield connect
    for conn in conns:
        conn.rollback()
        conn.close()


def test_safety_officer_writes_risks_of_its_own_school(as_user) -> None:  # type: ignore[no-untyped-def]
    conn = as_user("A.safety_officer")
    conn.execute(INSERT_RISK, ("R2", "CA"))
    assert conn.execute("SELECT count(*) FROM risk_points WHERE code = 'R2'").fetchone() == (1,)


def test_safety_officer_cannot_write_into_a_sibling_school(as_user) -> None:  # type: ignore[no-untyped-def]
    conn = as_user("A.safety_officer")
    # The sibling campus is invisible, so nothing is selected to insert …
    assert conn.execute(INSERT_RISK, ("R3", "CB")).rowcount == 0
    # … and a row that names the sibling's org path outright is refused by the policy.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        conn.execute(
            "INSERT INTO risk_points (org_path, campus_id, code, name, category, geom) VALUES"
            " ('410000.410300.410311.4103110002', %s, 'R4', 'x', 'fire', ST_SetSRID(ST_MakePoint(112.42, 34.6), 4326))",
            (0,),
        )


@pytest.mark.parametrize("role", ["leader", "analyst", "maintenance"])
def test_roles_without_the_grant_cannot_write_risks(as_user, role: str) -> None:  # type: ignore[no-untyped-def]
    conn = as_user(f"A.{role}")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        conn.execute(INSERT_RISK, ("R5", "CA"))


def test_a_parent_sees_no_campus_to_write_into(as_user) -> None:  # type: ignore[no-untyped-def]
    conn = as_user("A.parent")
    assert conn.execute(INSERT_RISK, ("R6", "CA")).rowcount == 0
    assert conn.execute("SELECT count(*) FROM campuses").fetchone() == (0,)


def test_maintenance_writes_pipes_but_not_risks(as_user) -> None:  # type: ignore[no-untyped-def]
    conn = as_user("A.maintenance")
    conn.execute(
        "INSERT INTO pipe_nodes (org_path, campus_id, utility, code, kind, geom)"
        " SELECT org_path, id, 'water', 'N1', 'junction', ST_Centroid(boundary) FROM campuses WHERE code = 'CA'"
    )
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        conn.execute("UPDATE risk_points SET name = 'renamed'")


def test_leader_reads_but_cannot_update_or_delete(as_user) -> None:  # type: ignore[no-untyped-def]
    conn = as_user("A.leader")
    assert conn.execute("SELECT count(*) FROM buildings").fetchone() == (1,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE buildings SET name = 'renamed'")
    conn.rollback()
    conn.execute("SELECT twin_begin_request(%s, 1)", (0,))


def test_without_a_scope_nothing_is_visible(world_db: tuple[Settings, w.World]) -> None:
    settings, _ = world_db
    with psycopg.connect(libpq_dsn(settings.db.sync_url())) as conn:
        conn.execute("SET ROLE twin_app")
        for table in ("buildings", "risk_points", "vehicles", "positions", "people", "users", "audit_log"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table


def test_every_table_with_an_org_path_is_under_row_level_security(world_db: tuple[Settings, w.World]) -> None:
    settings, _ = world_db
    with psycopg.connect(libpq_dsn(settings.db.sync_url())) as conn:
        unprotected = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_path'"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " AND (NOT c.relrowsecurity OR NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))"
        ).fetchall()
        partitions_granted = conn.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relispartition"
            " AND has_table_privilege('twin_app', c.oid, 'SELECT')"
        ).fetchall()
    assert unprotected == []
    assert partitions_granted == []  # partitions are reached only through their protected parent


def test_audit_log_records_who_changed_what_and_admins_read_their_subtree(as_user) -> None:  # type: ignore[no-untyped-def]
    officer = as_user("A.safety_officer")
    officer.execute("UPDATE risk_points SET name = 'checked' WHERE code = 'R1'")
    assert officer.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)  # only admins read the log
    officer.commit()
    admin_a = as_user("A.admin")
    _user, action, before, after = admin_a.execute(
        "SELECT user_id, action, before->>'name', after->>'name' FROM audit_log"
        " WHERE table_name = 'risk_points' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert (action, after) == ("update", "checked")
    assert before.startswith("risk ")
    other_county = as_user("410305.admin")
    seen = other_county.execute("SELECT DISTINCT org_path::text FROM audit_log").fetchall()
    assert seen and all(path.startswith("410000.410300.410305") for (path,) in seen)


def test_audit_log_is_append_only_even_for_the_owner(world_db: tuple[Settings, w.World]) -> None:
    settings, _ = world_db
    with psycopg.connect(libpq_dsn(settings.db.sync_url())) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM audit_log")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("UPDATE audit_log SET action = 'nothing'")


async def test_the_whole_territory_reads_without_a_per_row_scope_test(
    world_db: tuple[Settings, w.World],
) -> None:
    from sqlalchemy import text

    from twin.access import begin_request
    from twin.db.engine import async_engine

    settings, world = world_db
    engine = async_engine(settings.db)
    try:
        async with engine.begin() as conn:
            province = await begin_request(conn, world.users["410000.analyst"], 1)
            assert province is not None and province.whole
            assert (await conn.execute(text("SELECT current_user"))).scalar_one() == "twin_app_all"
            assert (await conn.execute(text("SELECT count(*) FROM vehicles"))).scalar_one() == 6
        async with engine.begin() as conn:
            city = await begin_request(conn, world.users["410300.analyst"], 1)
            assert city is not None and not city.whole
            assert (await conn.execute(text("SELECT current_user"))).scalar_one() == "twin_app"
    finally:
        await engine.dispose()


async def test_the_whole_territorys_role_ends_with_its_transaction(
    world_db: tuple[Settings, w.World],
) -> None:
    """The role is taken in `twin_begin_request`'s own SELECT (set_config, local): the connection goes
    back to the pool as `twin_app`, whose next caller is scoped again."""
    from sqlalchemy import text

    from twin.access import begin_request
    from twin.db.engine import async_engine

    settings, world = world_db
    engine = async_engine(settings.db)
    try:
        async with engine.connect() as conn:
            async with conn.begin():
                assert await begin_request(conn, world.users["410000.analyst"], 1) is not None
                assert (await conn.execute(text("SELECT current_user"))).scalar_one() == "twin_app_all"
            async with conn.begin():
                assert (await conn.execute(text("SELECT current_user"))).scalar_one() == "twin_app"
                assert (await conn.execute(text("SELECT count(*) FROM vehicles"))).scalar_one() == 0
                county = await begin_request(conn, world.users["410311.leader"], 1)
                assert county is not None and not county.whole
                assert (await conn.execute(text("SELECT current_user"))).scalar_one() == "twin_app"
                assert 0 < (await conn.execute(text("SELECT count(*) FROM vehicles"))).scalar_one() < 6
    finally:
        await engine.dispose()
