"""OGC API Features core: landing page, conformance, collections, items paging, properties, errors, scope."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from twin.layers import COLLECTIONS

Login = Callable[[str], dict[str, str]]
N_BUILDINGS = 25  # the sample campus


def rels(doc: dict) -> set[str]:  # type: ignore[type-arg]
    return {link["rel"] for link in doc["links"]}


def test_landing_page_links_the_api_parts_without_sign_in(layers_client: TestClient) -> None:
    doc = layers_client.get("/").json()
    assert doc["title"] == "Campus Twin"
    assert rels(doc) >= {"self", "service-desc", "service-doc", "conformance", "data"}
    assert all({"href", "rel", "type", "title"} <= set(link) for link in doc["links"])


def test_conformance_lists_the_classes_implemented(layers_client: TestClient) -> None:
    classes = layers_client.get("/conformance").json()["conformsTo"]
    for part in (
        "features-1/1.0/conf/core",
        "features-1/1.0/conf/geojson",
        "features-2/1.0/conf/crs",
        "features-3/1.0/conf/filter",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/cql2-json",
        "features-5/1.0/conf/sorting",
    ):
        assert any(c.endswith(part) for c in classes), part


def test_data_routes_need_a_signed_in_caller(layers_client: TestClient) -> None:
    response = layers_client.get("/collections/buildings/items")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_collections_lists_every_collection_with_extent_and_crs(
    layers_client: TestClient, login: Login
) -> None:
    doc = layers_client.get("/collections", headers=login("leader")).json()
    assert [c["id"] for c in doc["collections"]] == list(COLLECTIONS)
    buildings = next(c for c in doc["collections"] if c["id"] == "buildings")
    x1, y1, x2, y2 = buildings["extent"]["spatial"]["bbox"][0]
    assert 112.4 < x1 < x2 < 112.5 and 34.6 < y1 < y2 < 34.7
    assert buildings["storageCrs"].endswith("OGC/1.3/CRS84")
    assert "http://www.opengis.net/def/crs/EPSG/0/4546" in buildings["crs"]
    assert {"self", "items", "http://www.opengis.net/def/rel/ogc/1.0/queryables"} <= rels(buildings)


def test_a_whole_territory_caller_gets_the_estimated_extent(layers_client: TestClient, login: Login) -> None:
    doc = layers_client.get("/collections/buildings", headers=login("province")).json()
    x1, y1, x2, y2 = doc["extent"]["spatial"]["bbox"][0]
    assert 112.4 < x1 < x2 < 112.5 and 34.6 < y1 < y2 < 34.7


def test_hazards_have_a_temporal_extent(layers_client: TestClient, login: Login) -> None:
    doc = layers_client.get("/collections/hazards", headers=login("officer")).json()
    start, end = doc["extent"]["temporal"]["interval"][0]
    assert start < end and start.endswith("Z")


def test_unknown_collection_is_a_404_naming_the_known_ones(layers_client: TestClient, login: Login) -> None:
    response = layers_client.get("/collections/nope/items", headers=login("leader"))
    assert response.status_code == 404
    assert "buildings" in response.json()["detail"]


def test_queryables_describe_the_property_types_and_the_geometry(
    layers_client: TestClient, login: Login
) -> None:
    response = layers_client.get("/collections/buildings/queryables", headers=login("leader"))
    assert response.headers["content-type"].startswith("application/schema+json")
    props = response.json()["properties"]
    assert props["floors"]["type"] == "integer"
    assert props["height_m"]["type"] == "number"
    assert props["name"]["type"] == "string"
    assert props["updated_at"]["format"] == "date-time"
    assert props["geometry"]["x-ogc-role"] == "primary-geometry"
    assert "org_path" not in props


def test_items_page_through_with_next_and_prev_links(layers_client: TestClient, login: Login) -> None:
    headers = login("leader")
    first = layers_client.get("/collections/buildings/items?limit=10&sortby=name", headers=headers)
    assert first.headers["content-type"] == "application/geo+json"
    doc = first.json()
    assert doc["type"] == "FeatureCollection"
    assert doc["numberMatched"] == N_BUILDINGS and doc["numberReturned"] == 10
    seen = [f["id"] for f in doc["features"]]
    while (nxt := next((lnk["href"] for lnk in doc["links"] if lnk["rel"] == "next"), None)) is not None:
        assert "sortby=name" in nxt and "limit=10" in nxt
        doc = layers_client.get(nxt, headers=headers).json()
        assert "prev" in rels(doc)
        seen += [f["id"] for f in doc["features"]]
    assert len(seen) == len(set(seen)) == N_BUILDINGS
    assert doc["numberReturned"] == N_BUILDINGS - 20


def test_limit_outside_the_allowed_range_is_a_400(layers_client: TestClient, login: Login) -> None:
    for limit in ("0", "10001", "ten"):
        response = layers_client.get(f"/collections/buildings/items?limit={limit}", headers=login("leader"))
        assert response.status_code == 400
        assert "1 to 10000" in response.json()["detail"]


def test_properties_selects_a_subset(layers_client: TestClient, login: Login) -> None:
    url = "/collections/buildings/items?properties=name,floors&limit=3"
    features = layers_client.get(url, headers=login("leader")).json()["features"]
    assert all(set(f["properties"]) == {"name", "floors"} for f in features)
    assert all(f["geometry"]["type"] == "Polygon" for f in features)


def test_unknown_names_are_400s_naming_them(layers_client: TestClient, login: Login) -> None:
    headers = login("leader")
    for query, name, allowed in (
        ("properties=name,colour", "colour", "height_m"),
        ("sortby=-colour", "colour", "height_m"),
        ("colour=red", "colour", "bbox"),
        ("crs=EPSG:2000", "EPSG:2000", "EPSG/0/4546"),
    ):
        response = layers_client.get(f"/collections/buildings/items?{query}", headers=headers)
        assert response.status_code == 400, query
        assert response.headers["content-type"].startswith("application/problem+json")
        detail = response.json()["detail"]
        assert name in detail and allowed in detail, detail


def test_a_queryable_as_query_parameter_filters(layers_client: TestClient, login: Login) -> None:
    doc = layers_client.get("/collections/buildings/items?use=dormitory", headers=login("leader")).json()
    assert doc["numberMatched"] == 5
    assert {f["properties"]["use"] for f in doc["features"]} == {"dormitory"}


def test_sortby_orders_descending(layers_client: TestClient, login: Login) -> None:
    url = "/collections/buildings/items?sortby=-height_m,name&limit=100"
    heights = [
        f["properties"]["height_m"]
        for f in layers_client.get(url, headers=login("leader")).json()["features"]
    ]
    assert heights == sorted(heights, reverse=True)


def test_an_item_has_a_version_etag_and_links(layers_client: TestClient, login: Login) -> None:
    headers = login("leader")
    fid = layers_client.get("/collections/buildings/items?limit=1", headers=headers).json()["features"][0][
        "id"
    ]
    response = layers_client.get(f"/collections/buildings/items/{fid}", headers=headers)
    assert response.status_code == 200
    assert response.headers["etag"] == f'"{fid}-1"'
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    doc = response.json()
    assert doc["type"] == "Feature" and doc["id"] == fid
    assert {"self", "collection"} <= rels(doc)


def test_unknown_and_out_of_scope_items_get_the_same_404(layers_client: TestClient, login: Login) -> None:
    fid = layers_client.get("/collections/buildings/items?limit=1", headers=login("leader")).json()[
        "features"
    ][0]["id"]
    hidden = layers_client.get(f"/collections/buildings/items/{fid}", headers=login("sibling"))
    missing = layers_client.get("/collections/buildings/items/999999", headers=login("sibling"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(str(fid), "N") == missing.json()["detail"].replace("999999", "N")
    assert layers_client.get("/collections/buildings/items/x1", headers=login("leader")).status_code == 404


def test_each_caller_sees_only_its_jurisdiction(layers_client: TestClient, login: Login) -> None:
    def matched(user: str) -> int:
        doc = layers_client.get("/collections/buildings/items", headers=login(user)).json()
        return int(doc["numberMatched"])

    assert matched("leader") == matched("county") == matched("province") == N_BUILDINGS
    assert matched("sibling") == 0
    empty = layers_client.get("/collections/buildings", headers=login("sibling")).json()
    assert "spatial" not in empty["extent"]


def test_html_pages_render_without_outside_resources(layers_client: TestClient, login: Login) -> None:
    headers = login("leader")
    for url in (
        "/?f=html",
        "/conformance?f=html",
        "/collections?f=html",
        "/collections/buildings?f=html",
        "/collections/buildings/queryables?f=html",
        "/collections/buildings/items?f=html&limit=5",
    ):
        response = layers_client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith("text/html")
        assert "<script src" not in response.text and "https://" not in response.text.replace(
            "https://json-schema", ""
        )
    browser = {**headers, "Accept": "text/html,application/xhtml+xml"}
    page = layers_client.get("/collections/buildings/items?limit=3", headers=browser)
    assert page.headers["content-type"].startswith("text/html")
    assert "<table>" in page.text and "Buildings" in page.text


def test_number_matched_is_known_from_a_short_page_without_counting() -> None:
    from twin.layers.queries import matched_from_page

    assert matched_from_page(offset=0, limit=100, fetched=25) == 25
    assert matched_from_page(offset=20, limit=10, fetched=5) == 25
    assert matched_from_page(offset=0, limit=10, fetched=0) == 0
    assert matched_from_page(offset=0, limit=10, fetched=11) is None  # a full page: count
    assert matched_from_page(offset=30, limit=10, fetched=0) is None  # past the end: count


def test_a_page_ending_exactly_at_the_last_feature_has_no_next_link(
    layers_client: TestClient, login: Login
) -> None:
    headers = login("leader")
    last = layers_client.get(
        f"/collections/buildings/items?limit=5&offset={N_BUILDINGS - 5}", headers=headers
    )
    doc = last.json()
    assert doc["numberReturned"] == 5 and doc["numberMatched"] == N_BUILDINGS
    assert "next" not in rels(doc)
    beyond = layers_client.get(
        f"/collections/buildings/items?limit=5&offset={N_BUILDINGS + 5}", headers=headers
    )
    assert beyond.json()["numberMatched"] == N_BUILDINGS and beyond.json()["numberReturned"] == 0
