"""What the routes ask of twin.scenes: load with queries, mesh in a thread, cache, assemble tilesets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access import Caller
from twin.config import SceneSettings
from twin.crs import transformer
from twin.errors import NotFound
from twin.layers.tiles import database_key
from twin.pipes.dem import Dem
from twin.pipes.digging import NoDem, open_dem
from twin.pipes.queries import DemRef
from twin.riskmap.fourcolour import NOT_GRADED, highest
from twin.riskmap.service import scales_of
from twin.scenes import deck, province, queries
from twin.scenes.buildings import buildings_glb
from twin.scenes.cache import Content, scene_cache
from twin.scenes.excavation import CONFLICT, TrenchShape, top_ring, trench_glb, trench_shape
from twin.scenes.frame import Frame
from twin.scenes.glb import PropertyTable, read_glb_json, write_glb
from twin.scenes.pipes import OTHER, UTILITY_COLOURS, Ground, axes, pipes_glb
from twin.scenes.terrain import read_grid, terrain_glb
from twin.scenes.tileset import LAYERS, Box, LayerContent, scene_tileset
from twin.scenes.volumes import ZoneRow, volumes_glb

F = np.ndarray


def campus_frame(c: queries.CampusRow) -> Frame:
    return Frame(c.lon, c.lat, 0.0)


def ground_of(dem: Dem | None) -> Ground:
    def ground(lon: F, lat: F) -> F:
        if dem is None:
            return np.full(len(lon), np.nan)
        heights = dem.heights(list(zip(lon.tolist(), lat.tolist(), strict=True)), 4326)
        return np.array([np.nan if h is None else h for h in heights], dtype="float64")

    return ground


def box_of(data: bytes) -> Box | None:
    """The content's box from its POSITION accessors' min/max (already in the GLB)."""
    doc = read_glb_json(data)
    acc = doc.get("accessors", [])
    mins = [a["min"] for a in acc if "min" in a]
    maxs = [a["max"] for a in acc if "max" in a]
    if not mins:
        return None
    lo, hi = np.min(mins, axis=0), np.max(maxs, axis=0)
    return Box(tuple(float(v) for v in lo), tuple(float(v) for v in hi))  # type: ignore[arg-type]


async def _dem(conn: AsyncConnection, campus_id: int) -> tuple[Dem | None, DemRef | None]:
    found = await queries.dem(conn, campus_id)
    if found is None:
        return None, None
    ref = DemRef(*found)
    try:
        return open_dem(ref), ref
    except NoDem:  # the registered file is gone: draw without ground rather than fail the whole scene
        return None, None


async def layer_content(
    conn: AsyncConnection, caller: Caller, c: queries.CampusRow, layer: str, settings: SceneSettings
) -> Content:
    """The layer's GLB for the campus, from the cache or freshly meshed."""
    if layer not in LAYERS:
        raise NotFound(f"no scene layer {layer!r}; the layers are {', '.join(LAYERS)}")
    key = (database_key(conn.engine.url), "campus", c.id, layer)
    cache = scene_cache()
    cached = cache.get(key)
    if cached is not None:
        return cached
    make = await _loader(layer)(conn, caller, c, settings)
    data = await asyncio.to_thread(make)
    content = Content.of(data, box_of(data))
    cache.put(key, layer, c.bbox, content)
    return content


Maker = Callable[[], bytes]


def _loader(layer: str) -> Callable[..., Any]:
    return {"buildings": _buildings, "pipes": _pipes, "terrain": _terrain, "risk_zones": _zones}[layer]


async def _buildings(conn: AsyncConnection, caller: Caller, c: queries.CampusRow, s: SceneSettings) -> Maker:
    rows = await queries.buildings(conn, caller, c.id)
    return lambda: buildings_glb(campus_frame(c), rows)


async def _pipes(conn: AsyncConnection, caller: Caller, c: queries.CampusRow, s: SceneSettings) -> Maker:
    rows = await queries.pipes(conn, caller, c.id)
    dem, _ = await _dem(conn, c.id)
    return lambda: pipes_glb(axes(campus_frame(c), rows, ground_of(dem), s.assumed_depth_m))


