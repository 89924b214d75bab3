"""The bad-input corpus (tests/reliability/corpus): each input gets its named refusal and stores nothing.

After every case the fingerprint of every table (row count and checksum of the rows) is the one before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.access import world as w
from tests.reliability.fingerprint import changes, fingerprint
from tests.signing import Login
from twin.config import Settings
from twin.db.engine import sync_engine
from twin.errors import ImportRejected
from twin.ingest import load_path
from twin.live import jt808
from twin.live.ingest import handle

CORPUS = Path(__file__).parent / "corpus"


def cases(name: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load((CORPUS / name).read_text(encoding="utf-8")))


def expand(text: str) -> str:
    """[[LONG n]] / [[LONG]] stand for long strings the corpus file would not want to hold."""
    if text.startswith("[[LONG"):
        return "x" * int(text.strip("[]").split()[1] if " " in text else 10_000)
    return text


@pytest.fixture(scope="module")
def owner(world_db: tuple[Settings, w.World]) -> Iterator[Engine]:
    engine = sync_engine(world_db[0].db)
    yield engine
    engine.dispose()


@pytest.fixture
def unchanged(owner: Engine) -> Iterator[None]:
    before = fingerprint(owner)
    yield
    assert changes(before, fingerprint(owner)) == {}


def request_of(case: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"headers": dict(case.get("headers", {}))}
    if "json" in case:
        props = case["json"].get("properties", {}) if isinstance(case["json"], dict) else {}
        for key, value in props.items():
            if isinstance(value, str):
                props[key] = expand(value)
        kwargs["json"] = case["json"]
    elif "body" in case:
        body = case["body"]
        if body.startswith("[[BIG"):
            size = int(body.strip("[]").split()[1])
            body = '{"type": "Feature", "properties": {"name": "' + "x" * size + '"}, "geometry": null}'
        kwargs["content"] = body.encode()
        kwargs["headers"].setdefault("Content-Type", "application/geo+json")
    elif "body_hex" in case:
        kwargs["content"] = bytes.fromhex(case["body_hex"])
        kwargs["headers"].setdefault("Content-Type", "application/geo+json")
    return kwargs


HTTP = cases("http.yaml")


@pytest.mark.parametrize("case", HTTP, ids=[c["name"] for c in HTTP])
def test_bad_http_input_gets_its_problem_and_stores_nothing(
    client: TestClient, login: Login, unchanged: None, case: dict[str, Any]
) -> None:
    kwargs = request_of(case)
    if case.get("as"):
        kwargs["headers"].update(login(case["as"]))
    response = client.request(case["method"], case["path"], **kwargs)
    assert response.status_code == case["status"], response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json"), response.text[:300]
    assert case["detail"] in response.json()["detail"], response.json()


JT808 = cases("jt808.yaml")


@pytest.mark.parametrize("case", JT808, ids=[c["name"] for c in JT808])
def test_jt808_frames_are_refused_for_the_named_reason(case: dict[str, Any]) -> None:
    frame = bytes.fromhex(case["hex"])
    if case["reason"] is None:
        assert jt808.decode(frame).header.message_id == jt808.LOCATION
        return
    with pytest.raises(jt808.FrameError) as refused:
        jt808.decode(frame)
    assert refused.value.reason == case["reason"]


def test_a_stream_of_broken_frames_yields_only_the_good_ones() -> None:
    """Bytes as they come off the socket: the deframer splits, each bad frame fails alone."""
    stream = b"".join(bytes.fromhex(c["hex"]) for c in JT808) + b"\x00\xff garbage between frames \x7e"
    decoded, refused = [], []
    for frame in jt808.Deframer().feed(stream):
        try:
            decoded.append(jt808.decode(frame))
        except jt808.FrameError as exc:
            refused.append(exc.reason)
    assert [m.header.message_id for m in decoded] == [jt808.LOCATION]
    assert {"bad_escape", "bad_checksum", "too_short", "bad_length"} <= set(refused)


MQTT = cases("mqtt.yaml")


@pytest.mark.parametrize("case", MQTT, ids=[c["name"] for c in MQTT])
def test_mqtt_payloads_are_refused_and_store_nothing(
    owner: Engine, unchanged: None, case: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    payload = bytes.fromhex(case["payload_hex"]) if "payload_hex" in case else case["payload"].encode()
    if b"[[LONG" in payload:
        payload = payload.replace(b"[[LONG 200]]", b"x" * 200)
    with caplog.at_level(logging.WARNING):
        outcome = handle(owner, case["topic"], payload, datetime(2026, 11, 18, 7, 31, tzinfo=UTC))
    assert outcome == case["reason"]
    assert "rejected MQTT message" in caplog.text  # logged, so an operator can find the device


IMPORTS = {  # file -> words the refusal must contain (layer, feature and problem named)
    "truncated/buildings.geojson": "layer 'buildings': cannot be read",
    "bowtie/risk_zones.geojson": "feature 1 (code 'Z8'): invalid geometry: Self-intersection",
    "outside/buildings.geojson": "is out of range: not a longitude/latitude",
    "wrongtype/buildings.geojson": "wrong geometry type Point; expected Polygon",
    # the first feature is fine: nothing of the file may be stored because of the second
    "halfbad/buildings.geojson": "feature 2 (code 'B8'), field 'use': 'castle' is not allowed",
    "notgpkg/delivery.gpkg": "cannot be read as a GeoPackage",
    "emptyshp": "not recognized as being in a supported file format",
    "broken.inp": "",
}


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_bad_import_files_are_rejected_whole(owner: Engine, unchanged: None, name: str) -> None:
    path = CORPUS / "imports" / name
    with pytest.raises(ImportRejected) as rejected:
        load_path(owner, path, campus="CA")
    assert IMPORTS[name] in rejected.value.detail
