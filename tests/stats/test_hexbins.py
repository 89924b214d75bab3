"""H3 hex bins and Getis-Ord Gi* hot spots: counts that add up, z-scores that match the textbook formula."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import h3
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from twin.stats import hexbins, hotspots
from twin.stats.period import parse_period

Login = Callable[[str], dict[str, str]]


def test_hexbins_count_every_risk_point_once(client: TestClient, login: Login, owner: Engine) -> None:
    response = client.get("/stats/hexbins?topic=risks&res=9", headers=login("leader"))
    assert response.status_code == 200, response.text
    body = response.json()
    with owner.connect() as conn:
        points = conn.execute(text("SELECT count(*) FROM risk_points")).scalar_one()
    assert sum(f["properties"]["count"] for f in body["features"]) == points == body["total"]
    ring = body["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) == 7 and ring[0] == ring[-1]  # a hexagon, closed


def test_hexbins_of_a_point_land_in_its_own_cell(owner: Engine) -> None:
    lon, lat = 112.4567, 34.6123
    grid = hexbins.snap_grid_deg(8)
    snapped = (round(lon / grid) * grid, round(lat / grid) * grid, 1)
    assert hexbins.bin_points([snapped], 8) == {h3.latlng_to_cell(lat, lon, 8): 1}


def test_drills_have_no_place_to_bin(client: TestClient, login: Login) -> None:
    response = client.get("/stats/hexbins?topic=drills", headers=login("leader"))
    assert response.status_code == 400 and "hazards" in response.json()["detail"]
    assert client.get("/stats/hexbins?res=15", headers=login("leader")).status_code == 400


def textbook_gi_star(y: np.ndarray, neighbours: list[list[int]]) -> np.ndarray:
    """Getis & Ord (1995) Gi* with binary weights including the cell itself, written out by hand."""
    n, mean = len(y), y.mean()
    s = math.sqrt((y**2).mean() - mean**2)
    z = np.empty(n)
    for i in range(n):
        ring = [i, *neighbours[i]]
        wsum = len(ring)
        z[i] = (y[ring].sum() - mean * wsum) / (s * math.sqrt((n * wsum - wsum**2) / (n - 1)))
    return z


def test_gi_star_z_scores_match_the_formula_and_a_cluster_is_hot() -> None:
    rng = random.Random(7)
    centre = h3.latlng_to_cell(34.6, 112.45, 7)
    counts = {c: rng.randint(0, 3) for c in h3.grid_disk(centre, 6)}
    for c in h3.grid_disk(centre, 1):
        counts[c] = 30
    spots = hotspots.gi_star(counts, permutations=99, seed=1)
    cells = [s.cell for s in spots]
    index = {c: i for i, c in enumerate(cells)}
    y = np.array([counts.get(c, 0) for c in cells], dtype=float)
    neighbours = [[index[n] for n in h3.grid_disk(c, 1) if n != c and n in index] for c in cells]
    expected = textbook_gi_star(y, neighbours)
    assert [s.z for s in spots] == pytest.approx(expected, abs=1e-3)
    by_cell = {s.cell: s for s in spots}
    assert (
        by_cell[centre].spot == hotspots.HOT and by_cell[centre].p is not None and by_cell[centre].p <= 0.05
    )


def test_too_few_cells_are_not_tested() -> None:
    spots = hotspots.gi_star({h3.latlng_to_cell(34.6, 112.45, 5): 4})
    assert {s.spot for s in spots} == {hotspots.NOT_SIGNIFICANT}


def test_hotspots_answer_with_classes_and_are_cached(client: TestClient, login: Login) -> None:
    first = client.get("/stats/hotspots?topic=risks&res=10", headers=login("leader"))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["cached"] is False
    assert {f["properties"]["spot"] for f in body["features"]} <= {"hot", "cold", "not significant"}
    again = client.get("/stats/hotspots?topic=risks&res=10", headers=login("leader")).json()
    assert again["cached"] is True and again["features"] == body["features"]


@pytest.mark.parametrize(
    ("text_", "start", "end"),
    [
        ("2026", "2026-01-01", "2027-01-01"),
        ("2026-Q4", "2026-10-01", "2027-01-01"),
        ("2026-12", "2026-12-01", "2027-01-01"),
        ("2026-02-28", "2026-02-28", "2026-03-01"),
        ("2026-03-01/2026-06-30", "2026-03-01", "2026-07-01"),
    ],
)
def test_periods_are_half_open_local_date_ranges(text_: str, start: str, end: str) -> None:
    period = parse_period(text_)
    assert period is not None
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)
