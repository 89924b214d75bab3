"""OGC API Features Part 2: output CRS, axis order, Content-Crs, bbox-crs; references from pyproj."""

from __future__ import annotations

from collections.abc import Callable

import pyproj
import pytest
from fastapi.testclient import TestClient

Login = Callable[[str], dict[str, str]]
ITEMS = "/collections/buildings/items?limit=100&sortby=code"


def coords(doc: dict) -> list[tuple[float, float]]:  # type: ignore[type-arg]
    return [tuple(xy) for f in doc["features"] for xy in f["geometry"]["coordinates"][0]]


@pytest.fixture(scope="module")
def crs84(layers_client: TestClient, login: Login) -> dict:  # type: ignore[type-arg]
    response = layers_client.get(ITEMS, headers=login("leader"))
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    return response.json()  # type: ignore[no-any-return]


def test_crs84_is_lon_lat(crs84: dict) -> None:  # type: ignore[type-arg]
    lon, lat = coords(crs84)[0]
    assert 112 < lon < 113 and 34 < lat < 35


def test_epsg_4326_is_lat_lon(layers_client: TestClient, login: Login, crs84: dict) -> None:  # type: ignore[type-arg]
    response = layers_client.get(
        f"{ITEMS}&crs=http://www.opengis.net/def/crs/EPSG/0/4326", headers=login("leader")
    )
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    assert coords(response.json()) == [(lat, lon) for lon, lat in coords(crs84)]


def test_a_gauss_kruger_zone_is_northing_easting_like_pyproj(
    layers_client: TestClient,
    login: Login,
    crs84: dict,  # type: ignore[type-arg]
) -> None:
    response = layers_client.get(f"{ITEMS}&crs=EPSG:4546", headers=login("leader"))
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4546>"
    # Authority order on both sides: EPSG:4326 takes lat/lon, EPSG:4546 gives northing/easting.
    to_gk = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4546")
    expected = [to_gk.transform(lat, lon) for lon, lat in coords(crs84)]
    got = coords(response.json())
    assert len(got) == len(expected)
    for (n, e), (en, ee) in zip(got, expected, strict=True):
        assert n > 3_000_000 and 500_000 < e < 800_000
        assert abs(n - en) < 0.01 and abs(e - ee) < 0.01
    assert "crs" not in response.json()["features"][0]["geometry"]


def test_web_mercator_is_x_y_like_pyproj(layers_client: TestClient, login: Login, crs84: dict) -> None:  # type: ignore[type-arg]
    got = coords(layers_client.get(f"{ITEMS}&crs=EPSG:3857", headers=login("leader")).json())
    to_3857 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    for (x, y), (lon, lat) in zip(got, coords(crs84), strict=True):
        ex, ey = to_3857.transform(lon, lat)
        assert abs(x - ex) < 0.01 and abs(y - ey) < 0.01


def test_bbox_in_crs84_and_in_epsg_4326_lat_lon_select_the_same(
    layers_client: TestClient, login: Login
) -> None:
    headers = login("leader")
    lon1, lat1, lon2, lat2 = 112.448, 34.618, 112.4495, 34.6195
    lonlat = layers_client.get(f"{ITEMS}&bbox={lon1},{lat1},{lon2},{lat2}", headers=headers).json()
    latlon = layers_client.get(
        f"{ITEMS}&bbox={lat1},{lon1},{lat2},{lon2}&bbox-crs=EPSG:4326", headers=headers
    ).json()
    everything = layers_client.get(ITEMS, headers=headers).json()
    ids = [f["id"] for f in lonlat["features"]]
    assert 0 < len(ids) < everything["numberMatched"]
    assert [f["id"] for f in latlon["features"]] == ids
    # lon/lat given where EPSG:4326 wants lat/lon: a latitude of 112 is refused, not silently empty
    wrong = layers_client.get(f"{ITEMS}&bbox={lon1},{lat1},{lon2},{lat2}&bbox-crs=EPSG:4326", headers=headers)
    assert wrong.status_code == 400


def test_bbox_in_a_projected_crs(layers_client: TestClient, login: Login) -> None:
    headers = login("leader")
    to_gk = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4546")
    n1, e1 = to_gk.transform(34.618, 112.448)
    n2, e2 = to_gk.transform(34.6195, 112.4495)
    gk = layers_client.get(f"{ITEMS}&bbox={n1},{e1},{n2},{e2}&bbox-crs=EPSG:4546", headers=headers).json()
    ll = layers_client.get(f"{ITEMS}&bbox=112.448,34.618,112.4495,34.6195", headers=headers).json()
    assert [f["id"] for f in gk["features"]] == [f["id"] for f in ll["features"]]


def test_bad_bboxes_are_400s(layers_client: TestClient, login: Login) -> None:
    for bbox in ("1,2,3", "a,b,c,d", "3,2,1,4", "1,2,3,4,5"):
        response = layers_client.get(f"{ITEMS}&bbox={bbox}", headers=login("leader"))
        assert response.status_code == 400, bbox
        assert "bbox" in response.json()["detail"]


def test_six_number_bbox_ignores_heights(layers_client: TestClient, login: Login) -> None:
    url = f"{ITEMS}&bbox=112.44,34.61,0,112.46,34.63,100"
    assert layers_client.get(url, headers=login("leader")).json()["numberMatched"] == 25
