"""The one-click report on a phone (touch, small screen): photo from the camera, the device's location
or a tap on the map, filed with the hazard API; kept on the phone while offline and sent once online,
exactly once even when the first answer was lost."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Route
from sqlalchemy import Engine, create_engine, text

from tests.report.conftest import running_server, sign_in
from twin.config import Settings
from twin.models.risk import RISK_CATEGORIES

SAVED = "document.getElementById('status').textContent.startsWith('Saved on this phone')"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(out, format="JPEG")
    return out.getvalue()


def _hazards(engine: Engine, name: str) -> list[tuple[int, int, float, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT h.id, (SELECT count(*) FROM hazard_photos p WHERE p.hazard_id = h.id),"
                " ST_X(h.geom), ST_Y(h.geom) FROM hazards h WHERE h.name = :n ORDER BY h.id"
            ),
            {"n": name},
        )
        return [(int(i), int(n), float(x), float(y)) for i, n, x, y in rows]


@pytest.fixture
def phone(live_db: Settings, browser: Browser) -> Iterator[tuple[Page, BrowserContext, Engine]]:
    engine = create_engine(live_db.db.sync_url())
    with engine.connect() as conn:
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(boundary) p FROM campuses"
                " WHERE code = 'LY01') c"
            )
        ).one()
    with running_server(live_db) as host:
        context = browser.new_context(
            **PHONE, geolocation={"longitude": lon, "latitude": lat}, permissions=["geolocation"]
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://{host}/ui/report")
        sign_in(page, "officer")
        page.wait_for_function("window.reportReady === true", timeout=30_000)
        page.wait_for_function("document.getElementById('where').dataset.how === 'gps'", timeout=10_000)
        yield page, context, engine
        context.close()
        assert errors == []
    engine.dispose()


def _fill(page: Page, name: str, photo: bytes, file_name: str = "IMG_0001.jpg") -> None:
    page.set_input_files("#photo", {"name": file_name, "mimeType": "image/jpeg", "buffer": photo})
    page.fill("#name", name)
    page.select_option("#category", "buildings")


def test_the_page_is_made_for_a_phone_camera(phone: tuple[Page, BrowserContext, Engine]) -> None:
    page, _context, _engine = phone
    assert page.get_attribute("#photo", "capture") == "environment"
    assert page.get_attribute("#photo", "accept") == "image/*"
    options = page.locator("#category option").evaluate_all("els => els.map(e => e.value)")
    assert options == list(RISK_CATEGORIES)
    # Everything fits the width of the phone: nothing to scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator("#send").bounding_box()
    assert box is not None and box["height"] >= 44  # a thumb-sized target


def test_a_report_made_offline_is_sent_once_when_the_phone_is_back_online(
    phone: tuple[Page, BrowserContext, Engine],
) -> None:
    page, context, engine = phone
    context.set_offline(True)
    _fill(page, "楼梯扶手松动", _jpeg())
    page.tap("#send")
    page.wait_for_function(SAVED, timeout=10_000)
    assert page.evaluate("document.body.dataset.queued") == "1"
    assert _hazards(engine, "楼梯扶手松动") == []
    context.set_offline(False)
    page.wait_for_function("document.body.dataset.queued === '0'", timeout=15_000)
    assert page.inner_text("#status").startswith("Sent: YH-")
    stored = _hazards(engine, "楼梯扶手松动")
    assert len(stored) == 1 and stored[0][1] == 1  # one hazard, with its photo
    assert str(stored[0][0]) == page.get_attribute("#status", "data-hazard")


def test_a_resend_after_a_lost_answer_does_not_store_the_report_twice(
    phone: tuple[Page, BrowserContext, Engine],
) -> None:
    page, context, engine = phone
    lost: list[int] = []

    def lose_the_answer(route: Route) -> None:
        if route.request.method == "POST" and not lost:
            answer = route.fetch()  # the server stores the hazard and answers...
            lost.append(answer.status)
            route.abort("connectionreset")  # ...and the phone never hears it
        else:
            route.continue_()

    page.route("**/hazards", lose_the_answer)
    _fill(page, "窗户玻璃破裂", _jpeg())
    page.tap("#send")
    page.wait_for_function(SAVED, timeout=10_000)
    assert page.evaluate("document.body.dataset.queued") == "1"
    assert lost == [201] and len(_hazards(engine, "窗户玻璃破裂")) == 1
    context.set_offline(True)
    context.set_offline(False)  # back online: the page sends what waits, with the same key
    page.wait_for_function("document.body.dataset.queued === '0'", timeout=15_000)
    assert page.inner_text("#status").startswith("Sent: YH-")
    stored = _hazards(engine, "窗户玻璃破裂")
    assert len(stored) == 1
    assert str(stored[0][0]) == page.get_attribute("#status", "data-hazard")


def test_a_photo_that_is_not_an_image_is_refused_with_the_reason_and_nothing_stored(
    phone: tuple[Page, BrowserContext, Engine],
) -> None:
    page, _context, engine = phone
    _fill(page, "插座破损", b"this is a text file, not a photo", "IMG_0002.jpg")
    page.tap("#send")
    page.wait_for_function(
        "document.getElementById('error').textContent.startsWith('Not sent')", timeout=10_000
    )
    assert "image/jpeg" in page.inner_text("#error")  # what is allowed
    assert page.evaluate("document.body.dataset.queued") == "0"  # not retried forever
    assert _hazards(engine, "插座破损") == []


def test_a_tap_on_the_map_says_where_instead_of_the_location(
    phone: tuple[Page, BrowserContext, Engine],
) -> None:
    page, _context, engine = phone
    page.wait_for_function("window.twinMap && window.twinMap.loaded()", timeout=20_000)
    box = page.locator("#map").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6
    page.touchscreen.tap(x, y)
    page.wait_for_function("document.getElementById('where').dataset.how === 'tap'", timeout=10_000)
    tapped = page.evaluate(
        f"(() => {{ const p = window.twinMap.unproject([{box['width'] * 0.3}, {box['height'] * 0.6}]);"
        " return [p.lng, p.lat]; })()"
    )
    _fill(page, "路灯不亮", _jpeg())
    page.tap("#send")
    page.wait_for_function(
        "document.body.dataset.queued === '0' && document.getElementById('status')"
        ".textContent.startsWith('Sent')",
        timeout=15_000,
    )
    stored = _hazards(engine, "路灯不亮")
    assert len(stored) == 1
    # Where the finger landed, within a few metres (a touch is not a pixel), and not the GPS position.
    assert page.evaluate("document.getElementById('where').dataset.how") == "tap"
    assert stored[0][2] == pytest.approx(tapped[0], abs=5e-5) and stored[0][3] == pytest.approx(
        tapped[1], abs=5e-5
    )
