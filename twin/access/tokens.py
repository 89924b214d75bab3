"""Short-lived access tokens and longer refresh tokens (JWT, HS256), revocable by a per-user version."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jwt

from twin.config import AuthSettings, PathSettings

Kind = Literal["access", "refresh"]


class TokenError(Exception):
    """The token is missing, expired, tampered with or of the wrong kind."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    version: int
    kind: Kind
    expires: int = 0  # epoch seconds


def signing_secret(auth: AuthSettings, paths: PathSettings) -> str:
    """The configured secret, else one generated once and kept (0600) so restarts and workers share it."""
    if auth.secret:
        return auth.secret
    path: Path = paths.data_dir / "jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(f".{secrets.token_hex(4)}")
        staging.write_text(secrets.token_urlsafe(48))
        staging.chmod(0o600)
        staging.replace(path) if not path.exists() else staging.unlink()
    return path.read_text().strip()


def issue_tokens(user_id: int, version: int, auth: AuthSettings, secret: str) -> TokenPair:
    now = int(time.time())
    return TokenPair(
        access_token=_encode(user_id, version, "access", now, auth.access_ttl_s, auth, secret),
        refresh_token=_encode(user_id, version, "refresh", now, auth.refresh_ttl_s, auth, secret),
        expires_in=auth.access_ttl_s,
    )


def read_token(token: str, kind: Kind, auth: AuthSettings, secret: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[auth.algorithm],
            issuer=auth.issuer,
            options={"require": ["exp", "iat", "sub", "iss", "typ", "ver"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the token has expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("the token is not valid") from exc
    if claims.get("typ") != kind:
        raise TokenError(f"an {kind} token is needed here")
    try:
        return TokenClaims(
            user_id=int(claims["sub"]), version=int(claims["ver"]), kind=kind, expires=int(claims["exp"])
        )
    except (TypeError, ValueError) as exc:
        raise TokenError("the token is not valid") from exc


def _encode(
    user_id: int, version: int, kind: Kind, now: int, ttl: int, auth: AuthSettings, secret: str
) -> str:
    payload = {
        "sub": str(user_id),
        "ver": version,
        "typ": kind,
        "iat": now,
        "exp": now + ttl,
        "iss": auth.issuer,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(payload, secret, algorithm=auth.algorithm)
