"""The parent page: a parent sees their child's bus and no other."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from tests.pages.conftest import Visit
from twin.config import Settings
from twin.db.engine import sync_engine

CHILDS_BUSES = (
    "SELECT v.id FROM vehicles v WHERE v.route_id IN (SELECT p.route_id FROM users u"
    " JOIN guardians g ON g.parent_id = u.person_id JOIN people p ON p.id = g.student_id"
    " WHERE u.username = 'parent' AND p.route_id IS NOT NULL)"
)


def test_a_parent_sees_only_their_childs_bus(visit: Callable[..., Visit], pages_db: Settings) -> None:
    engine = sync_engine(pages_db.db)
    with engine.begin() as conn:
        mine = {row[0] for row in conn.execute(text(CHILDS_BUSES))}
        every = {row[0] for row in conn.execute(text("SELECT id FROM vehicles"))}
    engine.dispose()
    assert mine and every - mine  # the sample has other buses the parent must not see

    v = visit("parent", "parent")
    v.page.wait_for_function("window.parentReady === true", timeout=30_000)
    v.page.wait_for_function("document.getElementById('live').textContent === 'Live'", timeout=15_000)
    shown = {
        int(i) for i in v.page.locator("#buses li[data-id]").evaluate_all("els => els.map(e => e.dataset.id)")
    }
    assert shown == mine
    assert "ETA" in v.page.inner_text("#buses")
    v.shot("parent")
    v.clean(404)  # a bus with no fix yet has no ETA: "ETA not available"
