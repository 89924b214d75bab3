"""Sign-in (OAuth2 password flow), token refresh and password change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from twin.access import issue_tokens, read_token
from twin.access.tokens import TokenError
from twin.access.users import change_password, login
from twin.api.deps import Scoped, Unscoped, get_secret, get_settings
from twin.errors import Unauthorized


class Token(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)


def auth_router() -> APIRouter:
    router = APIRouter(prefix="/auth", tags=["auth"])

    @router.post("/token", response_model=Token, summary="Sign in (OAuth2 password flow)")
    async def token(
        request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], conn: Unscoped
    ) -> Any:
        user_id, version = await login(conn, form.username, form.password)
        return _tokens(request, user_id, version)

    @router.post("/refresh", response_model=Token, summary="A new access token from a refresh token")
    async def refresh(
        request: Request, refresh_token: Annotated[str, Form(max_length=4096)], conn: Unscoped
    ) -> Any:
        from twin.access import begin_request

        try:
            claims = read_token(refresh_token, "refresh", get_settings(request).auth, get_secret(request))
        except TokenError as exc:
            raise Unauthorized(str(exc)) from exc
        if await begin_request(conn, claims.user_id, claims.version) is None:
            raise Unauthorized("the account is disabled or the token was revoked; sign in again")
        return _tokens(request, claims.user_id, claims.version)

    @router.post("/password", status_code=204, summary="Change your own password; other sessions end")
    async def password(body: PasswordChange, scoped: Scoped) -> None:
        await change_password(scoped.conn, scoped.caller.user_id, body.current_password, body.new_password)

    return router


def _tokens(request: Request, user_id: int, version: int) -> Token:
    pair = issue_tokens(user_id, version, get_settings(request).auth, get_secret(request))
    return Token(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)
