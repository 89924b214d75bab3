"""Settings, one pydantic-settings class per concern.

Plain `DATABASE_URL` and `MQTT_URL` name outside servers; without them the `twin` command runs private
ones under `TWIN_DATA_DIR` (default `var/`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class PathSettings(BaseSettings):
    """Where private services and generated data live."""

    model_config = SettingsConfigDict(env_prefix="TWIN_")

    data_dir: Path = ROOT / "var"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def mqtt_dir(self) -> Path:
        return self.data_dir / "mosquitto"

    @property
    def media_dir(self) -> Path:
        """Uploaded photos, one file per content hash (twin.riskmap.photos)."""
        return self.data_dir / "media"


class DatabaseSettings(BaseSettings):
    """PostgreSQL + PostGIS: an outside server by URL, or the private cluster."""

    model_config = SettingsConfigDict(env_prefix="TWIN_DB_", populate_by_name=True)

    url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "TWIN_DB_URL"))
    private_port: int = 55432
    name: str = "twin"
    pool_size: int = 10
    stats_pool_size: int = 5  # the statistics' own pool (twin.db.engine.statistics_engine), and as many more
    statement_timeout_ms: int = 30_000

    @property
    def is_private(self) -> bool:
        return self.url is None

    def sync_url(self) -> str:
        """The URL for psycopg (migrations, imports, CLI)."""
        return _with_driver(self.url or self._private_url(), "postgresql+psycopg")

    def async_url(self) -> str:
        """The URL for asyncpg (the server)."""
        return _with_driver(self.url or self._private_url(), "postgresql+asyncpg")

    def _private_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.private_port}/{self.name}"


class BrokerSettings(BaseSettings):
    """MQTT broker: an outside Mosquitto by URL, or the private one."""

    model_config = SettingsConfigDict(env_prefix="TWIN_MQTT_", populate_by_name=True)

    url: str | None = Field(default=None, validation_alias=AliasChoices("MQTT_URL", "TWIN_MQTT_URL"))
    private_port: int = 51883

    @property
    def is_private(self) -> bool:
        return self.url is None

    def effective_url(self) -> str:
        return self.url or f"mqtt://127.0.0.1:{self.private_port}"


class ServerSettings(BaseSettings):
    """The HTTP server."""

    model_config = SettingsConfigDict(env_prefix="TWIN_")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # The largest request body of any kind (413 above it). Room for a full hazard report: 9 photos of at
    # most 10 MiB each plus the form around them; endpoints enforce their own tighter limits.
    max_body_bytes: int = 100 * 1024 * 1024
    # permessage-deflate on WebSockets: off, because the live messages are a few hundred bytes of JSON
    # and compressing each one for each client cost the server more CPU than the bytes it saved; on for
    # clients behind a slow link.
    ws_deflate: bool = False
    # Freeze the startup heap once the app has started (twin.heap): full garbage collections stop walking
    # it. Off where one process builds many apps (the tests), which would pin each one's leftovers.
    freeze_heap: bool = True


class CorsSettings(BaseSettings):
    """Cross-origin requests: none by default (the pages are served by the app itself, same origin)."""

    model_config = SettingsConfigDict(env_prefix="TWIN_CORS_")

    # Exact origins a browser may call the API from, e.g. '["https://screen.example.edu.cn"]'.
    # No wildcard: tokens travel in the Authorization header, and "*" would let any site's script use them.
    origins: list[str] = []


class EditSettings(BaseSettings):
    """Feature edits (OGC API Features Part 4): how large one feature may be."""

    model_config = SettingsConfigDict(env_prefix="TWIN_EDIT_")

    max_feature_bytes: int = 5 * 1024 * 1024


class HazardSettings(BaseSettings):
    """The hazard loop: photo limits, where photos live, and the escalation scheduler's pace."""

    model_config = SettingsConfigDict(env_prefix="TWIN_HAZARD_")

    photo_max_bytes: int = 10 * 1024 * 1024
    photos_per_request: int = 9
    # Seconds between runs of the escalation scheduler in the server; 0 turns it off (tests, or cron
    # running `twin scheduler run-once` instead).
    scheduler_interval_s: float = 60.0


