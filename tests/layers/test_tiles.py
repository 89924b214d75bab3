"""Vector tiles over the sample campus: content, metadata, errors, conditional requests and scope.

Expected feature counts come from PostGIS asked directly, as the owner, with the tile's bounds from
morecantile; the tiles are decoded with mapbox_vector_tile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from fastapi.testclient import TestClient

from twin.config import Settings
from twin.db.provision import libpq_dsn
from twin.layers import COLLECTIONS, tiles

Login = Callable[[str], dict[str, str]]
CAMPUS = (112.45, 34.62)  # the sample campus's centre
WMQ = morecantile.tms.get("WebMercatorQuad")
CRS84 = morecantile.tms.get("WorldCRS84Quad")
CENTRE = WMQ.tile(*CAMPUS, 17)
MVT = "application/vnd.mapbox-vector-tile"


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    tiles.tile_cache().clear()
    yield
    tiles.tile_cache().clear()


@pytest.fixture(scope="module")
def owner(layers_db: Settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_dsn(layers_db.db.sync_url())) as conn:
        yield conn


def expected_ids(
    owner: psycopg.Connection, table: str, tms: morecantile.TileMatrixSet, t: morecantile.Tile, srid: int
) -> set[int]:
    """Rows of `table` touching the tile grown by the MVT buffer (256 of 4096), in the tile's own CRS."""
    b = tms.xy_bounds(t)
    grow = (b.right - b.left) * 256 / 4096
    sql = (
        f"SELECT id FROM {table} WHERE ST_Intersects(ST_Transform(geom, %(srid)s),"
        " ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, %(srid)s))"
    )
    rows = owner.execute(
        sql,
        {"w": b.left - grow, "s": b.bottom - grow, "e": b.right + grow, "n": b.top + grow, "srid": srid},
    ).fetchall()
    return {r[0] for r in rows}


