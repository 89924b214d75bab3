"""Peer servers for side-by-side runs: tipg and pygeoapi, each in a virtual environment of its own under
var/bench (their pins clash with ours), started against the same database with one worker each."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from twin.config import ROOT, Settings
from twin.services import wait_for_port

BENCH_DIR = ROOT / "var" / "bench"
PEERS = {
    "tipg": ["tipg==1.6.1", "uvicorn==0.54.0"],
    "pygeoapi": [
        "pygeoapi==0.21.0",
        "psycopg2-binary==2.9.13",
        "SQLAlchemy==2.0.58",
        "GeoAlchemy2==0.20.0",  # its PostgreSQL provider imports it without declaring it
        "uvicorn==0.54.0",
        "starlette==0.46.2",
    ],
}
POOL = 10


@dataclass(frozen=True)
class Server:
    name: str
    base: str
    headers: dict[str, str]


def venv(name: str) -> Path:
    """The peer's virtual environment, created on first use."""
    path = BENCH_DIR / f"venv-{name}"
    if not (path / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    marker = path / ".installed"
    if not marker.exists() or marker.read_text() != " ".join(PEERS[name]):
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", *PEERS[name]], check=True)
        marker.write_text(" ".join(PEERS[name]))
    return path


@contextmanager
def serve(argv: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("w") as out:
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, 60, what=argv[0])
            time.sleep(0.5)
            yield
        finally:
            proc.terminate()
            proc.wait(10)


def uvicorn(binary: str, app: str, port: int, *extra: str) -> list[str]:
    """One worker on loopback, quiet: the same for every server in a run."""
    return [binary, app, *extra, "--port", str(port), "--workers", "1", "--log-level", "warning"]


def db_env(settings: Settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.db.sync_url().replace("postgresql+psycopg://", "postgresql://")}


@contextmanager
def ours(settings: Settings, port: int, token: str) -> Iterator[Server]:
    env = {
        **db_env(settings),
        "TWIN_DB_POOL_SIZE": str(POOL),
        "TWIN_DATA_DIR": str(settings.paths.data_dir),
        "MQTT_URL": settings.broker.effective_url(),
    }
    argv = uvicorn(str(Path(sys.executable).parent / "uvicorn"), "twin.api.app:create_app", port, "--factory")
    with serve(argv, port, env, BENCH_DIR / "ours.log"):
        yield Server("campus-twin", f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"})


@contextmanager
def tipg(settings: Settings, port: int) -> Iterator[Server]:
    env = {
        **db_env(settings),
        "DB_MIN_CONN_SIZE": str(POOL),
        "DB_MAX_CONN_SIZE": str(POOL),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_EXCLUDE_TABLE_SCHEMAS": "[]",
    }
    argv = uvicorn(str(venv("tipg") / "bin" / "uvicorn"), "tipg.main:app", port)
    with serve(argv, port, env, BENCH_DIR / "tipg.log"):
        yield Server("tipg", f"http://127.0.0.1:{port}", {})


PYGEOAPI_CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 10, max_items: 10000}}
  map: {{url: 'http://127.0.0.1/{{z}}/{{x}}/{{y}}.png', attribution: none}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme,
                    terms_of_service: none, url: 'http://127.0.0.1'}}
  license: {{name: none, url: 'http://127.0.0.1'}}
  provider: {{name: none, url: 'http://127.0.0.1'}}
  contact: {{name: none}}
resources:
{resources}
"""
PYGEOAPI_RESOURCE = """
  {table}:
    type: collection
    title: {table}
    description: {table}
    keywords: [{table}]
    extents: {{spatial: {{bbox: [-180, -90, 180, 90], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}}}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: {host}, port: {dbport}, dbname: {db}, user: {user}, password: '',
                search_path: [public]}}
        id_field: id
        table: {table}
        geom_field: {geom}
        storage_crs: {storage_crs}
"""


def storage_crs(table: str) -> str:
    """pygeoapi must be told a table's CRS when it is not CRS84 (the bench's `_cgcs2000` copies)."""
    if table.endswith("_cgcs2000"):
        return "http://www.opengis.net/def/crs/EPSG/0/4490"
    return "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@contextmanager
def pygeoapi(settings: Settings, port: int, tables: dict[str, str]) -> Iterator[Server]:
    from sqlalchemy.engine import make_url

    url = make_url(settings.db.sync_url())
    resources = "".join(
        PYGEOAPI_RESOURCE.format(
            table=t,
            geom=g,
            host=url.host,
            dbport=url.port,
            db=url.database,
            user=url.username,
            storage_crs=storage_crs(t),
        )
        for t, g in tables.items()
    )
    config = BENCH_DIR / "pygeoapi.yml"
    config.write_text(PYGEOAPI_CONFIG.format(port=port, resources=resources))
    openapi = BENCH_DIR / "pygeoapi-openapi.yml"
    bin_dir = venv("pygeoapi") / "bin"
    subprocess.run(
        [str(bin_dir / "pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYGEOAPI_CONFIG": str(config)},
    )
    env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    argv = uvicorn(str(bin_dir / "uvicorn"), "pygeoapi.starlette_app:APP", port)
    with serve(argv, port, env, BENCH_DIR / "pygeoapi.log"):
        yield Server("pygeoapi", f"http://127.0.0.1:{port}", {})


def check(server: Server, path: str) -> None:
    response = httpx.get(server.base + path, headers=server.headers, timeout=30)
    response.raise_for_status()
