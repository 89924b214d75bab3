"""The big screen: the campus in deck.gl with the panel of levels, alerts and overdue hazards."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.pages.conftest import ARTIFACTS, Visit

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_big_screen_draws_the_campus_and_counts_levels(visit: Callable[..., Visit]) -> None:
    v = visit("leader", "bigscreen", width=1920, height=1080)
    v.page.wait_for_function("window.bigscreenReady === true", timeout=60_000)
    v.page.wait_for_function("document.getElementById('alert-count').textContent !== ''", timeout=15_000)
    counts = v.page.locator("#levels .level").all_inner_texts()
    assert len(counts) == 4 and sum(int(c.split()[0]) for c in counts) > 0
    v.page.wait_for_timeout(1500)  # a few frames of SwiftShader
    v.shot("bigscreen")
    if os.environ.get("TWIN_UPDATE_DOCS"):  # refresh the README's picture on purpose, not on every run
        shutil.copyfile(ARTIFACTS / "bigscreen.png", DOCS / "bigscreen.png")
    v.clean(404)  # no deck.json from the scenes work yet: buildings come from the collection
