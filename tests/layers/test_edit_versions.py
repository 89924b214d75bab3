"""Every change keeps the state it replaced, with who and when; any version can be restored, a deletion too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import psycopg
import pytest

from tests.layers.editing import Editing, assert_problem, editing, zone
from twin.config import Settings
from twin.db.provision import libpq_dsn

ITEMS = "/collections/risk_zones/items"


@pytest.fixture(scope="module")
def ed(services: Settings) -> Iterator[Editing]:
    with editing(services) as e:
        yield e


def rename(ed: Editing, fid: int, version: int, name: str, user: str = "safety_officer_A") -> None:
    response = ed.send(
        "PATCH", f"{ITEMS}/{fid}", user, {"properties": {"name": name}}, **{"If-Match": f'"{fid}-{version}"'}
    )
    assert response.status_code == 200, response.text


def test_versions_list_who_made_each_and_when(ed: Editing) -> None:
    fid = ed.create(feature=zone(code="V1", name="first")).json()["id"]
    rename(ed, fid, 1, "second")
    rename(ed, fid, 2, "third", user="admin_A")
    response = ed.send("GET", f"{ITEMS}/{fid}/versions", "leader_A")
    assert response.status_code == 200, response.text
    listed = response.json()["versions"]
    officer, admin = ed.world.users["A.safety_officer"], ed.world.users["A.admin"]
    assert [(v["version"], v["operation"], v["changed_by"]) for v in listed] == [
        (1, "insert", officer),
        (2, "update", officer),
        (3, "update", admin),
    ]
    times = [datetime.fromisoformat(v["changed_at"]) for v in listed]
    assert times == sorted(times)


def test_a_version_reads_as_the_feature_it_was(ed: Editing) -> None:
    fid = ed.create(feature=zone(code="V2", name="first")).json()["id"]
    rename(ed, fid, 1, "second")
    response = ed.send("GET", f"{ITEMS}/{fid}/versions/1", "leader_A")
    assert response.status_code == 200, response.text
    feature = response.json()
    assert feature["type"] == "Feature" and feature["id"] == fid and feature["version"] == 1
    assert feature["properties"]["name"] == "first" and feature["geometry"]["type"] == "Polygon"
    assert "org_path" not in feature["properties"]
    assert_problem(ed.send("GET", f"{ITEMS}/{fid}/versions/9", "leader_A"), 404, "versions: 1, 2")


def test_restore_brings_an_old_version_back_as_a_new_one(ed: Editing) -> None:
    fid = ed.create(feature=zone(code="V3", name="first", description="kept")).json()["id"]
    rename(ed, fid, 1, "second")
    path = f"{ITEMS}/{fid}/versions/1/restore"
    assert_problem(ed.send("POST", path, "safety_officer_A"), 428)
    assert_problem(ed.send("POST", path, "safety_officer_A", **{"If-Match": f'"{fid}-1"'}), 412, "version 2")
    response = ed.send("POST", path, "safety_officer_A", **{"If-Match": f'"{fid}-2"'})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{fid}-3"'
    assert response.json()["properties"]["name"] == "first"
    assert response.json()["properties"]["description"] == "kept"
    listed = ed.send("GET", f"{ITEMS}/{fid}/versions", "safety_officer_A").json()["versions"]
    assert [v["operation"] for v in listed] == ["insert", "update", "restore"]


def test_a_leader_may_not_restore(ed: Editing) -> None:
    fid = ed.create(feature=zone(code="V4")).json()["id"]
    rename(ed, fid, 1, "second")
    response = ed.send("POST", f"{ITEMS}/{fid}/versions/1/restore", "leader_A", **{"If-Match": f'"{fid}-2"'})
    assert_problem(response, 403, "may not change risk_zones")


def test_a_deleted_feature_is_restored_with_its_id(ed: Editing) -> None:
    fid = ed.create(feature=zone(code="V5", name="gone soon")).json()["id"]
    assert (
        ed.send("DELETE", f"{ITEMS}/{fid}", "safety_officer_A", **{"If-Match": f'"{fid}-1"'}).status_code
        == 204
    )
    listed = ed.send("GET", f"{ITEMS}/{fid}/versions", "safety_officer_A").json()["versions"]
    assert [(v["version"], v["operation"]) for v in listed] == [(1, "insert"), (2, "delete")]
    assert_problem(
        ed.send(
            "POST", f"{ITEMS}/{fid}/versions/2/restore", "safety_officer_A", **{"If-Match": f'"{fid}-2"'}
        ),
        400,
        "records its deletion",
        "version 1",
    )
    assert_problem(
        ed.send(
            "POST", f"{ITEMS}/{fid}/versions/1/restore", "safety_officer_A", **{"If-Match": f'"{fid}-1"'}
        ),
        412,
    )
    response = ed.send(
        "POST", f"{ITEMS}/{fid}/versions/1/restore", "safety_officer_A", **{"If-Match": f'"{fid}-2"'}
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == fid and response.headers["etag"] == f'"{fid}-3"'
    assert ed.sql("SELECT name FROM risk_zones WHERE id = %s", fid) == "gone soon"
    rename(ed, fid, 3, "back")  # an ordinary feature again


def test_a_sibling_schools_history_is_invisible(ed: Editing) -> None:
    fid = ed.create("safety_officer_B", zone(code="V6", campus="CB")).json()["id"]
    assert_problem(ed.send("GET", f"{ITEMS}/{fid}/versions", "safety_officer_A"), 404)
    assert_problem(ed.send("GET", f"{ITEMS}/{fid}/versions/1", "safety_officer_A"), 404)
    response = ed.send("POST", f"{ITEMS}/{fid}/versions/1/restore", "admin_A", **{"If-Match": f'"{fid}-1"'})
    assert_problem(response, 404)
    assert "SIBLINGLEAK" not in response.text
    county = ed.send("GET", f"{ITEMS}/{fid}/versions", "leader_410311")
    assert county.status_code == 200 and len(county.json()["versions"]) == 1


def test_a_bulk_loaded_feature_gets_its_baseline_at_its_first_change(ed: Editing) -> None:
    with psycopg.connect(libpq_dsn(ed.settings.db.sync_url())) as conn:
        conn.execute("SET LOCAL twin.bulk = 'on'")
        fid = conn.execute(
            "INSERT INTO risk_zones (org_path, campus_id, code, name, category, geom)"
            " SELECT org_path, id, 'BULK', 'bulk', 'fire', ST_Buffer(ST_Centroid(boundary), 0.0001)"
            " FROM campuses WHERE code = 'CA' RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
    assert (
        ed.sql(
            "SELECT count(*) FROM feature_versions WHERE feature_id = %s AND collection = 'risk_zones'", fid
        )
        == 0
    )
    listed = ed.send("GET", f"{ITEMS}/{fid}/versions", "leader_A").json()["versions"]
    assert [(v["version"], v["operation"]) for v in listed] == [(1, "baseline")]
    assert ed.send("GET", f"{ITEMS}/{fid}/versions/1", "leader_A").json()["properties"]["name"] == "bulk"
    rename(ed, fid, 1, "edited")
    listed = ed.send("GET", f"{ITEMS}/{fid}/versions", "leader_A").json()["versions"]
    assert [(v["version"], v["operation"]) for v in listed] == [(1, "baseline"), (2, "update")]
    assert ed.send("GET", f"{ITEMS}/{fid}/versions/1", "leader_A").json()["properties"]["name"] == "bulk"


def test_the_server_role_can_neither_write_history_nor_skip_it(ed: Editing) -> None:
    with psycopg.connect(libpq_dsn(ed.settings.db.sync_url())) as conn:
        conn.execute("SET ROLE twin_app")
        conn.execute("SELECT twin_begin_request(%s, 1)", (ed.world.users["A.admin"],))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM feature_versions")
        conn.rollback()  # which also undoes SET ROLE
        conn.execute("SET ROLE twin_app")
        conn.execute("SELECT twin_begin_request(%s, 1)", (ed.world.users["A.admin"],))
        conn.execute("SET LOCAL twin.bulk = 'on'")
        fid = conn.execute(
            "INSERT INTO risk_zones (org_path, campus_id, code, name, category, geom)"
            " SELECT org_path, id, 'APPBULK', 'x', 'fire', ST_Buffer(ST_Centroid(boundary), 0.0001)"
            " FROM campuses WHERE code = 'CA' RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        assert conn.execute(
            "SELECT operation, changed_by FROM feature_versions WHERE collection = 'risk_zones' AND feature_id = %s",
            (fid,),
        ).fetchall() == [("insert", ed.world.users["A.admin"])]
        conn.rollback()
