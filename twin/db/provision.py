"""Make the database exist: start the private cluster when no URL is given, create the database."""

from __future__ import annotations

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from twin.broker import PrivateBroker
from twin.config import Settings
from twin.db.cluster import Cluster


def private_cluster(settings: Settings) -> Cluster:
    return Cluster(settings.paths.pg_dir / "data", settings.db.private_port)


def private_broker(settings: Settings) -> PrivateBroker:
    return PrivateBroker(settings.paths.mqtt_dir, settings.broker.private_port)


def services_up(settings: Settings) -> None:
    """Start whichever private services are not replaced by a URL, and create the database."""
    if settings.db.is_private:
        private_cluster(settings).start()
    if settings.broker.is_private:
        private_broker(settings).start()
    ensure_database(settings)


def services_down(settings: Settings) -> None:
    if settings.broker.is_private:
        private_broker(settings).stop()
    if settings.db.is_private:
        private_cluster(settings).stop()


def libpq_dsn(url: str, database: str | None = None) -> str:
    """A libpq connection string from a SQLAlchemy URL (optionally for another database)."""
    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


def ensure_database(settings: Settings) -> None:
    """Create the configured database if the server lacks it (the server itself must be up)."""
    url = settings.db.sync_url()
    name = make_url(url).database
    if not name:
        raise ValueError("DATABASE_URL names no database")
    with psycopg.connect(libpq_dsn(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
