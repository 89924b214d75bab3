"""One-click report: a point or a building (its centroid), numbered per school and year, with photos."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import shapely
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import create_engine, text

from tests.hazards.conftest import CAMPUS, SCHOOL, Login, reported
from twin.config import Settings


def image(kind: str = "PNG", size: tuple[int, int] = (40, 30), colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=kind)
    return out.getvalue()


def building_footprint(settings: Settings, code: str) -> shapely.Geometry:
    engine = create_engine(settings.db.sync_url())
    with engine.connect() as conn:
        wkt = conn.execute(
            text("SELECT ST_AsText(geom) FROM buildings WHERE code = :c"), {"c": code}
        ).scalar_one()
    engine.dispose()
    return shapely.from_wkt(wkt)


def test_report_on_a_building_is_placed_at_its_centroid_and_numbered(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    first = reported(client, login, building="B02", floor=3)
    second = reported(client, login, building="B02", floor=2)
    footprint = building_footprint(loop_db, "B02")
    assert abs(first["lon"] - footprint.centroid.x) < 1e-9 and abs(first["lat"] - footprint.centroid.y) < 1e-9
    assert first["state"] == "reported" and first["building"] == "B02" and first["floor"] == 3
    assert first["number"].startswith(f"YH-{SCHOOL}-2026-")
    assert int(second["number"].rsplit("-", 1)[1]) == int(first["number"].rsplit("-", 1)[1]) + 1
    assert first["found_by"] is not None  # the officer's person
    assert first["allowed_next"] == ["confirmed", "rejected"]


def test_report_at_a_point_finds_the_campus(client: TestClient, login: Login, loop_db: Settings) -> None:
    inside = building_footprint(loop_db, "B05").centroid
    body = {"name": "井盖缺失", "category": "security", "lon": inside.x, "lat": inside.y}
    response = client.post("/hazards", json=body, headers=login("crew"))
    assert response.status_code == 201, response.text
    assert response.json()["campus"] == CAMPUS and response.json()["building"] is None


def test_report_far_from_any_campus_is_refused(client: TestClient, login: Login) -> None:
    body = {"name": "x", "category": "fire", "lon": 116.4, "lat": 39.9}
    response = client.post("/hazards", json=body, headers=login("officer"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "not on a campus of your jurisdiction" in response.json()["detail"]


def test_report_needs_a_place_and_a_known_category(client: TestClient, login: Login) -> None:
    nowhere = client.post("/hazards", json={"name": "x", "category": "fire"}, headers=login("officer"))
    assert nowhere.status_code == 422 and "say where" in nowhere.text
    unknown = client.post(
        "/hazards",
        json={"name": "x", "category": "ufo", "campus": CAMPUS, "building": "B01"},
        headers=login("officer"),
    )
    assert unknown.status_code == 422 and "category" in unknown.text
    too_high = client.post(
        "/hazards",
        json={"name": "x", "category": "fire", "campus": CAMPUS, "building": "B01", "floor": 9},
        headers=login("officer"),
    )
    assert too_high.status_code == 422 and "has 5 floors" in too_high.json()["detail"]


def test_analysts_and_parents_do_not_report(client: TestClient, login: Login) -> None:
    body = {"name": "x", "category": "fire", "campus": CAMPUS, "building": "B01"}
    response = client.post("/hazards", json=body, headers=login("analyst"))
    assert response.status_code == 403
    assert "reporting a hazard needs the role" in response.json()["detail"]


def test_a_sibling_school_neither_sees_nor_reports_on_the_campus(client: TestClient, login: Login) -> None:
    hazard = reported(client, login)
    assert client.get(f"/hazards/{hazard['id']}", headers=login("sibling")).status_code == 404
    assert client.get(f"/hazards/{hazard['id']}/history", headers=login("sibling")).status_code == 404
    moved = client.post(
        f"/hazards/{hazard['id']}/transitions",
        json={"to": "confirmed", "grade": "general"},
        headers=login("sibling"),
    )
    assert moved.status_code == 404
    body = {"name": "x", "category": "fire", "campus": CAMPUS, "building": "B01"}
    assert client.post("/hazards", json=body, headers=login("sibling")).status_code == 422
    assert client.get(f"/hazards/{hazard['id']}", headers=login("county")).status_code == 200


def _form(name: str = "地面湿滑") -> dict[str, str]:
    return {"name": name, "category": "canteen", "campus": CAMPUS, "building": "B01", "floor": "1"}


def test_photos_are_checked_by_content_and_stored_once_by_hash(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    png, jpeg = image("PNG"), image("JPEG", colour="blue")
    files = [("photos", ("a.jpg", png, "image/jpeg")), ("photos", ("b.png", jpeg, "image/png"))]
    response = client.post("/hazards", data=_form(), files=files, headers=login("officer"))
    assert response.status_code == 201, response.text
    hazard = response.json()
    kinds = {p["sha256"]: p["media_type"] for p in hazard["photos"]}
    # The type is the content's, whatever the file name and declared type said.
    assert kinds == {
        hashlib.sha256(png).hexdigest(): "image/png",
        hashlib.sha256(jpeg).hexdigest(): "image/jpeg",
    }
    assert {(p["width"], p["height"]) for p in hazard["photos"]} == {(40, 30)}
    fetched = client.get(hazard["photos"][0]["href"], headers=login("leader"))
    assert fetched.status_code == 200 and fetched.content in {png, jpeg}
    # The same photo again, on the same hazard and on another: one file in the media store.
    again = client.post(
        f"/hazards/{hazard['id']}/photos", files=[("photos", ("c.png", png))], headers=login("crew")
    )
    assert again.status_code == 201 and len(again.json()["photos"]) == 2
    other = client.post(
        "/hazards", data=_form("另一处"), files=[("photos", ("d.png", png))], headers=login("officer")
    )
    assert other.status_code == 201 and other.json()["photos"][0]["sha256"] == hashlib.sha256(png).hexdigest()
    stored = [p for p in Path(loop_db.paths.media_dir).rglob("*") if p.is_file()]
    assert sorted(p.name for p in stored) == sorted(kinds)


def test_a_file_that_is_not_an_image_is_refused_whatever_its_name(client: TestClient, login: Login) -> None:
    fake = b"%PDF-1.4 not a photo at all"
    response = client.post(
        "/hazards",
        data=_form(),
        files=[("photos", ("photo.jpg", fake, "image/jpeg"))],
        headers=login("officer"),
    )
    assert response.status_code == 415
    assert "image/jpeg, image/png, image/webp" in response.json()["detail"]
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    response = client.post(
        "/hazards", data=_form(), files=[("photos", ("x.png", gif.getvalue()))], headers=login("officer")
    )
    assert response.status_code == 415 and "GIF" in response.json()["detail"]


def test_a_photo_over_the_limit_is_refused_and_nothing_is_stored(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    limit = Settings().hazards.photo_max_bytes
    big = image("PNG") + b"\0" * limit
    before = client.get("/hazards", headers=login("officer")).json()["total"]
    response = client.post(
        "/hazards", data=_form(), files=[("photos", ("big.png", big))], headers=login("officer")
    )
    assert response.status_code == 413 and str(limit) in response.json()["detail"]
    assert client.get("/hazards", headers=login("officer")).json()["total"] == before


def test_another_schools_photo_hash_is_not_found(client: TestClient, login: Login) -> None:
    png = image("PNG", colour="green")
    hazard = client.post(
        "/hazards", data=_form(), files=[("photos", ("g.png", png))], headers=login("officer")
    ).json()
    href = hazard["photos"][0]["href"]
    assert client.get(href, headers=login("sibling")).status_code == 404
    assert (
        client.get(f"/hazards/{hazard['id']}/photos/{'0' * 64}", headers=login("officer")).status_code == 404
    )


def test_two_reports_at_once_get_consecutive_numbers(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    import asyncio

    from tests.hazards.conftest import T0, owner_query
    from twin.access.scope import begin_request
    from twin.db.engine import async_engine
    from twin.riskmap import HazardReport, report

    officer = int(owner_query(loop_db, "SELECT id FROM users WHERE username = 'officer'"))
    body = HazardReport(name="并发", category="fire", campus=CAMPUS, building="B03")

    async def both() -> list[int]:
        engine = async_engine(loop_db.db)
        try:
            async with engine.connect() as a, engine.connect() as b:
                first, second = await a.begin(), await b.begin()
                caller_a, caller_b = await begin_request(a, officer, 1), await begin_request(b, officer, 1)
                assert caller_a is not None and caller_b is not None
                ids = [await report(a, caller_a, body, [], T0, loop_db.paths.media_dir)]
                waiting = asyncio.create_task(report(b, caller_b, body, [], T0, loop_db.paths.media_dir))
                await asyncio.sleep(0.2)  # b waits for a's number; a commits, then b takes the next one
                await first.commit()
                ids.append(await waiting)
                await second.commit()
                return ids
        finally:
            await engine.dispose()

    ids = asyncio.run(both())
    numbers = [client.get(f"/hazards/{i}", headers=login("officer")).json()["number"] for i in ids]
    assert int(numbers[1].rsplit("-", 1)[1]) == int(numbers[0].rsplit("-", 1)[1]) + 1
