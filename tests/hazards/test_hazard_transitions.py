"""The closed loop: every legal move, a table of illegal ones, role checks, history and ETags."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.hazards.conftest import T0, Login, move, owner_query, person_of, reported
from twin.config import Settings

LATER = (T0 + timedelta(days=20)).isoformat()
LATEST = (T0 + timedelta(days=40)).isoformat()
# The fields each move needs (the data table's `requires`), as a client would send them.
FIELDS: dict[str, dict[str, Any]] = {
    "confirmed": {"grade": "general"},
    "rejected": {"reason": "not a hazard: the door has an access control"},
    "assigned": {"responsible_department": "总务处"},
    "deferral_requested": {"reason": "parts on order", "requested_deadline": LATEST},
    "submitted": {"result": "replaced"},
    "evaluated": {"evaluation": "third-party check passed"},
}
# How to reach each state from `reported`, for each grade (admin may make every move).
PATHS: dict[str, list[str]] = {
    "reported": [],
    "rejected": ["rejected"],
    "confirmed": ["confirmed"],
    "supervised": ["confirmed", "supervised"],
    "assigned": ["confirmed", "assigned"],
    "rectifying": ["confirmed", "assigned", "rectifying"],
    "deferral_requested": ["confirmed", "assigned", "rectifying", "deferral_requested"],
    "submitted": ["confirmed", "assigned", "rectifying", "submitted"],
    "accepted": ["confirmed", "assigned", "rectifying", "submitted", "accepted"],
    "closed": ["confirmed", "assigned", "rectifying", "submitted", "accepted", "closed"],
}
MAJOR_PATHS: dict[str, list[str]] = {
    **{
        state: ["confirmed", "supervised", *path[1:]]
        for state, path in PATHS.items()
        if path[:1] == ["confirmed"] and state not in {"confirmed", "supervised"}
    },
    "confirmed": ["confirmed"],
    "supervised": ["confirmed", "supervised"],
    "evaluated": ["confirmed", "supervised", "assigned", "rectifying", "submitted", "evaluated"],
    "accepted": ["confirmed", "supervised", "assigned", "rectifying", "submitted", "evaluated", "accepted"],
}


def at_state(client: TestClient, login: Login, state: str, grade: str = "general") -> dict[str, Any]:
    """A new hazard of `grade` brought to `state` by the admin along the loop."""
    hazard = reported(client, login)
    for step in (MAJOR_PATHS if grade == "major" else PATHS)[state]:
        fields = {**FIELDS.get(step, {}), **({"grade": grade} if step == "confirmed" else {})}
        response = move(client, login, hazard["id"], "admin", step, **fields)
        assert response.status_code == 200, response.text
        hazard = response.json()
    assert hazard["state"] == state
    return hazard


# (from, grade, to, who, extra fields): every move of transitions.yaml, made by a role that may make it.
LEGAL = [
    ("reported", "general", "confirmed", "officer", {"grade": "general"}),
    ("reported", "general", "rejected", "officer", FIELDS["rejected"]),
    ("confirmed", "general", "assigned", "leader", FIELDS["assigned"]),
    ("confirmed", "major", "supervised", "leader", {}),
    ("supervised", "major", "assigned", "leader", FIELDS["assigned"]),
    ("assigned", "general", "rectifying", "crew", {}),
    ("rectifying", "general", "deferral_requested", "crew", FIELDS["deferral_requested"]),
    ("deferral_requested", "general", "rectifying", "leader", {"decision": "granted", "deadline": LATER}),
    ("deferral_requested", "general", "rectifying", "officer", {"decision": "refused", "reason": "no"}),
    ("rectifying", "general", "submitted", "crew", FIELDS["submitted"]),
    ("submitted", "general", "accepted", "officer", {}),
    ("submitted", "major", "evaluated", "officer", FIELDS["evaluated"]),
    ("evaluated", "major", "accepted", "leader", {}),
    ("submitted", "general", "rectifying", "officer", {"reason": "still leaking"}),
    ("evaluated", "major", "rectifying", "leader", {"reason": "evaluation failed"}),
    ("accepted", "general", "closed", "officer", {}),
]


@pytest.mark.parametrize(("state", "grade", "to", "who", "fields"), LEGAL)
def test_every_legal_transition_moves_the_hazard_and_is_recorded(
    client: TestClient, login: Login, state: str, grade: str, to: str, who: str, fields: dict[str, Any]
) -> None:
    hazard = at_state(client, login, state, grade)
    response = move(client, login, hazard["id"], who, to, note=f"by {who}", **fields)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == to
    last = client.get(f"/hazards/{hazard['id']}/history", headers=login("leader")).json()[-1]
    assert (last["from_state"], last["to_state"], last["role"]) == (state, to, dict(LEGAL_ROLES)[who])
    assert last["note"] == f"by {who}"


LEGAL_ROLES = [("officer", "safety_officer"), ("leader", "leader"), ("crew", "maintenance")]


def test_the_data_has_no_move_the_legal_table_misses() -> None:
    from twin.riskmap.transitions import machine

    tested = {(s, to) for s, _, to, _, _ in LEGAL}
    assert {(t.source_state, t.to) for t in machine().transitions} == tested


# (state, grade, to, who, allowed next states for that caller)
ILLEGAL = [
    ("reported", "general", "closed", "officer", ["confirmed", "rejected"]),
    ("reported", "general", "assigned", "officer", ["confirmed", "rejected"]),
    ("confirmed", "general", "supervised", "leader", ["assigned"]),
    ("confirmed", "major", "assigned", "leader", ["supervised"]),
    ("assigned", "general", "submitted", "crew", ["rectifying"]),
    ("rectifying", "general", "accepted", "officer", ["deferral_requested", "submitted"]),
    ("submitted", "major", "accepted", "officer", ["evaluated", "rectifying"]),
    ("submitted", "general", "evaluated", "officer", ["accepted", "rectifying"]),
    ("deferral_requested", "general", "submitted", "crew", []),
    ("rejected", "general", "confirmed", "officer", []),
    ("closed", "general", "rectifying", "admin", []),
    ("accepted", "general", "reported", "admin", ["closed"]),
]


@pytest.mark.parametrize(("state", "grade", "to", "who", "allowed"), ILLEGAL)
def test_an_illegal_transition_is_a_conflict_naming_the_callers_next_states(
    client: TestClient, login: Login, state: str, grade: str, to: str, who: str, allowed: list[str]
) -> None:
    hazard = at_state(client, login, state, grade)
    response = move(client, login, hazard["id"], who, to, **FIELDS.get(to, {}))
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["allowed_next"] == allowed
    assert f"cannot go to {to}" in problem["detail"]
    assert client.get(f"/hazards/{hazard['id']}", headers=login("leader")).json()["state"] == state


# (state, grade, to, who): legal moves, by a role that may not make them.
WRONG_ROLE = [
    ("reported", "general", "confirmed", "crew"),
    ("reported", "general", "rejected", "leader"),
    ("confirmed", "major", "supervised", "officer"),
    ("assigned", "general", "rectifying", "analyst"),
    ("assigned", "general", "rectifying", "leader"),
    ("submitted", "general", "accepted", "crew"),
    ("evaluated", "major", "accepted", "officer"),
    ("accepted", "general", "closed", "crew"),
]


@pytest.mark.parametrize(("state", "grade", "to", "who"), WRONG_ROLE)
def test_a_legal_transition_by_the_wrong_role_is_forbidden(
    client: TestClient, login: Login, state: str, grade: str, to: str, who: str
) -> None:
    hazard = at_state(client, login, state, grade)
    response = move(client, login, hazard["id"], who, to, **FIELDS.get(to, {}))
    assert response.status_code == 403, response.text
    assert "needs the role" in response.json()["detail"]


@pytest.mark.parametrize(
    ("state", "to", "fields", "missing"),
    [
        ("reported", "confirmed", {}, "grade"),
        ("reported", "rejected", {}, "reason"),
        ("confirmed", "assigned", {}, "responsible"),
        ("rectifying", "deferral_requested", {"reason": "parts"}, "requested_deadline"),
        ("deferral_requested", "rectifying", {"decision": "granted"}, "deadline"),
        ("rectifying", "submitted", {}, "result"),
    ],
)
def test_a_transition_missing_a_required_field_names_it(
    client: TestClient, login: Login, state: str, to: str, fields: dict[str, Any], missing: str
) -> None:
    hazard = at_state(client, login, state)
    response = move(client, login, hazard["id"], "admin", to, **fields)
    assert response.status_code == 422, response.text
    assert missing in response.json()["missing"]


def test_assignment_sets_the_deadline_of_the_rules_and_a_deferral_moves_it(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    hazard = at_state(client, login, "confirmed")  # fire, general: 3 days, due at 18:00 Henan time
    crew = person_of(loop_db, "crew")
    assigned = move(client, login, hazard["id"], "officer", "assigned", responsible_person_id=crew)
    assert assigned.status_code == 200, assigned.text
    assert datetime.fromisoformat(assigned.json()["deadline"]) == datetime.fromisoformat(
        "2026-10-15T18:00:00+08:00"
    )
    for step, who, fields in (
        ("rectifying", "crew", {}),
        ("deferral_requested", "crew", FIELDS["deferral_requested"]),
        ("rectifying", "leader", {"decision": "granted", "deadline": LATER}),
    ):
        assert move(client, login, hazard["id"], who, step, **fields).status_code == 200
    final = client.get(f"/hazards/{hazard['id']}", headers=login("crew")).json()
    assert datetime.fromisoformat(final["deadline"]) == datetime.fromisoformat(LATER)


def test_history_records_who_when_and_why_of_every_step(client: TestClient, login: Login, clock) -> None:  # type: ignore[no-untyped-def]
    hazard = reported(client, login)
    steps = [
        ("officer", "confirmed", {"grade": "general", "note": "checked on site"}),
        ("officer", "assigned", {"responsible_department": "总务处"}),
        ("crew", "rectifying", {}),
        ("crew", "submitted", {"result": "new extinguishers"}),
        ("officer", "rectifying", {"reason": "one still empty"}),
        ("crew", "submitted", {"result": "refilled"}),
        ("officer", "accepted", {}),
        ("leader", "closed", {}),
    ]
    start = clock.now
    try:
        for i, (who, to, fields) in enumerate(steps, start=1):
            clock.now = start + timedelta(hours=i)
            assert move(client, login, hazard["id"], who, to, **fields).status_code == 200
    finally:
        clock.now = start
    history = client.get(f"/hazards/{hazard['id']}/history", headers=login("analyst")).json()
    assert [(h["from_state"], h["to_state"]) for h in history] == [
        (None, "reported"),
        ("reported", "confirmed"),
        ("confirmed", "assigned"),
        ("assigned", "rectifying"),
        ("rectifying", "submitted"),
        ("submitted", "rectifying"),
        ("rectifying", "submitted"),
        ("submitted", "accepted"),
        ("accepted", "closed"),
    ]
    assert [h["role"] for h in history[1:]] == ["safety_officer"] * 2 + ["maintenance"] * 2 + [
        "safety_officer",
        "maintenance",
        "safety_officer",
        "leader",
    ]
    assert [datetime.fromisoformat(h["at"]) for h in history[1:]] == [
        start + timedelta(hours=i) for i in range(1, 9)
    ]
    assert history[1]["note"] == "checked on site" and history[5]["note"] == "one still empty"
    assert history[4]["payload"] == {"result": "new extinguishers"}
    ledger = client.get(f"/hazards/{hazard['id']}", headers=login("analyst")).json()
    assert ledger["result"] == "refilled" and ledger["accepted_by"] is not None and ledger["overdue"] is False


def test_the_history_is_append_only(client: TestClient, login: Login) -> None:
    from sqlalchemy.exc import ProgrammingError

    hazard = reported(client, login)
    rewrite = "UPDATE hazard_transitions SET note = 'rewritten' WHERE hazard_id = :h RETURNING id"
    with pytest.raises(ProgrammingError, match="append-only"):  # not even the owner rewrites history
        owner_query(client.app.state.settings, rewrite, h=hazard["id"])  # type: ignore[attr-defined]


def test_a_stale_etag_is_refused_and_the_current_one_accepted(client: TestClient, login: Login) -> None:
    hazard = reported(client, login)
    first = client.get(f"/hazards/{hazard['id']}", headers=login("officer"))
    tag = first.headers["etag"]
    ok = client.post(
        f"/hazards/{hazard['id']}/transitions",
        json={"to": "confirmed", "grade": "general"},
        headers={**login("officer"), "If-Match": tag},
    )
    assert ok.status_code == 200 and ok.headers["etag"] != tag
    stale = client.post(
        f"/hazards/{hazard['id']}/transitions",
        json={"to": "assigned", "responsible_department": "总务处"},
        headers={**login("officer"), "If-Match": tag},
    )
    assert stale.status_code == 412
    assert stale.json()["etag"] == ok.headers["etag"]


def test_a_feature_edit_cannot_change_the_state_and_crews_cannot_edit_hazards(
    client: TestClient, login: Login
) -> None:
    hazard = reported(client, login)
    item = f"/collections/hazards/items/{hazard['id']}"
    tag = client.get(item, headers=login("officer")).headers["etag"]
    patch = {"type": "Feature", "properties": {"state": "closed"}}
    headers = {"If-Match": tag, "Content-Type": "application/merge-patch+json"}
    closed = client.patch(item, json=patch, headers={**login("officer"), **headers})
    assert closed.status_code == 400 and "transitions" in closed.json()["detail"]
    renamed = {"type": "Feature", "properties": {"name": "renamed"}}
    crew = client.patch(item, json=renamed, headers={**login("crew"), **headers})
    assert crew.status_code == 403
    assert client.get(f"/hazards/{hazard['id']}", headers=login("crew")).json()["state"] == "reported"


def test_deadlines_must_lie_ahead_and_carry_a_time_zone(client: TestClient, login: Login) -> None:
    hazard = at_state(client, login, "confirmed")
    past = move(
        client,
        login,
        hazard["id"],
        "officer",
        "assigned",
        responsible_department="总务处",
        deadline="2026-01-01T18:00:00+08:00",
    )
    assert past.status_code == 422 and "must be later than" in past.json()["detail"]
    naive = move(
        client,
        login,
        hazard["id"],
        "officer",
        "assigned",
        responsible_department="总务处",
        deadline="2026-12-01T18:00:00",
    )
    assert naive.status_code == 422 and "time zone" in naive.json()["detail"]
    assert (
        move(client, login, hazard["id"], "officer", "assigned", responsible_department="总务处").status_code
        == 200
    )
    assert move(client, login, hazard["id"], "crew", "rectifying").status_code == 200
    shorter = move(
        client,
        login,
        hazard["id"],
        "crew",
        "deferral_requested",
        reason="parts",
        requested_deadline=(T0 + timedelta(days=1)).isoformat(),
    )
    assert shorter.status_code == 422 and "requested_deadline" in shorter.json()["detail"]
    assert client.get(f"/hazards/{hazard['id']}", headers=login("crew")).json()["state"] == "rectifying"


def test_parents_and_analysts_never_move_or_report_hazards(client: TestClient, login: Login) -> None:
    hazard = reported(client, login)
    body = {"name": "x", "category": "fire", "campus": "LY01", "building": "B01"}
    assert client.post("/hazards", json=body, headers=login("parent")).status_code == 403
    # A parent's jurisdiction is their child's bus: the school's hazards do not exist for them.
    assert client.get("/hazards", headers=login("parent")).json()["total"] == 0
    assert move(client, login, hazard["id"], "parent", "confirmed", grade="general").status_code == 404
    analyst = client.get(f"/hazards/{hazard['id']}", headers=login("analyst")).json()
    assert analyst["allowed_next"] == []
    assert move(client, login, hazard["id"], "analyst", "confirmed", grade="general").status_code == 403


def test_deleting_a_hazard_keeps_its_history_and_drops_its_escalation(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    hazard = at_state(client, login, "confirmed", "major")  # notified the county, outside the officer's scope
    assert move(client, login, hazard["id"], "leader", "supervised").status_code == 200
    assert (
        move(client, login, hazard["id"], "leader", "assigned", responsible_department="总务处").status_code
        == 200
    )
    item = f"/collections/hazards/items/{hazard['id']}"
    tag = client.get(item, headers=login("officer")).headers["etag"]
    gone = client.delete(item, headers={**login("officer"), "If-Match": tag})
    assert gone.status_code == 204, gone.text
    assert owner_query(loop_db, "SELECT count(*) FROM escalations WHERE hazard_id = :h", h=hazard["id"]) == 0
    assert (
        owner_query(loop_db, "SELECT count(*) FROM notifications WHERE hazard_id = :h", h=hazard["id"]) == 0
    )
    assert (
        owner_query(loop_db, "SELECT count(*) FROM hazard_transitions WHERE hazard_id = :h", h=hazard["id"])
        == 4
    )
