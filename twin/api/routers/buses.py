"""School-bus GPS: the OsmAnd endpoint (devices, no token: the terminal id is the credential) and ETA."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from twin.api.deps import Scoped
from twin.errors import InvalidInput, NotFound
from twin.live import gtfs, trips
from twin.live.gps_osmand import BadFix, Fix, parse_request
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


async def take_osmand(request: Request) -> None:
    """Store the request's fixes, or raise InvalidInput saying what was wrong (counted and logged)."""
    state = request.app.state
    try:
        body = await request.body() if request.method == "POST" else b""
        fixes = parse_request(
            request.method,
            request.headers.get("content-type", ""),
            request.scope.get("query_string", b""),
            body,
            datetime.now(UTC),
        )
    except BadFix as exc:
        STATS.add("osmand_rejected_malformed")
        log.warning("OsmAnd request rejected: %s", exc)
        raise InvalidInput(str(exc)) from exc
    directory: VehicleDirectory = state.vehicles
    vehicle = await directory.find(fixes[0].device_id)
    if vehicle is None and await _take_guard_fixes(state.positions.engine, fixes):
        return
    if vehicle is None:
        STATS.add("osmand_rejected_unknown_device")
        log.warning("OsmAnd fix from unknown device %r rejected", fixes[0].device_id)
        raise InvalidInput(
            f"device {fixes[0].device_id!r} is neither a registered bus terminal nor a guard's patrol device"
        )
    writer: PositionWriter = state.positions
    await writer.submit(vehicle, fixes)
    STATS.add("osmand_taken", len(fixes))


async def _take_guard_fixes(engine: AsyncEngine, fixes: list[Fix]) -> bool:
    """A guard's phone on a patrol round: its visits are stored. False: not a guard's device."""
    for fix in fixes:
        if await take_guard_fix(engine, fix) is None:
            return False
    STATS.add("osmand_patrol_taken", len(fixes))
    return True


def buses_router() -> APIRouter:
    router = APIRouter(tags=["buses"])

    # Normally answered before routing (twin.api.osmand_fastpath); these routes document the protocol and
    # answer what the fast path hands on (malformed requests, unknown devices: a problem+json).
    osmand = {
        "response_class": PlainTextResponse,
        "responses": {400: {"description": "malformed fix or unknown device"}},
    }

    @router.get(
        "/osmand",
        operation_id="osmand_query",
        summary="A GPS fix by the OsmAnd protocol (Traccar Client) in query parameters; the device id is its"
        " credential",
        **osmand,  # type: ignore[arg-type]
    )
    async def osmand_get(request: Request) -> PlainTextResponse:
        await take_osmand(request)
        return PlainTextResponse("OK")

    @router.post(
        "/osmand",
        operation_id="osmand_body",
        summary="GPS fixes by the OsmAnd protocol: query or form parameters, or the JSON variant (one"
        " `location`, or a list in `location` / `locations` as buffered offline)",
        **osmand,  # type: ignore[arg-type]
    )
    async def osmand_post(request: Request) -> PlainTextResponse:
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
        trips = await gtfs.timetable(scoped.conn)
        return Response(gtfs.vehicle_positions(buses, etas, datetime.now(UTC), trips), media_type=PROTOBUF)

    @router.get(
        "/gtfs-rt/trip-updates",
        summary="GTFS-Realtime TripUpdates: arrival estimates at the next stops of the buses you may see",
        response_class=Response,
        responses={200: {"content": {PROTOBUF: {}}}},
    )
    async def gtfs_trip_updates(request: Request, scoped: Scoped) -> Response:
        buses = await visible_buses(scoped.conn)
        etas = await gtfs.etas(scoped.conn, buses, request.app.state.settings.bus)
        trips = await gtfs.timetable(scoped.conn)
        return Response(gtfs.trip_updates(buses, etas, datetime.now(UTC), trips), media_type=PROTOBUF)

    return router
