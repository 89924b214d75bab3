"""Given DATABASE_URL and MQTT_URL, twin uses those servers and starts nothing of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from twin.api import create_app
from twin.config import BrokerSettings, DatabaseSettings, PathSettings, Settings
from twin.db import migrate
from twin.db.provision import libpq_dsn, services_up
from twin.services import port_open

SYSTEM_PG = "postgresql://postgres@127.0.0.1:5432"
SYSTEM_MQTT = "mqtt://127.0.0.1:1883"

pytestmark = pytest.mark.skipif(
    not (port_open(5432) and port_open(1883)),
    reason="no PostgreSQL on 5432 and Mosquitto on 1883 to give by URL on this machine",
)


@pytest.fixture
def url_settings(tmp_path: Path) -> Iterator[Settings]:
    name = f"twin_url_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        paths=PathSettings(data_dir=tmp_path / "var"),
        db=DatabaseSettings(url=f"{SYSTEM_PG}/{name}"),
        broker=BrokerSettings(url=SYSTEM_MQTT),
    )
    yield settings
    with psycopg.connect(libpq_dsn(settings.db.sync_url(), "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_urls_replace_the_private_services(url_settings: Settings) -> None:
    services_up(url_settings)
    assert not (url_settings.paths.data_dir / "pg").exists()
    assert not (url_settings.paths.data_dir / "mosquitto").exists()

    migrate.upgrade(url_settings.db)
    with TestClient(create_app(url_settings)) as client:
        body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["schema_revision"] == migrate.current(url_settings.db)


def test_environment_variables_select_the_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"{SYSTEM_PG}/somewhere")
    monkeypatch.setenv("MQTT_URL", SYSTEM_MQTT)
    settings = Settings()
    assert settings.db.sync_url() == "postgresql+psycopg://postgres@127.0.0.1:5432/somewhere"
    assert settings.db.async_url().startswith("postgresql+asyncpg://")
    assert settings.broker.effective_url() == SYSTEM_MQTT
    assert not settings.db.is_private and not settings.broker.is_private
