"""The four-colour MVT layer: zones with their effective level and colour; an edit through the editing
engine drops the cached four-colour tiles it touched, so the next tile shows the new colour."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import mapbox_vector_tile
import morecantile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from twin.layers import tiles

Login = Callable[[str], dict[str, str]]
WMQ = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    tiles.tile_cache().clear()
    yield
    tiles.tile_cache().clear()


def zone_layer(
    client: TestClient, tile: morecantile.Tile, headers: dict[str, str]
) -> dict[int, dict[str, Any]]:
    r = client.get(
        f"/collections/four_colour/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}", headers=headers
    )
    assert r.status_code in (200, 204), r.text
    if r.status_code == 204 or not r.content:
        return {}
    layer = mapbox_vector_tile.decode(r.content).get("four_colour", {"features": []})
    return {f["id"]: f["properties"] for f in layer["features"]}


def test_a_point_raised_through_the_editor_recolours_its_zone_tile(
    client: TestClient, login: Login, owner: Engine
) -> None:
    with owner.connect() as c:
        p = c.execute(
            text(
                "SELECT p.id, p.version, p.zone_id, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat FROM risk_points p"
                " JOIN risk_zones z ON z.id = p.zone_id WHERE NOT p.dynamic AND p.level > 1"
                " AND NOT EXISTS (SELECT 1 FROM risk_points q WHERE q.zone_id = z.id AND q.level = 1)"
                " AND z.level > 1 ORDER BY p.id LIMIT 1"
            )
        ).one()
    tile = WMQ.tile(p.lon, p.lat, 18)
    headers = login("officer")
    before = zone_layer(client, tile, headers)[p.zone_id]
    assert before["effective_level"] > 1
    assert before["colour"] != "#E02020"
    r = client.patch(
        f"/collections/risk_points/items/{p.id}",
        json={"properties": {"level": 1}},
        headers={
            **headers,
            "If-Match": f'"{p.id}-{p.version}"',
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert r.status_code == 200, r.text
    after = zone_layer(client, tile, headers)[p.zone_id]
    assert (after["effective_level"], after["colour"]) == (1, "#E02020")
    # Put it back, through the editor too.
    version = r.json()["properties"].get("version", p.version + 1)
    client.patch(
        f"/collections/risk_points/items/{p.id}",
        json={"properties": {"level": before["effective_level"]}},
        headers={
            **headers,
            "If-Match": f'"{p.id}-{version}"',
            "Content-Type": "application/merge-patch+json",
        },
    )


def test_the_whole_zones_tiles_are_dropped_not_only_the_points(
    client: TestClient, login: Login, owner: Engine
) -> None:
    with owner.connect() as c:
        candidates = c.execute(
            text(
                "SELECT p.id, p.version, p.level, p.zone_id, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat,"
                " ST_X(v.corner) AS clon, ST_Y(v.corner) AS clat"
                " FROM risk_points p JOIN risk_zones z ON z.id = p.zone_id,"
                " LATERAL (SELECT ST_LineInterpolatePoint(ST_MakeLine(ST_PointN(ST_ExteriorRing(z.geom), 1),"
                "          ST_PointOnSurface(z.geom)), 0.05) AS corner) v"
                " WHERE NOT p.dynamic AND p.level > 1 AND z.level > 1"
                " AND NOT EXISTS (SELECT 1 FROM risk_points q WHERE q.zone_id = z.id AND q.level = 1)"
                " ORDER BY p.id"
            )
        ).all()
    p, corner = next(
        (p, WMQ.tile(p.clon, p.clat, 20))
        for p in candidates
        if WMQ.tile(p.clon, p.clat, 20) != WMQ.tile(p.lon, p.lat, 20)
    )
    headers = login("officer")
    assert zone_layer(client, corner, headers)[p.zone_id]["effective_level"] > 1  # cached now
    r = client.patch(
        f"/collections/risk_points/items/{p.id}",
        json={"properties": {"level": 1}},
        headers={
            **headers,
            "If-Match": f'"{p.id}-{p.version}"',
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert r.status_code == 200, r.text
    try:
        assert zone_layer(client, corner, headers)[p.zone_id]["effective_level"] == 1
    finally:
        with owner.begin() as c:
            c.execute(text("UPDATE risk_points SET level = :l WHERE id = :id"), {"l": p.level, "id": p.id})