def get_tile(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT
    decoded: dict[str, Any] = mapbox_vector_tile.decode(response.content)
    return decoded


def inside_tile(geometry: dict[str, Any], extent: int = 4096, buffer: int = 256) -> bool:
    def points(c: Any) -> Iterator[tuple[float, float]]:
        if isinstance(c[0], int | float):
            yield c[0], c[1]
        else:
            for part in c:
                yield from points(part)

    return all(
        -buffer <= x <= extent + buffer and -buffer <= y <= extent + buffer
        for x, y in points(geometry["coordinates"])
    )


def test_buildings_tile_at_z17_holds_the_campus_buildings_with_their_heights(
    layers_client: TestClient, login: Login, owner: psycopg.Connection
) -> None:
    z, x, y = CENTRE.z, CENTRE.x, CENTRE.y
    decoded = get_tile(
        layers_client, f"/collections/buildings/tiles/WebMercatorQuad/{z}/{x}/{y}", login("leader")
    )
    assert list(decoded) == ["buildings"]
    features = decoded["buildings"]["features"]
    expected = expected_ids(owner, "buildings", WMQ, CENTRE, 3857)
    assert len(expected) >= 3
    assert {f["id"] for f in features} == expected
    heights = dict(owner.execute("SELECT id, height_m FROM buildings").fetchall())
    for f in features:
        assert f["properties"]["height_m"] == pytest.approx(heights[f["id"]])
        assert {"name", "use", "floors", "updated_at"} <= f["properties"].keys()
        assert "org_path" not in f["properties"]
        assert f["geometry"]["type"] in {"Polygon", "MultiPolygon"}
        assert inside_tile(f["geometry"])


def test_campus_tile_has_a_layer_per_collection_or_those_chosen(
    layers_client: TestClient, login: Login, owner: psycopg.Connection
) -> None:
    url = f"/tiles/WebMercatorQuad/{CENTRE.z}/{CENTRE.x}/{CENTRE.y}"
    decoded = get_tile(layers_client, url, login("leader"))
    assert {"buildings", "pipe_segments", "pipe_nodes", "valves", "risk_zones", "campuses"} <= decoded.keys()
    assert decoded.keys() <= COLLECTIONS.keys()
    assert {f["id"] for f in decoded["pipe_segments"]["features"]} == expected_ids(
        owner, "pipe_segments", WMQ, CENTRE, 3857
    )
    zones = decoded["risk_zones"]["features"]
    assert all(f["properties"]["level"] in {1, 2, 3, 4} for f in zones)
    assert all(isinstance(f["properties"].get("accident_types", ""), str) for f in zones)  # arrays as text
    chosen = get_tile(layers_client, url + "?collections=risk_zones,buildings", login("leader"))
    assert set(chosen) == {"buildings", "risk_zones"}
    unknown = layers_client.get(url + "?collections=buildings,nope", headers=login("leader"))
    assert unknown.status_code == 400
    assert "nope" in unknown.json()["detail"]


def test_world_crs84_quad_tile_holds_the_same_buildings_as_postgis_finds(
    layers_client: TestClient, login: Login, owner: psycopg.Connection
) -> None:
    t = CRS84.tile(*CAMPUS, 16)
    decoded = get_tile(
        layers_client, f"/collections/buildings/tiles/WorldCRS84Quad/{t.z}/{t.x}/{t.y}", login("leader")
    )
    expected = expected_ids(owner, "buildings", CRS84, t, 4326)
    assert expected
    assert {f["id"] for f in decoded["buildings"]["features"]} == expected
    assert all(inside_tile(f["geometry"]) for f in decoded["buildings"]["features"])


def test_tilejson_describes_the_tiles_and_their_fields(layers_client: TestClient, login: Login) -> None:
    doc = layers_client.get(
        "/collections/buildings/tiles/WebMercatorQuad/tilejson.json", headers=login("leader")
    ).json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/collections/buildings/tiles/WebMercatorQuad/{z}/{x}/{y}"]
    [layer] = doc["vector_layers"]
    assert layer["id"] == "buildings"
    assert layer["fields"]["height_m"] == "Number" and layer["fields"]["name"] == "String"
    west, south, east, north = doc["bounds"]
    assert 112.44 < west < east < 112.46 and 34.61 < south < north < 34.63
    campus = layers_client.get("/tiles/WebMercatorQuad/tilejson.json", headers=login("leader")).json()
    assert campus["tiles"] == ["http://testserver/tiles/WebMercatorQuad/{z}/{x}/{y}"]
    assert [v["id"] for v in campus["vector_layers"]] == list(COLLECTIONS)
    some = layers_client.get(
        "/tiles/WorldCRS84Quad/tilejson.json?collections=buildings,valves", headers=login("leader")
    ).json()
    assert some["tiles"] == [
        "http://testserver/tiles/WorldCRS84Quad/{z}/{x}/{y}?collections=buildings,valves"
    ]


def test_tilesets_and_tile_matrix_sets_are_listed(layers_client: TestClient, login: Login) -> None:
    sets = layers_client.get("/tileMatrixSets").json()["tileMatrixSets"]
    assert [s["id"] for s in sets] == ["WebMercatorQuad", "WorldCRS84Quad"]
    wmq = layers_client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert wmq["id"] == "WebMercatorQuad" and len(wmq["tileMatrices"]) == 25
    listed = layers_client.get("/collections/buildings/tiles", headers=login("leader")).json()["tilesets"]
    items = [link["href"] for ts in listed for link in ts["links"] if link["rel"] == "item"]
    assert "http://testserver/collections/buildings/tiles/WorldCRS84Quad/{z}/{x}/{y}" in items
    assert layers_client.get("/tiles", headers=login("leader")).status_code == 200


def test_style_draws_the_campus_tileset_without_glyphs(layers_client: TestClient, login: Login) -> None:
    style = layers_client.get("/styles/campus/style.json").json()
    assert style["version"] == 8 and "glyphs" not in style and "sprite" not in style
    assert style["sources"]["campus"]["tiles"] == ["http://testserver/tiles/WebMercatorQuad/{z}/{x}/{y}"]
    layers = {layer["id"]: layer for layer in style["layers"]}
    assert all(layer["type"] != "symbol" for layer in style["layers"])
    assert layers["buildings"]["type"] == "fill-extrusion"
    assert layers["buildings"]["paint"]["fill-extrusion-height"] == ["coalesce", ["get", "height_m"], 3]
    colours = layers["risk_zones"]["paint"]["fill-color"]
    assert colours[:2] == ["match", ["get", "level"]]
    assert colours[2:10] == [1, "#E02020", 2, "#F08C00", 3, "#F5D000", 4, "#2878F0"]
    assert layers["pipe_segments"]["paint"]["line-color"][1] == ["get", "utility"]
    tilejson = layers_client.get("/tiles/WebMercatorQuad/tilejson.json", headers=login("leader")).json()
    known = {v["id"] for v in tilejson["vector_layers"]}
    assert {layer["source-layer"] for layer in style["layers"] if "source-layer" in layer} <= known


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("/tiles/WebMercatorQuad/23/0/0", "z must be 0–22"),
        (f"/tiles/WebMercatorQuad/17/{2**17}/0", "x must be 0–131071"),
        ("/collections/buildings/tiles/WorldCRS84Quad/0/0/1", "y must be 0–0"),
        ("/tiles/WebMercatorQuad/3/-1/0", "x must be 0–7"),
        ("/tiles/Nowhere/0/0/0", "WebMercatorQuad, WorldCRS84Quad"),
        ("/collections/nope/tiles/WebMercatorQuad/0/0/0", "buildings"),
    ],
)
def test_a_tile_outside_the_matrix_set_is_a_problem_naming_the_range(
    layers_client: TestClient, login: Login, url: str, names: str
) -> None:
    response = layers_client.get(url, headers=login("leader"))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert names in response.json()["detail"]


