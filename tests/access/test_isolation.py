"""Every route, every role, every sibling: nobody reads or writes outside their jurisdiction.

The route list comes from the app's own OpenAPI document (every API route is in it), so a route added
later is probed without editing this file;
a path parameter this file does not know yet makes the probe fail until a value for it is added.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import morecantile
import pytest
from fastapi.testclient import TestClient

from tests.access import world as w
from twin.access.roles import Role
from twin.api import create_app
from twin.config import Settings

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/"),
    ("GET", "/conformance"),
    ("GET", "/api"),
    ("GET", "/docs"),
    ("POST", "/auth/token"),
    ("POST", "/auth/refresh"),
    ("GET", "/tileMatrixSets"),
    ("GET", "/tileMatrixSets/{tms}"),
    ("GET", "/styles/campus/style.json"),
    # A bus terminal's OsmAnd fix: the registered device id is its credential (as in Traccar); a fix for
    # another school's bus is not a read, and an unknown id is refused.
    ("GET", "/osmand"),
    ("POST", "/osmand"),
}
# Path parameters that choose a map window or a catalogue entry, not somebody's object: a tile over the
# sibling's campus is answered (empty for the caller), and the leak check is what guards it.
WINDOW_PARAMETERS = {"collection_id", "tms", "z", "x", "y", "topic"}
ADMIN_ONLY_PREFIXES = ("/users", "/audit")
LEAKS = (w.MARK["B"], w.MARK["C"])


def api_routes() -> Iterator[tuple[str, str]]:
    for path, operations in create_app(Settings()).openapi()["paths"].items():
        for method in operations:
            yield method.upper(), path


ROUTES = sorted(set(api_routes()))
PRIVATE = [r for r in ROUTES if r not in PUBLIC]


def target_tile(target: str) -> morecantile.Tile:
    """The z17 Web Mercator tile of the school's building (see world.py)."""
    lon = 112.40 + 0.02 * list(w.MARK).index(target) + 0.00525
    return morecantile.tms.get("WebMercatorQuad").tile(lon, 34.60525, 17)


def fill(path: str, world: w.World, target: str) -> str:
    """Path parameters pointing at the sibling school's objects."""
    values: dict[str, Callable[[], object]] = {
        "user_id": lambda: world.users[f"{target}.leader"],
        "alert_id": lambda: world.alerts[target],
        "vehicle_id": lambda: world.vehicles[f"{target}.1"],
        "campus_id": lambda: world.campuses[target],
        "collection_id": lambda: "buildings",
        "fid": lambda: world.buildings[target],
        "plan_id": lambda: world.plans[target],
        "campus": lambda: f"C{target}",
        "layer": lambda: "buildings",
        "part": lambda: "trench",
        "version": lambda: 1,
        "org_code": lambda: w.SCHOOLS[target][0],
        "hazard_id": lambda: world.hazards[target],
        "incident_id": lambda: world.incidents[target],
        "sha256": lambda: world.photos[target],
        "notification_id": lambda: world.notifications[target],
        "inspection_id": lambda: world.inspections[target],
        "tms": lambda: "WebMercatorQuad",
        "topic": lambda: "hazards",
        "z": lambda: target_tile(target).z,
        "x": lambda: target_tile(target).x,
        "y": lambda: target_tile(target).y,
    }

    for name in re.findall(r"{(\w+)}", path):
        assert name in values, f"add a value for path parameter {name!r} of {path} to this probe"
        path = path.replace(f"{{{name}}}", str(values[name]()))
    return path


@pytest.mark.parametrize(("method", "path"), PRIVATE)
def test_every_private_route_needs_a_token(
    client: TestClient, world: w.World, method: str, path: str
) -> None:
    response = client.request(method, fill(path, world, "A"))
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), PRIVATE)
@pytest.mark.parametrize("role", list(Role))
def test_no_route_shows_a_sibling_schools_data(
    client: TestClient, world: w.World, login, method: str, path: str, role: Role
) -> None:  # type: ignore[no-untyped-def]
    response = client.request(method, fill(path, world, "B"), headers=login(f"{role.value}_A"), json={})
    assert response.status_code < 500, response.text
    for leak in LEAKS:
        assert leak not in response.text
    if "{" in path and not set(re.findall(r"{(\w+)}", path)) <= WINDOW_PARAMETERS:
        # Someone else's object: as if it did not exist (404), or refused outright for the role (403).
        assert response.status_code in {403, 404, 422}
    if path.startswith(ADMIN_ONLY_PREFIXES) and role is not Role.admin:
        assert response.status_code == 403


def plates(client: TestClient, headers: dict[str, str]) -> set[str]:
    response = client.get("/live/buses", headers=headers)
    assert response.status_code == 200
    return {bus["plate"] for bus in response.json()}


def test_each_level_sees_its_own_subtree(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    a, b, c = ({f"{w.MARK[k]}-1", f"{w.MARK[k]}-2"} for k in "ABC")
    assert plates(client, login("leader_A")) == a
    assert plates(client, login("leader_410311")) == a | b  # the county sees both of its schools
    assert plates(client, login("admin_410305")) == c  # the next county sees only its own
    assert plates(client, login("analyst_410300")) == a | b | c  # the city sees all three
    assert plates(client, login("analyst_410000")) == a | b | c


def test_a_parent_sees_only_their_own_childs_bus(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    buses = client.get("/live/buses", headers=login("parent_A")).json()
    assert [bus["plate"] for bus in buses] == [f"{w.MARK['A']}-1"]  # not route 2's bus of the same school
    assert buses[0]["lon"] is not None and buses[0]["time"] is not None


def test_admin_lists_users_of_its_subtree_only(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    school_admin = {u["username"] for u in client.get("/users", headers=login("admin_A")).json()}
    county_admin = {u["username"] for u in client.get("/users", headers=login("admin_410311")).json()}
    assert school_admin == {f"{r.value}_A" for r in Role}
    assert county_admin >= school_admin | {f"{r.value}_B" for r in Role} | {"admin_410311", "leader_410311"}
    assert not any(name.endswith("_C") or name.endswith("410305") for name in county_admin)


def test_admin_cannot_create_users_outside_its_subtree(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    body = {"username": "intruder", "role": "leader", "org_code": "4103110002", "password": w.PASSWORD}
    response = client.post("/users", headers=login("admin_A"), json=body)
    assert response.status_code == 403
    assert "outside your jurisdiction" in response.json()["detail"]
    inside = client.post(
        "/users", headers=login("admin_A"), json={**body, "username": "newcomer", "org_code": "4103110001"}
    )
    assert inside.status_code == 201
