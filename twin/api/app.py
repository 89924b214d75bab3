"""create_app(settings) -> FastAPI: lifespan (engine), routers, problem+json error handlers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

import twin
from twin.access.tokens import signing_secret
from twin.api import errors
from twin.api.deps import CallerCache
from twin.api.limits import BodyLimit
from twin.api.osmand_fastpath import OsmandFastPath
from twin.api.routers.auth import auth_router
from twin.api.routers.buses import buses_router
from twin.api.routers.edits import edits_router
from twin.api.routers.features import features_router
from twin.api.routers.hazards import hazards_router
from twin.api.routers.health import health_router
from twin.api.routers.incidents import incidents_router
from twin.api.routers.inspections import inspections_router
from twin.api.routers.live import live_router
from twin.api.routers.patrols import patrols_router
from twin.api.routers.pipes import pipes_router
from twin.api.routers.riskmap import riskmap_router
from twin.api.routers.scenes import scenes_router
from twin.api.routers.stats import stats_router
from twin.api.routers.tiles import tiles_router
from twin.api.routers.ui import UI, ui_router
from twin.api.routers.users import users_router
from twin.api.tile_fastpath import CachedTiles
from twin.config import ROOT, Settings, get_settings
from twin.db.engine import async_engine, reader_engine, statistics_engine
from twin.db.provision import libpq_dsn
from twin.heap import freeze_startup_heap
from twin.layers.tile_events import TileListener, apply
from twin.layers.tiles import tile_settings
from twin.live.buses import start_buses
from twin.live.fanout import Hub
from twin.live.ingest import start_ingest
from twin.riskmap.escalation import Scheduler, utc_now
from twin.scenes.cache import on_notification, scene_cache
from twin.stats.parallel import SplitCache

STATIC = ROOT / "static"
VENDOR = STATIC / "node_modules"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.jwt_secret = signing_secret(settings.auth, settings.paths)
        app.state.engine = async_engine(settings.db)
        app.state.caller_cache = CallerCache(settings.auth.caller_cache_s)
        app.state.stats_split_cache = SplitCache()
        scene_cache().size = settings.scenes.cache_entries
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(app.state.engine.dispose)
            app.state.stats_engine = statistics_engine(settings.db)
            stack.push_async_callback(app.state.stats_engine.dispose)
            app.state.tile_listener = await _tile_listener(settings, stack)
            _start_scheduler(app, settings, stack)
            reader = reader_engine(settings.db)
            stack.push_async_callback(reader.dispose)
            app.state.hub = Hub(app.state.engine, settings.live, reader)
            stack.push_async_callback(app.state.hub.close)
            app.state.ingest = await start_ingest(settings)
            if app.state.ingest is not None:
                stack.push_async_callback(asyncio.to_thread, app.state.ingest.stop)
            app.state.buses = await start_buses(settings, app.state.jwt_secret)
            stack.push_async_callback(app.state.buses.close)
            app.state.vehicles, app.state.positions = app.state.buses.vehicles, app.state.buses.positions
            if settings.server.freeze_heap:
                freeze_startup_heap()
            yield

    app = FastAPI(
        title="Campus Twin",
        version=twin.__version__,
        description="GIS and 3D digital-twin server for school safety.",
        openapi_url="/api",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = utc_now  # tests replace it to drive deadlines and escalation
    errors.install(app)
    app.include_router(health_router())
    app.include_router(features_router())
    app.include_router(auth_router())
    app.include_router(users_router())
    app.include_router(live_router())
    app.include_router(buses_router())
    app.include_router(edits_router())
    app.include_router(tiles_router())
    app.include_router(riskmap_router())
    app.include_router(hazards_router())
    app.include_router(inspections_router())
    app.include_router(incidents_router())
    app.include_router(pipes_router())
    app.include_router(scenes_router())
    app.include_router(stats_router())
    app.include_router(patrols_router())
    app.include_router(ui_router())
    app.add_middleware(CachedTiles)
    app.add_middleware(OsmandFastPath)
    _add_cors(app, settings)
    # Outermost, so no layer below reads a byte past the limit.
    app.add_middleware(BodyLimit, max_bytes=settings.server.max_body_bytes)
    _mount_docs(app)
    return app


async def _tile_listener(settings: Settings, stack: contextlib.AsyncExitStack) -> TileListener | None:
    """Drop cached tiles whenever any process commits a change (off with TWIN_TILES_LISTEN=false)."""
    if not tile_settings().listen:
        return None
    listener = TileListener(libpq_dsn(settings.db.sync_url()), on_change=_tiles_changed)
    listener.start()
    stack.push_async_callback(listener.stop)
    await listener.wait_connected(timeout_s=5)
    return listener


def _tiles_changed(payload: str) -> int:
    """A `twin_tiles` notification drops the vector tiles and the 3D scene content it touches."""
    return apply(payload) + on_notification(payload)


def _start_scheduler(app: FastAPI, settings: Settings, stack: contextlib.AsyncExitStack) -> None:
    """The escalation scheduler in the background, unless its interval is 0 (tests, or cron instead)."""
    interval = settings.hazards.scheduler_interval_s
    if interval <= 0:
        return
    broker = settings.broker.effective_url()
    scheduler = Scheduler(app.state.engine, broker, interval, lambda: app.state.clock())
    task = asyncio.create_task(scheduler.run_forever(), name="escalation-scheduler")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)


def _add_cors(app: FastAPI, settings: Settings) -> None:
    """Only the configured origins, exactly; with none configured no CORS header is ever sent."""
    origins = settings.cors.origins
    if not origins:
        return
    if "*" in origins:
        raise ValueError("TWIN_CORS_ORIGINS takes exact origins; '*' would hand tokens to any site")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "If-Match", "Last-Event-ID"],
        expose_headers=["ETag", "Location"],
        max_age=600,
    )


def _mount_docs(app: FastAPI) -> None:
    """Front-end packages (Swagger UI, MapLibre…) from the npm install of the set-up command; never a CDN."""
    if Path(VENDOR).is_dir():
        app.mount("/vendor", StaticFiles(directory=VENDOR), name="vendor")
    app.mount("/ui-static", StaticFiles(directory=UI), name="ui-static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api",
            title="Campus Twin API",
            swagger_js_url="/vendor/swagger-ui-dist/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger-ui-dist/swagger-ui.css",
            swagger_favicon_url="/vendor/swagger-ui-dist/favicon-32x32.png",
        )