async def _terrain(conn: AsyncConnection, caller: Caller, c: queries.CampusRow, s: SceneSettings) -> Maker:
    _, ref = await _dem(conn, c.id)
    if ref is None:
        return lambda: terrain_glb_empty(c.code)
    return lambda: terrain_glb(campus_frame(c), read_grid(ref.path, ref.srid, s.terrain_max_cells), c.code)


def terrain_glb_empty(code: str) -> bytes:
    return write_glb([], PropertyTable("terrain", {"campus": [code]}))


async def _zones(conn: AsyncConnection, caller: Caller, c: queries.CampusRow, s: SceneSettings) -> Maker:
    dem, _ = await _dem(conn, c.id)
    rows = await _zone_rows(conn, caller, c, s, dem)
    return lambda: volumes_glb(campus_frame(c), rows)


async def _zone_rows(
    conn: AsyncConnection, caller: Caller, c: queries.CampusRow, s: SceneSettings, dem: Dem | None
) -> list[ZoneRow]:
    """The zones with their effective level and its colour in the school's scale (四色图)."""
    raw = await queries.zones(conn, caller, c.id)
    scales = await scales_of(conn, {r["org_path"] for r in raw})
    ground = ground_of(dem)
    rows = []
    for r in raw:
        level = highest(r["points"], r["zones"]) or r["level"]
        scale = scales[r["org_path"]]
        entry = (
            scale.level(level)
            if level is not None and any(lv.level == level for lv in scale.levels)
            else None
        )
        base = r["building_base"]
        if base is None:
            h = float(ground(np.array([r["lon"]]), np.array([r["lat"]]))[0])
            base = 0.0 if np.isnan(h) else h
        rows.append(
            ZoneRow(
                r["id"],
                r["code"],
                r["name"],
                r["category"],
                level,
                entry.colour if entry else NOT_GRADED,
                entry.label if entry else "not graded",
                r["floor"],
                float(base),
                s.zone_height_m,
                bytes(r["wkb"]),
            )
        )
    return rows


async def campus_tileset(
    conn: AsyncConnection, caller: Caller, code: str, layers: list[str], base: str, settings: SceneSettings
) -> dict[str, Any]:
    """The campus's tileset: a child per non-empty layer, content at `{base}/{layer}.glb`."""
    c = await queries.campus(conn, caller, code)
    children = []
    for layer in layers:
        content = await layer_content(conn, caller, c, layer, settings)
        if content.box is not None:
            uri = f"{base}/{layer}.glb"
            children.append(LayerContent(layer, uri, content.box))
    extras = {
        "campus": c.code,
        "name": c.name,
        "origin": [c.lon, c.lat, 0.0],
        "layers": [x.name for x in children],
    }
    return scene_tileset(campus_frame(c), children, extras)


async def campus_layer(
    conn: AsyncConnection, caller: Caller, code: str, layer: str, settings: SceneSettings
) -> Content:
    c = await queries.campus(conn, caller, code)
    return await layer_content(conn, caller, c, layer, settings)


async def campus_deck(
    conn: AsyncConnection, caller: Caller, code: str, settings: SceneSettings
) -> dict[str, Any]:
    """The pydeck scene spec of the campus for the big screen."""
    c = await queries.campus(conn, caller, code)
    buildings = await queries.buildings(conn, caller, c.id)
    pipes = await queries.pipes(conn, caller, c.id)
    dem, _ = await _dem(conn, c.id)
    zones = await _zone_rows(conn, caller, c, settings, dem)
    alerts = await queries.open_alerts(conn, caller, c.id)
    buses = await queries.buses(conn, caller, c.id)

    def build() -> dict[str, Any]:
        pipe_rows = deck.pipe_data(pipes, ground_of(dem), settings.assumed_depth_m)
        spec = deck.deck_spec(
            (c.lon, c.lat), deck.building_data(buildings), pipe_rows, deck.zone_data(zones), alerts, buses
        )
        spec["campus"] = {"code": c.code, "name": c.name}
        return spec

    return await asyncio.to_thread(build)


