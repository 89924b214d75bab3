"""Time travel on the editor and the big screen: a past instant beside today, drawn from the versions.

A zone raised to level 1, a risk point deleted and a hazard closed after the instant: the past view
draws the old colour, the point and the open hazard where they were; the page's own map keeps today.
This module runs its own server on a database of its own, because it edits the campus.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.conftest import sample_database
from tests.layers.conftest import _add_sibling_and_users
from tests.pages.conftest import Visit
from twin.config import LiveSettings, Settings
from twin.db.engine import sync_engine
from twin.services import free_port


@pytest.fixture(scope="module")
def travel_db(services: Settings, sample_files: object) -> Iterator[Settings]:
    with sample_database(services, sample_files, _add_sibling_and_users) as settings:
        yield settings.model_copy(update={"live": LiveSettings(ingest=False, escalate_every_s=3600)})


@pytest.fixture(scope="module")
def pages_server(travel_db: Settings) -> Iterator[str]:
    """Overrides the package's server for this module: the same app, on this module's database."""
    import uvicorn

    from twin.api import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(travel_db), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def edited(travel_db: Settings) -> Iterator[dict[str, Any]]:
    """The instant before the edits, and what the edits changed (as the owner: triggers keep versions)."""
    engine: Engine = sync_engine(travel_db.db)
    time.sleep(1.1)  # the page picks whole seconds: the instant must fall after the campus was loaded
    before = datetime.now(UTC)
    time.sleep(1.1)
    with engine.begin() as conn:
        zone = conn.execute(
            text(
                "SELECT z.id, ST_X(ST_PointOnSurface(z.geom)) AS x, ST_Y(ST_PointOnSurface(z.geom)) AS y"
                " FROM risk_zones z JOIN risk_rollup r ON r.key = 'zone:' || z.id"
                " WHERE twin_rollup_highest(r.points, r.zones) > 1 AND NOT EXISTS (SELECT 1 FROM risk_zones o"
                "  WHERE o.id <> z.id AND ST_Intersects(o.geom, ST_PointOnSurface(z.geom)))"
                " ORDER BY ST_Area(z.geom) DESC LIMIT 1"
            )
        ).one()
        point = conn.execute(
            text(
                "SELECT p.id, ST_X(p.geom) AS x, ST_Y(p.geom) AS y FROM risk_points p WHERE NOT EXISTS"
                " (SELECT 1 FROM hazards h WHERE h.risk_point_id = p.id) AND NOT EXISTS"
                " (SELECT 1 FROM inspections i WHERE i.risk_point_id = p.id) ORDER BY p.id LIMIT 1"
            )
        ).one()
        hazard = conn.execute(
            text(
                "SELECT id, ST_X(geom) AS x, ST_Y(geom) AS y FROM hazards"
                " WHERE state NOT IN ('rejected', 'accepted', 'closed') ORDER BY id LIMIT 1"
            )
        ).one()
        conn.execute(text("UPDATE risk_zones SET level = 1 WHERE id = :id"), {"id": zone.id})
        conn.execute(text("DELETE FROM risk_points WHERE id = :id"), {"id": point.id})
        conn.execute(text("UPDATE hazards SET state = 'closed' WHERE id = :id"), {"id": hazard.id})
    engine.dispose()
    yield {"before": before, "zone": zone, "point": point, "hazard": hazard}


def _pick(v: Visit, at: datetime) -> None:
    """Type the instant into the page's picker (in the browser's time zone) and ask for the past."""
    v.page.wait_for_selector("#tt-date")
    local = v.page.evaluate(
        "iso => { const d = new Date(iso), p = n => String(n).padStart(2, '0');"
        " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:"
        "${p(d.getMinutes())}:${p(d.getSeconds())}`; }",
        at.isoformat(),
    )
    v.page.fill("#tt-date", local)
    v.page.click("#tt-show")


DRAWN = """([map, layer, lon, lat]) => {
  const m = window[map], px = m.project([lon, lat]);
  return m.queryRenderedFeatures([px.x, px.y], { layers: [layer] }).map((f) => ({ id: f.id, ...f.properties }));
}"""


def _drawn(v: Visit, map_name: str, layer: str, x: float, y: float) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = v.page.evaluate(DRAWN, [map_name, layer, x, y])
    return result


def test_editor_shows_the_past_beside_today(visit: Callable[..., Visit], edited: dict[str, Any]) -> None:
    v = visit("officer", "editor")
    v.page.wait_for_function("window.editorReady === true", timeout=60_000)
    _pick(v, edited["before"])
    v.page.wait_for_function("!!window.timeTravelReady", timeout=60_000)
    v.page.wait_for_timeout(500)
    zone, point, hazard = edited["zone"], edited["point"], edited["hazard"]
    today_map = v.page.locator("#map").bounding_box()
    past_map = v.page.locator("#tt-past").bounding_box()
    assert today_map and past_map and past_map["x"] >= today_map["x"] + today_map["width"] - 1
    assert abs(past_map["width"] - today_map["width"]) < 5, "side by side, half and half"

    then = [z for z in _drawn(v, "timeTravelMap", "tt-zones", zone.x, zone.y) if z["id"] == zone.id]
    now = [z for z in _drawn(v, "twinMap", "ui-zones-fill", zone.x, zone.y) if z["id"] == zone.id]
    assert then and now, "the zone is drawn in both views"
    assert now[0]["effective_level"] == 1 and then[0]["effective_level"] > 1
    assert then[0]["colour"] != now[0]["colour"]

    assert point.id in [p["id"] for p in _drawn(v, "timeTravelMap", "tt-points", point.x, point.y)]
    assert point.id not in [p["id"] for p in _drawn(v, "twinMap", "ui-points", point.x, point.y)]
    assert hazard.id in [h["id"] for h in _drawn(v, "timeTravelMap", "tt-hazards", hazard.x, hazard.y)]
    assert "open hazards" in v.page.inner_text("#tt-label")
    v.shot("timetravel-editor")
    v.clean()


def test_big_screen_shows_the_past_beside_today(visit: Callable[..., Visit], edited: dict[str, Any]) -> None:
    v = visit("leader", "bigscreen", width=1920, height=1080)
    v.page.wait_for_function("window.bigscreenReady === true", timeout=60_000)
    _pick(v, edited["before"])
    v.page.wait_for_function("!!window.timeTravelReady", timeout=60_000)
    zone = edited["zone"]
    colours = v.page.evaluate(
        "id => [window.timeTravel.zones.features.find((f) => f.id === id).properties.colour,"
        " window.timeTravel.zones.legend.find((l) => l.level === 1).colour]",
        zone.id,
    )
    assert colours[0] != colours[1], "the past zone is not yet at level 1"
    assert v.page.locator("#map canvas").first.is_visible() and v.page.locator("#tt-past canvas").is_visible()
    assert edited["point"].id in v.page.evaluate("window.timeTravel.points.features.map((f) => f.id)")
    v.shot("timetravel-bigscreen")
    v.page.click("#tt-close")
    assert v.page.locator("#tt-past").count() == 0
    v.clean(404)  # no deck.json from the scenes work: the big screen's own fallback


def test_a_date_before_the_campus_says_the_earliest(
    visit: Callable[..., Visit], edited: dict[str, Any]
) -> None:
    v = visit("officer", "editor")
    v.page.wait_for_function("window.editorReady === true", timeout=60_000)
    _pick(v, datetime(2020, 1, 1, tzinfo=UTC))
    v.page.wait_for_function("document.getElementById('tt-error').textContent !== ''", timeout=15_000)
    assert "earliest" in v.page.inner_text("#tt-error")
    assert v.page.locator("#tt-past").count() == 0
    v.clean(400)
