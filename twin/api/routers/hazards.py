"""The hazard loop over HTTP: report, ledger, one hazard, its history, transitions, photos, notifications.

Thin: parse, call twin.riskmap, render. A write commits before it answers; the notifications it stored
are then published on MQTT (the row is the truth, the message the bell).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from twin.access.scope import planner_scope
from twin.api.deps import Scoped, get_settings
from twin.errors import Forbidden, InvalidInput, NotFound, UnsupportedMediaType
from twin.models.risk import HAZARD_GRADES, HAZARD_STATES, RISK_CATEGORIES
from twin.riskmap import escalation, hazards, idempotency, ledger
from twin.riskmap import photos as media
from twin.riskmap import queries_escalation as qe
from twin.riskmap.transitions import machine

IfMatch = Annotated[str | None, Header(description='ETag of the hazard you decided on: "{id}-{version}"')]
IdempotencyKey = Annotated[
    str | None,
    Header(
        description="a key of your choosing (a UUID): a report sent again with it, after its answer was lost,"
        " answers with the hazard the first one made instead of storing another"
    ),
]
REPORT_TYPES = ("application/json", "multipart/form-data")
PROBLEM: dict[int | str, dict[str, Any]] = {
    s: {"content": {"application/problem+json": {}}} for s in (400, 401, 403, 404, 409, 412, 422)
}


PHOTOS_FIELD = {"type": "array", "items": {"type": "string", "format": "binary"}}


def _report_body_doc() -> dict[str, Any]:
    """OpenAPI for the report's two forms (the route reads the body itself to take both)."""
    schema = hazards.HazardReport.model_json_schema()
    form = {**schema, "properties": {**schema["properties"], "photos": PHOTOS_FIELD}}
    content = {"application/json": {"schema": schema}, "multipart/form-data": {"schema": form}}
    return {"requestBody": {"required": True, "content": content}}


PHOTOS_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "properties": {"photos": PHOTOS_FIELD}}}
        },
    }
}


def clock(request: Request) -> datetime:
    """The app's clock (tests replace `app.state.clock` to drive deadlines and escalation)."""
    now: Callable[[], datetime] = request.app.state.clock
    return now()


