"""Errors on a WebSocket: a close frame that says what happened, not a crash of the error handler."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError
from starlette.websockets import WebSocketDisconnect

from twin.api.errors import install
from twin.errors import NotFound


def _app() -> FastAPI:
    app = FastAPI()
    install(app)

    @app.websocket("/broken")
    async def broken(websocket: WebSocket) -> None:
        raise DBAPIError("SELECT a_bug()", {}, Exception("function a_bug() does not exist"))

    @app.websocket("/missing")
    async def missing(websocket: WebSocket) -> None:
        await websocket.accept()
        raise NotFound("no such thing")

    @app.get("/broken")
    async def broken_http() -> None:
        raise RuntimeError("a bug")

    return app


def test_a_database_error_on_a_websocket_is_logged_and_closes_it_with_1011() -> None:
    with (
        TestClient(_app()) as client,
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/broken") as ws,
    ):
        ws.receive_text()
    assert closed.value.code == 1011


def test_a_client_error_on_an_open_websocket_closes_it_with_1008() -> None:
    with (
        TestClient(_app()) as client,
        client.websocket_connect("/missing") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (1008, "Not Found")


def test_http_still_gets_a_problem_document() -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        response = client.get("/broken")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
