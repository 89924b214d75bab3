"""Every page loads for a user of the school with no console error and nothing fetched from elsewhere;
the HTML itself is public (no data in it), an unknown page is a problem+json 404."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.pages.conftest import Visit


def test_an_unknown_page_is_a_404_naming_the_pages(pages_server: str) -> None:
    response = httpx.get(f"{pages_server}/ui/secret")
    assert response.status_code == 404
    assert "bigscreen" in response.json()["detail"]
    assert httpx.get(f"{pages_server}/ui/editor").headers["content-type"].startswith("text/html")


def test_a_sibling_schools_leader_sees_nothing_of_ours_on_the_big_screen(visit: Callable[..., Visit]) -> None:
    v = visit("sibling", "bigscreen", width=1920, height=1080)
    v.page.wait_for_function("document.getElementById('hazard-count').textContent !== ''", timeout=30_000)
    assert v.page.inner_text("#hazard-count") == "(0)"
    assert "洛龙" not in v.page.inner_text("aside")  # the sample campus's name never shows
    v.clean(404)


def test_a_parent_opening_the_staff_pages_sees_no_pipes_hazards_or_alerts(
    visit: Callable[..., Visit],
) -> None:
    v = visit("parent", "maintenance")
    v.page.wait_for_function(
        "window.maintenanceReady === true || document.getElementById('hint').textContent.includes('no campus')",
        timeout=30_000,
    )
    drawn = v.page.evaluate("window.twinData ? window.twinData.pipes.features.length : 0")
    assert drawn == 0
    v.clean(403, 404)
    v = visit("parent", "bigscreen", width=1920, height=1080)
    v.page.wait_for_function("document.getElementById('alert-count').textContent !== ''", timeout=30_000)
    assert v.page.inner_text("#hazard-count") in ("(0)", "")
    assert v.page.inner_text("#alert-count") == "(0)"
    v.clean(403, 404)
