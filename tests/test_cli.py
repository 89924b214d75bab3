"""The `twin` command as an operator uses it: clear one-line errors, exit codes, nothing half done."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.ingest import deliveries as d
from twin.cli import app
from twin.config import Settings, get_settings

runner = CliRunner()


@pytest.fixture
def env(fresh_db: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    url = f"postgresql://postgres@127.0.0.1:{fresh_db.db.private_port}/{fresh_db.db.name}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MQTT_URL", fresh_db.broker.effective_url())
    monkeypatch.setenv("TWIN_DATA_DIR", str(fresh_db.paths.data_dir))
    get_settings.cache_clear()
    yield fresh_db
    get_settings.cache_clear()


def test_load_a_delivery_then_add_and_disable_a_user(env: Settings, tmp_path: Path) -> None:
    loaded = runner.invoke(app, ["load", str(d.org_and_campus(tmp_path / "org.gpkg"))])
    assert loaded.exit_code == 0, loaded.output
    added = runner.invoke(
        app,
        ["user", "add", "ops", "--role", "admin", "--org", "410311", "--password-stdin"],
        input="operator-pass-9\n",
    )
    assert added.exit_code == 0, added.output
    assert "created" in added.output
    again = runner.invoke(
        app,
        ["user", "add", "ops", "--role", "admin", "--org", "410311", "--password-stdin"],
        input="operator-pass-9\n",
    )
    assert again.exit_code == 2 and "already exists" in again.output
    disabled = runner.invoke(app, ["user", "disable", "ops"])
    assert disabled.exit_code == 0


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["user", "add", "x", "--role", "janitor", "--org", "410311", "--password-stdin"],
            "long-enough-1\n",
            "unknown role 'janitor'",
        ),
        (
            ["user", "add", "x", "--role", "leader", "--org", "999999", "--password-stdin"],
            "long-enough-1\n",
            "no org unit with code '999999'",
        ),
        (
            ["user", "add", "x", "--role", "leader", "--org", "410311", "--password-stdin"],
            "short\n",
            "at least 10 characters",
        ),
        (["load", "/no/such/file.gpkg"], "", "does not exist"),
    ],
)
def test_refusals_are_one_line_with_exit_code_2(
    env: Settings, args: list[str], stdin: str, message: str
) -> None:
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_sample_province_builds_schools_a_day_of_bus_fixes_and_says_where_the_time_went(
    env: Settings,
) -> None:
    import psycopg

    from twin.db.provision import libpq_dsn

    result = runner.invoke(app, ["sample", "province", "--schools", "2", "--buses", "3", "--timings"])
    assert result.exit_code == 0, result.output
    assert "1,440 bus positions on 2026-11-20" in result.output  # 3 buses x 480 fixes
    assert "copy:risk_points" in result.output and "finish" in result.output
    # Not a terminal: progress as plain lines a log keeps, not a bar drawn only at the end.
    assert "schools: 2/2 (100.0%)" in result.output and "buses' fixes: 3/3 (100.0%)" in result.output
    with psycopg.connect(libpq_dsn(env.db.sync_url())) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM campuses), (SELECT count(DISTINCT vehicle_id) FROM positions),"
            " (SELECT sum(points) FROM stats_risks WHERE NOT county), (SELECT count(*) FROM risk_points)"
        ).fetchone()
    assert counts is not None and counts[:2] == (2, 3) and counts[2] == counts[3] > 0
