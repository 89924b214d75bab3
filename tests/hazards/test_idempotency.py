"""A report sent again with the same Idempotency-Key (its answer lost) answers with the first report's
hazard and stores nothing more, also when the two sends race; a bad key or a photo that is not an image
is refused with nothing stored."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi.testclient import TestClient

from tests.hazards.conftest import CAMPUS, Login
from tests.hazards.test_hazard_report import image
from tests.live.conftest import running_server
from twin.config import Settings


def _form(name: str) -> dict[str, str]:
    return {"name": name, "category": "canteen", "campus": CAMPUS, "building": "B01", "floor": "1"}


def _total(client: TestClient, login: Login, name: str) -> int:
    rows = client.get("/hazards?limit=1000", headers=login("officer")).json()["items"]
    return sum(1 for r in rows if r["name"] == name)


def test_a_repeated_key_answers_with_the_first_hazard(client: TestClient, login: Login) -> None:
    key = str(uuid.uuid4())
    headers = {**login("officer"), "Idempotency-Key": key}
    files = [("photos", ("p.jpg", image("JPEG"), "image/jpeg"))]
    first = client.post("/hazards", data=_form("楼梯扶手松动"), files=files, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post("/hazards", data=_form("楼梯扶手松动"), files=files, headers=headers)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.headers["location"] == first.headers["location"]
    assert len(again.json()["photos"]) == 1
    assert _total(client, login, "楼梯扶手松动") == 1
    # The key is the user's: another user's request with the same key is another report.
    body = {**_form("楼梯扶手松动"), "floor": 1}
    other = client.post("/hazards", json=body, headers={**login("crew"), "Idempotency-Key": key})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_racing_sends_with_one_key_store_one_hazard(
    loop_db: Settings, client: TestClient, login: Login
) -> None:
    key = str(uuid.uuid4())
    headers = {**login("officer"), "Idempotency-Key": key}
    with running_server(loop_db) as host:

        def send(_: int) -> httpx.Response:
            return httpx.post(
                f"http://{host}/hazards",
                json={**_form("窗户玻璃破裂"), "floor": 1},
                headers=headers,
                timeout=30,
            )

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(send, range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert _total(client, login, "窗户玻璃破裂") == 1


def test_a_bad_key_or_a_photo_that_is_not_an_image_is_refused_and_nothing_stored(
    client: TestClient, login: Login
) -> None:
    bad_key = client.post(
        "/hazards",
        json={**_form("插座破损"), "floor": 1},
        headers={**login("officer"), "Idempotency-Key": "a key with spaces"},
    )
    assert bad_key.status_code == 400
    assert bad_key.headers["content-type"].startswith("application/problem+json")
    assert "Idempotency-Key" in bad_key.json()["detail"]
    not_image = client.post(
        "/hazards",
        data=_form("插座破损"),
        files=[("photos", ("photo.jpg", b"this is a text file, not a photo", "image/jpeg"))],
        headers={**login("officer"), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert not_image.status_code == 415
    assert "image/jpeg" in not_image.json()["detail"]
    assert _total(client, login, "插座破损") == 0
