"""Fixtures of the page tests: the sample campus with users of every role (and a parent) behind a live
uvicorn, and a headless Chromium whose every request must stay on 127.0.0.1.

`visit(user, page)` opens `/ui/<page>`, signs in through the page's own form and returns a `Visit` that
records console errors and any request to another host (aborted, and a failure of the test).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright
from sqlalchemy import Connection, text

from tests.conftest import sample_database
from tests.layers.conftest import PASSWORD, SIBLING, _add_sibling_and_users
from tests.layers.test_tiles_maplibre import CHROMIUM, CHROMIUM_ARGS
from tests.live.conftest import _parent
from twin.access.roles import Role
from twin.access.users import NewUser, add_user
from twin.config import LiveSettings, Settings
from twin.samples.activities import seed_activities
from twin.services import free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


# Boundaries for the sample's province, city and county (the sample stores only the school's), and a
# second county and a second city with a school each, outside the county analyst's jurisdiction: the
# dashboard's and the big screen's region maps need shapes, and the role tests need regions not to show.
BOXES = {
    "410000": (110.3, 31.3, 116.7, 36.4),
    "410300": (111.8, 33.6, 112.9, 35.1),
    "410311": (112.35, 34.55, 112.56, 34.70),
    SIBLING: (112.50, 34.66, 112.51, 34.67),
}
OTHERS = (  # code, name, level, parent, enrolment, box
    ("410322", "test county", "county", "410300", None, (112.30, 34.70, 112.56, 34.85)),
    ("4103220001", "test county school 1", "school", "410322", 1500, (112.40, 34.75, 112.41, 34.76)),
    ("410100", "test city", "city", "410000", None, (113.2, 34.4, 114.2, 35.0)),
    ("410122", "test city county", "county", "410100", None, (113.5, 34.6, 113.8, 34.8)),
    ("4101220001", "test city school 1", "school", "410122", 2400, (113.60, 34.70, 113.61, 34.71)),
)
STAFF = {"provleader": (Role.leader, "410000"), "cityleader": (Role.leader, "410300")}


def _box(box: tuple[float, float, float, float]) -> str:
    return "ST_Multi(ST_MakeEnvelope({}, {}, {}, {}, 4326))".format(*box)


def _regions(conn: Connection) -> None:
    for code, box in BOXES.items():
        conn.execute(text(f"UPDATE org_units SET boundary = {_box(box)} WHERE code = :c"), {"c": code})
    conn.execute(text("UPDATE org_units SET enrolment = 600 WHERE code = :c"), {"c": SIBLING})
    for code, name, level, parent, enrolment, box in OTHERS:
        conn.execute(
            text(
                "INSERT INTO org_units (code, name, level, parent_id, path, enrolment, boundary)"
                f" SELECT :code, :name, :level, id, path || CAST(:label AS text), :enrolment, {_box(box)}"
                " FROM org_units WHERE code = :parent"
            ),
            {
                "code": code,
                "label": code,
                "name": name,
                "level": level,
                "parent": parent,
                "enrolment": enrolment,
            },
        )
    seed_activities(conn, "410000")  # drills and sessions for the schools added here
    for name, (role, org) in STAFF.items():
        add_user(conn, NewUser(name, role, org, PASSWORD))


@pytest.fixture(scope="session")
def pages_db(services: Settings, sample_files: object) -> Iterator[Settings]:
    """The sample campus, the layers tests' users and a parent; tests that write make their own rows."""

    def extras(conn: Connection) -> None:
        _add_sibling_and_users(conn)
        _parent(conn)
        _regions(conn)
        conn.execute(text("ANALYZE"))

    with sample_database(services, sample_files, extras) as settings:
        yield settings.model_copy(update={"live": LiveSettings(ingest=False, escalate_every_s=3600)})


@pytest.fixture(scope="session")
def pages_server(pages_db: Settings) -> Iterator[str]:
    import uvicorn

    from twin.api import create_app

    port = free_port()
    config = uvicorn.Config(create_app(pages_db), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Package scope, not session: the sync Playwright API runs an event loop in this thread while open,
    # and later tests that call asyncio.run (the CLI tests) must not find it running.
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    page: Page
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def clean(self, *expected_statuses: int) -> None:
        """No console error and nothing fetched from another host.

        Chromium logs every 4xx answer as a console error; a test names the statuses it provoked on
        purpose (a 412 conflict, the 404 of a part not deployed yet).
        """
        assert self.outside == [], f"requests left 127.0.0.1: {self.outside}"
        expected = tuple(f"status of {status} " for status in expected_statuses)
        errors = [
            e
            for e in self.errors
            if not (e.startswith("Failed to load resource") and any(s in e for s in expected))
        ]
        assert errors == [], f"console errors: {errors}"


@pytest.fixture
def visit(browser: Browser, pages_server: str) -> Iterator[Callable[..., Visit]]:
    contexts: list[Any] = []

    def open_page(user: str, page_name: str, width: int = 1280, height: int = 800) -> Visit:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page)
        page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: seen.errors.append(str(e)))

        def guard(route: Route) -> None:
            if route.request.url.startswith(pages_server) or route.request.url.startswith("ws://127.0.0.1"):
                route.continue_()
            else:
                seen.outside.append(route.request.url)
                route.abort()

        page.route("**/*", guard)
        page.goto(f"{pages_server}/ui/{page_name}")
        page.fill("#login input[name=username]", user)
        page.fill("#login input[name=password]", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_selector("#login", state="hidden")
        return seen

    yield open_page
    for context in contexts:
        context.close()
