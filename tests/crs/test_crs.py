"""CRS policy: parsing, axis facts, Gauss-Krüger zones, CGCS2000, GCJ-02. Pure, no database."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from twin import crs
from twin.crs import (
    CRS84,
    CRS84_URI,
    GCJ02,
    STORAGE_SRID,
    CoordinateRangeError,
    UnknownCrsError,
    check_lonlat,
    from_storage,
    gcj02_to_wgs84,
    metric_srid_for,
    parse_crs,
    swap_xy,
    to_storage,
    transformer,
    wgs84_to_gcj02,
)

# --- GCJ-02 reference vectors -------------------------------------------------------------------------
# From googollee/eviltransform, go/transform_test.go and python/test.py (same table):
#   wgsLat, wgsLng, gcjLat, gcjLng
EVILTRANSFORM_VECTORS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # beijing
]
# From hujiulong/gcoord, test/unit/crs/WGS84.spec.ts ("WGS84 to GCJ02", toBeCloseTo(.., 5)):
GCOORD_WGS_TO_GCJ = ((123.0, 45.0), (123.00607541, 45.00197815))
# From hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts ("GCJ02 to WGS84", toBeCloseTo(.., 5)); gcoord's
# inverse is the one-step approximation, so it only agrees with the exact inverse to its 5-decimal check.
GCOORD_GCJ_TO_WGS = ((123.0, 45.0), (122.99395597, 44.99804071))
GCOORD_TOLERANCE = 0.5e-5  # jest toBeCloseTo(x, 5): |diff| < 10**-5 / 2


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM_VECTORS)
def test_wgs_to_gcj_matches_eviltransform(wlat: float, wlon: float, glat: float, glon: float) -> None:
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert isinstance(lon, float)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM_VECTORS)
def test_gcj_to_wgs_exact_recovers_eviltransform_input(
    wlat: float, wlon: float, glat: float, glon: float
) -> None:
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert abs(lon - wlon) < 1e-7
    assert abs(lat - wlat) < 1e-7


def test_gcoord_vectors() -> None:
    (lon, lat), (elon, elat) = GCOORD_WGS_TO_GCJ
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert abs(glon - elon) < GCOORD_TOLERANCE
    assert abs(glat - elat) < GCOORD_TOLERANCE
    (lon, lat), (elon, elat) = GCOORD_GCJ_TO_WGS
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    assert abs(wlon - elon) < GCOORD_TOLERANCE
    assert abs(wlat - elat) < GCOORD_TOLERANCE
    # gcoord: "not in China" is returned unchanged, both ways
    assert wgs84_to_gcj02(183.0, 45.0) == (183.0, 45.0)
    assert gcj02_to_wgs84(183.0, 45.0) == (183.0, 45.0)


def test_gcj_vectorised_matches_scalar() -> None:
    wlat, wlon, glat, glon = (np.array(col) for col in zip(*EVILTRANSFORM_VECTORS, strict=True))
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert isinstance(lon, np.ndarray)
    assert lon.shape == (3,)
    np.testing.assert_allclose(lon, glon, atol=1e-9, rtol=0)
    np.testing.assert_allclose(lat, glat, atol=1e-9, rtol=0)
    blon, blat = gcj02_to_wgs84(lon, lat)
    np.testing.assert_allclose(blon, wlon, atol=1e-7, rtol=0)
    np.testing.assert_allclose(blat, wlat, atol=1e-7, rtol=0)


def test_gcj_round_trip_over_china_grid() -> None:
    grid_lon, grid_lat = np.meshgrid(np.linspace(73.6, 135.0, 60), np.linspace(3.9, 53.5, 50))
    lon, lat = grid_lon.ravel(), grid_lat.ravel()
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    glon, glat = wgs84_to_gcj02(wlon, wlat)
    assert np.max(np.abs(glon - lon)) < 1e-7
    assert np.max(np.abs(glat - lat)) < 1e-7
    # and the offset is really there (hundreds of metres), so the test is not vacuous
    assert np.max(np.hypot(wlon - lon, wlat - lat)) > 1e-3


def test_gcj_outside_china_unchanged() -> None:
    # Paris, New York, Tokyo, south of the box's 0.8293N edge, Jakarta
    lon = np.array([2.35, -74.0, 139.69, 100.0, 106.85])
    lat = np.array([48.85, 40.7, 35.68, 0.5, -6.2])
    glon, glat = wgs84_to_gcj02(lon, lat)
    np.testing.assert_array_equal(glon, lon)
    np.testing.assert_array_equal(glat, lat)
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(wlon, lon)
    np.testing.assert_array_equal(wlat, lat)


def test_gcj_geometry_round_trip_keeps_z() -> None:
    wgs = LineString([(121.5272106, 31.1774276, 12.5), (116.377817, 39.911954, 40.0)])
    gcj = from_storage(wgs, parse_crs(GCJ02))
    assert gcj.has_z
    coords = shapely.get_coordinates(gcj, include_z=True)
    assert coords[0, 0] == pytest.approx(121.531541859215, abs=1e-9)
    assert coords[0, 1] == pytest.approx(31.17530398364597, abs=1e-9)
    assert list(coords[:, 2]) == [12.5, 40.0]
    back = to_storage(gcj, parse_crs("gcj02"))
    np.testing.assert_allclose(
        shapely.get_coordinates(back, include_z=True),
        shapely.get_coordinates(wgs, include_z=True),
        atol=1e-7,
        rtol=0,
    )


# --- parse_crs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        4326,
        "4326",
        "EPSG:4326",
        "epsg:4326",
        " EPSG:4326 ",
        "http://www.opengis.net/def/crs/EPSG/0/4326",
        "https://www.opengis.net/def/crs/EPSG/0/4326",
        "urn:ogc:def:crs:EPSG::4326",
    ],
)
def test_parse_epsg_4326(value: str | int) -> None:
    spec = parse_crs(value)
    assert spec.srid == 4326
    assert spec.uri == "http://www.opengis.net/def/crs/EPSG/0/4326"
    assert spec.northing_first is True
    assert spec.gcj02 is False
    assert spec.label == "EPSG:4326"


@pytest.mark.parametrize(
    "value", [CRS84_URI, "OGC:CRS84", "ogc:crs84", "CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84"]
)
def test_parse_crs84(value: str) -> None:
    spec = parse_crs(value)
    assert spec == CRS84
    assert spec.srid == STORAGE_SRID
    assert spec.uri == CRS84_URI
    assert spec.northing_first is False
    assert spec.label == "OGC:CRS84"


@pytest.mark.parametrize("value", ["GCJ-02", "gcj02", "GCJ02", "gcj-02", GCJ02, crs.GCJ02_URI])
def test_parse_gcj02(value: str) -> None:
    spec = parse_crs(value)
    assert spec.gcj02 is True
    assert spec.srid is None
    assert spec.label == "GCJ-02"


@pytest.mark.parametrize("srid", [4490, 3857, 4513, 4526, 4533, 4534, 4546, 4554])
def test_parse_accepted_epsg(srid: int) -> None:
    assert parse_crs(srid).srid == srid
    assert parse_crs(f"EPSG:{srid}").srid == srid
    assert parse_crs(f"http://www.opengis.net/def/crs/EPSG/0/{srid}").uri.endswith(f"/{srid}")


@pytest.mark.parametrize(
    "value",
    [4512, 4555, 32650, 2154, 0, -4326, "", "EPSG:", "EPSG:32650", "WGS84", "bd09", "EPSG:4326x", True],
)
def test_parse_refuses(value: str | int) -> None:
    with pytest.raises(UnknownCrsError) as info:
        parse_crs(value)
    message = str(info.value)
    assert "accepted" in message
    for name in ("CRS84", "4326", "4490", "4513-4554", "3857", "GCJ-02"):
        assert name in message
    assert isinstance(info.value, ValueError)


def test_parsed_spec_is_frozen() -> None:
    spec = parse_crs(4326)
    with pytest.raises(AttributeError):
        spec.srid = 3857  # type: ignore[misc]


# --- axis-order facts (from the EPSG database through pyproj) ------------------------------------------


@pytest.mark.parametrize(
    ("value", "first_axis"),
    [(4326, "north"), (4490, "north"), (4513, "north"), (4546, "north"), (4554, "north"), (3857, "east")],
)
def test_axis_order_follows_epsg(value: int, first_axis: str) -> None:
    assert CRS.from_epsg(value).axis_info[0].direction == first_axis
    assert parse_crs(value).northing_first is (first_axis == "north")


def test_crs84_is_lon_lat() -> None:
    assert [a.direction for a in CRS.from_user_input("OGC:CRS84").axis_info] == ["east", "north"]
    assert parse_crs("OGC:CRS84").northing_first is False


def test_swap_xy() -> None:
    assert swap_xy(Point(1, 2, 3)).equals(Point(2, 1, 3))
    assert swap_xy(Point(1, 2, 3)).has_z


# --- Gauss-Krüger zones -------------------------------------------------------------------------------


def test_metric_srid_for_known_point() -> None:
    srid = metric_srid_for(112.45, 28.2)
    assert srid == 4546
    assert "CM 111E" in CRS.from_epsg(srid).name


@pytest.mark.parametrize("lon", [73.5, 75.0, 80.9, 96.0, 112.45, 116.38, 121.53, 134.2, 135.5])
def test_metric_srid_for_has_nearest_central_meridian(lon: float) -> None:
    srid = metric_srid_for(lon, 30.0)
    assert 4534 <= srid <= 4554
    name = CRS.from_epsg(srid).name
    cm = int(name.rsplit("CM ", 1)[1].rstrip("E"))
    assert abs(lon - cm) <= 1.5
    assert cm == 75 + 3 * (srid - 4534)


@pytest.mark.parametrize(("lon", "lat"), [(73.4, 30.0), (135.6, 45.0), (2.35, 48.85), (116.0, -30.0)])
def test_metric_srid_for_refuses_outside_china(lon: float, lat: float) -> None:
    with pytest.raises(ValueError, match="outside China"):
        metric_srid_for(lon, lat)


def test_metric_srid_for_refuses_non_finite() -> None:
    with pytest.raises(ValueError, match="finite"):
        metric_srid_for(math.nan, 30.0)


def test_gk_4546_round_trip_and_matches_plain_tmerc() -> None:
    lon, lat = 112.45, 28.2
    x, y = transformer(4326, 4546).transform(lon, lat)
    # An independent definition of the same projection: TM, CM 111E, k=1, FE 500 km on GRS80 (CGCS2000).
    plain = Transformer.from_crs(
        "EPSG:4326",
        "+proj=tmerc +lat_0=0 +lon_0=111 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs",
        always_xy=True,
    )
    px, py = plain.transform(lon, lat)
    assert x == pytest.approx(px, abs=0.01)
    assert y == pytest.approx(py, abs=0.01)
    assert 500000 < x < 700000  # east of CM 111E
    assert 3_000_000 < y < 3_200_000  # about 28.2 deg north
    blon, blat = transformer(4546, 4326).transform(x, y)
    assert blon == pytest.approx(lon, abs=1e-9)
    assert blat == pytest.approx(lat, abs=1e-9)


def test_gk_geometry_round_trip() -> None:
    storage = Polygon([(112.45, 28.2, 3.0), (112.46, 28.2, 3.5), (112.46, 28.21, 4.0), (112.45, 28.2, 3.0)])
    spec = parse_crs(metric_srid_for(112.45, 28.2))
    projected = from_storage(storage, spec)
    assert projected.has_z
    # 0.01 deg of longitude at 28.2N is about 980 m
    assert 970 < LineString(projected.exterior.coords[:2]).length < 990
    back = to_storage(projected, spec)
    np.testing.assert_allclose(
        shapely.get_coordinates(back, include_z=True),
        shapely.get_coordinates(storage, include_z=True),
        atol=1e-9,
        rtol=0,
    )


def test_gk_zone_38_has_zone_prefix() -> None:
    assert "zone 38" in CRS.from_epsg(4526).name
    x, _ = transformer(4326, 4526).transform(114.0, 30.0)  # CM of zone 38 is 114E
    assert str(int(x)).startswith("38")
    assert x == pytest.approx(38_500_000.0, abs=1e-3)
    x2, _ = transformer(4326, 4526).transform(114.5, 30.0)
    assert str(int(x2)).startswith("38")
    assert 38_500_000 < x2 < 38_600_000


def test_3857_round_trip() -> None:
    spec = parse_crs("EPSG:3857")
    p = from_storage(Point(116.377817, 39.911954), spec)
    # spherical Mercator x = lon * half-circumference / 180 (20037508.342789244 m, as in hujiulong/gcoord's
    # test/unit/crs/WGS84.spec.ts "WGS84 to EPSG3857")
    assert p.x == pytest.approx(116.377817 * 20037508.342789244 / 180.0, abs=1e-3)
    back = to_storage(p, spec)
    assert back.x == pytest.approx(116.377817, abs=1e-9)
    assert back.y == pytest.approx(39.911954, abs=1e-9)


# --- CGCS2000 vs WGS 84 --------------------------------------------------------------------------------


def test_4490_within_centimetres_of_4326() -> None:
    lon, lat = 112.45, 28.2
    x, y = transformer(4490, 4326).transform(lon, lat)
    # 1e-7 deg is about 1 cm
    assert abs(x - lon) < 1e-7
    assert abs(y - lat) < 1e-7
    stored = to_storage(Point(lon, lat), parse_crs(4490))
    assert stored.distance(Point(lon, lat)) < 1e-7


# --- storage and range checks ---------------------------------------------------------------------------


def test_storage_is_identity_for_4326_and_crs84() -> None:
    p = Point(112.45, 28.2, 7.0)
    assert to_storage(p, parse_crs(4326)) is p
    assert to_storage(p, CRS84) is p
    assert from_storage(p, CRS84) is p


def test_transformer_is_cached_and_always_xy() -> None:
    assert transformer(4326, 3857) is transformer(4326, 3857)
    x, y = transformer(4326, 3857).transform(10.0, 0.0)
    assert x > 1_000_000
    assert y == pytest.approx(0.0, abs=1e-6)


def test_check_lonlat_accepts_valid() -> None:
    check_lonlat(Polygon([(-180, -90), (180, -90), (180, 90), (-180, -90)]))
    check_lonlat(Point())


@pytest.mark.parametrize(
    ("geom", "index"),
    [
        (LineString([(112.0, 28.0), (181.0, 28.0), (200.0, 95.0)]), 1),
        (LineString([(112.0, 28.0), (112.0, 28.1), (112.0, -90.5)]), 2),
        (Point(math.inf, 0.0), 0),
        (Point(math.nan, 0.0), 0),
        (Point(3474276.7, 457330.8), 0),
    ],
)
def test_check_lonlat_names_first_bad_coordinate(geom: BaseGeometry, index: int) -> None:
    # Counted from 1, as a person reading the message counts.
    with pytest.raises(CoordinateRangeError, match=rf"coordinate {index + 1} ") as info:
        check_lonlat(geom)
    assert isinstance(info.value, ValueError)


def test_to_storage_refuses_projected_coordinates_given_as_lonlat() -> None:
    with pytest.raises(CoordinateRangeError):
        to_storage(Point(457330.8, 3474276.7), parse_crs(4326))
