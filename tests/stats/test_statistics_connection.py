"""The statistics' own transactions (twin.api.deps.statistics_connection): a pool without ping, the scope,
the planner settings and the whole territory's role in one round trip."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import admin_dsn
from tests.layers.conftest import COUNTY, PASSWORD
from tests.stats.conftest import SIBLING_DRILLS
from twin.access.roles import Role
from twin.access.users import NewUser, add_user
from twin.config import Settings

Login = Callable[[str], dict[str, str]]


def _drills(client: TestClient, headers: dict[str, str], group_by: str) -> int:
    response = client.get(f"/stats/drills?group_by={group_by}", headers=headers)
    assert response.status_code == 200, response.text
    return sum(r["drills"] for r in response.json()["rows"])


def test_a_disabled_user_is_refused_by_the_statistics(client: TestClient, owner: Engine) -> None:
    with owner.begin() as conn:
        add_user(conn, NewUser("stats_leaver", Role.analyst, COUNTY, PASSWORD))
    signed = client.post("/auth/token", data={"username": "stats_leaver", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    assert client.get("/stats/drills", headers=headers).status_code == 200
    with owner.begin() as conn:
        conn.execute(text("UPDATE users SET disabled = true WHERE username = 'stats_leaver'"))
    refused = client.get("/stats/drills", headers=headers)
    assert refused.status_code == 401, refused.text
    assert "disabled" in refused.json()["detail"]


def test_the_whole_territory_counts_every_row_and_a_county_its_own(
    client: TestClient, login: Login, owner: Engine
) -> None:
    with owner.connect() as conn:
        everything = conn.execute(text("SELECT count(*) FROM drills")).scalar_one()
        county = conn.execute(
            text(
                "SELECT count(*) FROM drills WHERE org_path <@ (SELECT path FROM org_units WHERE code = :c)"
            ),
            {"c": COUNTY},
        ).scalar_one()
    assert county >= SIBLING_DRILLS
    assert _drills(client, login("province"), "province") == everything
    assert _drills(client, login("county"), "county") == county
    # The province's role is the transaction's only: the county's request on the same pool comes after it.
    assert _drills(client, login("province"), "county") == everything
    assert _drills(client, login("county"), "province") == county


async def _backend_pids(engine: AsyncEngine) -> set[int]:
    """The server processes of the pool's idle connections (the pool hands them out first-in, first-out)."""
    pids = set()
    for _ in range(engine.pool.checkedin()):  # type: ignore[attr-defined]
        async with engine.connect() as conn:
            pids.add((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    return pids


def test_a_dropped_pooled_connection_is_not_an_error(
    client: TestClient, login: Login, stats_db: Settings
) -> None:
    assert client.get("/stats/drills", headers=login("county")).status_code == 200
    engine = client.app.state.stats_engine  # type: ignore[attr-defined]
    pids = client.portal.call(_backend_pids, engine)  # type: ignore[union-attr]
    assert pids
    with psycopg.connect(admin_dsn(stats_db), autocommit=True) as admin:
        for pid in pids:  # as a server restart or an idle timeout in a proxy would
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    response = client.get("/stats/drills", headers=login("county"))
    assert response.status_code == 200, response.text
    assert client.portal.call(_backend_pids, engine).isdisjoint(pids)  # type: ignore[union-attr]
