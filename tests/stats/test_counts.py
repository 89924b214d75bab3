"""GET /stats/{topic}: counts by org level and period, scoped to the caller, checked against plain SQL."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.layers.conftest import SCHOOL, SIBLING
from tests.stats.conftest import NOW, SIBLING_DRILLS, SIBLING_ENROLMENT

Login = Callable[[str], dict[str, str]]


def rows_by_code(client: TestClient, headers: dict[str, str], url: str) -> dict[str, dict]:  # type: ignore[type-arg]
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return {r["code"]: r for r in response.json()["rows"]}


def scalar(owner: Engine, sql: str) -> int:
    with owner.connect() as conn:
        return int(conn.execute(text(sql), {"now": NOW}).scalar_one())


def test_hazard_counts_of_the_school_match_plain_counts(
    client: TestClient, login: Login, owner: Engine
) -> None:
    row = rows_by_code(client, login("leader"), "/stats/hazards")[SCHOOL]
    assert row["found"] == scalar(owner, "SELECT count(*) FROM hazards")
    assert row["open"] == scalar(
        owner, "SELECT count(*) FROM hazards WHERE state NOT IN ('closed', 'rejected')"
    )
    assert row["overdue"] == scalar(
        owner, "SELECT count(*) FROM hazards WHERE state NOT IN ('closed', 'rejected') AND deadline < :now"
    )
    assert row["major"] + row["general"] <= row["found"]
    assert row["found"] > 0


def test_risk_levels_add_up_to_the_register(client: TestClient, login: Login, owner: Engine) -> None:
    row = rows_by_code(client, login("officer"), "/stats/risks")[SCHOOL]
    assert row["points"] == scalar(owner, "SELECT count(*) FROM risk_points")
    assert sum(row[f"level_{n}"] for n in (1, 2, 3, 4)) == scalar(
        owner, "SELECT count(*) FROM risk_points WHERE coalesce(effective_level, level) IS NOT NULL"
    )


def test_risks_split_by_category_cover_every_point(client: TestClient, login: Login, owner: Engine) -> None:
    response = client.get("/stats/risks?split=category", headers=login("leader"))
    rows = response.json()["rows"]
    assert {r["split"] for r in rows} == {
        r for (r,) in owner.connect().execute(text("SELECT DISTINCT category FROM risk_points"))
    }
    assert sum(r["points"] for r in rows) == scalar(owner, "SELECT count(*) FROM risk_points")


def test_a_school_counts_only_its_own_drills(client: TestClient, login: Login) -> None:
    rows = rows_by_code(client, login("leader"), "/stats/drills")
    assert set(rows) == {SCHOOL}  # the sibling is not even named
    assert "SIBLINGLEAK" not in client.get("/stats/drills?f=csv", headers=login("leader")).text


def test_a_county_analyst_sees_both_schools_and_their_sum(client: TestClient, login: Login) -> None:
    by_school = rows_by_code(client, login("county"), "/stats/drills")
    assert set(by_school) == {SCHOOL, SIBLING}
    assert by_school[SIBLING]["drills"] == SIBLING_DRILLS
    county = rows_by_code(client, login("county"), "/stats/drills?group_by=county")
    assert list(county) == ["410311"]
    assert county["410311"]["drills"] == by_school[SCHOOL]["drills"] + SIBLING_DRILLS
    assert county["410311"]["schools"] == 2


def test_the_sibling_sees_its_drills_and_not_the_sample_schools(client: TestClient, login: Login) -> None:
    rows = rows_by_code(client, login("sibling"), "/stats/drills?group_by=county")
    assert rows["410311"]["drills"] == SIBLING_DRILLS
    assert rows["410311"]["enrolment"] == SIBLING_ENROLMENT


def test_participants_are_a_rate_per_thousand_students(client: TestClient, login: Login) -> None:
    row = rows_by_code(client, login("sibling"), "/stats/drills")[SIBLING]
    assert row["participants"] == 300
    assert row["participants_per_1000"] == 600.0  # 300 of 500 students, per 1,000


def test_period_filters_and_per_month_buckets(client: TestClient, login: Login) -> None:
    may = rows_by_code(client, login("leader"), "/stats/bus_incidents?period=2026-05")[SCHOOL]
    assert (may["incidents"], may["overspeed"], may["late"]) == (2, 1, 1)
    response = client.get("/stats/bus_incidents?per=month&period=2026-Q2", headers=login("leader"))
    months = {r["period"]: r["incidents"] for r in response.json()["rows"]}
    assert months == {"2026-05-01": 2, "2026-06-01": 1}


def test_inspections_done_and_missed_match_plain_counts(
    client: TestClient, login: Login, owner: Engine
) -> None:
    row = rows_by_code(client, login("leader"), "/stats/inspections")[SCHOOL]
    assert row["done"] == scalar(owner, "SELECT count(*) FROM inspections WHERE done_at IS NOT NULL")
    assert row["missed"] == scalar(
        owner, "SELECT count(*) FROM inspections WHERE done_at IS NULL AND due_at < :now"
    )


def test_every_topic_answers_for_a_province_analyst(client: TestClient, login: Login) -> None:
    for topic in ("risks", "hazards", "inspections", "alerts", "drills", "education", "bus_incidents"):
        response = client.get(f"/stats/{topic}?group_by=city", headers=login("province"))
        assert response.status_code == 200, (topic, response.text)
        assert [r["code"] for r in response.json()["rows"]] == ["410300"]


def test_unknown_topic_is_a_404_naming_the_topics(client: TestClient, login: Login) -> None:
    response = client.get("/stats/crimes", headers=login("leader"))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "hazards" in response.json()["detail"]


def test_bad_period_split_and_group_are_client_errors_saying_what_is_allowed(
    client: TestClient, login: Login
) -> None:
    bad_period = client.get("/stats/hazards?period=May", headers=login("leader"))
    assert bad_period.status_code == 400 and "2026-Q2" in bad_period.json()["detail"]
    bad_split = client.get("/stats/hazards?split=colour", headers=login("leader"))
    assert bad_split.status_code == 400 and "category" in bad_split.json()["detail"]
    snapshot = client.get("/stats/risks?period=2026", headers=login("leader"))
    assert snapshot.status_code == 400
    bad_group = client.get("/stats/hazards?group_by=street", headers=login("leader"))
    assert bad_group.status_code == 422
