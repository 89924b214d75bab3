"""A large statistic by school built in parts at once (twin.stats.parallel): the same bytes as the one
statement, each part in the caller's scope and in one snapshot, a failed part fails the whole cleanly, and
a busy pool falls back to the one statement.

A small province of its own (100 schools) with the threshold lowered through the settings; half of its
school codes are shuffled against the tree, so a part's facts cannot be picked by path order alone.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
import pytest
from fastapi import Depends, Request
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.conftest import TEMPLATE_DB, admin_dsn, clone_database, drop_database
from tests.layers.conftest import PASSWORD
from twin.access.roles import Role
from twin.access.scope import Caller
from twin.access.users import NewUser, add_user
from twin.api import create_app
from twin.api.deps import StatisticsConnection, bearer, statistics_connection
from twin.config import Settings, StatsSettings
from twin.db.engine import sync_engine
from twin.db.provision import libpq_dsn
from twin.stats.json_rows import json_rows_sql
from twin.stats.parallel import PartConnections, Split, code_ranges
from twin.stats.queries import StatsRequest
from twin.stats.service import Query, build_request, columns_for

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
SCHOOLS = 100
COUNTY = "411101"
PROVINCE_SQL = """
INSERT INTO org_units (code, name, level, path) VALUES ('410000', 'province', 'province', '410000');
INSERT INTO org_units (code, name, level, parent_id, path)
  SELECT '4' || c || '000', 'city ' || c, 'city', 1, ('410000.c' || c)::ltree FROM generate_series(11, 12) c;
INSERT INTO org_units (code, name, level, parent_id, path)
  SELECT u.code::int + k, 'county', 'county', u.id, (u.path::text || '.k' || k)::ltree
    FROM org_units u CROSS JOIN generate_series(101, 102) k WHERE u.level = 'city';
-- the first city's school codes are shuffled against the tree (code order is not path order), the second's
-- extend their county's (as the bench's province): part facts are then picked at their scan exactly
INSERT INTO org_units (code, name, level, parent_id, path, enrolment)
  SELECT CASE WHEN n < 50 THEN 'S' || lpad(((n * 37) % 50)::text, 3, '0') ELSE 'T' || lpad(n::text, 3, '0') END,
         'school ' || n, 'school', u.id,
         (u.path::text || '.s' || n)::ltree, 800 + (n * 37) % 2800
    FROM (SELECT u.*, row_number() OVER (ORDER BY u.path) - 1 AS i FROM org_units u
           WHERE u.level = 'county') u
   CROSS JOIN LATERAL generate_series(u.i * 25, u.i * 25 + 24) n;
INSERT INTO campuses (org_path, school_id, code, name, metric_srid, boundary)
  SELECT path, id, 'C' || code, 'campus', 4546,
         ST_Multi(ST_MakeEnvelope(111 + id * 0.01, 33, 111.004 + id * 0.01, 33.004, 4326))
    FROM org_units WHERE level = 'school';
-- every fifth school has no hazard (zeros); the rest a few, over the months, grades and states, some
-- open with a deadline after NOW (the overdue correction)
INSERT INTO hazards (org_path, campus_id, number, name, category, grade, state, found_at, deadline, geom)
  SELECT c.org_path, c.id, 'YH-' || c.id || '-' || k, 'hazard', 'fire',
         (ARRAY['major', 'general', NULL])[1 + (c.id + k) % 3],
         (ARRAY['reported', 'assigned', 'closed'])[1 + k % 3],
         timestamptz '2026-01-05' + ((c.id * 7 + k * 41) % 320) * interval '1 day',
         timestamptz '2026-11-01' + ((c.id + k) % 60) * interval '1 day',
         ST_Centroid(c.boundary)
    FROM campuses c CROSS JOIN generate_series(1, 6) k
   WHERE c.id % 5 <> 0 AND k <= 1 + c.id % 6;
