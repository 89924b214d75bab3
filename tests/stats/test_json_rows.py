"""GET /stats/{topic} as JSON is built by PostgreSQL: the same document, member for member and in the
same order, as the rows the other formats get (twin.stats.service, rates by twin.stats.queries)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.layers.conftest import COUNTY, SCHOOL
from tests.stats.conftest import NOW
from twin.access.scope import begin_request
from twin.config import Settings, StatsSettings
from twin.db.engine import async_engine
from twin.stats.json_rows import rate_columns
from twin.stats.queries import GROUPS, PLANNING, ratio
from twin.stats.service import Query, statistic_for_org
from twin.stats.topics import TOPICS

Login = Callable[[str], dict[str, str]]

CASES = [
    ("province", Query("hazards", "school", period="2026")),
    ("province", Query("hazards", "county", period="2026", per="month", split="grade")),
    ("province", Query("inspections", "school", per="quarter")),  # a percentage
    ("county", Query("drills", "school", split="type")),  # rates per 1,000 students
    ("county", Query("patrols", "county", split="status")),  # no summary: the raw rows
    ("leader", Query("risks", "school", split="level")),
    ("county", Query("bus_incidents", "school", period="2026-05-01/2026-06-30", per="week")),
]
USER_UNITS = {"province": "410000", "county": COUNTY, "leader": SCHOOL}


def expected_body(owner: Engine, user: str, query: Query) -> dict[str, Any]:
    """The document as the endpoint wrote it from Python rows before (and the CLI still counts them)."""
    with owner.connect() as conn:
        sql = text("SELECT path::text FROM org_units WHERE code = :c")
        path = conn.execute(sql, {"c": USER_UNITS[user]}).scalar_one()
        result = statistic_for_org(conn, path, query, NOW, StatsSettings())
    return {
        "topic": query.topic,
        "title": result.topic.title,
        "group_by": query.group_by,
        "groups": list(GROUPS),
        "period": query.period,
        "per": query.per,
        "split": query.split,
        "within": None,
        "columns": result.columns,
        "rows": [{c: r.get(c) for c in result.columns} for r in result.rows],
    }


def _url(query: Query) -> str:
    params = {"group_by": query.group_by, "period": query.period, "per": query.per, "split": query.split}
    return f"/stats/{query.topic}?" + "&".join(f"{k}={v}" for k, v in params.items() if v)


@pytest.mark.parametrize(("user", "query"), CASES)
def test_json_is_the_document_of_the_python_rows(
    client: TestClient, login: Login, owner: Engine, user: str, query: Query
) -> None:
    response = client.get(_url(query), headers=login(user))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    expected = expected_body(owner, user, query)
    assert list(body) == list(expected)  # member order too: rows stay last
    assert [list(r) for r in body["rows"]] == [expected["columns"]] * len(body["rows"])
    assert body == expected
    assert body["rows"], "an empty answer compares nothing"


def test_rates_in_sql_round_half_away_from_zero_as_the_python_rows_do(owner: Engine) -> None:
    """Ties included (1,000 / 128 = 7.8125 → 7.813, where a float's round() gives 7.812)."""
    pairs = [(n, d) for n in range(-21, 400, 7) for d in (1, 3, 7, 16, 80, 128, 625, 1024, 1280, 2000, 3125)]
    per_1000 = rate_columns(TOPICS["drills"])["participants_per_1000"]
    percent = rate_columns(TOPICS["inspections"])["done_pct"]
    sql = (
        f"SELECT {per_1000}, {percent}, r.participants::text FROM"
        " (SELECT n AS participants, d AS enrolment, n AS done, d AS due FROM unnest(:n, :d) x(n, d)) r"
    )
    with owner.connect() as conn:
        rows = conn.execute(text(sql), {"n": [n for n, _ in pairs], "d": [d for _, d in pairs]}).all()
    for (n, d), (rate, pct, _) in zip(pairs, rows, strict=True):
        assert rate == ratio(n * 1000, d, 3), (n, d)  # the same double, so the same JSON text
        assert pct == ratio(100 * n, d, 1), (n, d)
    assert ratio(1000, 128, 3) == 7.813 and ratio(-1000, 128, 3) == -7.813


def test_the_statistics_settings_last_for_their_transaction_only(stats_db: Settings, owner: Engine) -> None:
    """They ride in the scope's round trip (no SET LOCAL of their own) and end with the transaction."""
    with owner.connect() as c:
        user = c.execute(text("SELECT id, token_version FROM users WHERE username = 'county'")).one()
        default_jit = c.execute(text("SHOW jit")).scalar_one()

    async def modes() -> list[tuple[str, str]]:
        engine = async_engine(stats_db.db)
        seen = []
        try:
            for settings in (PLANNING, None):
                async with engine.begin() as conn:
                    caller = await begin_request(conn, user.id, user.token_version, settings=settings)
                    assert caller is not None and caller.username == "county"
                    show = [
                        (await conn.execute(text(f"SHOW {n}"))).scalar_one()
                        for n in ("plan_cache_mode", "jit")
                    ]
                    seen.append(tuple(show))
        finally:
            await engine.dispose()
        return seen

    assert asyncio.run(modes()) == [("force_custom_plan", "off"), ("auto", default_jit)]
