"""Reporting incidents and following them up: who sees what, bad input refused with nothing stored."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.hazards.conftest import CAMPUS, SCHOOL
from tests.incidents.conftest import Stored, report_as
from tests.signing import Login


def _student(owner: Engine) -> int:
    with owner.connect() as conn:
        return int(
            conn.execute(
                text("SELECT id FROM people WHERE role = 'student' ORDER BY id LIMIT 1")
            ).scalar_one()
        )


def test_officer_reports_and_reads_the_people_by_part(
    client: TestClient, login: Login, owner: Engine
) -> None:
    student = _student(owner)
    involved = [
        {"kind": "student", "role": "victim", "person_id": student},
        {"kind": "student", "role": "perpetrator"},
        {"kind": "teacher", "role": "witness"},
    ]
    response = report_as(client, login, involved=involved, summary="课间在厕所被推搡")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "reported" and body["campus"] == CAMPUS and body["building"] == "B01"
    assert body["involved"][0] == {"kind": "student", "role": "victim", "person_id": student}
    assert body["people_by_role"] == {"victim": 1, "perpetrator": 1, "witness": 1}
    assert [s["to_state"] for s in body["steps"]] == ["reported"]
    assert body["allowed_next"] == ["investigating"]
    with owner.connect() as conn:
        inside = conn.execute(
            text(
                "SELECT ST_Covers(b.geom, i.geom) FROM incidents i JOIN buildings b ON b.id = i.building_id"
                " WHERE i.id = :id"
            ),
            {"id": body["id"]},
        ).scalar_one()
    assert inside, "an incident reported in a building is placed in it"


def test_who_sees_what(client: TestClient, login: Login) -> None:
    made = report_as(client, login, "crew", type="verbal", place_kind="stairwell")
    assert made.status_code == 201, made.text
    assert set(made.json()) == {"id", "state"}, "a reporter who does not follow up sees no details"
    iid = made.json()["id"]
    for user in ("officer", "leader", "admin", "county_leader"):
        detail = client.get(f"/incidents/{iid}", headers=login(user))
        assert detail.status_code == 200, (user, detail.text)
        listed = client.get("/incidents", headers=login(user)).json()["items"]
        assert iid in {i["id"] for i in listed}, user
    for user, status in (("crew", 403), ("analyst", 403), ("county", 403), ("parent", 403), ("sibling", 404)):
        detail = client.get(f"/incidents/{iid}", headers=login(user))
        assert detail.status_code == status, (user, detail.text)
        assert detail.headers["content-type"].startswith("application/problem+json")
    assert client.get("/incidents", headers=login("parent")).status_code == 403
    assert client.get(f"/incidents/{2**40}", headers=login("officer")).status_code == 422
    assert client.get(f"/incidents/{iid + 10**6}", headers=login("officer")).status_code == 404
    assert report_as(client, login, "parent").status_code == 403
    assert report_as(client, login, "analyst").status_code == 403
    sibling = client.get("/incidents", headers=login("sibling"))
    assert sibling.status_code == 200 and sibling.json()["items"] == []


def test_a_list_names_nobody(client: TestClient, login: Login, owner: Engine) -> None:
    student = _student(owner)
    involved = [{"kind": "student", "role": "victim", "person_id": student}]
    assert report_as(client, login, involved=involved, summary="secret").status_code == 201
    listed = client.get("/incidents?limit=1000", headers=login("county_leader")).json()
    text_of = json.dumps(listed)
    assert "person_id" not in text_of and "secret" not in text_of and "involved" not in text_of
    assert listed["total"] == len(listed["items"]) >= 1


def test_bad_reports_are_refused_and_nothing_is_stored(
    client: TestClient, login: Login, owner: Engine, stored: Stored
) -> None:
    before = stored()
    with owner.connect() as conn:
        far = conn.execute(
            text("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(boundary) c FROM campuses) x")
        ).one()
        floors = conn.execute(text("SELECT floors FROM buildings WHERE code = 'B01'")).scalar_one()
        other = conn.execute(
            text("SELECT id FROM people WHERE org_path <> (SELECT org_path FROM campuses LIMIT 1) LIMIT 1")
        ).scalar_one_or_none()
    cases = [
        ({"type": "teasing"}, 422, "physical"),
        ({"place_kind": "roof"}, 422, "toilet"),
        ({"building": None, "floor": None, "lon": far[0] + 0.05, "lat": far[1]}, 422, "not on campus"),
        ({"building": "B99"}, 422, "no building"),
        ({"floor": floors + 3}, 422, f"floors 1 to {floors}"),
        ({"occurred_at": "2026-10-12T10:20:00"}, 422, "time zone"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, 422, "future"),
        ({"involved": [{"kind": "alien", "role": "victim"}]}, 422, "student"),
        ({"involved": [{"kind": "student", "role": "victim", "person_id": 10**8}]}, 422, "no person"),
        ({"campus": "NOPE"}, 422, "no campus"),
        ({"building": None, "floor": None}, 422, "say where"),
    ]
    if other is not None:
        cases.append(
            ({"involved": [{"kind": "student", "role": "victim", "person_id": other}]}, 422, "no person")
        )
    for fields, status, says in cases:
        response = report_as(client, login, **fields)
        assert response.status_code == status, (fields, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert says in response.text, (fields, response.text)
    assert stored() == before


def test_follow_up_steps_follow_the_procedure(client: TestClient, login: Login, owner: Engine) -> None:
    iid = report_as(client, login).json()["id"]

    def step(user: str, to: str, note: str | None = None) -> object:
        return client.post(
            f"/incidents/{iid}/transitions", json={"to": to, "note": note}, headers=login(user)
        )

    skipped = step("officer", "confirmed")
    assert skipped.status_code == 409 and "investigating" in skipped.json()["detail"]
    assert step("crew", "investigating").status_code == 403
    assert step("parent", "investigating").status_code == 403
    assert step("sibling", "investigating").status_code == 404
    assert step("officer", "investigating").status_code == 200
    unexplained = step("officer", "dismissed")
    assert unexplained.status_code == 422 and "note" in unexplained.json()["detail"]
    assert step("officer", "confirmed").status_code == 200
    assert step("leader", "intervening", "家校沟通, 心理辅导").status_code == 200
    officer_closes = step("officer", "closed", "复查无再发")
    assert officer_closes.status_code == 403 and "leader" in officer_closes.json()["detail"]
    closed = step("leader", "closed", "复查无再发")
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["state"] == "closed" and body["allowed_next"] == []
    steps = [(s["from_state"], s["to_state"], s["role"]) for s in body["steps"]]
    assert steps == [
        (None, "reported", "safety_officer"),
        ("reported", "investigating", "safety_officer"),
        ("investigating", "confirmed", "safety_officer"),
        ("confirmed", "intervening", "leader"),
        ("intervening", "closed", "leader"),
    ]
    assert step("admin", "investigating").status_code == 409
    with owner.connect() as conn:
        audited = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE table_name = 'incidents' AND row_id = :id"),
            {"id": iid},
        ).scalar_one()
    assert audited >= 5, "every change of an incident is in the audit trail"


def test_the_record_cannot_be_rewritten(client: TestClient, login: Login, owner: Engine) -> None:
    """The server's roles may add follow-up steps, never change or remove one."""
    report_as(client, login)
    with owner.connect() as conn:
        grants = conn.execute(
            text(
                "SELECT privilege_type FROM information_schema.role_table_grants"
                " WHERE table_name = 'incident_transitions' AND grantee = 'twin_app'"
            )
        ).scalars()
        assert set(grants) == {"SELECT", "INSERT"}