def test_etag_answers_if_none_match_with_304(layers_client: TestClient, login: Login) -> None:
    url = f"/collections/buildings/tiles/WebMercatorQuad/{CENTRE.z}/{CENTRE.x}/{CENTRE.y}"
    first = layers_client.get(url, headers=login("leader"))
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("private, max-age=")
    again = layers_client.get(url, headers={**login("leader"), "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    tiles.tile_cache().clear()  # rendered anew, the same bytes give the same ETag (as in another worker)
    fresh = layers_client.get(url, headers={**login("leader"), "If-None-Match": f'"other", {etag}'})
    assert fresh.status_code == 304
    changed = layers_client.get(url, headers={**login("leader"), "If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.content == first.content


def test_a_cached_tile_is_never_served_to_another_jurisdiction(
    layers_client: TestClient, login: Login
) -> None:
    url = f"/tiles/WebMercatorQuad/{CENTRE.z}/{CENTRE.x}/{CENTRE.y}?collections=buildings,risk_zones"
    mine = get_tile(layers_client, url, login("leader"))
    assert mine["buildings"]["features"]
    sibling = layers_client.get(url, headers=login("sibling"))  # after the leader's tile is cached
    assert sibling.status_code == 200 and sibling.content == b""
    assert sibling.headers["etag"] != layers_client.get(url, headers=login("leader")).headers["etag"]
    county = get_tile(layers_client, url, login("county"))
    assert {f["id"] for f in county["buildings"]["features"]} == {
        f["id"] for f in mine["buildings"]["features"]
    }
    assert layers_client.get(url).status_code == 401


def test_invalidate_drops_the_cached_tiles_an_edited_feature_touches(
    layers_client: TestClient, login: Login, owner: psycopg.Connection
) -> None:
    for user in ("leader", "county"):
        for t in (CENTRE, WMQ.tile(112.0, 34.0, 17)):
            layers_client.get(
                f"/collections/buildings/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}", headers=login(user)
            )
        layers_client.get(f"/tiles/WebMercatorQuad/{CENTRE.z}/{CENTRE.x}/{CENTRE.y}", headers=login(user))
    layers_client.get(
        f"/collections/valves/tiles/WebMercatorQuad/{CENTRE.z}/{CENTRE.x}/{CENTRE.y}", headers=login("leader")
    )
    assert len(tiles.tile_cache()) == 7  # buildings x2 x2, campus (steady layers) x2, valves
    building = owner.execute(
        "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM buildings"
        " WHERE ST_Within(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) LIMIT 1",
        tuple(tiles.buffered_bounds("WebMercatorQuad", CENTRE.z, CENTRE.x, CENTRE.y)),
    ).fetchone()
    assert building is not None
    # The centre tile of buildings and of the campus, for both jurisdictions; not the far tile, not valves.
    assert tiles.invalidate("buildings", tuple(building)) == 4
    assert len(tiles.tile_cache()) == 3
    assert tiles.invalidate("buildings", tuple(building)) == 0
    assert tiles.invalidate("valves", (0.0, 0.0, 1.0, 1.0)) == 0


def test_a_warm_tile_is_answered_from_the_cache_before_routing(
    layers_client: TestClient, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"/collections/buildings/tiles/WebMercatorQuad/{CENTRE.z}/{CENTRE.x}/{CENTRE.y}"
    first = layers_client.get(url, headers=login("leader"))

    async def no_rendering(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached tile must not be rendered again")

    monkeypatch.setattr(tiles, "tile", no_rendering)
    warm = layers_client.get(url, headers=login("leader"))
    assert warm.status_code == 200 and warm.content == first.content
    assert warm.headers["etag"] == first.headers["etag"] and warm.headers["content-type"] == MVT
    assert (
        layers_client.get(
            url, headers={**login("leader"), "If-None-Match": first.headers["etag"]}
        ).status_code
        == 304
    )
    # Someone else's jurisdiction is not in the cache: it goes to the router, which must render it.
    with pytest.raises(AssertionError, match="must not be rendered"):
        layers_client.get(url, headers=login("sibling"))
    assert layers_client.get(url, headers={"Authorization": "Bearer forged"}).status_code == 401


def _wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_change_committed_by_any_writer_drops_the_tiles_it_touched_in_every_worker(
    layers_client: TestClient, login: Login, owner: psycopg.Connection
) -> None:
    # The writer here is the table owner, outside this server (as an import or another worker would be):
    # only the database's notification can tell this process's cache.
    centre = f"/collections/buildings/tiles/WebMercatorQuad/{CENTRE.z}/{CENTRE.x}/{CENTRE.y}"
    far_tile = WMQ.tile(112.0, 34.0, 17)
    far = f"/collections/buildings/tiles/WebMercatorQuad/{far_tile.z}/{far_tile.x}/{far_tile.y}"
    before = layers_client.get(centre, headers=login("leader"))
    layers_client.get(far, headers=login("leader"))
    assert len(tiles.tile_cache()) == 2
    building = owner.execute(
        "SELECT id, name FROM buildings WHERE ST_Within(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) LIMIT 1",
        tuple(tiles.buffered_bounds("WebMercatorQuad", CENTRE.z, CENTRE.x, CENTRE.y)),
    ).fetchone()
    assert building is not None
    owner.execute("UPDATE buildings SET name = name || ' (rolled back)' WHERE id = %s", (building[0],))
    owner.rollback()
    assert not _wait_until(lambda: len(tiles.tile_cache()) < 2, seconds=0.5), "a rollback notifies nobody"
    try:
        owner.execute("UPDATE buildings SET name = %s WHERE id = %s", ("renamed by an import", building[0]))
        owner.commit()
        assert _wait_until(lambda: len(tiles.tile_cache()) == 1), "the centre tile was not dropped"
        after = layers_client.get(centre, headers=login("leader"))
        assert after.headers["etag"] != before.headers["etag"]
        names = {
            f["properties"]["name"] for f in mapbox_vector_tile.decode(after.content)["buildings"]["features"]
        }
        assert "renamed by an import" in names
    finally:
        owner.execute("UPDATE buildings SET name = %s WHERE id = %s", (building[1], building[0]))
        owner.commit()


def test_tile_notifications_name_the_table_and_the_boxes_before_and_after() -> None:
    from twin.layers.tile_events import collections_of, parse

    table, boxes = parse('{"table": "buildings", "boxes": [[1, 2, 3, 4], [1, 2, 3, 4], [5, 6, 7, 8]]}')
    assert table == "buildings" and len(boxes) == 2  # the same box twice (an update in place) once
    assert boxes[0][0] < 1 and boxes[0][2] > 3  # grown a little: ST_Extent rounds to float precision
    assert collections_of("risk_zones") == ["risk_zones"] and collections_of("positions") == []
    for bad in ("{}", "not json", '{"table": "buildings", "boxes": [[1, 2]]}'):
        with pytest.raises(ValueError):
            parse(bad)
