"""The analyst dashboard: a county analyst sees their county's schools only, the numbers follow the filters
as plain SQL counts them, the regions are drawn as a choropleth and the CSV download holds the table."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from tests.layers.conftest import COUNTY
from tests.pages.conftest import Visit
from twin.config import Settings
from twin.db.engine import sync_engine

# Drills per school of a county, straight from the tables (not through twin.stats).
DRILLS = """
SELECT o.code, count(d.id) AS drills, coalesce(sum(d.participants), 0) AS participants, o.enrolment
  FROM org_units o
  LEFT JOIN drills d ON d.org_path = o.path AND (CAST(:start AS date) IS NULL OR d.held_on >= :start)
                    AND (CAST(:end AS date) IS NULL OR d.held_on < :end)
 WHERE o.level = 'school' AND o.path <@ (SELECT path FROM org_units WHERE code = :county)
 GROUP BY o.code, o.enrolment
"""


QUARTERS = [
    ("2026-Q1", "2026-01-01", "2026-04-01"),
    ("2026-Q2", "2026-04-01", "2026-07-01"),
    ("2026-Q3", "2026-07-01", "2026-10-01"),
    ("2026-Q4", "2026-10-01", "2027-01-01"),
]


def _drills(db: Settings, start: str | None, end: str | None) -> dict[str, tuple[int, int, int | None]]:
    engine = sync_engine(db.db)
    with engine.begin() as conn:
        rows = conn.execute(text(DRILLS), {"start": start, "end": end, "county": COUNTY}).all()
    engine.dispose()
    return {r.code: (r.drills, r.participants, r.enrolment) for r in rows}


def _shown(v: Visit, column: str) -> dict[str, str]:
    """code -> the table's cell of `column`, as the analyst reads it."""
    cells: dict[str, str] = v.page.evaluate(
        f"""Object.fromEntries([...document.querySelectorAll('#table tr[data-code]')].map((tr) =>
             [tr.dataset.code, tr.querySelector('td[data-col="{column}"]').textContent]))"""
    )
    return cells


def _change(v: Visit, select: str, value: str) -> None:
    before = v.page.evaluate("window.dashboardLoads")
    v.page.select_option(select, value)
    v.page.wait_for_function(f"window.dashboardLoads > {before}", timeout=20_000)


def test_county_analyst_filters_drills_by_school_and_downloads_the_csv(
    visit: Callable[..., Visit], pages_db: Settings, tmp_path: Path
) -> None:
    v = visit("county", "dashboard", width=1600, height=1000)
    v.page.wait_for_function("window.dashboardReady === true", timeout=60_000)
    groups = v.page.locator("#group-by option").evaluate_all("os => os.map(o => o.value)")
    assert groups == ["county", "school"]  # nothing above the analyst's own level
    _change(v, "#topic", "drills")
    _change(v, "#group-by", "school")

    every = _drills(pages_db, None, None)
    assert set(_shown(v, "drills")) == set(every)  # the county's schools, and no school of another county
    assert {code: int(n.replace(",", "")) for code, n in _shown(v, "drills").items()} == {
        code: n for code, (n, _, _) in every.items()
    }
    drawn = v.page.evaluate("window.twinMap.queryRenderedFeatures({layers: ['stats-fill']}).length")
    assert drawn >= 1  # the schools' boundaries are on the map, coloured
    assert v.page.locator("#chart svg g[data-code]").count() == len(every)

    # The quarter of 2026 with the most drills (the sample's dates are hashed): the numbers must move.
    quarters = {q: _drills(pages_db, start, end) for q, start, end in QUARTERS}
    busiest = max(quarters, key=lambda q: sum(n for n, _, _ in quarters[q].values()))
    _change(v, "#period", busiest)
    q1 = quarters[busiest]
    assert any(n for n, _, _ in q1.values())
    shown_q1 = {code: int(n.replace(",", "")) for code, n in _shown(v, "drills").items()}
    assert shown_q1 == {code: n for code, (n, _, _) in q1.items()}
    assert shown_q1 != {code: n for code, (n, _, _) in every.items()}  # the filter changed the numbers

    v.page.select_option("#measure", "participants_per_1000")
    rates = _shown(v, "participants_per_1000")
    for code, (_, participants, enrolment) in q1.items():
        expected = round(participants * 1000 / enrolment, 3) if enrolment else None
        shown = None if rates[code] == "—" else float(rates[code].replace(",", ""))
        assert (shown is None) == (expected is None)
        assert shown is None or expected is None or abs(shown - expected) < 0.006
    v.shot("dashboard")

    with v.page.expect_download() as download:
        v.page.click("#exports button[data-f=csv]")
    assert download.value.suggested_filename == "drills-by-school.csv"
    saved = tmp_path / "drills.csv"
    download.value.save_as(saved)
    table = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert {r["code"]: int(r["drills"]) for r in table} == shown_q1
    v.clean()


def test_hexagons_and_hot_spots_are_a_map_option(visit: Callable[..., Visit]) -> None:
    v = visit("analyst", "dashboard")
    v.page.wait_for_function("window.dashboardReady === true", timeout=60_000)
    assert v.page.locator("#group-by option").evaluate_all("os => os.map(o => o.value)") == ["school"]
    _change(v, "#topic", "risks")
    assert "level_1" in v.page.evaluate("window.dashboardData.columns")
    _change(v, "#layer", "hexbins")
    cells = v.page.evaluate("window.dashboardData.cells")
    assert cells, v.page.inner_text("#error")
    assert cells["type"] == "FeatureCollection" and cells["total"] > 0
    assert sum(f["properties"]["count"] for f in cells["features"]) == cells["total"]
    _change(v, "#layer", "hotspots")
    spots = {f["properties"]["spot"] for f in v.page.evaluate("window.dashboardData.cells.features")}
    assert spots <= {"hot", "cold", "not significant"} and spots
    v.shot("dashboard-hotspots")
    v.clean()