EXCAVATION_PARTS = ("terrain", "trench", "pipes")
AROUND_M = 15.0
"""Ground shown around the trench, in metres."""


async def excavation_tileset(
    conn: AsyncConnection, caller: Caller, plan_id: int, base: str, settings: SceneSettings
) -> dict[str, Any]:
    """The 3D cut of a stored excavation plan, with what a viewer needs to clip its own globe."""
    stored = await queries.excavation_plan(conn, caller, plan_id)
    frame, shape = _plan_frame(stored["plan"])
    children = []
    for part in EXCAVATION_PARTS:
        content = await excavation_part(conn, caller, plan_id, part, settings, stored)
        if content.box is not None:
            children.append(LayerContent(part, f"{base}/{part}.glb", content.box))
    plan = stored["plan"]
    srid = int(plan["metric"]["srid"])
    ring = top_ring(shape)
    lonlat = frame.to_lonlat(frame.from_crs(srid, ring[:, 0], ring[:, 1], ring[:, 2]))
    extras = {
        "plan": plan_id,
        "origin": [frame.lon, frame.lat, frame.h],
        "trench_ring": [[round(a, 8), round(b, 8), round(h, 3)] for a, b, h in lonlat.tolist()],
        "max_depth_m": plan["trench"].get("max_depth_m"),
        "ground_m": [float(v) for v in shape.ground],
        "bottom_m": [float(v) for v in shape.bottom],
        "conflicts": plan.get("conflicts", []),
        "layers": [c.name for c in children],
    }
    return scene_tileset(frame, children, extras)


def _plan_frame(plan: dict[str, Any]) -> tuple[Frame, TrenchShape]:
    shape = trench_shape(plan)
    srid = int(plan.get("metric", {}).get("srid", 0)) or 4326
    mid = len(shape.x) // 2
    lon, lat = transformer(srid, 4326).transform(float(shape.x[mid]), float(shape.y[mid]))
    return Frame(float(lon), float(lat), 0.0), shape


async def excavation_part(
    conn: AsyncConnection,
    caller: Caller,
    plan_id: int,
    part: str,
    settings: SceneSettings,
    stored: dict[str, Any] | None = None,
) -> Content:
    if part not in EXCAVATION_PARTS:
        raise NotFound(
            f"no part {part!r} of an excavation scene; the parts are {', '.join(EXCAVATION_PARTS)}"
        )
    stored = stored or await queries.excavation_plan(conn, caller, plan_id)  # checks access every time
    key = (database_key(conn.engine.url), "plan", plan_id, part)
    cache = scene_cache()
    cached = cache.get(key)
    if cached is not None:
        return cached
    plan = stored["plan"]
    frame, shape = _plan_frame(plan)
    srid = int(plan["metric"]["srid"])
    make: Maker
    if part == "trench":
        props = {
            "plan": plan_id,
            "walls": str(plan["trench"].get("walls", "")),
            "max_depth_m": float(plan["trench"].get("max_depth_m") or 0.0),
            "volume_m3": float(plan["trench"].get("volume_m3") or 0.0),
            "soil": str(plan.get("soil", {}).get("label", "")),
        }
        make = lambda: trench_glb(frame, srid, shape, props)  # noqa: E731
    elif part == "terrain":
        make = await _cut_terrain(conn, stored["campus_id"], frame, srid, shape, settings)
    else:
        make = await _exposed_pipes(conn, caller, stored, frame, settings)
    data = await asyncio.to_thread(make)
    content = Content.of(data, box_of(data))
    cache.put(key, "pipes", stored["bbox"], content)
    return content


