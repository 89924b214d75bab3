"""The big screen's province view: a province leader drills province → city → county → school (the map
or the list), regions coloured by their highest level in force, and the breadcrumb goes back up; a city
leader starts at their city and sees nothing of the other city."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from tests.layers.conftest import COUNTY, SCHOOL, SIBLING
from tests.pages.conftest import Visit
from twin.config import Settings
from twin.db.engine import sync_engine

# The highest level in force under an org unit, straight from the tables: points by their effective
# level, zones by their own; 1 is the highest.
HIGHEST = """
SELECT least(
  (SELECT min(coalesce(p.effective_level, p.level)) FROM risk_points p WHERE p.org_path <@ o.path),
  (SELECT min(z.level) FROM risk_zones z WHERE z.org_path <@ o.path))
  FROM org_units o WHERE o.code = :code
"""


def _highest(db: Settings, code: str) -> int | None:
    engine = sync_engine(db.db)
    with engine.begin() as conn:
        level = conn.execute(text(HIGHEST), {"code": code}).scalar_one()
    engine.dispose()
    return None if level is None else int(level)


def _regions(v: Visit) -> dict[str, str]:
    shown: dict[str, str] = v.page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#regions li')].map((li) =>"
        " [li.dataset.code, li.textContent]))"
    )
    return shown


def _at(v: Visit, level: str) -> None:
    v.page.wait_for_function(f"window.bigscreenLevel === '{level}'", timeout=60_000)


def test_province_leader_drills_down_to_the_campus_and_back(
    visit: Callable[..., Visit], pages_db: Settings
) -> None:
    v = visit("provleader", "bigscreen", width=1920, height=1080)
    _at(v, "province")
    cities = _regions(v)
    assert set(cities) == {"410300", "410100"}
    assert f"level {_highest(pages_db, '410300')}" in cities["410300"]
    assert "no risks" in cities["410100"]  # the other city has schools but no risk register yet
    v.page.wait_for_timeout(1000)
    v.shot("bigscreen-province")

    # Down to the city by clicking its shape on the map.
    x, y = v.page.evaluate(
        "window.twinDeck.getViewports()[0].project([(111.8 + 112.9) / 2, (33.6 + 35.1) / 2])"
    )
    v.page.mouse.click(x, y)
    _at(v, "city")
    assert set(_regions(v)) == {COUNTY, "410322"}
    # Then down through the list: county, then school, which is the campus in 3D.
    v.page.click(f"#regions li[data-code='{COUNTY}']")
    _at(v, "county")
    assert set(_regions(v)) == {SCHOOL, SIBLING}
    v.page.click(f"#regions li[data-code='{SCHOOL}']")
    _at(v, "school")
    v.page.wait_for_function("window.twinDeck.props.layers.some((l) => l.id === 'buildings')")
    assert v.page.locator("#regions-box").is_hidden()
    crumbs = v.page.locator("#crumbs button").all_inner_texts()
    assert len(crumbs) == 3 and crumbs[0] == "河南省"
    v.shot("bigscreen-drilled")

    v.page.click("#crumbs button >> nth=0")  # back up to the province
    _at(v, "province")
    assert set(_regions(v)) == {"410300", "410100"}
    v.clean()


def test_a_city_leader_starts_at_their_city_and_sees_no_other(visit: Callable[..., Visit]) -> None:
    v = visit("cityleader", "bigscreen", width=1920, height=1080)
    _at(v, "city")
    assert set(_regions(v)) == {COUNTY, "410322"}
    aside = v.page.inner_text("aside")
    assert "test city" not in aside and "河南省" not in aside
    assert v.page.locator("#crumbs button").count() == 0  # nothing above their own unit to go up to
    v.clean()
