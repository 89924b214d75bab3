"""schemathesis over the whole OpenAPI document, signed in as each role: no server error, only problem+json.

A bounded run here (TWIN_FUZZ_EXAMPLES cases per operation, role and mode; default 1); `make fuzz` runs
the large one (≥ 10,000 cases) and prints the tally.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis.python import asgi

from tests.access import world as w
from tests.reliability.fuzz import fuzz
from twin.access.roles import Role
from twin.access.users import NewUser, add_user
from twin.api import create_app
from twin.config import AuthSettings, Settings
from twin.db.engine import sync_engine

EXAMPLES = int(os.environ.get("TWIN_FUZZ_EXAMPLES", "1"))
# "i/n": this process takes every n-th operation from the i-th (`make fuzz` runs n such processes)
SHARD = tuple(int(p) for p in os.environ.get("TWIN_FUZZ_SHARD", "0/1").split("/"))
PROGRESS = os.environ.get("TWIN_FUZZ_PROGRESS")


@pytest.fixture(scope="module")
def app_under_fuzz(world_db: tuple[Settings, w.World]) -> Iterator[object]:
    # Tokens that outlive a long run: past 15 minutes every role would otherwise fuzz as a stranger (401).
    settings = world_db[0].model_copy(update={"auth": AuthSettings(access_ttl_s=6 * 3600)})
    app = create_app(settings)
    yield app
    asgi.shutdown_lifespans()  # before the module's database is dropped under it


def known_objects(world: w.World, settings: Settings) -> dict[str, object]:
    """Path parameters naming real objects of school A, where every role below signs in."""
    engine = sync_engine(settings.db)
    with engine.begin() as conn:  # a user the fuzzer may disable at will, so no one it signs in as
        spare = add_user(conn, NewUser("spare_A", Role.leader, w.SCHOOLS["A"][0], w.PASSWORD))
    engine.dispose()
    return {
        "user_id": spare,
        "alert_id": world.alerts["A"],
        "vehicle_id": world.vehicles["A.1"],
        "collection_id": "buildings",
        "fid": world.buildings["A"],
        # no plan_id: the world's plan rows are stubs for the isolation probe, not plans the app made
        "campus": "CA",
        "layer": "buildings",
        "part": "trench",
        "version": 1,
        "org_code": w.SCHOOLS["A"][0],
        "hazard_id": world.hazards["A"],
        "sha256": world.photos["A"],
        "notification_id": world.notifications["A"],
        "inspection_id": world.inspections["A"],
        "tms": "WebMercatorQuad",
        "topic": "hazards",
    }


def test_no_generated_request_gets_a_server_error(
    app_under_fuzz: object, world_db: tuple[Settings, w.World]
) -> None:
    settings, world = world_db
    schema = schemathesis.openapi.from_asgi("/api", app_under_fuzz)
    known = known_objects(world, settings)
    headers = {"anonymous": {}}
    with asgi.get_client(app_under_fuzz) as client:  # type: ignore[arg-type]
        for role in Role:
            response = client.post(
                "/auth/token", data={"username": f"{role.value}_A", "password": w.PASSWORD}
            )
            assert response.status_code == 200, response.text
            headers[role.value] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    operations = len(list(schema.get_all_operations()))
    progress = Path(PROGRESS) if PROGRESS else None
    tally = fuzz(schema, headers, known, EXAMPLES, (SHARD[0], SHARD[1]), progress)
    print(tally.report())
    assert not tally.failures, tally.report()
    # Every operation of this shard was reached, as every caller (some have a single possible case).
    assert tally.cases >= len(headers) * (operations // SHARD[1]) * EXAMPLES
