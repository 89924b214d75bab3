"""Each page signed in as roles that may see less: what the page shows is what the role may see."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.layers.conftest import SIBLING
from tests.pages.conftest import Visit


def test_a_parent_on_the_dashboard_is_told_statistics_are_for_staff(visit: Callable[..., Visit]) -> None:
    v = visit("parent", "dashboard")
    v.page.wait_for_function("window.dashboardReady === true", timeout=30_000)
    assert "for staff" in v.page.inner_text("#error")
    assert v.page.locator("#table tr").count() == 0
    assert v.page.locator("#topic option").count() == 0
    v.clean(403)


def test_a_sibling_schools_leader_sees_only_their_school_on_the_dashboard(
    visit: Callable[..., Visit],
) -> None:
    v = visit("sibling", "dashboard")
    v.page.wait_for_function("window.dashboardReady === true", timeout=30_000)
    assert v.page.locator("#group-by option").evaluate_all("os => os.map(o => o.value)") == ["school"]
    codes = v.page.locator("#table tr[data-code]").evaluate_all("rs => rs.map(r => r.dataset.code)")
    assert codes == [SIBLING]
    assert "洛龙" not in v.page.inner_text("body")
    v.clean()


@pytest.mark.parametrize("user", ["leader", "crew", "analyst"])
def test_staff_who_may_not_write_risks_get_no_editing_tools(visit: Callable[..., Visit], user: str) -> None:
    v = visit(user, "editor")
    v.page.wait_for_function("document.getElementById('hint').textContent.includes('needs the role')")
    assert v.page.locator("#tools").is_hidden() and v.page.locator("#feature").is_hidden()
    v.clean()


def test_a_sibling_schools_leader_gets_no_pipes_of_ours_to_maintain(visit: Callable[..., Visit]) -> None:
    v = visit("sibling", "maintenance")
    v.page.wait_for_function(
        "document.getElementById('hint').textContent.includes('no campus')", timeout=30_000
    )
    assert v.page.evaluate("window.twinData ? window.twinData.pipes.features.length : 0") == 0
    v.clean()


def test_a_sibling_schools_leader_sees_no_bus_of_ours_on_the_parent_page(visit: Callable[..., Visit]) -> None:
    v = visit("sibling", "parent")
    v.page.wait_for_function("window.parentReady === true", timeout=30_000)
    assert v.page.locator("#buses li[data-id]").count() == 0
    v.clean()
