"""The pages (`/ui/<page>`): static HTML + one ES module each, no build step; data comes from the API.

The HTML carries no data, so it is served without a token; each page signs in with a form posting to
`/auth/token` and sends the bearer token on every fetch. Hidden from the OpenAPI document: pages are not
API resources (and the isolation probe of every API route has nothing to leak here).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from twin.config import ROOT
from twin.errors import NotFound

UI = ROOT / "static" / "ui"
PAGES = ("bigscreen", "editor", "maintenance", "dashboard", "parent", "report")


def ui_router() -> APIRouter:
    router = APIRouter(prefix="/ui", include_in_schema=False)

    @router.get("/{page}")
    async def page(page: str) -> FileResponse:
        if page not in PAGES:
            raise NotFound(f"no page '{page}'; the pages are {', '.join(PAGES)}")
        # no-cache: a redeploy must not leave an old page talking to a new API
        return FileResponse(UI / page / "index.html", headers={"Cache-Control": "no-cache"})

    return router