ANALYZE
"""
CASES = [
    "/stats/hazards?group_by=school&period=2026",
    "/stats/hazards?group_by=school&period=2026&per=month",
    "/stats/hazards?group_by=school&split=grade",
    "/stats/hazards?group_by=school&within=412000",
    "/stats/patrols?group_by=school",  # no summary: the raw rows' statement
]
URL = CASES[0]


def _province(conn: psycopg.Connection) -> None:
    for statement in PROVINCE_SQL.split(";\n"):
        conn.execute(statement)


@pytest.fixture(scope="module")
def province(services: Settings) -> Iterator[Settings]:
    settings = clone_database(services, TEMPLATE_DB)
    try:
        with psycopg.connect(libpq_dsn(settings.db.sync_url())) as conn:
            _province(conn)
        engine = sync_engine(settings.db)
        with engine.begin() as conn:
            add_user(conn, NewUser("parts_province", Role.analyst, "410000", PASSWORD))
            add_user(conn, NewUser("parts_county", Role.analyst, COUNTY, PASSWORD))
        engine.dispose()
        yield settings
    finally:
        drop_database(settings)


@pytest.fixture(scope="module")
def owner(province: Settings) -> Iterator[Engine]:
    engine = sync_engine(province.db)
    yield engine
    engine.dispose()


def _app_client(base: Settings, parts: int, **db: int) -> TestClient:
    stats = base.stats.model_copy(update={"parallel_parts": parts, "parallel_min_schools": 2})
    settings = base.model_copy(update={"stats": stats, "db": base.db.model_copy(update=db)})
    app = create_app(settings)
    app.state.clock = lambda: NOW
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def clients(province: Settings) -> Iterator[dict[int, TestClient]]:
    """Apps answering in 1 (one statement), 2 and 4 parts."""
    made = {k: _app_client(province, k) for k in (1, 2, 4)}
    for c in made.values():
        c.__enter__()
    try:
        yield made
    finally:
        for c in made.values():
            c.__exit__(None, None, None)


_TOKENS: dict[tuple[int, str], dict[str, str]] = {}


def _headers(client: TestClient, username: str) -> dict[str, str]:
    key = (id(client.app), username)
    if key not in _TOKENS:
        response = client.post("/auth/token", data={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        _TOKENS[key] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return _TOKENS[key]


def _get(client: TestClient, url: str, user: str = "parts_province") -> tuple[bytes, int]:
    response = client.get(url, headers=_headers(client, user))
    assert response.status_code == 200, response.text
    return response.content, int(response.headers["Twin-Stats-Parts"])


@pytest.mark.parametrize("url", CASES)
def test_parts_answer_the_bytes_of_the_one_statement(clients: dict[int, TestClient], url: str) -> None:
    one, n = _get(clients[1], url)
    assert n == 1
    rows = _rows(one)
    assert len({r["code"] for r in rows}) == (50 if "within" in url else SCHOOLS)
    if "hazards" in url:
        assert any(r["found"] == 0 for r in rows) and any(r["found"] > 0 for r in rows)
    for k in (2, 4):
        parted, n = _get(clients[k], url)
        assert n == k
        assert parted == one


def test_empty_parts_leave_nothing(clients: dict[int, TestClient], owner: Engine) -> None:
    """Stale split points (a range below every code, one above them) only unbalance the parts."""
    one, _ = _get(clients[1], URL)
    client = clients[4]
    _get(client, URL)  # the split cache is filled on the first request
    with owner.connect() as conn:
        path = conn.execute(text("SELECT path::text FROM org_units WHERE code = '410000'")).scalar_one()
    cache = client.app.state.stats_split_cache  # type: ignore[attr-defined]
    cache.put((path, 4), Split(SCHOOLS, ("0", "T050", "~")))
    assert code_ranges(("0", "T050", "~"))[0] == (None, "0")
    parted, n = _get(client, URL)
    assert (parted, n) == (one, 4)


def test_a_county_analyst_sees_only_their_county_in_every_part(
    clients: dict[int, TestClient], owner: Engine
) -> None:
    with owner.connect() as conn:
        path = conn.execute(
            text("SELECT path::text FROM org_units WHERE code = :c"), {"c": COUNTY}
        ).scalar_one()
        codes = conn.execute(
            text("SELECT code FROM org_units WHERE level = 'school' AND path <@ CAST(:p AS ltree)"),
            {"p": path},
        ).scalars()
        county_codes = set(codes)
    client = clients[2]
    seen = _Seen()
    client.app.dependency_overrides[statistics_connection] = _wrapping(lambda p: _Recording(p, seen))  # type: ignore[attr-defined]
    try:
        parted, n = _get(client, URL, "parts_county")
    finally:
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    one, _ = _get(clients[1], URL, "parts_county")
    assert (parted, n) == (one, 2)
    assert {r["code"] for r in _rows(parted)} == county_codes
    assert seen.scopes == [(path, "twin_app")]  # the other part's transaction: the county's scope and role


def test_a_part_reads_its_share_of_the_summary_at_the_scan(owner: Engine) -> None:
    """Where codes sort as paths (the second city), each part's scan of the summary yields its own
    schools' rows only, before they are summed (EXPLAIN ANALYZE of the parts' statements, as the owner)."""
    with owner.connect() as conn:
        city = conn.execute(text("SELECT path::text FROM org_units WHERE code = '412000'")).scalar_one()
        analyst = Caller(0, "explain", Role.analyst, city, None)
        query = Query("hazards", "school", period="2026")
        req = build_request(analyst, query, NOW, StatsSettings())
        columns = columns_for(req, query)
        scans = [_summary_scan(conn, replace(req, codes=r), columns) for r in [None, *code_ranges(["T075"])]]
    (whole, _), (first, first_plan), (second, second_plan) = scans
    assert whole == 40  # the city's 40 schools with hazards: one year row each
    assert first + second == whole and 0 < first < whole
    assert "org_path >= " in first_plan and "org_path >= " in second_plan  # the range, at the scan


def _summary_scan(conn: Connection, req: StatsRequest, columns: list[str]) -> tuple[int, str]:
    """The rows the statement's one scan of stats_hazards yields, and that scan's plan as text."""
    sql, params = json_rows_sql(req, columns)
    plan = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"), params).scalar_one()
    nodes, scans = [plan[0]["Plan"]], []
    while nodes:
        node = nodes.pop()
        nodes += node.get("Plans", [])
        if node.get("Relation Name") == "stats_hazards":
            scans.append((node["Actual Rows"], json.dumps(node)))
    assert len(scans) == 1, scans
    return scans[0]


def test_a_write_between_the_parts_starts_is_in_no_part(
    clients: dict[int, TestClient], owner: Engine
) -> None:
    """The first part's transaction has begun (its snapshot exported) when a hazard of a school of the
    last range is committed; the last part, begun after, still reads the first one's snapshot."""
    before, _ = _get(clients[1], URL)
    with owner.connect() as conn:
        last = conn.execute(
            text("""SELECT code, path FROM org_units WHERE level = 'school'
                                    ORDER BY code COLLATE "C" DESC LIMIT 1""")
        ).one()

    def write() -> None:
        with owner.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO hazards (org_path, campus_id, number, name, category, state, found_at, geom)"
                    " SELECT c.org_path, c.id, 'YH-RACE', 'between the parts', 'fire', 'reported',"
                    " '2026-06-01T08:00+08', ST_Centroid(c.boundary) FROM campuses c WHERE c.org_path = :p"
                ),
                {"p": last.path},
            )

    client = clients[2]
    client.app.dependency_overrides[statistics_connection] = _wrapping(lambda p: _WriteFirst(p, write))  # type: ignore[attr-defined]
    try:
        parted, n = _get(client, URL)
    finally:
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert (parted, n) == (before, 2)
    after, n = _get(client, URL)
    assert n == 2
    found = {r["code"]: r["found"] for r in _rows(after)}
    assert found[last.code] == {r["code"]: r["found"] for r in _rows(before)}[last.code] + 1
    with owner.begin() as conn:  # the other tests compare with the data as it was
        conn.execute(text("DELETE FROM hazards WHERE number = 'YH-RACE'"))


