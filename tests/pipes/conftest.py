"""The sample campus LY01 plus a sibling school's campus SB01 with a water pipe of its own, and users.

`pipes_db` is read-only for tests (a test that writes clones it); `client` and `login` as in tests/layers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, text

from tests.conftest import sample_database
from tests.layers.conftest import PASSWORD, SIBLING, _add_sibling_and_users
from tests.signing import signed_in
from twin.api import create_app
from twin.config import Settings

SIBLING_CAMPUS = "SB01"

SIBLING_NETWORK = """
INSERT INTO campuses (org_path, school_id, code, name, metric_srid, boundary)
  SELECT path, id, 'SB01', 'sibling campus SIBLINGLEAK', 4546,
         ST_Multi(ST_MakeEnvelope(112.50, 34.60, 112.51, 34.61, 4326)) FROM org_units WHERE code = :school;
INSERT INTO pipe_nodes (org_path, campus_id, utility, code, kind, geom)
  SELECT c.org_path, c.id, 'water', v.code, v.kind, ST_SetSRID(ST_MakePoint(v.x, 34.605), 4326)
  FROM campuses c, (VALUES ('SB-N1', 'source', 112.501), ('SB-N2', 'junction', 112.502)) v(code, kind, x)
  WHERE c.code = 'SB01';
INSERT INTO pipe_segments (org_path, campus_id, utility, code, start_node_id, end_node_id, start_depth_m,
                           end_depth_m, depth_ref, diameter_mm, geom)
  SELECT c.org_path, c.id, 'water', 'SB-P1', a.id, b.id, 1.2, 1.2, 'top', 100, ST_MakeLine(a.geom, b.geom)
  FROM campuses c JOIN pipe_nodes a ON a.code = 'SB-N1' JOIN pipe_nodes b ON b.code = 'SB-N2'
  WHERE c.code = 'SB01';
"""


@pytest.fixture(scope="session")
def pipes_db(services: Settings, sample_files: object) -> Iterator[Settings]:
    def sibling_network(conn: Connection) -> None:
        _add_sibling_and_users(conn)
        for statement in SIBLING_NETWORK.split(";"):
            if statement.strip():
                conn.execute(text(statement), {"school": SIBLING})
        conn.execute(text("ANALYZE"))

    with sample_database(services, sample_files, sibling_network) as settings:
        yield settings


@pytest.fixture(scope="session")
def db(pipes_db: Settings) -> Iterator[Connection]:
    """A plain (superuser) connection to look up ids the tests send."""
    engine = create_engine(pipes_db.db.sync_url())
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.fixture(scope="module")
def client(pipes_db: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(pipes_db)) as c:
        yield c


@pytest.fixture(scope="module")
def login(client: TestClient) -> Callable[[str], dict[str, str]]:
    return signed_in(client, PASSWORD)
