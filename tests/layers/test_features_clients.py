"""Outside clients read the Features API from a real server: GDAL's OAPIF driver and OWSLib."""

from __future__ import annotations

import os
import subprocess

import httpx
import pytest
from owslib.ogcapi.features import Features

from tests.layers.conftest import PASSWORD
from twin.layers import COLLECTIONS

OGRINFO = "/usr/bin/ogrinfo"


@pytest.fixture(scope="module")
def token(server: str) -> str:
    response = httpx.post(f"{server}/auth/token", data={"username": "leader", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def ogrinfo(server: str, token: str, *args: str) -> str:
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}"}
    done = subprocess.run(
        [OGRINFO, "-ro", "-so", f"OAPIF:{server}", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(not os.path.exists(OGRINFO), reason="gdal-bin is not installed")
def test_gdal_lists_every_collection(server: str, token: str) -> None:
    out = ogrinfo(server, token)
    for cid in COLLECTIONS:
        assert f": {cid} (title: {COLLECTIONS[cid].title})" in out, (cid, out)


@pytest.mark.skipif(not os.path.exists(OGRINFO), reason="gdal-bin is not installed")
def test_gdal_reads_the_buildings_with_their_count(server: str, token: str) -> None:
    out = ogrinfo(server, token, "buildings")
    assert "Feature Count: 25" in out, out
    assert "Geometry: Polygon" in out and "floors: Integer" in out, out


def test_owslib_reads_items_with_bbox_and_filter(server: str, token: str) -> None:
    api = Features(f"{server}/", headers={"Authorization": f"Bearer {token}"})
    assert {c["id"] for c in api.collections()["collections"]} == set(COLLECTIONS)
    boxed = api.collection_items("buildings", bbox=[112.448, 34.618, 112.4495, 34.6195], limit=100)
    assert 0 < boxed["numberReturned"] < 25
    labs = api.collection_items("buildings", filter="use = 'laboratory'", limit=100)
    assert labs["numberMatched"] == 2
    assert {f["properties"]["use"] for f in labs["features"]} == {"laboratory"}
    assert "floors" in api.collection_queryables("buildings")["properties"]