def test_a_failed_part_fails_the_request_and_leaves_no_transaction(
    clients: dict[int, TestClient], province: Settings
) -> None:
    client = clients[2]
    client.app.dependency_overrides[statistics_connection] = _wrapping(_Breaking)  # type: ignore[attr-defined]
    try:
        response = client.get(URL, headers=_headers(client, "parts_province"))
    finally:
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert response.status_code == 500, response.text
    assert "rows" not in response.text
    engine = client.app.state.stats_engine  # type: ignore[attr-defined]
    assert engine.pool.checkedout() == 0
    with psycopg.connect(admin_dsn(province), autocommit=True) as admin:
        open_transactions = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND xact_start IS NOT NULL"
            " AND pid <> pg_backend_pid()",
            (province.db.name,),
        ).fetchone()
    assert open_transactions == (0,)
    assert _get(client, URL)[1] == 2  # the pool's connections are fine


def test_a_busy_pool_answers_in_one_statement(province: Settings, clients: dict[int, TestClient]) -> None:
    """Pool of 1 and 1 overflow: with one connection held elsewhere the request takes the last one and
    the other part has none to wait for, so the statistic is one statement (the same bytes)."""
    one, _ = _get(clients[1], URL)
    with _app_client(province, 2, stats_pool_size=1) as client:
        engine = client.app.state.stats_engine  # type: ignore[attr-defined]
        held = client.portal.call(_connect, engine)  # type: ignore[union-attr]
        try:
            assert _get(client, URL) == (one, 1)
        finally:
            client.portal.call(held.close)  # type: ignore[union-attr]
        assert _get(client, URL) == (one, 2)


