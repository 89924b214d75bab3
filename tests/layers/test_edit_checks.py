"""A bad feature is refused with a problem naming what is wrong, and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.layers.editing import Editing, X, assert_problem, editing, square, zone
from twin.config import Settings

ITEMS = "/collections/risk_zones/items"


@pytest.fixture(scope="module")
def ed(services: Settings) -> Iterator[Editing]:
    with editing(services) as e:
        yield e


def with_geometry(geometry: dict[str, Any]) -> dict[str, Any]:
    return zone() | {"geometry": geometry}


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[X, 34.602], [X + 0.001, 34.603], [X + 0.001, 34.602], [X, 34.603], [X, 34.602]]],
}
UNCLOSED = {"type": "Polygon", "coordinates": [[[X, 34.602], [X + 0.001, 34.602], [X + 0.001, 34.603]]]}
TOO_SHORT = {"type": "Polygon", "coordinates": [[[X, 34.602], [X + 0.001, 34.602], [X, 34.602]]]}
MULTI = {"type": "MultiPolygon", "coordinates": [square()["coordinates"]]}
FAR = {"type": "Polygon", "coordinates": [[[200, 34.6], [201, 34.6], [201, 35], [200, 34.6]]]}
POINT = {"type": "Point", "coordinates": [X, 34.602]}
TEXT = {"type": "Polygon", "coordinates": [[["a", "b"], ["c", "d"], ["e", "f"], ["a", "b"]]]}


@pytest.mark.parametrize(
    ("feature", "status", "words"),
    [
        (with_geometry(BOWTIE), 400, ["invalid geometry", "Self-intersection"]),
        (with_geometry(UNCLOSED), 400, ["ring 1 is not closed"]),
        (with_geometry(TOO_SHORT), 400, ["invalid geometry", "Too few points"]),
        (with_geometry(MULTI), 400, ["wrong geometry type MultiPolygon", "Polygon"]),
        (with_geometry(POINT), 400, ["wrong geometry type Point"]),
        (with_geometry(FAR), 400, ["out of range"]),
        (with_geometry(TEXT), 400, ["cannot be read"]),
        (zone(colour="red"), 400, ["unknown properties ['colour']", "allowed:"]),
        (zone(org_path="410000"), 400, ["unknown properties ['org_path']"]),
        (zone(category="lava"), 400, ["category", "'lava' is not allowed", "laboratory"]),
        (zone(level="high"), 400, ["level", "not a number"]),
        (zone(level=2.5), 400, ["level", "whole number"]),
        (zone(floor=2**40), 400, ["floor", "out of range"]),
        (zone(dynamic="yes"), 400, ["dynamic", "true or false"]),
        (zone(review_date="someday"), 400, ["review_date"]),
        (zone(code="x" * 65), 400, ["code", "at most 64"]),
        (zone(name=None), 400, ["name"]),
        (zone(campus=None), 400, ["campus"]),
        (
            {"type": "Feature", "geometry": square(), "properties": {"campus": "CA", "category": "fire"}},
            400,
            ["missing required properties ['code', 'name']"],
        ),
        (
            {"type": "Feature", "geometry": None, "properties": zone()["properties"]},
            400,
            ["geometry may not be null"],
        ),
        ({}, 422, ["GeoJSON Feature"]),
        ({"type": "FeatureCollection", "features": []}, 422, ["FeatureCollection"]),
        ([zone()], 422, ["Feature object"]),
        ({"type": "Feature", "geometry": square()}, 422, ["properties"]),
    ],
    ids=lambda v: None if isinstance(v, dict | list | int) else ",".join(v)[:40],
)
def test_a_bad_feature_is_refused_and_nothing_is_stored(
    ed: Editing, feature: Any, status: int, words: list[str]
) -> None:
    before = ed.count("risk_zones")
    body = assert_problem(ed.create(feature=feature), status, *words)
    assert body["instance"] == ITEMS
    assert ed.count("risk_zones") == before


def test_unknown_properties_are_named_and_the_allowed_listed(ed: Editing) -> None:
    body = assert_problem(ed.create(feature=zone(colour="red", size=3)), 400)
    assert body["properties"] == ["colour", "size"]
    assert "category" in body["allowed"] and "org_path" not in body["allowed"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_not_json(ed: Editing, token: str) -> None:
    before = ed.count("risk_zones")
    raw = json.dumps(zone()).replace(f"{X + 0.002}", token, 1).encode()
    assert token.encode() in raw
    assert_problem(ed.send("POST", ITEMS, "safety_officer_A", raw=raw), 400, token, "not valid JSON")
    assert ed.count("risk_zones") == before


def test_invalid_json_is_400(ed: Editing) -> None:
    assert_problem(
        ed.send("POST", ITEMS, "safety_officer_A", raw=b'{"type": "Feature",'), 400, "not valid JSON"
    )


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data"])
def test_a_wrong_content_type_is_415(ed: Editing, content_type: str) -> None:
    before = ed.count("risk_zones")
    response = ed.send("POST", ITEMS, "safety_officer_A", zone(), content_type=content_type)
    body = assert_problem(response, 415, "application/geo+json")
    assert "application/geo+json" in body["accepted"]
    assert ed.count("risk_zones") == before


def test_plain_json_and_a_charset_are_accepted(ed: Editing) -> None:
    response = ed.send(
        "POST", ITEMS, "safety_officer_A", zone(code="J1"), content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 201, response.text


def test_a_payload_over_the_limit_is_413(ed: Editing) -> None:
    before = ed.count("risk_zones")
    limit = ed.settings.edit.max_feature_bytes
    big = zone(code="BIG", description="x" * (limit + 1))
    body = assert_problem(ed.create(feature=big), 413, str(limit))
    assert body["limit"] == limit
    assert ed.count("risk_zones") == before


def test_a_bad_content_crs_is_400(ed: Editing) -> None:
    response = ed.send("POST", ITEMS, "safety_officer_A", zone(code="CRS"), **{"Content-Crs": "EPSG:27700"})
    assert_problem(response, 400, "Content-Crs", "not supported")


def test_a_bad_patch_changes_nothing(ed: Editing) -> None:
    fid = ed.create(feature=zone(code="BP")).json()["id"]
    match = {"If-Match": f'"{fid}-1"'}
    path = f"{ITEMS}/{fid}"
    assert_problem(
        ed.send("PATCH", path, "safety_officer_A", {"geometry": BOWTIE}, **match), 400, "Self-intersection"
    )
    assert_problem(
        ed.send("PATCH", path, "safety_officer_A", {"properties": {"name": None}}, **match), 400, "name"
    )
    assert_problem(
        ed.send("PATCH", path, "safety_officer_A", {"properties": {"x": 1}}, **match), 400, "unknown"
    )
    assert_problem(ed.send("PATCH", path, "safety_officer_A", {}, **match), 400, "changes nothing")
    assert_problem(
        ed.send("PUT", path, "safety_officer_A", with_geometry(MULTI), **match), 400, "MultiPolygon"
    )
    assert ed.sql("SELECT version FROM risk_zones WHERE id = %s", fid) == 1
