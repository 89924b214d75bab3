"""3D scenes: 3D Tiles 1.1 of a campus and of an excavation cut, the province quadtree, the deck.gl spec.

Thin: check the role, call twin.scenes, answer with an ETag (a viewer re-asks the same GLBs often).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from twin.access.roles import Role
from twin.api.deps import Scoped, ScopedConnection, get_settings
from twin.errors import Forbidden, InvalidInput
from twin.scenes import scene
from twin.scenes.cache import Content
from twin.scenes.tileset import LAYERS

VIEWERS = {Role.admin, Role.leader, Role.safety_officer, Role.maintenance, Role.analyst}
GLB = "model/gltf-binary"
TILESET = "application/json"


def _check_viewer(scoped: ScopedConnection) -> None:
    if scoped.caller.role not in VIEWERS:
        allowed = ", ".join(sorted(r.value for r in VIEWERS))
        raise Forbidden(f"3D scenes need the role {allowed}; you are {scoped.caller.role.value}")


def _layers(value: str | None) -> list[str]:
    if not value:
        return list(LAYERS)
    wanted = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in wanted if v not in LAYERS]
    if unknown:
        raise InvalidInput(
            f"unknown layer {', '.join(unknown)}; choose among {', '.join(LAYERS)}", field="layers"
        )
    return wanted


def _glb(request: Request, content: Content) -> Response:
    headers = {"ETag": content.etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == content.etag:
        return Response(status_code=304, headers=headers)
    return Response(content.data, media_type=GLB, headers=headers)


def _province_base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/scenes/province"


def scenes_router() -> APIRouter:
    router = APIRouter(prefix="/scenes", tags=["scenes"])

    # Registered before /{campus}/…: "province" is the quadtree, never a campus code.
    @router.get("/province/tileset.json", summary="3D Tiles of every building you may see, as a quadtree")
    async def province_tileset(request: Request, scoped: Scoped) -> dict[str, Any]:
        _check_viewer(scoped)
        return await scene.province_tileset(scoped.conn, scoped.caller, _province_base(request))

    @router.get("/province/{z}/{x}/{y}/tileset.json", summary="One quadtree node (external tileset)")
    async def province_node(z: int, x: int, y: int, request: Request, scoped: Scoped) -> dict[str, Any]:
        _check_viewer(scoped)
        settings = get_settings(request).scenes
        base = _province_base(request)
        return await scene.province_node(scoped.conn, scoped.caller, z, x, y, base, settings)

    @router.get("/province/{z}/{x}/{y}/buildings.glb", summary="The buildings of one quadtree tile")
    async def province_content(z: int, x: int, y: int, request: Request, scoped: Scoped) -> Response:
        _check_viewer(scoped)
        return _glb(request, await scene.province_content(scoped.conn, scoped.caller, z, x, y))

    @router.get("/{campus}/tileset.json", summary="3D Tiles 1.1 of the campus: a child per layer")
    async def campus_tileset(
        campus: str,
        request: Request,
        scoped: Scoped,
        layers: Annotated[str | None, Query(description=f"comma-separated, of {', '.join(LAYERS)}")] = None,
    ) -> dict[str, Any]:
        _check_viewer(scoped)
        base = f"{str(request.base_url).rstrip('/')}/scenes/{campus}"
        settings = get_settings(request).scenes
        return await scene.campus_tileset(scoped.conn, scoped.caller, campus, _layers(layers), base, settings)

    @router.get("/excavation/{plan_id}/tileset.json", summary="The 3D cut of a stored excavation plan")
    async def excavation_tileset(plan_id: int, request: Request, scoped: Scoped) -> dict[str, Any]:
        _check_viewer(scoped)
        base = f"{str(request.base_url).rstrip('/')}/scenes/excavation/{plan_id}"
        settings = get_settings(request).scenes
        return await scene.excavation_tileset(scoped.conn, scoped.caller, plan_id, base, settings)

    @router.get("/excavation/{plan_id}/{part}.glb", summary="One part of the excavation cut as glTF binary")
    async def excavation_part(plan_id: int, part: str, request: Request, scoped: Scoped) -> Response:
        _check_viewer(scoped)
        settings = get_settings(request).scenes
        return _glb(request, await scene.excavation_part(scoped.conn, scoped.caller, plan_id, part, settings))

    @router.get("/{campus}/deck.json", summary="The pydeck scene spec of the campus (for @deck.gl/json)")
    async def campus_deck(campus: str, request: Request, scoped: Scoped) -> dict[str, Any]:
        _check_viewer(scoped)
        return await scene.campus_deck(scoped.conn, scoped.caller, campus, get_settings(request).scenes)

    @router.get("/{campus}/{layer}.glb", summary="One layer of the campus as glTF binary")
    async def campus_layer(campus: str, layer: str, request: Request, scoped: Scoped) -> Response:
        _check_viewer(scoped)
        settings = get_settings(request).scenes
        content = await scene.campus_layer(scoped.conn, scoped.caller, campus, layer, settings)
        return _glb(request, content)

    return router
