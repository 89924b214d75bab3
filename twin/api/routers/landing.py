"""The landing page: what this service is and where its parts are (OGC API style links)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request


def landing_router() -> APIRouter:
    router = APIRouter(tags=["landing"])

    @router.get("/", summary="Landing page")
    async def landing(request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {
            "title": "Campus Twin",
            "description": "GIS and 3D digital-twin server for school safety",
            "links": [
                {"rel": "self", "type": "application/json", "href": f"{base}/"},
                {
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "href": f"{base}/api",
                },
                {"rel": "service-doc", "type": "text/html", "href": f"{base}/docs"},
                {"rel": "status", "type": "application/json", "href": f"{base}/healthz"},
            ],
        }

    return router
