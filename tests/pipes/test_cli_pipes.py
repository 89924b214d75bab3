"""The operator's path: `twin load water.inp --campus C1 --crs EPSG:4546`, then `twin pipes check`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tests.db.test_migrations import CAMPUS, SCHOOL
from twin.cli import app
from twin.config import Settings, get_settings

runner = CliRunner()


@pytest.fixture
def env(fresh_db: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    url = f"postgresql://postgres@127.0.0.1:{fresh_db.db.private_port}/{fresh_db.db.name}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MQTT_URL", fresh_db.broker.effective_url())
    monkeypatch.setenv("TWIN_DATA_DIR", str(fresh_db.paths.data_dir))
    engine = create_engine(fresh_db.db.sync_url())
    with engine.begin() as conn:
        conn.execute(text(SCHOOL))
        conn.execute(text(CAMPUS))
    engine.dispose()
    get_settings.cache_clear()
    yield fresh_db
    get_settings.cache_clear()


def test_load_an_epanet_model_then_check_its_topology(env: Settings, sample_files: Any) -> None:
    loaded = runner.invoke(app, ["load", str(sample_files.inp), "--campus", "C1", "--crs", "EPSG:4546"])
    assert loaded.exit_code == 0, loaded.output
    assert "pipe_segments" in loaded.output
    checked = runner.invoke(app, ["pipes", "check", "--campus", "C1"], terminal_width=200)
    assert checked.exit_code == 0, checked.output
    water = next(line for line in checked.output.splitlines() if "water" in line).split("│")
    cells = [c.strip() for c in water if c.strip()]
    assert cells[:4] == ["water", "87", "93", "1"]  # nodes, pipes, one connected part (closed pipes too)
    assert cells[6].startswith("93:")  # every pipe lacks depths: .inp has none, and the check says so
    assert cells[-1] == "no"


def test_inp_without_crs_fails_with_one_line(env: Settings, sample_files: Any) -> None:
    result = runner.invoke(app, ["load", str(sample_files.inp), "--campus", "C1"])
    assert result.exit_code == 2
    assert "--crs" in result.output


def test_check_of_an_unknown_campus_fails_with_one_line(env: Settings) -> None:
    result = runner.invoke(app, ["pipes", "check", "--campus", "NOPE"])
    assert result.exit_code == 2
    assert "no campus 'NOPE'" in result.output
