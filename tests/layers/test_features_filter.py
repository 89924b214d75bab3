"""OGC API Features Part 3: CQL2 text and JSON filters, datetime, and what an injection attempt gets."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

import psycopg
from fastapi.testclient import TestClient

from twin.config import Settings
from twin.db.provision import libpq_dsn

Login = Callable[[str], dict[str, str]]
ITEMS = "/collections/buildings/items?limit=100"
LABS = "use = 'laboratory'"


def features(client: TestClient, headers: dict[str, str], url: str) -> list[dict]:  # type: ignore[type-arg]
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["features"]  # type: ignore[no-any-return]


def test_cql2_text_combines_comparisons(layers_client: TestClient, login: Login) -> None:
    cql = quote("use = 'laboratory' AND floors > 2")
    found = features(layers_client, login("leader"), f"{ITEMS}&filter={cql}")
    assert found and all(
        f["properties"]["use"] == "laboratory" and f["properties"]["floors"] > 2 for f in found
    )
    labs = features(layers_client, login("leader"), f"{ITEMS}&filter={quote(LABS)}")
    assert len(labs) == 2 and 0 < len(found) <= len(labs)


def test_cql2_text_like_in_between_and_casei(layers_client: TestClient, login: Login) -> None:
    headers = login("leader")
    cql = "use IN ('dormitory','canteen') AND floors BETWEEN 1 AND 6 AND CASEI(code) LIKE 'b%'"
    found = features(layers_client, headers, f"{ITEMS}&filter={quote(cql)}")
    assert len(found) == 6
    assert all(f["properties"]["code"].startswith("B") for f in found)


def test_cql2_json_is_the_same_filter(layers_client: TestClient, login: Login) -> None:
    cql = {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "use"}, "laboratory"]},
            {"op": ">", "args": [{"property": "floors"}, 2]},
        ],
    }
    as_json = features(
        layers_client, login("leader"), f"{ITEMS}&filter-lang=cql2-json&filter={quote(json.dumps(cql))}"
    )
    as_text = features(layers_client, login("leader"), f"{ITEMS}&filter={quote(LABS + ' AND floors > 2')}")
    assert [f["id"] for f in as_json] == [f["id"] for f in as_text] and as_json


def test_s_intersects_with_a_polygon(layers_client: TestClient, login: Login) -> None:
    poly = "POLYGON((112.448 34.618,112.4495 34.618,112.4495 34.6195,112.448 34.6195,112.448 34.618))"
    found = features(
        layers_client, login("leader"), f"{ITEMS}&filter={quote(f'S_INTERSECTS(geometry,{poly})')}"
    )
    by_bbox = features(layers_client, login("leader"), f"{ITEMS}&bbox=112.448,34.618,112.4495,34.6195")
    assert found and [f["id"] for f in found] == [f["id"] for f in by_bbox]
    # the same polygon in EPSG:4326 axis order, said with filter-crs
    swapped = "POLYGON((34.618 112.448,34.618 112.4495,34.6195 112.4495,34.6195 112.448,34.618 112.448))"
    url = f"{ITEMS}&filter-crs=EPSG:4326&filter={quote(f'S_INTERSECTS(geom,{swapped})')}"
    assert [f["id"] for f in features(layers_client, login("leader"), url)] == [f["id"] for f in found]


def test_cql2_json_spatial_and_temporal(layers_client: TestClient, login: Login) -> None:
    cql = {
        "op": "s_intersects",
        "args": [
            {"property": "geometry"},
            {
                "type": "Polygon",
                "coordinates": [[[112.44, 34.61], [112.46, 34.61], [112.46, 34.63], [112.44, 34.61]]],
            },
        ],
    }
    found = features(
        layers_client,
        login("officer"),
        f"/collections/hazards/items?limit=100&filter-lang=cql2-json&filter={quote(json.dumps(cql))}",
    )
    assert found
    after = {"op": "t_after", "args": [{"property": "found_at"}, {"timestamp": "2026-06-01T00:00:00Z"}]}
    late = features(
        layers_client,
        login("officer"),
        f"/collections/hazards/items?limit=100&filter-lang=cql2-json&filter={quote(json.dumps(after))}",
    )
    assert late and all(f["properties"]["found_at"] > "2026-06-01" for f in late)


def test_filter_mistakes_are_400s_naming_them(layers_client: TestClient, login: Login) -> None:
    headers = login("leader")
    for cql, named in (
        ("colour = 'red'", "colour"),
        ("floors = 'three'", "three"),
        ("name > 3", "name"),
        ("org_path = 'x'", "org_path"),
        ("name = ", "cql2-text"),
        ("S_INTERSECTS(name, POINT(1 2))", "name"),
    ):
        response = layers_client.get(f"{ITEMS}&filter={quote(cql)}", headers=headers)
        assert response.status_code == 400, cql
        assert named in response.json()["detail"], response.json()["detail"]
    bad_lang = layers_client.get(f"{ITEMS}&filter=x&filter-lang=sql", headers=headers)
    assert bad_lang.status_code == 400 and "cql2-json" in bad_lang.json()["detail"]


def test_injection_attempts_are_400s_and_change_nothing(
    layers_client: TestClient, login: Login, layers_db: Settings
) -> None:
    headers = login("admin")
    for query in (
        "filter=" + quote("name = 'x'; DROP TABLE buildings"),
        "sortby=name;drop",
        "sortby=" + quote("name; DROP TABLE buildings"),
        "properties=" + quote("name,(SELECT 1)"),
    ):
        response = layers_client.get(f"{ITEMS}&{query}", headers=headers)
        assert response.status_code == 400, query
    with psycopg.connect(libpq_dsn(layers_db.db.sync_url())) as conn:
        assert conn.execute("SELECT count(*) FROM buildings").fetchone() == (25,)


def test_datetime_instants_and_intervals_on_hazards(layers_client: TestClient, login: Login) -> None:
    headers = login("officer")
    url = "/collections/hazards/items?limit=100&sortby=found_at"
    every = features(layers_client, headers, url)
    times = [f["properties"]["found_at"] for f in every]
    assert len(times) == 15 and times == sorted(times)

    def count(value: str) -> int:
        return len(features(layers_client, headers, f"{url}&datetime={quote(value)}"))

    first = times[0].replace("+00:00", "Z")
    assert count(first) == times.count(times[0])
    assert count("2026-06-01T00:00:00Z/..") == sum(t >= "2026-06-01" for t in times)
    assert count("../2026-06-01T00:00:00Z") == sum(t < "2026-06-01" for t in times)
    assert count("2026-01-01T00:00:00Z/2026-12-31T23:59:59Z") == 15
    assert count(f"{times[0][:10]}") == sum(t.startswith(times[0][:10]) for t in times)
    for bad in ("yesterday", "2026-12-01T00:00:00Z/2026-01-01T00:00:00Z"):
        response = layers_client.get(f"{url}&datetime={quote(bad)}", headers=headers)
        assert response.status_code == 400 and "datetime" in response.json()["detail"]
