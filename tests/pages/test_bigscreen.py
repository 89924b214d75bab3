"""The big screen: the campus drawn from deck.json through @deck.gl/json with the panel of levels, alerts
and overdue hazards; a click shows what was clicked; buses glide along their routes between fixes."""

from __future__ import annotations

import itertools
import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.pages.conftest import ARTIFACTS, Visit
from twin.config import Settings
from twin.db.engine import sync_engine

DOCS = Path(__file__).resolve().parents[2] / "docs"
M_PER_DEG = 111_320.0


def _layers(v: Visit) -> list[str]:
    ids: list[str] = v.page.evaluate("window.twinDeck.props.layers.map((l) => l.id)")
    return ids


def test_the_big_screen_draws_the_campus_and_counts_levels(visit: Callable[..., Visit]) -> None:
    v = visit("leader", "bigscreen", width=1920, height=1080)
    v.page.wait_for_function("window.bigscreenReady === true", timeout=60_000)
    v.page.wait_for_function("document.getElementById('alert-count').textContent !== ''", timeout=15_000)
    counts = v.page.locator("#levels .level").all_inner_texts()
    assert len(counts) == 4 and sum(int(c.split()[0]) for c in counts) > 0
    # buildings, zone volumes and pipes come from /scenes/LY01/deck.json through the JSONConverter
    assert {"buildings", "risk_zones", "pipes", "alerts", "buses"} <= set(_layers(v))
    v.page.uncheck("#show-pipes")
    v.page.wait_for_function("!window.twinDeck.props.layers.some((l) => l.id === 'pipes')")
    v.page.check("#show-pipes")

    # A click on a building shows that building's details.
    x, y, code = v.page.evaluate(
        """(() => {
          const layer = window.twinDeck.props.layers.find((l) => l.id === 'buildings');
          const b = [...layer.props.data].sort((p, q) => q.height_m - p.height_m)[0];
          const ring = b.polygon[0];
          const cx = ring.reduce((s, c) => s + c[0], 0) / ring.length, cy = ring.reduce((s, c) => s + c[1], 0) / ring.length;
          const [x, y] = window.twinDeck.getViewports()[0].project([cx, cy, ring[0][2] + b.height_m]);
          return [x, y, b.code];
        })()"""
    )
    v.page.mouse.click(x, y)
    v.page.wait_for_selector("#details:not([hidden])")
    assert code in v.page.inner_text("#details")
    v.page.wait_for_timeout(1500)  # a few frames of SwiftShader
    v.shot("bigscreen")
    if os.environ.get("TWIN_UPDATE_DOCS"):  # refresh the README's picture on purpose, not on every run
        shutil.copyfile(ARTIFACTS / "bigscreen.png", DOCS / "bigscreen.png")
    v.clean()


def _metres(lon: float, lat: float, k: float) -> tuple[float, float]:
    return lon * M_PER_DEG * k, lat * M_PER_DEG


def _off_line(p: tuple[float, float], line: list[tuple[float, float]]) -> float:
    """Distance in metres from p to the polyline (both already in metres)."""
    best = math.inf
    for (ax, ay), (bx, by) in itertools.pairwise(line):
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / ((dx * dx + dy * dy) or 1)))
        best = min(best, math.hypot(ax + t * dx - p[0], ay + t * dy - p[1]))
    return best


def _corner(route: list[list[float]]) -> tuple[list[float], list[float], int]:
    """Two points 40 m either side of the route's sharpest turn, and that vertex's index."""
    k = math.cos(math.radians(route[0][1]))
    xy = [_metres(x, y, k) for x, y, *_ in route]

    def turn(i: int) -> float:
        a = math.atan2(xy[i][1] - xy[i - 1][1], xy[i][0] - xy[i - 1][0])
        b = math.atan2(xy[i + 1][1] - xy[i][1], xy[i + 1][0] - xy[i][0])
        return abs((b - a + math.pi) % (2 * math.pi) - math.pi)

    long_enough = [
        i
        for i in range(1, len(xy) - 1)
        if math.dist(xy[i - 1], xy[i]) > 50 and math.dist(xy[i], xy[i + 1]) > 50
    ]
    i = max(long_enough, key=turn)

    def towards(j: int) -> list[float]:
        d = math.dist(xy[i], xy[j])
        x = xy[i][0] + (xy[j][0] - xy[i][0]) * 40 / d
        y = xy[i][1] + (xy[j][1] - xy[i][1]) * 40 / d
        return [x / (M_PER_DEG * k), y / M_PER_DEG]

    return towards(i - 1), towards(i + 1), i


def test_a_bus_glides_along_its_route_round_a_corner(
    visit: Callable[..., Visit], pages_db: Settings, pages_server: str
) -> None:
    engine = sync_engine(pages_db.db)
    with engine.begin() as conn:
        bus = conn.execute(
            text(
                "SELECT v.id, v.device_id, ST_AsGeoJSON(r.geom)::json -> 'coordinates' AS line"
                " FROM vehicles v JOIN bus_routes r ON r.id = v.route_id"
                " WHERE GeometryType(r.geom) = 'LINESTRING' ORDER BY v.id LIMIT 1"
            )
        ).one()
    engine.dispose()
    a, b, _ = _corner(bus.line)
    v = visit("leader", "bigscreen", width=1280, height=800)
    v.page.wait_for_function("window.bigscreenReady === true", timeout=60_000)
    v.page.wait_for_function("document.getElementById('alert-count').textContent !== ''", timeout=15_000)

    def fix(at: list[float], age_s: int) -> None:
        params = {"id": bus.device_id, "lat": at[1], "lon": at[0], "timestamp": int(time.time()) - age_s}
        assert httpx.post(f"{pages_server}/osmand", params=params).status_code == 200

    fix(a, 20)
    v.page.wait_for_function(
        f"(p => p && Math.abs(p[0] - {a[0]}) < 1e-7 && Math.abs(p[1] - {a[1]}) < 1e-7)"
        f"((window.bigscreenBuses || {{}})[{bus.id}])",
        timeout=20_000,
    )
    fix(b, 10)
    k = math.cos(math.radians(a[1]))
    route = [_metres(x, y, k) for x, y, *_ in bus.line]
    chord = [_metres(*a, k), _metres(*b, k)]
    samples: list[tuple[float, float]] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        p = v.page.evaluate(f"(window.bigscreenBuses || {{}})[{bus.id}]")
        samples.append(_metres(p[0], p[1], k))
        if math.dist(samples[-1], chord[1]) < 0.01:
            break
        v.page.wait_for_timeout(150)
    moving = [s for s in samples if math.dist(s, chord[0]) > 0.5 and math.dist(s, chord[1]) > 0.5]
    assert len(moving) >= 3, "the bus jumped instead of gliding"
    assert max(_off_line(s, route) for s in moving) < 1.0  # every drawn position lies on the route
    assert max(_off_line(s, chord) for s in moving) > 5.0  # and it went round the corner, not across
    v.clean()
