"""Session fixtures: a real private PostGIS and Mosquitto on free ports, started once per test run.

Each test that writes gets its own database cloned from a migrated template, so tests never see each
other's rows and no mock stands in for the database.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Connection

from twin.broker import PrivateBroker
from twin.config import (
    ROOT,
    BrokerSettings,
    DatabaseSettings,
    HazardSettings,
    LiveSettings,
    PathSettings,
    Settings,
)
from twin.db import migrate
from twin.db.cluster import Cluster
from twin.db.provision import libpq_dsn, services_down, services_up
from twin.services import free_port

# One test process builds hundreds of apps: freezing each one's startup heap would pin its leftovers.
os.environ["TWIN_FREEZE_HEAP"] = "false"

TEMPLATE_DB = "twin_template"


@pytest.fixture(scope="session")
def services() -> Iterator[Settings]:
    """Private PostGIS and Mosquitto under var/test, migrated template database ready."""
    # One directory per test run, so runs in parallel (several developers, CI) never share a cluster.
    data_dir = ROOT / "var" / "test" / str(os.getpid())
    _remove_abandoned(data_dir.parent)
    settings = Settings(
        paths=PathSettings(data_dir=data_dir),
        db=DatabaseSettings(url=None, private_port=free_port(), name=TEMPLATE_DB),
        broker=BrokerSettings(url=None, private_port=free_port()),
        # No escalation scheduler in the background of a test; tests drive run_due with their own clock.
        hazards=HazardSettings(scheduler_interval_s=0),
        # Apps under test take no MQTT messages unless a test starts a worker: tests share one broker.
        live=LiveSettings(ingest=False, sse_max_s=1.0),
    )
    services_up(settings)
    migrate.upgrade(settings.db)
    try:
        yield settings
    finally:
        services_down(settings)
        shutil.rmtree(data_dir, ignore_errors=True)


def _remove_abandoned(parent: Path) -> None:
    """Directories of earlier runs whose process is gone (killed before it could clean up)."""
    for child in parent.glob("*") if parent.exists() else []:
        if child.name.isdigit() and not Path(f"/proc/{child.name}").exists():
            Cluster(child / "pg" / "data", 0).stop()
            PrivateBroker(child / "mosquitto", 0).stop()
            shutil.rmtree(child, ignore_errors=True)


def database_settings(base: Settings, name: str) -> Settings:
    return base.model_copy(update={"db": base.db.model_copy(update={"name": name})})


def admin_dsn(settings: Settings) -> str:
    return libpq_dsn(settings.db.sync_url(), "postgres")


def clone_database(settings: Settings, template: str) -> Settings:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn(settings), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        )
    return database_settings(settings, name)


def drop_database(settings: Settings) -> None:
    with psycopg.connect(admin_dsn(settings), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(settings.db.name))
        )


@pytest.fixture
def fresh_db(services: Settings) -> Iterator[Settings]:
    """A migrated, empty database of this test's own."""
    settings = clone_database(services, TEMPLATE_DB)
    try:
        yield settings
    finally:
        drop_database(settings)


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> object:
    from twin.samples import build_sample

    return build_sample(tmp_path_factory.mktemp("sample"))


@contextmanager
def sample_database(
    services: Settings, files: object, then: Callable[[Connection], None] | None = None
) -> Iterator[Settings]:
    """A database of its own with the sample campus loaded (and `then` run on it), dropped afterwards."""
    from twin.db.engine import sync_engine
    from twin.samples.loading import load_sample

    settings = clone_database(services, TEMPLATE_DB)
    engine = sync_engine(settings.db)
    try:
        load_sample(engine, files, paths=settings.paths)  # type: ignore[arg-type]
        if then is not None:
            with engine.begin() as conn:
                then(conn)
    finally:
        engine.dispose()
    try:
        yield settings
    finally:
        drop_database(settings)


@pytest.fixture(scope="session")
def sample_db(services: Settings, sample_files: object) -> Iterator[Settings]:
    """A database with the sample campus loaded; tests must only read it."""
    with sample_database(services, sample_files) as settings:
        yield settings