async def _cut_terrain(
    conn: AsyncConnection, campus_id: int, frame: Frame, srid: int, shape: TrenchShape, s: SceneSettings
) -> Maker:
    _, ref = await _dem(conn, campus_id)
    if ref is None:
        return lambda: terrain_glb_empty("")
    ring = top_ring(shape)
    outline = shapely.Polygon(ring[:, :2])
    if ref.srid != srid:
        outline = shapely.transform(
            outline, lambda xy: np.column_stack(transformer(srid, ref.srid).transform(*xy.T))
        )
    x0, y0, x1, y1 = shapely.buffer(outline, AROUND_M).bounds

    def make() -> bytes:
        grid = read_grid(ref.path, ref.srid, s.terrain_max_cells, window=(x0, y0, x1, y1))
        return terrain_glb(frame, grid, "", cut=outline)

    return make


async def _exposed_pipes(
    conn: AsyncConnection, caller: Caller, stored: dict[str, Any], frame: Frame, s: SceneSettings
) -> Maker:
    plan = stored["plan"]
    dug = int(plan["pipe"]["id"])
    nearby = [int(p["id"]) for p in plan["metric"].get("pipes", [])]
    conflicts = {str(c.get("pipe")): str(c.get("kind", "")) for c in plan.get("conflicts", [])}
    rows = await queries.pipes_by_id(conn, caller, [dug, *nearby])
    dem, _ = await _dem(conn, stored["campus_id"])
    roles = ["dug" if r.id == dug else ("conflict" if str(r.id) in conflicts else "nearby") for r in rows]
    colours = [
        CONFLICT if role == "conflict" else UTILITY_COLOURS.get(r.utility, OTHER)
        for r, role in zip(rows, roles, strict=True)
    ]
    extra: dict[str, list[object]] = {
        "role": list(roles),
        "conflict": [conflicts.get(str(r.id), "") for r in rows],
    }
    return lambda: pipes_glb(axes(frame, rows, ground_of(dem), s.assumed_depth_m), colours, extra)


# --- province quadtree --------------------------------------------------------------------------------


def _quad(z: int, x: int, y: int) -> province.QuadTile:
    try:
        return province.QuadTile(z, x, y)
    except ValueError as exc:
        raise NotFound(str(exc)) from exc


async def _counted(
    conn: AsyncConnection, caller: Caller, tiles: list[province.QuadTile]
) -> dict[province.QuadTile, tuple[int, province.Heights]]:
    counts = await queries.quad_counts(conn, caller, [t.bounds for t in tiles])
    return {t: (n, province.Heights(low, high)) for t, (n, low, high) in zip(tiles, counts, strict=True)}


async def province_tileset(conn: AsyncConnection, caller: Caller, base: str) -> dict[str, Any]:
    """The entry tileset of every building the caller may see, as base-level quadtree nodes."""
    found = await queries.extent(conn, caller)
    if found is None:
        return province.root_tileset({}, base)
    return province.root_tileset(await _counted(conn, caller, province.covering(found[0])), base)


async def province_node(
    conn: AsyncConnection, caller: Caller, z: int, x: int, y: int, base: str, settings: SceneSettings
) -> dict[str, Any]:
    tile = _quad(z, x, y)
    own = (await _counted(conn, caller, [tile]))[tile]
    children = (
        await _counted(conn, caller, tile.children()) if own[0] > settings.province_tile_buildings else {}
    )
    return province.node_tileset(tile, own[0], settings.province_tile_buildings, children, base, own[1])


async def province_content(conn: AsyncConnection, caller: Caller, z: int, x: int, y: int) -> Content:
    """The buildings of a quadtree tile (by centroid) as a GLB in the tile's own frame, cached per scope."""
    tile = _quad(z, x, y)
    key = (database_key(conn.engine.url), "province", caller.org_path, caller.whole, z, x, y)
    cache = scene_cache()
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = await queries.buildings_in_box(conn, caller, tile.bounds)
    data = await asyncio.to_thread(buildings_glb, tile.frame, rows)
    content = Content.of(data, box_of(data))
    cache.put(key, "province", tile.bounds, content)
    return content