class AuthSettings(BaseSettings):
    """Sign-in: JWT lifetimes and the signing secret (kept under the data directory when not given)."""

    model_config = SettingsConfigDict(env_prefix="TWIN_AUTH_")

    secret: str | None = None
    # HMAC only: the secret is symmetric, and an asymmetric name here would invite HS/RS key confusion.
    algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_ttl_s: int = 15 * 60
    refresh_ttl_s: int = 7 * 24 * 3600
    issuer: str = "campus-twin"
    caller_cache_s: float = 5.0  # how long a cached answer (a tile) may be served after a user is disabled


class RiskMapSettings(BaseSettings):
    """Risk map exports: how many rows a control list, and how many cards a sheet, may hold at once."""

    model_config = SettingsConfigDict(env_prefix="TWIN_RISKMAP_")

    max_list_rows: int = 50_000  # a county's schools; a province's list is asked for county by county
    max_cards: int = 2_000  # each card renders a QR code and a PDF page


class PipeSettings(BaseSettings):
    """Pipe networks: snapping, the isolation click, excavation defaults."""

    model_config = SettingsConfigDict(env_prefix="TWIN_PIPES_")

    snap_tolerance_m: float = 0.05  # a segment end this close to a node is joined to it
    max_click_m: float = 15.0  # a clicked point farther than this from every pipe is refused
    bedding_m: float = 0.15  # below the pipe's bottom (GB 50268: 0.1–0.2 m)
    default_clearance_m: float = 1.0  # a pair of utilities the clearance table does not list
    soil: str = "sandy_loam"  # when the request names none
    point_trench_m: float = 3.0  # length of a trench dug around a point rather than along a pipe


class LiveSettings(BaseSettings):
    """Sensor alerts over MQTT and the live streams (WebSocket, SSE)."""

    model_config = SettingsConfigDict(env_prefix="TWIN_LIVE_")

    ingest: bool = True  # run the MQTT ingest worker inside each server process
    share_group: str = "twin"  # several workers share one subscription: $share/<group>/...
    client_id_prefix: str = "twin-ingest"  # + a slot number claimed in the database: fixed per worker
    max_slots: int = 16
    session_expiry_s: int = 7 * 24 * 3600  # the broker keeps our queue while we are down
    batch_max: int = 1000  # messages taken in per transaction (and unacknowledged at most)
    escalate_every_s: float = 5.0  # how often due escalation timers are looked for
    queue_size: int = 1000  # events buffered per stream client before it is dropped as too slow
    sse_ping_s: float = 15.0  # a comment line keeps proxies from closing a quiet stream
    sse_max_s: float = 3600.0  # a stream ends after this; the browser reconnects with Last-Event-ID
    gap_wait_s: float = 5.0  # how long an id skipped by the log is awaited (a transaction still running)
    retention_days: float = 7.0  # live events kept for resuming streams; alerts themselves stay


class SceneSettings(BaseSettings):
    """3D scenes: assumptions where data is missing, mesh sizes, the content cache."""

    model_config = SettingsConfigDict(env_prefix="TWIN_SCENES_")

    assumed_depth_m: float = 1.0  # a pipe with no surveyed depth is drawn this deep (and says so)
    zone_height_m: float = 3.0  # height of a risk-zone volume (about one storey)
    terrain_max_cells: int = 256  # the DEM is thinned to at most this many cells per side
    cache_entries: int = 512  # GLBs kept in memory per process (LRU), dropped on twin_tiles changes
    province_tile_buildings: int = 1000  # a quadtree tile splits above this many buildings


