"""School-bus GPS: the OsmAnd endpoint (devices, no token: the terminal id is the credential) and ETA."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel

from twin.api.deps import Scoped
from twin.errors import InvalidInput, NotFound
from twin.live import gtfs, trips
from twin.live.gps_osmand import BadFix, Fix, parse_json, parse_params
from twin.live.patrols import take_guard_fix
from twin.live.positions import STATS, PositionWriter, VehicleDirectory
from twin.live.queries import visible_buses

log = logging.getLogger(__name__)
PROTOBUF = "application/x-protobuf"


class StopEta(BaseModel):
    sequence: int
    code: str
    name: str
    distance_m: float
    eta: datetime


class Eta(BaseModel):
    vehicle_id: int
    time: datetime | None
    speed_kmh: float
    along_m: float | None
    off_route_m: float | None
    stops: list[StopEta]


async def _fix(request: Request, now: datetime) -> Fix:
    content_type = request.headers.get("content-type", "")
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST" and content_type.startswith("application/json"):
        try:
            return parse_json(json.loads(await request.body()), now)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadFix(f"the body is not JSON ({exc})") from exc
    if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        params |= {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return parse_params(params, now)


async def take_osmand(request: Request) -> None:
    state = request.app.state
    try:
        fix = await _fix(request, datetime.now(UTC))
    except BadFix as exc:
        STATS.add("osmand_rejected_malformed")
        log.warning("OsmAnd request rejected: %s", exc)
        raise InvalidInput(str(exc)) from exc
    directory: VehicleDirectory = state.vehicles
    vehicle = await directory.find(fix.device_id)
    if vehicle is None and await take_guard_fix(state.positions.engine, fix) is not None:
        STATS.add("osmand_patrol_taken")  # a guard's phone on a patrol round: its visits are stored
        return
    if vehicle is None:
        STATS.add("osmand_rejected_unknown_device")
        log.warning("OsmAnd fix from unknown device %r rejected", fix.device_id)
        raise InvalidInput(
            f"device {fix.device_id!r} is neither a registered bus terminal nor a guard's patrol device"
        )
    writer: PositionWriter = state.positions
    await writer.submit(vehicle, [fix])
    STATS.add("osmand_taken")


def buses_router() -> APIRouter:
    router = APIRouter(tags=["buses"])

    @router.api_route(
        "/osmand",
        methods=["GET", "POST"],
        response_class=PlainTextResponse,
        summary="A GPS fix by the OsmAnd protocol (Traccar Client): query, form or JSON; the device id is"
        " its credential",
        responses={400: {"description": "malformed fix or unknown device"}},
    )
    async def osmand(request: Request) -> PlainTextResponse:
        await take_osmand(request)
        return PlainTextResponse("OK")

    @router.get(
        "/live/buses/{vehicle_id}/eta",
        response_model=Eta,
        summary="Arrival estimates at the bus's next stops, along its route, from its recent speed",
    )
    async def eta(vehicle_id: int, request: Request, scoped: Scoped) -> Eta:
        settings = request.app.state.settings.bus
        estimate = await trips.vehicle_eta(scoped.conn, vehicle_id, settings)
        if estimate is None:
            raise NotFound(f"bus {vehicle_id} does not exist or is outside your jurisdiction")
        return Eta.model_validate(estimate, from_attributes=True)

    @router.get(
        "/gtfs/static.zip",
        summary="Static GTFS of the routes, stops and trips you may see",
        response_class=Response,
        responses={200: {"content": {"application/zip": {}}}},
    )
    async def gtfs_static(scoped: Scoped) -> Response:
        feed = await gtfs.static_feed(scoped.conn, "School buses")
        headers = {"Content-Disposition": 'attachment; filename="gtfs.zip"'}
        return Response(gtfs.static_zip(feed), media_type="application/zip", headers=headers)

    @router.get(
        "/gtfs-rt/vehicle-positions",
        summary="GTFS-Realtime VehiclePositions of the buses you may see (a parent: their child's)",
        response_class=Response,
        responses={200: {"content": {PROTOBUF: {}}}},
    )
    async def gtfs_vehicle_positions(request: Request, scoped: Scoped) -> Response:
        buses = await visible_buses(scoped.conn)
        etas = await gtfs.etas(scoped.conn, buses, request.app.state.settings.bus)
        return Response(gtfs.vehicle_positions(buses, etas, datetime.now(UTC)), media_type=PROTOBUF)

    @router.get(
        "/gtfs-rt/trip-updates",
        summary="GTFS-Realtime TripUpdates: arrival estimates at the next stops of the buses you may see",
        response_class=Response,
        responses={200: {"content": {PROTOBUF: {}}}},
    )
    async def gtfs_trip_updates(request: Request, scoped: Scoped) -> Response:
        buses = await visible_buses(scoped.conn)
        etas = await gtfs.etas(scoped.conn, buses, request.app.state.settings.bus)
        return Response(gtfs.trip_updates(buses, etas, datetime.now(UTC)), media_type=PROTOBUF)

    return router
