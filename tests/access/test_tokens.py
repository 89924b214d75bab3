"""Sign-in, tokens and their revocation: what keeps a stolen or stale token from working."""

from __future__ import annotations

import time

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.access import world as w
from twin.access.passwords import hash_password


def sign_in(client: TestClient, username: str, password: str = w.PASSWORD) -> dict[str, str]:
    response = client.post("/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_user(client: TestClient, login, name: str) -> None:  # type: ignore[no-untyped-def]
    body = {"username": name, "role": "leader", "org_code": "4103110001", "password": w.PASSWORD}
    assert client.post("/users", headers=login("admin_A"), json=body).status_code == 201


@pytest.mark.parametrize("username,password", [("leader_A", "wrong-password-1"), ("nobody", w.PASSWORD)])
def test_wrong_credentials_get_one_message(client: TestClient, username: str, password: str) -> None:
    response = client.post("/auth/token", data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong username or password, or the account is disabled"


def test_refresh_gives_a_new_access_token_and_kinds_are_not_interchangeable(client: TestClient) -> None:
    tokens = sign_in(client, "leader_A")
    refreshed = client.post("/auth/refresh", data={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    assert (
        client.get("/me", headers=bearer(refreshed.json()["access_token"])).json()["username"] == "leader_A"
    )
    assert client.get("/me", headers=bearer(tokens["refresh_token"])).status_code == 401
    assert client.post("/auth/refresh", data={"refresh_token": tokens["access_token"]}).status_code == 401


def forge(client: TestClient, **changes: object) -> str:
    secret = client.app.state.jwt_secret  # type: ignore[attr-defined]
    real = jwt.decode(
        sign_in(client, "leader_A")["access_token"], secret, algorithms=["HS256"], issuer="campus-twin"
    )
    claims = {**real, **{k: v for k, v in changes.items() if k not in {"alg", "key"}}}
    return jwt.encode(claims, str(changes.get("key", secret)), algorithm=str(changes.get("alg", "HS256")))


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"exp": int(time.time()) - 10}, "the token has expired"),
        ({"sub": "1", "key": "not-the-secret-but-long-enough-for-hs256"}, "the token is not valid"),
        ({"alg": "HS512"}, "the token is not valid"),
        ({"iss": "someone-else"}, "the token is not valid"),
    ],
    ids=["expired", "wrong key", "wrong algorithm", "wrong issuer"],
)
def test_bad_tokens_are_refused(client: TestClient, changes: dict[str, object], detail: str) -> None:
    response = client.get("/me", headers=bearer(forge(client, **changes)))
    assert response.status_code == 401
    assert response.json()["detail"] == detail


def test_unsigned_and_tampered_tokens_are_refused(client: TestClient) -> None:
    token = sign_in(client, "leader_A")["access_token"]
    header, payload, signature = token.split(".")
    unsigned = jwt.encode({"sub": "1", "ver": 1, "typ": "access"}, key=None, algorithm="none")
    tampered = f"{header}.{payload[:-2]}AA.{signature}"
    for bad in (unsigned, tampered, "garbage"):
        assert client.get("/me", headers=bearer(bad)).status_code == 401


def test_changing_the_password_ends_every_earlier_session(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    new_user(client, login, "changer")
    old = sign_in(client, "changer")
    body = {"current_password": w.PASSWORD, "new_password": "a-new-secret-7"}
    assert client.post("/auth/password", headers=bearer(old["access_token"]), json=body).status_code == 204
    assert client.get("/me", headers=bearer(old["access_token"])).status_code == 401
    assert client.post("/auth/refresh", data={"refresh_token": old["refresh_token"]}).status_code == 401
    assert sign_in(client, "changer", "a-new-secret-7")


def test_weak_and_wrong_passwords_are_refused_on_change(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    new_user(client, login, "careful")
    token = sign_in(client, "careful")["access_token"]
    weak = client.post(
        "/auth/password",
        headers=bearer(token),
        json={"current_password": w.PASSWORD, "new_password": "short"},
    )
    assert weak.status_code == 400 and "at least 10 characters" in weak.json()["detail"]
    wrong = client.post(
        "/auth/password",
        headers=bearer(token),
        json={"current_password": "not-it-000", "new_password": "long-enough-123"},
    )
    assert wrong.status_code == 401


def test_a_disabled_user_is_locked_out_at_once(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    new_user(client, login, "leaver")
    token = sign_in(client, "leaver")["access_token"]
    users = {u["username"]: u["id"] for u in client.get("/users", headers=login("admin_A")).json()}
    assert client.post(f"/users/{users['leaver']}/disable", headers=login("admin_A")).status_code == 204
    assert client.get("/me", headers=bearer(token)).status_code == 401
    assert client.post("/auth/token", data={"username": "leaver", "password": w.PASSWORD}).status_code == 401


def test_passwords_are_stored_as_argon2id_with_rfc_9106_parameters() -> None:
    assert hash_password("anything-at-all-1").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_verified_token_is_checked_again_once_it_has_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from twin.access import tokens
    from twin.api import tile_fastpath
    from twin.config import AuthSettings

    auth, secret = AuthSettings(), "s" * 32
    token = tokens.issue_tokens(7, 1, auth, secret).access_token
    fast = tile_fastpath.VerifiedTokens()
    checks: list[str] = []
    real = tokens.read_token
    monkeypatch.setattr(tile_fastpath, "read_token", lambda *a: checks.append("verified") or real(*a))
    assert fast.read(token, auth, secret).user_id == 7
    assert fast.read(token, auth, secret).user_id == 7
    assert checks == ["verified"]  # the second tile of a map skips the signature check
    fast._claims[token] = dataclasses.replace(fast._claims[token], expires=int(time.time()) - 1)
    fast.read(token, auth, secret)
    assert checks == ["verified", "verified"]  # past its expiry it is verified (and refused) by PyJWT again
    with pytest.raises(tokens.TokenError):
        fast.read(tokens.issue_tokens(7, 1, auth, "t" * 32).access_token, auth, secret)
