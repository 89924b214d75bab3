"""Sign users in once per test module: argon2 is slow on purpose, so each token is kept."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

Login = Callable[[str], dict[str, str]]


def signed_in(client: TestClient, password: str) -> Login:
    """username -> Authorization header, signing in through POST /auth/token the first time."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            response = client.post("/auth/token", data={"username": username, "password": password})
            assert response.status_code == 200, response.text
            cache[username] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return cache[username]

    return headers