class Ledger(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
    now: datetime


async def _publish(request: Request, notices: list[escalation.Notice]) -> None:
    await escalation.publish(get_settings(request).broker.effective_url(), notices)


async def _photos(request: Request, files: list[UploadFile]) -> list[media.Photo]:
    """Read and check uploaded photos without reading more than the limit of any one of them."""
    settings = get_settings(request).hazards
    if len(files) > settings.photos_per_request:
        raise InvalidInput(f"send at most {settings.photos_per_request} photos at a time, not {len(files)}")
    checked = []
    for upload in files:
        data = await upload.read(settings.photo_max_bytes + 1)
        checked.append(media.check_photo(data, settings.photo_max_bytes, upload.filename or "photo"))
    return checked


async def _report_body(request: Request) -> tuple[hazards.HazardReport, list[media.Photo]]:
    """A report as JSON, or as a form (multipart) with photos in the field `photos`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in REPORT_TYPES:
        raise UnsupportedMediaType(
            f"send the report as {' or '.join(REPORT_TYPES)}, not {kind or 'a body without Content-Type'}",
            accepted=list(REPORT_TYPES),
        )
    try:
        if kind == "application/json":
            return hazards.HazardReport.model_validate_json(await request.body()), []
        form = await request.form(max_files=get_settings(request).hazards.photos_per_request + 1)
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "photos" and v != ""}
        files = [v for k, v in form.multi_items() if k == "photos" and isinstance(v, UploadFile)]
        return hazards.HazardReport.model_validate(fields), await _photos(request, files)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc


def _hazard_response(
    row: dict[str, Any], extra: dict[str, Any], status: int = 200, **headers: str
) -> Response:
    body = jsonable_encoder({**row, **extra})
    tag = hazards.etag(row["id"], row["version"])
    return JSONResponse(body, status_code=status, headers={"ETag": tag, **headers})


async def _hazard(
    request: Request, scoped: Scoped, hazard_id: int, status: int = 200, **headers: str
) -> Response:
    row = await ledger.hazard(scoped.conn, hazard_id, clock(request))
    role = scoped.caller.role.value
    extra = {
        "allowed_next": machine().next_states(row["state"], row["grade"], role),
        "photos": [
            {**p, "href": f"/hazards/{hazard_id}/photos/{p['sha256']}"}
            for p in await hazards.qh.photos(scoped.conn, hazard_id)
        ],
        "escalation": await qe.ladder_of(scoped.conn, hazard_id),
    }
    return _hazard_response(row, extra, status, **headers)


async def _store_report(
    request: Request, scoped: Scoped, body: hazards.HazardReport, photos: list[media.Photo], key: str | None
) -> int:
    """The new hazard's id; raises KeyTaken (with nothing stored) when a twin request won the key."""
    media_dir = get_settings(request).paths.media_dir
    async with scoped.conn.begin_nested():
        hazard_id = await hazards.report(scoped.conn, scoped.caller, body, photos, clock(request), media_dir)
        if key is not None and not await idempotency.remember(
            scoped.conn, scoped.caller.user_id, key, hazard_id
        ):
            raise idempotency.KeyTaken(key)  # leaving the block rolls the savepoint back
    return hazard_id


def hazards_router() -> APIRouter:
    router = APIRouter(tags=["hazards"], responses=PROBLEM)

    @router.post(
        "/hazards",
        status_code=201,
        summary="Report a hazard (JSON, or a form with photos)",
        openapi_extra=_report_body_doc(),
    )
    async def report(request: Request, scoped: Scoped, idempotency_key: IdempotencyKey = None) -> Response:
        key = idempotency.checked_key(idempotency_key)
        if key is not None and (done := await idempotency.earlier(scoped.conn, scoped.caller.user_id, key)):
            return await _hazard(request, scoped, done, 200, Location=f"/hazards/{done}")
        body, photos = await _report_body(request)
        try:
            hazard_id = await _store_report(request, scoped, body, photos, key)
        except idempotency.KeyTaken:
            done = await idempotency.earlier(scoped.conn, scoped.caller.user_id, key or "")
            return await _hazard(request, scoped, done or 0, 200, Location=f"/hazards/{done}")
        return await _hazard(request, scoped, hazard_id, 201, Location=f"/hazards/{hazard_id}")

    @router.get("/hazards", summary="The hazard ledger, filtered and paged (f=json or csv)")
    async def list_hazards(
        request: Request,
        scoped: Scoped,
        state: Annotated[list[Literal[HAZARD_STATES]], Query()] = [],  # type: ignore[valid-type]  # noqa: B006
        grade: Annotated[list[Literal[HAZARD_GRADES]], Query()] = [],  # type: ignore[valid-type]  # noqa: B006
        category: Annotated[list[Literal[RISK_CATEGORIES]], Query()] = [],  # type: ignore[valid-type]  # noqa: B006
        org: Annotated[str | None, Query(max_length=32, description="org code: its subtree")] = None,
        overdue: bool | None = None,
        found_from: date | None = None,
        found_to: date | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
        f: Literal["json", "csv"] = "json",
    ) -> Response:
        wanted = ledger.LedgerFilter(
            tuple(state), tuple(grade), tuple(category), org, overdue, found_from, found_to
        )
        now = clock(request)
        rows, total = await ledger.read_ledger(scoped.conn, scoped.caller, wanted, now, limit, offset)
        if f == "csv":
            headers = {"Content-Disposition": 'attachment; filename="hazard-ledger.csv"'}
            return Response(ledger.to_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
        page = Ledger(items=rows, total=total, limit=limit, offset=offset, now=now)
        return JSONResponse(jsonable_encoder(page))

    @router.get("/hazards/{hazard_id}", summary="One hazard, its photos and the moves you may make (ETag)")
    async def get_hazard(hazard_id: int, request: Request, scoped: Scoped) -> Response:
        return await _hazard(request, scoped, hazard_id)

    @router.get("/hazards/{hazard_id}/history", summary="Every transition of a hazard: who, when, why")
    async def get_history(hazard_id: int, scoped: Scoped) -> Any:
        return jsonable_encoder(await hazards.history(scoped.conn, hazard_id))

    @router.post("/hazards/{hazard_id}/transitions", summary="Move a hazard through the loop")
    async def move(
        hazard_id: int,
        body: hazards.TransitionRequest,
        request: Request,
        scoped: Scoped,
        if_match: IfMatch = None,
    ) -> Response:
        moved = await hazards.transition(
            scoped.conn, scoped.caller, hazard_id, body, clock(request), if_match
        )
        response = await _hazard(request, scoped, hazard_id)
        await scoped.conn.commit()
        await _publish(request, moved.notices)
        return response

    @router.post(
        "/hazards/{hazard_id}/photos",
        status_code=201,
        summary="Add photos to a hazard (multipart)",
        openapi_extra=PHOTOS_DOC,
    )
    async def add_photos(hazard_id: int, request: Request, scoped: Scoped) -> Response:
        if scoped.caller.role.value not in machine().report_roles:
            raise Forbidden(f"adding photos needs the role {', '.join(machine().report_roles)}")
        hazard = await hazards.locked(scoped.conn, hazard_id)  # 404 before anything is read
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "multipart/form-data":
            raise UnsupportedMediaType("send photos as multipart/form-data in the field 'photos'")
        form = await request.form(max_files=get_settings(request).hazards.photos_per_request + 1)
        files = [v for k, v in form.multi_items() if k == "photos" and isinstance(v, UploadFile)]
        if not files:
            raise InvalidInput("no photo sent: put the files in the multipart field 'photos'")
        media_dir = get_settings(request).paths.media_dir
        photos = await _photos(request, files)
        await hazards.add_photos(scoped.conn, scoped.caller, hazard_id, hazard["org_path"], photos, media_dir)
        return await _hazard(request, scoped, hazard_id, 201)

    @router.get("/hazards/{hazard_id}/photos/{sha256}", summary="A photo of a hazard")
    async def get_photo(hazard_id: int, sha256: str, request: Request, scoped: Scoped) -> Response:
        data, media_type = await hazards.photo_of(
            scoped.conn, hazard_id, sha256, get_settings(request).paths.media_dir
        )
        headers = {"ETag": f'"{sha256}"', "Cache-Control": "private, max-age=86400, immutable"}
        return Response(data, media_type=media_type, headers=headers)

    @router.get("/notifications", summary="Notifications in your jurisdiction, newest first")
    async def notifications(
        scoped: Scoped,
        mine: bool = False,
        unread: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Any:
        caller = scoped.caller
        if mine and caller.person_id is None:
            return []
        rows = await qe.list_notifications(
            scoped.conn,
            scope=planner_scope(caller),
            person_id=caller.person_id if mine else None,
            unread=unread,
            limit=limit,
        )
        return jsonable_encoder(rows)

    @router.post("/notifications/{notification_id}/read", status_code=204, summary="Mark a notification read")
    async def read(notification_id: int, request: Request, scoped: Scoped) -> Response:
        if not await qe.mark_read(scoped.conn, notification_id, clock(request)):
            raise NotFound(f"no notification {notification_id}")
        return Response(status_code=204)

    return router
