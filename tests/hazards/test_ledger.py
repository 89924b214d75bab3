"""The ledger (隐患台账): filters, paging, overdue from the clock, CSV; checked against the sample's own table."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.hazards.conftest import SIBLING, T0, Login
from twin.samples.hazards import CHINA, DAYS_TO_FIX, HAZARDS

# The sample school's hazards as the generator wrote them: number -> fields.
SAMPLE = {
    f"YH-2026-{i:03d}": {
        "name": h[0],
        "category": h[1],
        "grade": h[2],
        "state": h[3],
        "found": datetime(2026, *h[4], tzinfo=CHINA),
    }
    for i, h in enumerate(HAZARDS, start=1)
}
CLOSED = {"accepted", "closed", "rejected"}


def deadline(h: dict[str, Any]) -> datetime:
    return (h["found"] + timedelta(days=DAYS_TO_FIX[h["grade"]])).replace(hour=18)


def numbers(client: TestClient, login: Login, user: str = "analyst", **params: Any) -> set[str]:
    response = client.get("/hazards", params={"limit": 1000, **params}, headers=login(user))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return {h["number"] for h in body["items"]}


def test_the_ledger_lists_every_hazard_of_the_jurisdiction(client: TestClient, login: Login) -> None:
    assert numbers(client, login) == set(SAMPLE)
    assert numbers(client, login, "county") == set(SAMPLE)
    assert numbers(client, login, "sibling") == set()


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"state": "rectifying"}, lambda h: h["state"] == "rectifying"),
        ({"state": ["reported", "assigned"]}, lambda h: h["state"] in {"reported", "assigned"}),
        ({"grade": "major"}, lambda h: h["grade"] == "major"),
        ({"category": ["fire", "utilities"]}, lambda h: h["category"] in {"fire", "utilities"}),
        ({"found_from": "2026-04-01", "found_to": "2026-04-30"}, lambda h: h["found"].month == 4),
        (
            {"grade": "general", "found_from": "2026-06-01"},
            lambda h: h["grade"] == "general" and h["found"].month >= 6,
        ),
        ({"overdue": True}, lambda h: deadline(h) < T0 and h["state"] not in CLOSED),
        ({"overdue": False}, lambda h: not (deadline(h) < T0 and h["state"] not in CLOSED)),
    ],
)
def test_ledger_filters(client: TestClient, login: Login, params: dict[str, Any], keep: Any) -> None:
    expected = {n for n, h in SAMPLE.items() if keep(h)}
    assert expected  # each filter keeps something of the sample
    assert numbers(client, login, **params) == expected


def test_the_org_filter_takes_a_subtree_inside_the_jurisdiction(client: TestClient, login: Login) -> None:
    assert numbers(client, login, "county", org="410311") == set(SAMPLE)
    assert numbers(client, login, "county", org=SIBLING) == set()
    assert numbers(client, login, "analyst", org="410000") == set(SAMPLE)  # the province, cut to the school
    assert client.get("/hazards", params={"org": "999999"}, headers=login("analyst")).status_code == 404


def test_unknown_filter_values_are_refused_with_the_allowed_ones(client: TestClient, login: Login) -> None:
    response = client.get("/hazards", params={"state": "lost"}, headers=login("analyst"))
    assert response.status_code == 422 and "reported" in response.text


def test_pages_are_newest_first_and_count_the_whole(client: TestClient, login: Login) -> None:
    newest_first = [n for n, _ in sorted(SAMPLE.items(), key=lambda kv: kv[1]["found"], reverse=True)]
    page = client.get("/hazards", params={"limit": 5, "offset": 5}, headers=login("analyst")).json()
    assert page["total"] == len(SAMPLE)
    assert [h["number"] for h in page["items"]] == newest_first[5:10]


def test_the_ledger_as_csv(client: TestClient, login: Login) -> None:
    response = client.get("/hazards", params={"f": "csv", "grade": "major"}, headers=login("analyst"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # spreadsheets read UTF-8 with the BOM
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {r["number"]: r["name"] for r in rows} == {
        n: h["name"] for n, h in SAMPLE.items() if h["grade"] == "major"
    }
    assert list(rows[0])[:4] == ["number", "found_at", "found_by", "campus"]
    assert {r["overdue"] for r in rows} <= {"yes", "no"}