def test_school_code_is_the_scope(client: TestClient, login: Login) -> None:
    hot = client.get(f"/incidents/hotspots?org={SCHOOL}", headers=login("sibling"))
    assert hot.status_code == 404


def test_lists_filter_by_place_kind_state_and_time(client: TestClient, login: Login) -> None:
    made = report_as(client, login, place_kind="dormitory", occurred_at="2026-09-01T21:30:00+08:00").json()
    headers = login("officer")

    def ids(query: str) -> set[int]:
        response = client.get(f"/incidents?limit=1000&{query}", headers=headers)
        assert response.status_code == 200, response.text
        return {i["id"] for i in response.json()["items"]}

    assert made["id"] in ids("place_kind=dormitory") and made["id"] not in ids("place_kind=toilet")
    assert made["id"] in ids("since=2026-09-01T00:00:00%2B08:00&until=2026-09-02T00:00:00%2B08:00")
    assert made["id"] not in ids("since=2026-09-02T00:00:00Z")
    assert made["id"] in ids("since=2026-09-01T13:00:00&until=2026-09-01T14:00:00")  # no offset: UTC
    assert made["id"] in ids(f"state=reported&campus={CAMPUS}")
    bad = client.get("/incidents?since=last-week", headers=headers)
    assert bad.status_code == 422 and "since" in bad.text
    kinds = client.get("/incidents/catalogue", headers=headers).json()
    assert {"toilet", "stairwell"} <= {p["code"] for p in kinds["places"]}
    assert all(t["source"] for t in kinds["types"])
