"""The HTTP side: POST /risk/assess, the four-colour map, roll-up, control list, cards, boards, scales."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import zlib
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from tests.layers.conftest import COUNTY, PASSWORD, SCHOOL, SIBLING
from twin.api import create_app
from twin.config import RiskMapSettings, Settings
from twin.riskmap.scales import build_scale


def pdf_objects(pdf: bytes) -> bytes:
    """The PDF with its compressed streams inflated, to look for font names."""
    out = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        with contextlib.suppress(zlib.error):
            out.append(zlib.decompress(match.group(1)))
    return b"".join(out)


Login = Callable[[str], dict[str, str]]
PROBLEM = "application/problem+json"


def test_assess_keeps_the_contract(client: TestClient, login: Login) -> None:
    r = client.post("/risk/assess", json={"method": "LEC", "L": 6, "E": 6, "C": 7}, headers=login("officer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["score"], body["level"], body["colour"]) == (252, 2, "#F08C00")
    assert "较大风险" in body["label"]
    r = client.post("/risk/assess", json={"method": "LS", "L": 4, "S": 5}, headers=login("officer"))
    assert (r.json()["score"], r.json()["level"]) == (20, 1)


def test_assess_refuses_values_off_the_scale_naming_the_allowed_ones(
    client: TestClient, login: Login
) -> None:
    r = client.post("/risk/assess", json={"method": "LEC", "L": 4, "E": 6, "C": 7}, headers=login("officer"))
    assert r.status_code == 400
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "10, 6, 3, 1, 0.5, 0.2, 0.1" in r.json()["detail"]
    assert r.json()["field"] == "L"
    r = client.post("/risk/assess", json={"method": "XYZ", "L": 1}, headers=login("officer"))
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)


def test_assess_needs_a_token(client: TestClient) -> None:
    assert client.post("/risk/assess", json={"method": "LS", "L": 1, "S": 1}).status_code == 401


def test_four_colour_geojson_colours_each_zone_by_its_highest_risk(client: TestClient, login: Login) -> None:
    r = client.get(f"/riskmap/{SCHOOL}/four-colour", headers=login("leader"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["features"] and len(fc["legend"]) == 4
    for f in fc["features"]:
        p = f["properties"]
        linked = [i + 1 for i, n in enumerate(p["points_by_level"]) if n]
        assert p["effective_level"] == min([p["level"], *linked])
        assert p["colour"] == {1: "#E02020", 2: "#F08C00", 3: "#F5D000", 4: "#2878F0"}[p["effective_level"]]
        assert p["label"].startswith(str(p["effective_level"]))


@pytest.mark.parametrize(
    ("f", "media", "magic"), [("png", "image/png", b"\x89PNG"), ("svg", "image/svg+xml", b"<?xml")]
)
@pytest.mark.parametrize("mode", ["colour", "bw"])
def test_four_colour_map_image(
    client: TestClient, login: Login, f: str, media: str, magic: bytes, mode: str
) -> None:
    r = client.get(f"/riskmap/{SCHOOL}/four-colour", params={"f": f, "print": mode}, headers=login("leader"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(media)
    assert r.content.startswith(magic)
    if f == "svg":
        svg = r.text
        assert "风险等级" in svg  # the legend, as text
        assert ">1<" in svg or ">2<" in svg  # level numbers on the zones
        if mode == "bw":
            assert "#e02020" not in svg.lower() and "#f08c00" not in svg.lower()


def test_an_org_outside_the_jurisdiction_is_not_found(client: TestClient, login: Login) -> None:
    for path in ("four-colour", "rollup", "control-list", "cards", "board", "scale"):
        r = client.get(f"/riskmap/{SIBLING}/{path}", headers=login("leader"))
        assert r.status_code == 404, path
        r = client.get(f"/riskmap/{COUNTY}/{path}", headers=login("leader"))
        assert r.status_code == 404, path


def test_rollup_of_the_county_lists_its_schools(client: TestClient, login: Login) -> None:
    r = client.get(f"/riskmap/{COUNTY}/rollup", headers=login("county"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["org"]["code"] == COUNTY
    school = next(c for c in body["children"] if c["code"] == SCHOOL)
    assert school["total_points"] == body["total_points"] > 0
    assert body["highest_level"] == min(int(k) for k, n in body["points"].items() if n)
    r = client.get(f"/riskmap/{SCHOOL}/rollup", headers=login("leader"))
    kinds = {c["kind"] for c in r.json()["children"]}
    assert {"campus", "building", "floor", "zone"} <= kinds


def test_control_list_csv_opens_in_excel_with_chinese(client: TestClient, login: Login) -> None:
    r = client.get(f"/riskmap/{SCHOOL}/control-list", params={"f": "csv"}, headers=login("officer"))
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header = rows[0]
    for column in (
        "工程技术措施",
        "管理措施",
        "培训教育措施",
        "个体防护措施",
        "应急处置措施",
        "管控层级",
        "责任人",
        "复评日期",
    ):
        assert any(column in h for h in header), column
    assert len(rows) > 10
    by = dict(zip(header, rows[1], strict=True))
    assert by["评定等级 level"] and by["责任人 responsible"]


def test_control_list_xlsx_and_pdf(client: TestClient, login: Login) -> None:
    r = client.get(f"/riskmap/{SCHOOL}/control-list", params={"f": "xlsx"}, headers=login("officer"))
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert "管控清单" in ws["A1"].value
    assert ws.max_row > 10
    r = client.get(f"/riskmap/{SCHOOL}/control-list", params={"f": "pdf"}, headers=login("officer"))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert b"NotoSansCJK" in pdf_objects(r.content)  # the CJK font is embedded


def test_control_list_refuses_an_unknown_format(client: TestClient, login: Login) -> None:
    r = client.get(f"/riskmap/{SCHOOL}/control-list", params={"f": "docx"}, headers=login("officer"))
    assert r.status_code == 422 and "csv" in r.text


def test_post_cards_carry_a_qr_code_of_the_item_and_flag_mandatory_ones(
    client: TestClient, login: Login
) -> None:
    r = client.get(f"/riskmap/{SCHOOL}/cards", params={"f": "json"}, headers=login("officer"))
    body = r.json()
    assert all(c["url"].endswith(f"/collections/risk_points/items/{c['id']}") for c in body["cards"])
    assert all(c["mandatory"] == (c["level"] <= 2) for c in body["cards"])
    first = body["cards"][0]["id"]
    r = client.get(f"/riskmap/{SCHOOL}/cards", params={"point": first}, headers=login("officer"))
    assert r.status_code == 200 and "<svg" in r.text and "岗位风险告知卡" in r.text
    r = client.get(f"/riskmap/{SCHOOL}/cards", params={"point": first, "f": "pdf"}, headers=login("officer"))
    assert r.content.startswith(b"%PDF")


def test_board_of_a_building(client: TestClient, login: Login) -> None:
    cards = client.get(
        f"/riskmap/{SCHOOL}/control-list", params={"f": "json"}, headers=login("officer")
    ).json()
    r = client.get(f"/riskmap/{SCHOOL}/board", headers=login("officer"))
    assert r.status_code == 200 and "风险公告栏" in r.text and "<svg" in r.text
    assert cards["rows"]
    r = client.get(f"/riskmap/{SCHOOL}/board", params={"f": "pdf"}, headers=login("officer"))
    assert r.content.startswith(b"%PDF")
    r = client.get(f"/riskmap/{SCHOOL}/board", params={"building": 999999}, headers=login("officer"))
    assert r.status_code == 404


def test_only_an_admin_changes_the_scale_and_the_school_then_grades_with_it(
    client: TestClient, login: Login
) -> None:
    r = client.put(f"/riskmap/{SCHOOL}/scale", json={"scheme": "three_level"}, headers=login("officer"))
    assert r.status_code == 403
    r = client.put(f"/riskmap/{SCHOOL}/scale", json={"scheme": "nope"}, headers=login("admin"))
    assert r.status_code == 400 and "three_level" in r.json()["detail"]
    r = client.put(f"/riskmap/{SCHOOL}/scale", json={"scheme": "three_level"}, headers=login("admin"))
    assert r.status_code == 200, r.text
    try:
        assert r.json()["scheme"] == "three_level" and not r.json()["inherited"]
        a = client.post(
            "/risk/assess", json={"method": "LS", "L": 4, "S": 4}, headers=login("officer")
        ).json()
        assert (a["level"], a["levels"], a["colour"]) == (1, 3, "#E02020")
        fc = client.get(f"/riskmap/{SCHOOL}/four-colour", headers=login("leader")).json()
        assert len(fc["legend"]) == 3
        assert all(f["properties"]["effective_level"] <= 3 for f in fc["features"])
    finally:
        r = client.delete(f"/riskmap/{SCHOOL}/scale", headers=login("admin"))
        assert r.status_code == 200 and r.json()["inherited"] and r.json()["scheme"] == "aq3013"
    assert client.delete(f"/riskmap/{SCHOOL}/scale", headers=login("admin")).status_code == 404


def test_the_nearest_ancestors_scale_wins(client: TestClient, login: Login, owner: Engine) -> None:
    three = json.dumps(build_scale("three_level").definition())
    common = json.dumps(build_scale("common").definition())
    with owner.begin() as c:
        c.execute(
            text(
                "INSERT INTO risk_scales (org_path, scheme, definition) VALUES"
                " ('410000', 'three_level', CAST(:three AS jsonb)),"
                " ('410000.410300.410311', 'common', CAST(:common AS jsonb))"
            ),
            {"three": three, "common": common},
        )
    try:
        body = client.get(f"/riskmap/{SCHOOL}/scale", headers=login("leader")).json()
        assert (body["scheme"], body["set_at"], body["inherited"]) == ("common", "410000.410300.410311", True)
        a = client.post(
            "/risk/assess", json={"method": "LS", "L": 3, "S": 3}, headers=login("officer")
        ).json()
        assert a["level"] == 2  # R=9: orange in the common variant, yellow by default
        with owner.begin() as c:
            c.execute(text("DELETE FROM risk_scales WHERE org_path = '410000.410300.410311'"))
        a = client.post(
            "/risk/assess", json={"method": "LS", "L": 3, "S": 3}, headers=login("officer")
        ).json()
        assert (a["level"], a["levels"]) == (2, 3)  # R=9: yellow, the 2nd of three levels
    finally:
        with owner.begin() as c:
            c.execute(text("DELETE FROM risk_scales WHERE org_path IN ('410000', '410000.410300.410311')"))


def test_an_export_too_large_is_refused_naming_the_limit(risk_db: Settings) -> None:
    small = risk_db.model_copy(update={"riskmap": RiskMapSettings(max_list_rows=5, max_cards=5)})
    with TestClient(create_app(small)) as c:
        token = c.post("/auth/token", data={"username": "officer", "password": PASSWORD}).json()[
            "access_token"
        ]
        headers = {"Authorization": f"Bearer {token}"}
        for path in ("control-list", "cards", "board"):
            r = c.get(f"/riskmap/{SCHOOL}/{path}", headers=headers)
            assert r.status_code == 400, path
            assert r.headers["content-type"].startswith(PROBLEM)
            assert r.json()["limit"] == 5 and "county or school" in r.json()["detail"]


def test_scales_serve_the_yaml_value_lists_the_editor_offers(client: TestClient, login: Login) -> None:
    from twin.riskmap.scales import catalogue

    body = client.get("/riskmap/scales", headers=login("officer")).json()
    data = catalogue()
    for factor in ("L", "E", "C"):
        assert [e["value"] for e in body["LEC"][factor]] == [e["value"] for e in data["lec"][factor]]
    assert [e["value"] for e in body["LS"]["S"]] == data["ls"]["S"]
    assert body["default_scheme"] in body["schemes"] and "fire" in body["categories"]
    # every listed value is accepted by the assessment, and a value off the list is not
    one = {f: body["LEC"][f][0]["value"] for f in ("L", "E", "C")}
    assert (
        client.post("/risk/assess", json={"method": "LEC", **one}, headers=login("officer")).status_code
        == 200
    )
    off = client.post("/risk/assess", json={"method": "LEC", **one, "L": 7}, headers=login("officer"))
    assert off.status_code == 400
    assert client.get("/riskmap/scales").status_code == 401
