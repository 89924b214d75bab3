"""The same statistic as CSV, XLSX, GeoPackage and GeoParquet, and as a chart or a choropleth."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import geopandas as gpd
import pyogrio
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.layers.conftest import SCHOOL

Login = Callable[[str], dict[str, str]]
URL = "/stats/hazards?group_by=school"


def as_json(client: TestClient, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    return client.get(URL, headers=headers).json()


def test_csv_has_the_json_columns_and_values(client: TestClient, login: Login) -> None:
    expected = as_json(client, login("county"))
    response = client.get(URL + "&f=csv", headers=login("county"))
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == expected["columns"]
    school = next(r for r in rows[1:] if r[0] == SCHOOL)
    assert (
        int(school[rows[0].index("found")])
        == next(r for r in expected["rows"] if r["code"] == SCHOOL)["found"]
    )


def test_xlsx_opens_with_the_same_rows(client: TestClient, login: Login) -> None:
    expected = as_json(client, login("county"))
    content = client.get(URL + "&f=xlsx", headers=login("county")).content
    sheet = load_workbook(io.BytesIO(content)).active
    values = list(sheet.values)
    assert list(values[0]) == expected["columns"]
    assert len(values) - 1 == len(expected["rows"])


def test_geopackage_reads_in_gdal_with_the_school_area(client: TestClient, login: Login, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "hazards.gpkg"
    path.write_bytes(client.get(URL + "&f=gpkg", headers=login("leader")).content)
    frame = pyogrio.read_dataframe(path)
    assert list(frame["code"]) == [SCHOOL]
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.iloc[0] is not None and frame.geometry.iloc[0].area > 0


def test_geoparquet_reads_back_in_geopandas(client: TestClient, login: Login, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "hazards.parquet"
    path.write_bytes(client.get(URL + "&f=parquet", headers=login("leader")).content)
    frame = gpd.read_parquet(path)
    assert frame.crs.to_epsg() == 4326
    assert (
        int(frame.loc[frame["code"] == SCHOOL, "found"].iloc[0])
        == as_json(client, login("leader"))["rows"][0]["found"]
    )


def test_chart_and_choropleth_are_pictures(client: TestClient, login: Login) -> None:
    chart = client.get("/stats/hazards?f=png&group_by=school", headers=login("county"))
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")
    choropleth = client.get(
        "/stats/drills?f=svg&view=map&measure=participants_per_1000", headers=login("county")
    )
    assert choropleth.status_code == 200 and b"<svg" in choropleth.content[:500]
    bad = client.get("/stats/drills?f=png&measure=speed", headers=login("county"))
    assert bad.status_code == 400 and "participants" in bad.json()["detail"]
