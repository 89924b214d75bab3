"""What keeps a stranger out: token forgery, password hashing, CORS, body limits and path traversal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from fastapi.testclient import TestClient

from tests.access import world as w
from tests.signing import Login
from twin.access.passwords import hash_password, needs_rehash, verify_password
from twin.api import create_app
from twin.config import AuthSettings, CorsSettings, ServerSettings, Settings


def b64(data: dict[str, object] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims_of(client: TestClient, login: Login) -> dict[str, object]:
    token = login("leader_A")["Authorization"].removeprefix("Bearer ")
    secret = client.app.state.jwt_secret  # type: ignore[attr-defined]
    return dict(jwt.decode(token, secret, algorithms=["HS256"], issuer="campus-twin"))


def refused(client: TestClient, token: str) -> str:
    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["detail"])


# --- tokens ----------------------------------------------------------------------------------------------


def test_a_valid_token_is_accepted_so_the_refusals_below_mean_something(
    client: TestClient, login: Login
) -> None:
    assert client.get("/me", headers=login("leader_A")).json()["username"] == "leader_A"


def test_alg_none_with_genuine_claims_is_refused(client: TestClient, login: Login) -> None:
    claims = claims_of(client, login)
    for alg in ("none", "None", "NONE"):
        assert (
            refused(client, f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims)}.") == "the token is not valid"
        )


def test_rs_and_es_headers_are_refused_whatever_the_signature(client: TestClient, login: Login) -> None:
    """HS↔RS confusion: the server verifies HS256 with its secret only; an asymmetric header is refused."""
    claims = claims_of(client, login)
    for alg in ("RS256", "ES256", "PS256", "EdDSA"):
        token = f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims)}.{b64(b'x' * 256)}"
        assert refused(client, token) == "the token is not valid"


def test_hs256_signed_with_a_public_key_or_guessable_secret_is_refused(
    client: TestClient, login: Login
) -> None:
    claims = claims_of(client, login)
    public_pem = (
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"
        + "A" * 60
        + "\n-----END PUBLIC KEY-----\n"
    )
    for key in (public_pem, "secret", "campus-twin", ""):
        # Signed by hand: PyJWT itself refuses a PEM or an empty string as an HMAC key.
        signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}"
        mac = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
        assert refused(client, f"{signing_input}.{b64(mac)}") == "the token is not valid"


def test_expired_and_not_yet_issued_claims(client: TestClient, login: Login) -> None:
    claims = claims_of(client, login)
    secret = client.app.state.jwt_secret  # type: ignore[attr-defined]
    expired = jwt.encode({**claims, "exp": int(time.time()) - 1}, secret, algorithm="HS256")
    assert refused(client, expired) == "the token has expired"
    no_expiry = {k: v for k, v in claims.items() if k != "exp"}
    assert refused(client, jwt.encode(no_expiry, secret, algorithm="HS256")) == "the token is not valid"
    future = jwt.encode({**claims, "iat": int(time.time()) + 3600}, secret, algorithm="HS256")
    assert refused(client, future) == "the token is not valid"


def test_a_tampered_payload_with_the_old_signature_is_refused(client: TestClient, login: Login) -> None:
    token = login("leader_A")["Authorization"].removeprefix("Bearer ")
    header, _, signature = token.split(".")
    admin = {**claims_of(client, login), "sub": str(1)}
    assert refused(client, f"{header}.{b64(admin)}.{signature}") == "the token is not valid"


def test_the_signing_algorithm_can_only_be_configured_as_hmac() -> None:
    assert AuthSettings().algorithm == "HS256"
    for bad in ("none", "RS256", "ES256"):
        with pytest.raises(ValueError, match="algorithm"):
            AuthSettings(algorithm=bad)  # type: ignore[arg-type]


# --- passwords -------------------------------------------------------------------------------------------


def test_password_hashes_are_argon2id_with_at_least_the_rfc_9106_low_memory_parameters() -> None:
    stored = hash_password("anything-at-all-1")
    params = PasswordHasher().check_needs_rehash  # noqa: F841 (the library's own parser is used below)
    from argon2 import extract_parameters

    p = extract_parameters(stored)
    assert p.type is Type.ID
    assert (p.memory_cost, p.time_cost, p.parallelism) == (65536, 3, 4)
    assert p.salt_len >= 16 and p.hash_len >= 32
    assert stored != hash_password("anything-at-all-1")  # a fresh salt each time
    assert verify_password(stored, "anything-at-all-1") and not verify_password(stored, "anything-at-all-2")


def test_a_hash_with_weaker_parameters_is_flagged_for_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("anything-at-all-1")
    assert needs_rehash(weak)
    assert not needs_rehash(hash_password("anything-at-all-1"))


# --- CORS ------------------------------------------------------------------------------------------------


def preflight(client: TestClient, origin: str) -> dict[str, str]:
    response = client.options(
        "/me",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    return {k.lower(): v for k, v in response.headers.items()}


def test_no_cross_origin_access_by_default(client: TestClient, login: Login) -> None:
    assert "access-control-allow-origin" not in preflight(client, "https://evil.example")
    response = client.get("/me", headers={**login("leader_A"), "Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in {k.lower() for k in response.headers}


def test_configured_origins_exactly_and_no_others(world_db: tuple[Settings, w.World]) -> None:
    allowed = "https://screen.example.edu.cn"
    settings = world_db[0].model_copy(update={"cors": CorsSettings(origins=[allowed])})
    with TestClient(create_app(settings)) as client:
        ok = preflight(client, allowed)
        assert ok["access-control-allow-origin"] == allowed
        assert "authorization" in ok["access-control-allow-headers"].lower()
        assert "access-control-allow-origin" not in preflight(
            client, "https://screen.example.edu.cn.evil.example"
        )
        assert "access-control-allow-origin" not in preflight(client, "null")


def test_a_wildcard_origin_is_refused_at_start(world_db: tuple[Settings, w.World]) -> None:
    settings = world_db[0].model_copy(update={"cors": CorsSettings(origins=["*"])})
    with pytest.raises(ValueError, match="exact origins"):
        create_app(settings)


# --- body size and upload type --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_limit(world_db: tuple[Settings, w.World]) -> TestClient:
    settings = world_db[0].model_copy(update={"server": ServerSettings(max_body_bytes=4096)})
    with TestClient(create_app(settings)) as client:
        yield client  # type: ignore[misc]


def assert_413(response: object) -> None:
    assert response.status_code == 413, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["status"] == 413 and "4096 bytes" in body["detail"]


def test_a_declared_oversized_body_is_refused_before_it_is_read(
    small_limit: TestClient, login: Login
) -> None:
    headers = signed_in_on(small_limit, "safety_officer_A")
    feature = {"type": "Feature", "properties": {"name": "x" * 10_000}, "geometry": None}
    assert_413(small_limit.post("/collections/risk_points/items", json=feature, headers=headers))
    assert_413(small_limit.post("/auth/token", data={"username": "x" * 10_000, "password": "y"}))


def test_a_streamed_oversized_body_is_cut_at_the_limit(small_limit: TestClient) -> None:
    def chunks():  # no Content-Length: chunked transfer
        for _ in range(10):
            yield b"{" + b" " * 1000

    headers = {**signed_in_on(small_limit, "safety_officer_A"), "Content-Type": "application/geo+json"}
    assert_413(small_limit.post("/collections/risk_points/items", content=chunks(), headers=headers))


def test_a_body_under_the_limit_still_works(small_limit: TestClient) -> None:
    response = small_limit.post(
        "/risk/assess",
        json={"method": "LEC", "L": 3, "E": 6, "C": 7},
        headers=signed_in_on(small_limit, "safety_officer_A"),
    )
    assert response.status_code == 200, response.text


def test_a_non_numeric_content_length_is_a_400(small_limit: TestClient) -> None:
    response = small_limit.post("/risk/assess", content=b"{}", headers={"Content-Length": "12abc"})
    assert response.status_code == 400


def test_the_default_limit_leaves_room_for_a_full_hazard_report() -> None:
    from twin.config import HazardSettings

    hazards = HazardSettings()
    assert ServerSettings().max_body_bytes > hazards.photos_per_request * hazards.photo_max_bytes


def test_a_photo_that_is_not_an_image_is_refused_with_415(
    client: TestClient, login: Login, world: w.World
) -> None:
    files = {"photos": ("evil.png", b"<?php system($_GET['c']); ?>", "image/png")}
    response = client.post(
        f"/hazards/{world.hazards['A']}/photos", files=files, headers=login("safety_officer_A")
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def signed_in_on(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/auth/token", data={"username": username, "password": w.PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# --- path traversal --------------------------------------------------------------------------------------

TRAVERSALS = [
    "/ui-static/../../twin/config.py",
    "/ui-static/..%2f..%2ftwin%2fconfig.py",
    "/ui-static/%2e%2e/%2e%2e/pyproject.toml",
    "/ui-static/....//....//pyproject.toml",
    "/vendor/../../pyproject.toml",
    "/vendor/..%2f..%2fpyproject.toml",
    "/vendor/%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/ui/..%2f..%2fpyproject.toml",
    "/ui/%2e%2e",
    "/ui/bigscreen%2f..%2f..%2f..%2fpyproject.toml",
    "/ui-static/%c0%ae%c0%ae/pyproject.toml",
    "/ui-static/..\\..\\pyproject.toml",
]
SECRETS = ("[project]", "pydantic_settings", "BaseSettings", "root:x:0:0")


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_routes_never_serve_a_file_outside_their_folder(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in {400, 404}, (path, response.status_code)
    assert not any(s in response.text for s in SECRETS)


@pytest.mark.parametrize(
    "sha", ["..%2f..%2fjwt-secret", "../../../etc/passwd", "a" * 63 + "/", "%2e%2e%2fjwt-secret" + "0" * 46]
)
def test_a_photo_name_cannot_reach_outside_the_media_store(
    client: TestClient, login: Login, world: w.World, sha: str
) -> None:
    response = client.get(f"/hazards/{world.hazards['A']}/photos/{sha}", headers=login("leader_A"))
    assert response.status_code == 404
    assert client.app.state.jwt_secret not in response.text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "path",
    [
        "/stats/..%2f..%2fetc%2fpasswd",
        "/stats/hazards?f=..%2f..%2fetc%2fpasswd",
        "/stats/hazards?f=csv&group_by=..%2F..",
        "/stats/hazards?f=csv&split=..%2F..%2Fetc%2Fpasswd",
        "/riskmap/..%2f..%2f/control-list?f=csv",
        "/riskmap/4103110001/control-list?f=../../etc/passwd",
        "/pipes/excavation/..%2f1/plan.pdf",
        "/scenes/..%2f..%2fetc/tileset.json",
        "/scenes/CA/..%2f..%2fpyproject.glb",
    ],
)
def test_export_routes_refuse_path_like_names(client: TestClient, login: Login, path: str) -> None:
    response = client.get(path, headers=login("admin_A"))
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert not any(s in response.text for s in SECRETS)
