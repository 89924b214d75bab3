"""RFC 9457 problem+json for every error; domain exceptions mapped to status codes in one dict."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from twin import errors

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"

STATUS: dict[type[errors.TwinError], int] = {
    errors.InvalidInput: 400,
    errors.ImportRejected: 422,
    errors.UnprocessableContent: 422,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.MethodNotAllowed: 405,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.PreconditionRequired: 428,
    errors.ServiceUnavailable: 503,
}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    instance: str | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def status_of(exc: errors.TwinError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


async def _twin_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.TwinError)
    status = status_of(exc)
    response = problem(status, exc.detail, title=exc.title, instance=request.url.path, **exc.extra)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    issues = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ())),
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]
    detail = "; ".join(f"{i['field']}: {i['message']}" for i in issues) or "invalid request"
    return problem(422, detail, title="Invalid request", instance=request.url.path, errors=issues)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = problem(exc.status_code, str(exc.detail), instance=request.url.path)
    for k, v in (exc.headers or {}).items():
        response.headers[k] = v
    return response


# SQLSTATEs of PostgreSQL's "data exception" class that only a value sent by the client can cause: a
# string too long for its column, a number out of range, text with a NUL byte or a bad date. Other class-22
# states (division by zero, …) stay server errors: they would be a bug in our SQL.
BAD_VALUE_STATES = {"22001", "22003", "22007", "22008", "22021", "22P02", "22P05"}
# asyncpg's words when a bound value does not fit its parameter's type (an id beyond int4): raised before
# the query is sent, under the generic class-22 state, so it is told apart by its message.
ENCODING_REFUSED = "invalid input for query argument"


def bad_value(exc: DBAPIError) -> str | None:
    """What was wrong, when the database refused a value of the request rather than our SQL; else None."""
    cause = exc.orig.__cause__ if exc.orig is not None else None
    if str(cause).startswith(ENCODING_REFUSED):  # asyncpg could not encode a bound argument
        return str(cause).split("\n")[0]
    state = getattr(cause, "sqlstate", None) or getattr(exc.orig, "sqlstate", None)
    if state in BAD_VALUE_STATES:
        return str(getattr(cause, "args", [exc.orig])[0] or exc.orig).split("\n")[0]
    return None


# The database is away (restarting, shutting down, unreachable): SQLSTATE class 08 (connection exception)
# and 57P01–57P03 (shut down by the administrator, crash shutdown, cannot connect now).
UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03")


def database_away(exc: DBAPIError) -> bool:
    """The request failed because the database could not be reached, not because of the request."""
    if exc.connection_invalidated:
        return True
    cause = exc.orig.__cause__ if exc.orig is not None else None
    state = str(getattr(cause, "sqlstate", None) or getattr(exc.orig, "sqlstate", None) or "")
    return (
        state.startswith(UNAVAILABLE_STATES)
        or isinstance(cause, ConnectionError | TimeoutError)
        or (
            type(cause).__name__
            == "ConnectionDoesNotExistError"  # asyncpg: closed in the middle of an operation
        )
    )


AWAY = "the database is not reachable at the moment"
BUSY = "every database connection is busy (the server is overloaded)"


def unavailable(request: Request, why: str = AWAY) -> JSONResponse:
    detail = f"{why}; nothing of this request was stored unless a later read shows it; try again shortly"
    response = problem(503, detail, instance=request.url.path)
    response.headers["Retry-After"] = "2"
    return response


async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    """Every database connection of the pool stayed busy past its timeout: overloaded, try again."""
    log.warning("connection pool exhausted on %s %s: %s", _method(request), request.url.path, exc)
    return unavailable(request, BUSY)


async def _connection_error(request: Request, exc: Exception) -> JSONResponse:
    """A socket to the database refused or reset while connecting (the pool opens them lazily)."""
    log.warning("database unreachable on %s %s: %s", _method(request), request.url.path, exc)
    return unavailable(request)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if database_away(exc):
        log.warning("database unreachable on %s %s: %s", _method(request), request.url.path, exc.orig)
        return unavailable(request)
    reason = bad_value(exc)
    if reason is None:
        return await _unexpected(request, exc)
    detail = f"a value of the request cannot be stored or compared: {reason}"
    return problem(400, detail, title="Invalid input", instance=request.url.path)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", _method(request), request.url.path)
    return problem(500, "An unexpected error occurred; it has been logged.", instance=request.url.path)


def _method(request: HTTPConnection) -> str:
    return "WS" if request.scope["type"] == "websocket" else str(request.scope.get("method"))


Handler = Callable[[Any, Exception], Awaitable[JSONResponse]]


def _or_close(handler: Handler) -> Callable[[Any, Exception], Awaitable[Any]]:
    """The handler for HTTP; a WebSocket gets no problem document but a close frame with the same meaning
    (1013 try again later for 503, 1011 for another server error, 1008 for the client's fault)."""

    async def handle(conn: HTTPConnection, exc: Exception) -> Any:  # a response, or None once closed
        response = await handler(conn, exc)
        if not isinstance(conn, WebSocket):
            return response
        status = response.status_code
        code = 1013 if status == 503 else 1011 if status >= 500 else 1008
        with contextlib.suppress(RuntimeError):  # already closed
            await conn.close(code=code, reason=HTTPStatus(status).phrase)
        return None

    return handle


def install(app: FastAPI) -> None:
    handlers: list[tuple[type[Exception], Handler]] = [
        (errors.TwinError, _twin_error),
        (RequestValidationError, _validation_error),
        (StarletteHTTPException, _http_error),
        (DBAPIError, _database_error),
        (ConnectionError, _connection_error),
        (PoolTimeout, _pool_exhausted),
        (Exception, _unexpected),
    ]
    for kind, handler in handlers:
        app.add_exception_handler(kind, _or_close(handler))
