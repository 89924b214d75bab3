"""Risk grading, the four-colour map and roll-up, the control list, post cards and boards.

Thin: parse, call twin.riskmap.service, render. An org code outside the caller's jurisdiction is 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from twin.api.deps import Scoped, get_settings
from twin.db.asat import instant
from twin.models.risk import RISK_CATEGORIES
from twin.riskmap import cards, controllist, mapimage, scales, service

GEOJSON = "application/geo+json"
# Time travel: the state as it was at an instant (from the versioned edits; twin.db.asat).
AsAtParam = Annotated[
    str | None,
    Query(alias="datetime", description="RFC 3339 instant: the state as it was then (default: now)"),
]


def _at(text: str | None) -> datetime | None:
    return instant(text, "datetime") if text is not None else None


class AssessIn(BaseModel):
    method: Literal["LEC", "LS"]
    L: float | None = None
    E: float | None = None
    C: float | None = None
    S: float | None = None
    org: str | None = Field(None, description="grade with this org unit's scale (default: your own)")


class AssessOut(BaseModel):
    method: str
    inputs: dict[str, float]
    score: float
    level: int
    colour: str
    label: str
    graded: bool = Field(description="false below the lowest band (LEC D < 20): shown as the lowest level")
    scheme: str
    levels: int


class ScaleIn(BaseModel):
    scheme: str = Field(description="aq3013 (default), common or three_level")
    colours: dict[str, str] | None = Field(None, description='level -> "#RRGGBB"')
    dynamic: dict[str, int] | None = Field(
        None, description="open_hazard_steps, active_alert_steps, max_steps (steps up the L list)"
    )


def _download(content: bytes, media: str, name: str) -> Response:
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def riskmap_router() -> APIRouter:
    router = APIRouter(tags=["risk map"])

    @router.post("/risk/assess", response_model=AssessOut, summary="Grade a risk with LEC or LS")
    async def assess(body: AssessIn, scoped: Scoped) -> Any:
        inputs = body.model_dump(exclude={"method", "org"}, exclude_none=True)
        return vars(await service.assess_for(scoped.conn, scoped.caller, body.method, inputs, body.org))

    @router.get("/riskmap/scales", summary="The LEC and LS values an assessor may pick, and the schemes")
    async def allowed_scales(scoped: Scoped) -> Any:
        # Signed in like every risk route; the lists are the same for every org unit.
        return {**scales.allowed_values(), "categories": list(RISK_CATEGORIES)}

    @router.get("/riskmap/{org_code}/four-colour", summary="Zones coloured by level (GeoJSON, PNG or SVG)")
    async def four_colour(
        org_code: str,
        scoped: Scoped,
        f: Literal["json", "geojson", "png", "svg"] = "json",
        print_: Annotated[Literal["colour", "bw"], Query(alias="print")] = "colour",
        at: AsAtParam = None,
    ) -> Response:
        when = _at(at)
        if f in mapimage.FORMATS:
            bw = print_ == "bw"
            image = await service.four_colour_image(scoped.conn, scoped.caller, org_code, f, bw, when)
            return Response(image, media_type=mapimage.FORMATS[f])
        _, collection = await service.four_colour(scoped.conn, scoped.caller, org_code, when)
        return JSONResponse(collection, media_type=GEOJSON)

    @router.get("/riskmap/{org_code}/rollup", summary="Counts per level and highest level, with children")
    async def rollup(org_code: str, scoped: Scoped, at: AsAtParam = None) -> Any:
        return await service.rollup(scoped.conn, scoped.caller, org_code, _at(at))

    @router.get("/riskmap/{org_code}/control-list", summary="The control list (CSV, XLSX, PDF or JSON)")
    async def control_list(
        org_code: str,
        request: Request,
        scoped: Scoped,
        f: Literal["csv", "xlsx", "pdf", "json"] = "csv",
        at: AsAtParam = None,
    ) -> Response:
        limit = get_settings(request).riskmap.max_list_rows
        cl = await service.control_list(scoped.conn, scoped.caller, org_code, limit, _at(at))
        if f == "json":
            rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in cl.rows]
            return JSONResponse({"title": cl.title, "rows": rows})
        return _download(controllist.export(cl, f), controllist.MEDIA[f], f"control-list-{org_code}.{f}")

    @router.get("/riskmap/{org_code}/cards", summary="Post cards per risk point (HTML or PDF) with QR codes")
    async def post_cards(
        org_code: str,
        request: Request,
        scoped: Scoped,
        point: int | None = None,
        f: Literal["html", "pdf", "json"] = "html",
    ) -> Response:
        limit = get_settings(request).riskmap.max_cards
        sheet = await service.card_sheet(scoped.conn, scoped.caller, org_code, _base(request), point, limit)
        if f == "json":
            return JSONResponse(
                {
                    "cards": [{k: v for k, v in c.items() if k != "qr"} for c in sheet.cards],
                    "missing": sheet.missing,
                }
            )
        html = cards.cards_html(sheet)
        return (
            _download(cards.as_pdf(html), "application/pdf", f"cards-{org_code}.pdf")
            if f == "pdf"
            else (HTMLResponse(html))
        )

    @router.get("/riskmap/{org_code}/board", summary="Announcement board of a place (HTML or PDF)")
    async def board(
        org_code: str,
        request: Request,
        scoped: Scoped,
        building: int | None = None,
        f: Literal["html", "pdf"] = "html",
        at: AsAtParam = None,
    ) -> Response:
        limit = get_settings(request).riskmap.max_cards
        sheet, scale = await service.board(
            scoped.conn, scoped.caller, org_code, _base(request), building, limit, _at(at)
        )
        html = cards.board_html(sheet, scale, str(request.url))
        return (
            _download(cards.as_pdf(html), "application/pdf", f"board-{org_code}.pdf")
            if f == "pdf"
            else (HTMLResponse(html))
        )

    @router.get("/riskmap/{org_code}/scale", summary="The grading scale in force for an org unit")
    async def get_scale(org_code: str, scoped: Scoped) -> Any:
        return await service.scale_of(scoped.conn, scoped.caller, org_code)

    @router.put("/riskmap/{org_code}/scale", summary="Choose the grading scale of an org unit (admin)")
    async def put_scale(org_code: str, body: ScaleIn, scoped: Scoped) -> Any:
        return await service.set_scale(
            scoped.conn, scoped.caller, org_code, body.scheme, body.colours, body.dynamic
        )

    @router.delete("/riskmap/{org_code}/scale", summary="Inherit the parent's grading scale again (admin)")
    async def delete_scale(org_code: str, scoped: Scoped) -> Any:
        return await service.clear_scale(scoped.conn, scoped.caller, org_code)

    return router
