"""Create, replace, update and delete features (OGC API Features Part 4): ETags, If-Match, permissions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyproj
import pytest

from tests.layers.editing import Editing, X, assert_problem, editing, square, zone
from twin.config import Settings


@pytest.fixture(scope="module")
def ed(services: Settings) -> Iterator[Editing]:
    with editing(services) as e:
        yield e


X_MOVED = 112.405


def item(fid: int, collection: str = "risk_zones") -> str:
    return f"/collections/{collection}/items/{fid}"


def test_create_answers_201_with_location_etag_and_the_stored_feature(ed: Editing) -> None:
    response = ed.create(feature=zone(code="C1"))
    assert response.status_code == 201, response.text
    fid = response.json()["id"]
    assert response.headers["location"].endswith(item(fid))
    assert response.headers["etag"] == f'"{fid}-1"'
    assert response.headers["content-type"].startswith("application/geo+json")
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    props = response.json()["properties"]
    assert props["campus_id"] == ed.world.campuses["A"] and props["version"] == 1
    assert "org_path" not in props
    # The scope key comes from the campus, never from the client.
    assert (
        ed.sql("SELECT org_path::text FROM risk_zones WHERE id = %s", fid)
        == "410000.410300.410311.4103110001"
    )


def test_campus_may_be_named_by_id(ed: Editing) -> None:
    feature = zone(code="C2")
    del feature["properties"]["campus"]
    feature["properties"]["campus_id"] = ed.world.campuses["A"]
    assert ed.create(feature=feature).status_code == 201


def test_update_without_if_match_is_428_and_with_a_stale_etag_412(ed: Editing) -> None:
    fid = ed.create(feature=zone(code="U1")).json()["id"]
    patch = {"properties": {"name": "renamed"}}
    assert_problem(ed.send("PATCH", item(fid), "safety_officer_A", patch), 428, "If-Match")
    ok = ed.send("PATCH", item(fid), "safety_officer_A", patch, **{"If-Match": f'"{fid}-1"'})
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == f'"{fid}-2"'
    assert ok.json()["properties"]["name"] == "renamed" and ok.json()["properties"]["version"] == 2
    stale = ed.send("PATCH", item(fid), "safety_officer_A", patch, **{"If-Match": f'"{fid}-1"'})
    body = assert_problem(stale, 412, "version 2")
    assert body["current_version"] == 2 and body["etag"] == f'"{fid}-2"'
    assert ed.sql("SELECT version FROM risk_zones WHERE id = %s", fid) == 2


def test_patch_merges_properties_and_can_move_the_geometry(ed: Editing) -> None:
    fid = ed.create(feature=zone(code="U2", inputs={"L": 3, "S": 2}, description="old")).json()["id"]
    patch = {"properties": {"inputs": {"S": None, "E": 6}, "description": None}, "geometry": square(X_MOVED)}
    response = ed.send(
        "PATCH",
        item(fid),
        "safety_officer_A",
        patch,
        content_type="application/merge-patch+json",
        **{"If-Match": f'"{fid}-1"'},
    )
    assert response.status_code == 200, response.text
    props = response.json()["properties"]
    assert props["inputs"] == {"L": 3, "E": 6} and props["description"] is None and props["code"] == "U2"
    assert response.json()["geometry"]["coordinates"][0][0] == [X_MOVED, 34.602]


def test_put_replaces_the_whole_feature(ed: Editing) -> None:
    fid = ed.create(feature=zone(code="P1", description="will go")).json()["id"]
    replacement = zone(code="P1", name="replaced")
    response = ed.send("PUT", item(fid), "safety_officer_A", replacement, **{"If-Match": f'"{fid}-1"'})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{fid}-2"'
    props = response.json()["properties"]
    assert props["name"] == "replaced" and props["description"] is None and props["dynamic"] is False


def test_put_back_what_was_read_ignores_the_read_only_properties(ed: Editing) -> None:
    created = ed.create(feature=zone(code="P2")).json()
    response = ed.send(
        "PUT", item(created["id"]), "safety_officer_A", created, **{"If-Match": f'"{created["id"]}-1"'}
    )
    assert response.status_code == 200, response.text


def test_delete_needs_if_match_and_then_the_feature_is_gone(ed: Editing) -> None:
    fid = ed.create(feature=zone(code="D1")).json()["id"]
    assert_problem(ed.send("DELETE", item(fid), "safety_officer_A"), 428)
    assert_problem(ed.send("DELETE", item(fid), "safety_officer_A", **{"If-Match": f'"{fid}-7"'}), 412)
    assert ed.send("DELETE", item(fid), "safety_officer_A", **{"If-Match": f'"{fid}-1"'}).status_code == 204
    assert ed.sql("SELECT count(*) FROM risk_zones WHERE id = %s", fid) == 0
    assert_problem(
        ed.send(
            "PATCH",
            item(fid),
            "safety_officer_A",
            {"properties": {"name": "x"}},
            **{"If-Match": f'"{fid}-1"'},
        ),
        404,
    )


@pytest.mark.parametrize("role", ["leader", "analyst", "maintenance"])
def test_roles_without_the_grant_get_403_and_nothing_is_stored(ed: Editing, role: str) -> None:
    before = ed.count("risk_zones")
    assert_problem(ed.create(f"{role}_A", zone(code=f"N-{role}")), 403, "may not change risk_zones")
    assert ed.count("risk_zones") == before


def test_leader_may_not_change_or_delete_a_visible_feature(ed: Editing) -> None:
    fid = ed.create(feature=zone(code="L1")).json()["id"]
    match = {"If-Match": f'"{fid}-1"'}
    assert_problem(ed.send("PATCH", item(fid), "leader_A", {"properties": {"name": "x"}}, **match), 403)
    assert_problem(ed.send("DELETE", item(fid), "leader_A", **match), 403, "may not change risk_zones")
    assert ed.sql("SELECT version FROM risk_zones WHERE id = %s", fid) == 1


def test_safety_officer_may_not_edit_buildings(ed: Editing) -> None:
    fid = ed.world.buildings["A"]
    response = ed.send(
        "PATCH",
        item(fid, "buildings"),
        "safety_officer_A",
        {"properties": {"floors": 5}},
        **{"If-Match": f'"{fid}-1"'},
    )
    assert_problem(response, 403, "may not change buildings")
    assert ed.sql("SELECT floors FROM buildings WHERE id = %s", fid) == 4


def test_admin_edits_buildings(ed: Editing) -> None:
    fid = ed.world.buildings["A"]
    version = ed.sql("SELECT version FROM buildings WHERE id = %s", fid)
    response = ed.send(
        "PATCH",
        item(fid, "buildings"),
        "admin_A",
        {"properties": {"occupancy": 300}},
        **{"If-Match": f'"{fid}-{version}"'},
    )
    assert response.status_code == 200, response.text


def test_maintenance_adds_pipe_nodes(ed: Editing) -> None:
    node = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [X + 0.003, 34.603]},
        "properties": {"campus": "CA", "utility": "water", "code": "J1", "kind": "junction"},
    }
    assert ed.create("maintenance_A", node, "pipe_nodes").status_code == 201


def test_a_sibling_schools_feature_is_404(ed: Editing) -> None:
    fid = ed.world.buildings["B"]
    match = {"If-Match": f'"{fid}-1"'}
    for method in ("PATCH", "PUT", "DELETE"):
        response = ed.send(method, item(fid, "buildings"), "admin_A", {"properties": {"floors": 9}}, **match)
        assert_problem(response, 404)
        assert leak_free(response.text)
    assert_problem(ed.send("GET", f"{item(fid, 'buildings')}/versions", "admin_A"), 404)
    assert ed.sql("SELECT floors FROM buildings WHERE id = %s", fid) == 4


def leak_free(text: str) -> bool:
    return "SIBLINGLEAK" not in text


def test_a_campus_outside_the_jurisdiction_is_403(ed: Editing) -> None:
    before = ed.count("risk_zones")
    assert_problem(
        ed.create(feature=zone(code="O1", campus="CB")), 403, "not a campus within your jurisdiction"
    )
    feature = zone(code="O2")
    del feature["properties"]["campus"]
    feature["properties"]["campus_id"] = ed.world.campuses["B"]
    assert_problem(ed.create(feature=feature), 403)
    assert ed.count("risk_zones") == before


def test_a_duplicate_code_is_409(ed: Editing) -> None:
    assert ed.create(feature=zone(code="DUP")).status_code == 201
    assert_problem(ed.create(feature=zone(code="DUP")), 409, "already exists")


def test_read_only_and_unknown_collections(ed: Editing) -> None:
    assert_problem(ed.create(feature=zone(), collection="campuses"), 405, "read-only")
    assert_problem(ed.create(feature=zone(), collection="nothing"), 404)


def test_content_crs_is_honoured(ed: Editing) -> None:
    """EPSG:4326 is lat/lon by its authority (Part 2); a CGCS2000 GK zone is in metres."""
    lat_lon = zone(code="K1")
    lat_lon["geometry"]["coordinates"] = [[[y, x] for x, y in lat_lon["geometry"]["coordinates"][0]]]
    response = ed.send(
        "POST",
        "/collections/risk_zones/items",
        "safety_officer_A",
        lat_lon,
        **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4326>"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["geometry"]["coordinates"][0][0] == pytest.approx([X + 0.002, 34.602])
    to_gk = pyproj.Transformer.from_crs(4326, 4546, always_xy=True)
    metres = zone(code="K2")
    ring: list[Any] = metres["geometry"]["coordinates"][0]
    metres["geometry"]["coordinates"] = [[[n, e] for e, n in (to_gk.transform(x, y) for x, y in ring)]]
    response = ed.send(
        "POST", "/collections/risk_zones/items", "safety_officer_A", metres, **{"Content-Crs": "EPSG:4546"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["geometry"]["coordinates"][0][0] == pytest.approx([X + 0.002, 34.602], abs=1e-7)


def test_tiles_are_invalidated_after_commit_with_old_and_new_boxes(
    ed: Editing, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twin.layers import tiles

    calls: list[tuple[Any, ...]] = []

    def record(collection_id: str, *boxes: tuple[float, float, float, float]) -> int:
        # Committed already: the owner's own connection sees the change.
        calls.append((collection_id, boxes, ed.count("risk_zones")))
        return 0

    monkeypatch.setattr(tiles, "invalidate", record)
    before = ed.count("risk_zones")
    fid = ed.create(feature=zone(code="T1")).json()["id"]
    assert calls[-1][0] == "risk_zones" and calls[-1][2] == before + 1
    assert calls[-1][1] == (pytest.approx((X + 0.002, 34.602, X + 0.0025, 34.6025)),)
    ed.send(
        "PATCH", item(fid), "safety_officer_A", {"geometry": square(X_MOVED)}, **{"If-Match": f'"{fid}-1"'}
    )
    old, new = calls[-1][1]
    assert old == pytest.approx((X + 0.002, 34.602, X + 0.0025, 34.6025))
    assert new == pytest.approx((X_MOVED, 34.602, X_MOVED + 0.0005, 34.6025))


def test_risk_points_are_created_beside_others_in_zones(ed: Editing) -> None:
    """The tiles to drop for a new point include its zone's: that lookup must name the new row only (it
    once joined every point again and answered 500 once two points sat in zones)."""
    zone_id = ed.create(feature=zone(code="PZ1")).json()["id"]
    made = []
    for n in range(3):
        point = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [X + 0.00225, 34.60225]},
            "properties": {
                "campus": "CA",
                "code": f"PP{n}",
                "name": f"valve {n}",
                "category": "laboratory",
                "level": 3,
                "zone_id": zone_id,
            },
        }
        response = ed.create(feature=point, collection="risk_points")
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    assert ed.sql("SELECT count(*) FROM risk_points WHERE zone_id = %s", zone_id) == 3
