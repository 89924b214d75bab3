"""The parent page lists the child's gate passes (history, then live from the broker) and nobody else's."""

from __future__ import annotations

import json

from playwright.sync_api import Browser

from tests.family.conftest import SCHOOL, World, minutes, running_server, sign_in
from tests.live.conftest import Publisher, streaming
from twin.live.ingest import IngestStats, handle

TOPIC = f"campus/{SCHOOL}/gates/GN-in-card/events"


def _pass(event_id: str, credential: str, minute: float, topic: str = TOPIC) -> tuple[str, bytes]:
    body = {"event_id": event_id, "credential": credential, "time": minutes(minute).isoformat()}
    return topic, json.dumps(body).encode()


def test_the_parent_page_shows_their_childs_gate_passes_as_they_happen(
    world: World, browser: Browser
) -> None:
    handle(world.engine, *_pass("morning", "C-CHILD", -30), minutes(0), IngestStats())  # 15:30 local
    settings = streaming(world.settings)
    publisher = Publisher(settings)
    errors: list[str] = []
    try:
        with running_server(settings) as host:
            context = browser.new_context(viewport={"width": 390, "height": 844})
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://{host}/ui/parent")
            sign_in(page, "parent")
            page.wait_for_function("window.parentReady === true", timeout=30_000)
            page.wait_for_function("document.getElementById('live').textContent === 'Live'", timeout=15_000)
            assert page.locator("#gate li.pass").all_inner_texts() == [
                f"{world.child_name} entered campus at 15:30 through North Gate"
            ]
            publisher.send(*_pass("other", "C-OTHER", 5)).wait_for_publish(10)
            out = _pass("leaving", "F-CHILD", 10, f"campus/{SCHOOL}/gates/GS-both-face/events")
            publisher.send(out[0], json.dumps({**json.loads(out[1]), "direction": "out"}).encode())
            page.wait_for_selector("#gate li.pass.out", timeout=15_000)
            assert page.locator("#gate li.pass").all_inner_texts() == [
                f"{world.child_name} left campus at 16:10 through South Gate",
                f"{world.child_name} entered campus at 15:30 through North Gate",
            ]
            students = page.locator("#gate li.pass").evaluate_all("els => els.map(e => e.dataset.student)")
            assert set(students) == {str(world.child_id)}
            context.close()
    finally:
        publisher.close()
    assert errors == []
