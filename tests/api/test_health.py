"""`/healthz` tells an operator whether the database and broker are there and what the tables hold."""

from __future__ import annotations

from fastapi.testclient import TestClient

from twin.api import create_app
from twin.config import Settings


def test_health_reports_db_broker_and_counts(fresh_db: Settings) -> None:
    with TestClient(create_app(fresh_db)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["db"] == "ok"
    assert body["mqtt"] == "ok"
    assert body["counts"]["buildings"] == 0
    assert set(body["counts"]) >= {"buildings", "pipe_segments", "risk_zones", "positions", "alerts"}


def test_health_is_degraded_when_the_broker_is_unreachable(fresh_db: Settings) -> None:
    from tests.conftest import free_port

    settings = fresh_db.model_copy(
        update={"broker": fresh_db.broker.model_copy(update={"url": f"mqtt://127.0.0.1:{free_port()}"})}
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["mqtt"] == "unreachable"
    assert response.json()["db"] == "ok"


def test_unknown_path_is_problem_json(fresh_db: Settings) -> None:
    with TestClient(create_app(fresh_db)) as client:
        response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
        "instance": "/no/such/thing",
    }


def test_openapi_and_docs_are_served_without_a_cdn(fresh_db: Settings) -> None:
    with TestClient(create_app(fresh_db)) as client:
        spec = client.get("/api")
        docs = client.get("/docs")
        landing = client.get("/")
    assert spec.status_code == 200 and "/healthz" in spec.json()["paths"]
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower() and "/vendor/swagger-ui-dist/swagger-ui-bundle.js" in docs.text
    assert {link["rel"] for link in landing.json()["links"]} >= {"service-desc", "service-doc"}