class StatsSettings(BaseSettings):
    """Statistics: the local calendar of periods, hot-spot test and its cache, hexagon limits, parts."""

    model_config = SettingsConfigDict(env_prefix="TWIN_STATS_")

    timezone: str = "Asia/Shanghai"  # months and days of `period` are local
    permutations: int = 999  # Gi* conditional permutations
    alpha: float = 0.05  # significance of a hot or cold spot
    hotspot_cache_s: float = 600.0  # a hot-spot map is recomputed at most this often per scope and query
    max_cells: int = 200_000  # hexagons in one answer (a province at resolution 8 is ~100k)
    # A by-school JSON answer over this many schools runs in this many contiguous ranges of the group
    # code, each on its own connection in one snapshot (twin.stats.parallel); 1: always one statement.
    parallel_parts: int = Field(default=2, ge=1)
    parallel_min_schools: int = Field(default=10_000, ge=1)


class BusSettings(BaseSettings):
    """School-bus GPS: the OsmAnd HTTP endpoint, the JT/T 808 listener, trips, ETA and geofences."""

    model_config = SettingsConfigDict(env_prefix="TWIN_BUS_")

    jt808: bool = True  # run the JT/T 808 listener inside the server process (one worker should)
    jt808_host: str = "0.0.0.0"  # noqa: S104 - terminals connect from the mobile network
    jt808_port: int = Field(default=5015, validation_alias=AliasChoices("JT808_PORT", "TWIN_BUS_JT808_PORT"))
    batch_max: int = 2000  # positions per transaction
    stop_after_s: float = 30.0  # speed ≈ 0 for this long is a stop
    stop_speed_kmh: float = 3.0  # "≈ 0"
    eta_window_s: float = 300.0  # recent speed = mean moving speed over this window
    eta_min_speed_kmh: float = 15.0  # floor for the ETA speed (a bus standing at a light is not parked)
    # 校车安全管理条例 (State Council decree 617, 2012) art. 35: with pupils aboard at most 80 km/h on
    # motorways and 60 km/h on other roads; a school run is on other roads.
    overspeed_kmh: float = 60.0
    deviation_m: float = 200.0  # farther than this from the route line is a deviation
    offline_after_min: float = 10.0  # no fix for this long is "offline"
    sweep_every_s: float = 30.0  # how often silent buses are looked for
    late_after_min: float = 5.0  # reaching a stop later than its timetable time by more is "late"
    stop_radius_m: float = 40.0  # a fix this close to a stop of the route is the bus at that stop


class FamilySettings(BaseSettings):
    """Gate access and security patrols: when a missing entry or a missed checkpoint becomes an alert."""

    model_config = SettingsConfigDict(env_prefix="TWIN_FAMILY_")

    entry_grace_min: float = 15.0  # a child on a bus that reached campus has this long to pass a gate
    watch_window_h: float = 12.0  # arrivals this recent are watched (a scheduler down for hours catches up)
    on_campus_lookback_h: float = 16.0  # an entry this long before the arrival still counts as on campus
    patrol_lookback_h: float = 36.0  # shifts that started this recently are planned and checked
    watch_batch: int = 500  # alerts raised per run at most; the rest on the next run


class Settings(BaseSettings):
    """All settings of one process, read once from the environment."""

    paths: PathSettings = Field(default_factory=PathSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    edit: EditSettings = Field(default_factory=EditSettings)
    riskmap: RiskMapSettings = Field(default_factory=RiskMapSettings)
    hazards: HazardSettings = Field(default_factory=HazardSettings)
    pipes: PipeSettings = Field(default_factory=PipeSettings)
    live: LiveSettings = Field(default_factory=LiveSettings)
    scenes: SceneSettings = Field(default_factory=SceneSettings)
    stats: StatsSettings = Field(default_factory=StatsSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    family: FamilySettings = Field(default_factory=FamilySettings)


def _with_driver(url: str, driver: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    if scheme not in {"postgres", "postgresql"} and not scheme.startswith("postgresql+"):
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got scheme {scheme!r}")
    return f"{driver}://{rest}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