async def test_concurrent_requests_on_a_small_pool_all_answer(
    province: Settings, clients: dict[int, TestClient]
) -> None:
    """Six requests at once on a pool of 1 (and 1 overflow): each waits for its own connection only,
    never for another part's while holding one, so none is stuck; each answers the same bytes."""
    one, _ = _get(clients[1], URL)
    with _app_client(province, 2, stats_pool_size=1) as client:
        headers = _headers(client, "parts_province")
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _: client.get(URL, headers=headers), range(6)))
        assert [a.status_code for a in answers] == [200] * 6
        assert {a.content for a in answers} == {one}
        assert client.app.state.stats_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def _connect(engine: AsyncEngine) -> AsyncConnection:
    return await engine.connect()


def _rows(body: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(body)["rows"]
    return rows


Wrapper = Callable[[PartConnections], PartConnections]


def _wrapping(wrap: Wrapper) -> Callable[..., AsyncIterator[StatisticsConnection]]:
    """statistics_connection with its other parts' connections wrapped (app.dependency_overrides)."""

    async def dependency(
        request: Request, token: Annotated[str | None, Depends(bearer)]
    ) -> AsyncIterator[StatisticsConnection]:
        async with asynccontextmanager(statistics_connection)(request, token) as scoped:
            yield replace(scoped, parts=wrap(scoped.parts))

    return dependency


@dataclass
class _Seen:
    scopes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Recording:
    parts: PartConnections
    seen: _Seen

    @asynccontextmanager
    async def __call__(self, snapshot: str, n: int) -> AsyncIterator[Sequence[AsyncConnection] | None]:
        async with self.parts(snapshot, n) as others:
            for conn in others or ():
                sql = "SELECT current_setting('twin.scope'), current_user::text"
                scope, role = (await conn.execute(text(sql))).one()
                self.seen.scopes.append((scope, role))
            yield others


@dataclass(frozen=True)
class _WriteFirst:
    parts: PartConnections
    write: Callable[[], None]

    def __call__(
        self, snapshot: str, n: int
    ) -> AbstractAsyncContextManager[Sequence[AsyncConnection] | None]:
        self.write()  # committed before the other parts begin
        return self.parts(snapshot, n)


@dataclass(frozen=True)
class _Breaking:
    parts: PartConnections

    @asynccontextmanager
    async def __call__(self, snapshot: str, n: int) -> AsyncIterator[Sequence[AsyncConnection] | None]:
        async with self.parts(snapshot, n) as others:
            for conn in others or ():  # the part's statement will find no table
                await conn.execute(text("SELECT set_config('search_path', 'nowhere', true)"))
            yield others
