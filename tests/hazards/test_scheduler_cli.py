"""`twin scheduler run-once` for cron: fires what is due at the time given, once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.hazards.conftest import Login, move, person_of, reported
from twin.cli import app
from twin.config import Settings, get_settings

runner = CliRunner()


@pytest.fixture
def env(loop_db: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv(
        "DATABASE_URL", f"postgresql://postgres@127.0.0.1:{loop_db.db.private_port}/{loop_db.db.name}"
    )
    monkeypatch.setenv("MQTT_URL", loop_db.broker.effective_url())
    get_settings.cache_clear()
    yield loop_db
    get_settings.cache_clear()


def test_run_once_fires_the_steps_due_at_the_given_time(
    client: TestClient, login: Login, env: Settings
) -> None:
    hazard = reported(client, login)
    move(client, login, hazard["id"], "officer", "confirmed", grade="general")
    move(client, login, hazard["id"], "officer", "assigned", responsible_person_id=person_of(env, "crew"))
    before = runner.invoke(app, ["scheduler", "run-once", "--at", "2026-10-15T17:59:59+08:00"])
    assert before.exit_code == 0, before.output
    assert before.output.startswith("0 notifications")
    due = runner.invoke(app, ["scheduler", "run-once", "--at", "2026-10-15T18:00:00+08:00"])
    assert due.output.startswith("1 notifications")
    again = runner.invoke(app, ["scheduler", "run-once", "--at", "2026-10-15T18:00:00+08:00"])
    assert again.output.startswith("0 notifications")


def test_run_once_refuses_a_time_without_a_zone(env: Settings) -> None:
    result = runner.invoke(app, ["scheduler", "run-once", "--at", "2026-10-15T18:00"])
    assert result.exit_code == 2 and "time zone" in result.output


def test_inspections_generate_for_cron_is_idempotent(env: Settings) -> None:
    first = runner.invoke(app, ["inspections", "generate", "--from", "2026-12-07", "--to", "2026-12-13"])
    assert first.exit_code == 0, first.output
    assert int(first.output.split()[0]) > 0
    again = runner.invoke(app, ["inspections", "generate", "--from", "2026-12-07", "--to", "2026-12-13"])
    assert again.output.startswith("0 inspection tasks")
    bad = runner.invoke(app, ["inspections", "generate", "--from", "2026-12-13", "--to", "2026-12-07"])
    assert bad.exit_code == 2
