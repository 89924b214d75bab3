"""The risk editor: a safety officer draws a zone, grades it, saves it; a conflicting save is explained."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.layers.conftest import PASSWORD
from tests.pages.conftest import Visit

CORNERS = [(112.4505, 34.6205), (112.4512, 34.6205), (112.4512, 34.6210)]


def _pixel(visit: Visit, lon: float, lat: float) -> tuple[float, float]:
    x, y = visit.page.evaluate(
        f"(() => {{ const p = window.twinMap.project([{lon}, {lat}]); return [p.x, p.y]; }})()"
    )
    box = visit.page.locator("#map").bounding_box()
    assert box is not None
    return box["x"] + x, box["y"] + y


def _click_lonlat(visit: Visit, lon: float, lat: float) -> None:
    x, y = visit.page.evaluate(
        f"(() => {{ const p = window.twinMap.project([{lon}, {lat}]); return [p.x, p.y]; }})()"
    )
    box = visit.page.locator("#map").bounding_box()
    assert box is not None
    visit.page.mouse.click(box["x"] + x, box["y"] + y)


def _token(server: str, user: str) -> str:
    response = httpx.post(f"{server}/auth/token", data={"username": user, "password": PASSWORD})
    return str(response.json()["access_token"])


def test_officer_draws_assesses_and_saves_a_zone(visit: Callable[..., Visit], pages_server: str) -> None:
    v = visit("officer", "editor")
    v.page.wait_for_function("window.editorReady === true", timeout=60_000)
    v.page.click("#new-zone")
    for lon, lat in CORNERS:
        _click_lonlat(v, lon, lat)
    v.page.click("#finish")
    v.page.fill("input[name=code]", "UI-Z1")
    v.page.fill("input[name=name]", "boiler room")
    v.page.select_option("select[name=method]", "LEC")
    v.page.select_option("select[name=in-L]", "6")
    v.page.select_option("select[name=in-E]", "6")
    v.page.select_option("select[name=in-C]", "15")
    v.page.click("#assess")
    v.page.wait_for_selector("#grade .swatch")
    assert "level 1" in v.page.inner_text("#grade")  # D = 6 x 6 x 15 = 540 > 320: 重大风险
    v.page.click("#save")
    v.page.wait_for_function("document.getElementById('hint').textContent.startsWith('Saved')")
    fid = v.page.inner_text("#feature-title").split()[-1]
    saved = httpx.get(
        f"{pages_server}/collections/risk_zones/items/{fid}",
        headers={"Authorization": f"Bearer {_token(pages_server, 'officer')}"},
    ).json()
    assert saved["properties"]["name"] == "boiler room" and saved["properties"]["level"] == 1
    ring = saved["geometry"]["coordinates"][0]
    assert len(ring) == 4

    # Someone else renames it while the officer still has the form open: the save is refused and explained.
    auth = {"Authorization": f"Bearer {_token(pages_server, 'admin')}"}
    current = httpx.get(f"{pages_server}/collections/risk_zones/items/{fid}", headers=auth)
    theirs = httpx.patch(
        f"{pages_server}/collections/risk_zones/items/{fid}",
        headers={**auth, "If-Match": current.headers["ETag"], "Content-Type": "application/merge-patch+json"},
        json={"properties": {"name": "boiler house (admin)"}},
    )
    assert theirs.status_code == 200, theirs.text
    v.page.fill("input[name=name]", "boiler room 2")
    v.page.click("#save")
    v.page.wait_for_selector("#conflict:not([hidden])")
    assert "boiler house (admin)" in v.page.inner_text("#theirs")
    v.shot("editor-conflict")
    v.page.click("#keep-mine")
    v.page.wait_for_function("document.getElementById('hint').textContent.startsWith('Saved')")
    final = httpx.get(f"{pages_server}/collections/risk_zones/items/{fid}", headers=auth).json()
    assert final["properties"]["name"] == "boiler room 2"
    v.page.click("#history")
    v.page.wait_for_selector("#versions tr >> nth=2")
    v.shot("editor-history")
    v.page.locator("#versions tr", has_text="v1").locator("button").click()  # restore the first version
    v.page.wait_for_function("document.getElementById('hint').textContent.startsWith('Saved')")
    restored = httpx.get(f"{pages_server}/collections/risk_zones/items/{fid}", headers=auth).json()
    assert restored["properties"]["name"] == "boiler room"

    # Reshape: drag the first corner north-west, save, and the stored ring follows.
    start = _pixel(v, *CORNERS[0])
    end = _pixel(v, CORNERS[0][0] - 0.0003, CORNERS[0][1] + 0.0002)
    v.page.mouse.move(*start)
    v.page.mouse.down()
    v.page.mouse.move(*end, steps=8)
    v.page.mouse.up()
    v.page.click("#save")
    v.page.wait_for_function("document.getElementById('hint').textContent.startsWith('Saved')")
    moved = httpx.get(f"{pages_server}/collections/risk_zones/items/{fid}", headers=auth).json()
    corner = moved["geometry"]["coordinates"][0][0]
    assert corner[0] < CORNERS[0][0] - 0.0002 and corner[1] > CORNERS[0][1] + 0.0001
    v.clean(412)


def test_a_parent_opening_the_editor_gets_no_tools_and_no_risks(visit: Callable[..., Visit]) -> None:
    v = visit("parent", "editor")
    v.page.wait_for_function("document.getElementById('hint').textContent.includes('needs the role')")
    assert v.page.locator("#tools").is_hidden()
    assert v.page.locator("#feature").is_hidden()
    v.clean()


def _delete_and_restore(v: Visit, server: str, collection: str, fid: str, name: str) -> None:
    """Delete the open feature in the page; it is gone, its history ends in the deletion, Restore brings
    it back as it was."""
    auth = {"Authorization": f"Bearer {_token(server, 'officer')}"}
    v.page.once("dialog", lambda dialog: dialog.accept())
    v.page.click("#delete")
    v.page.wait_for_function("document.getElementById('hint').textContent.startsWith('Deleted')")
    assert httpx.get(f"{server}/collections/{collection}/items/{fid}", headers=auth).status_code == 404
    layer = "points" if collection == "risk_points" else "zones"
    drawn = v.page.evaluate(f"window.twinData.{layer}.features.map((f) => String(f.id ?? f.properties.id))")
    assert fid not in drawn  # gone from the map too
    v.page.click("#history")
    v.page.wait_for_selector("#versions tr >> nth=1")
    assert "delete" in v.page.locator("#versions tr").last.inner_text()
    v.page.locator("#versions tr", has_text="v1").locator("button").click()
    v.page.wait_for_function("document.getElementById('hint').textContent.startsWith('Saved')")
    back = httpx.get(f"{server}/collections/{collection}/items/{fid}", headers=auth)
    assert back.status_code == 200 and back.json()["properties"]["name"] == name
    ops = [
        x["operation"]
        for x in httpx.get(f"{server}/collections/{collection}/items/{fid}/versions", headers=auth).json()[
            "versions"
        ]
    ]
    assert ops[-2:] == ["delete", "restore"]


def _grade_and_save(v: Visit, code: str, name: str) -> str:
    v.page.fill("input[name=code]", code)
    v.page.fill("input[name=name]", name)
    v.page.select_option("select[name=method]", "LS")
    v.page.select_option("select[name=in-L]", "3")
    v.page.select_option("select[name=in-S]", "4")
    v.page.click("#assess")
    v.page.wait_for_selector("#grade .swatch")
    v.page.click("#save")
    v.page.wait_for_function("document.getElementById('hint').textContent.startsWith('Saved')")
    return v.page.inner_text("#feature-title").split()[-1]


def test_officer_deletes_a_point_and_a_zone_and_restores_them(
    visit: Callable[..., Visit], pages_server: str
) -> None:
    v = visit("officer", "editor")
    v.page.wait_for_function("window.editorReady === true", timeout=60_000)
    v.page.click("#new-point")
    _click_lonlat(v, 112.4498, 34.6212)
    point = _grade_and_save(v, "UI-P9", "ladder store")
    v.page.select_option("select[name=method]", "LEC")  # the lists of /riskmap/scales, with meanings
    assert "10 — fully expected" in v.page.locator("select[name=in-L]").inner_text()
    v.page.select_option("select[name=method]", "LS")
    _delete_and_restore(v, pages_server, "risk_points", point, "ladder store")

    v.page.click("#new-zone")
    for lon, lat in [(112.4490, 34.6195), (112.4496, 34.6195), (112.4496, 34.6199)]:
        _click_lonlat(v, lon, lat)
    v.page.click("#finish")
    zone = _grade_and_save(v, "UI-Z9", "bike shed")
    _delete_and_restore(v, pages_server, "risk_zones", zone, "bike shed")
    v.shot("editor-restored")
    v.clean()
