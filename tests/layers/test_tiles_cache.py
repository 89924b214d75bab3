"""The tile cache alone: which tiles an edit's box drops, the byte bound, expiry, and the edit race."""

from __future__ import annotations

import morecantile

from twin.layers.tile_cache import TileCache, TileKey, rendered
from twin.layers.tiles import buffered_bounds

WMQ = morecantile.tms.get("WebMercatorQuad")
CRS84 = morecantile.tms.get("WorldCRS84Quad")
CENTRE = WMQ.tile(112.45, 34.62, 17)


def key(
    t: morecantile.Tile,
    tms: str = "WebMercatorQuad",
    collections: tuple[str, ...] = ("buildings",),
    scope: str = "410000.410300",
) -> TileKey:
    return TileKey("db", scope, tms, t.z, t.x, t.y, collections)


def extent(k: TileKey) -> tuple[float, float, float, float]:
    return buffered_bounds(k.tms, k.z, k.x, k.y)


def fill(cache: TileCache, keys: list[TileKey]) -> None:
    for k in keys:
        assert cache.put(k, rendered(repr(k).encode()), cache.generation)


def _third_of(tms: morecantile.TileMatrixSet, t: morecantile.Tile) -> tuple[float, float]:
    # A third of the way across: never on a tile edge at any deeper zoom (1/3 is no binary fraction).
    b = tms.bounds(t)
    return b.left + (b.right - b.left) / 3, b.bottom + (b.top - b.bottom) / 3


POINT = _third_of(WMQ, CENTRE)
BOX = (POINT[0] - 1e-5, POINT[1] - 1e-5, POINT[0] + 1e-5, POINT[1] + 1e-5)  # about 2 m across


def block(tms: morecantile.TileMatrixSet, z: int) -> list[morecantile.Tile]:
    """The 5x5 tiles around POINT at zoom z."""
    c = tms.tile(*POINT, z)
    return [morecantile.Tile(c.x + dx, c.y + dy, z) for dx in range(-2, 3) for dy in range(-2, 3)]


def grown(tms: morecantile.TileMatrixSet, z: int) -> tuple[float, float, float, float]:
    b = tms.bounds(tms.tile(*POINT, z))
    dx, dy = (b.right - b.left) / 8, (b.top - b.bottom) / 8
    return BOX[0] - dx, BOX[1] - dy, BOX[2] + dx, BOX[3] + dy


def test_a_box_drops_the_tiles_it_touches_at_every_zoom_and_nothing_else() -> None:
    cache = TileCache(10**8, 3600)
    wmq = [key(t) for z in range(10, 23) for t in block(WMQ, z)]
    crs84 = [key(t, "WorldCRS84Quad") for z in range(10, 22) for t in block(CRS84, z)]
    others = [key(t, collections=("valves",)) for t in block(WMQ, 17)]
    fill(cache, wmq + crs84 + others)
    # Reference: the tiles morecantile finds under the box grown, zoom by zoom, by the buffer a tile
    # keeps around itself (1/8 of its size: twice MVT's 256 of 4096), which a feature there is drawn in.
    covering = {key(t) for z in range(10, 23) for t in WMQ.tiles(*grown(WMQ, z), [z])}
    covering |= {key(t, "WorldCRS84Quad") for z in range(10, 22) for t in CRS84.tiles(*grown(CRS84, z), [z])}
    assert covering <= set(wmq + crs84)
    assert 13 + 12 < len(covering) < 2 * (13 + 12)  # some zooms put an edge near the box, most do not
    assert cache.invalidate("buildings", [BOX], extent) == len(covering)
    assert len(cache) == len(wmq) + len(crs84) + len(others) - len(covering)
    assert all(cache.get(k) is None for k in covering)
    assert all(cache.get(k) is not None for k in others)
    assert cache.invalidate("buildings", [BOX], extent) == 0


def test_a_tile_whose_buffer_reaches_the_box_is_dropped_too() -> None:
    cache = TileCache(10**8, 3600)
    left = morecantile.Tile(CENTRE.x - 1, CENTRE.y, 17)
    fill(cache, [key(CENTRE), key(left)])
    b = WMQ.bounds(CENTRE)
    just_inside = b.left + (b.right - b.left) * 64 / 4096  # inside the centre tile, in the left one's buffer
    assert cache.invalidate("buildings", [(just_inside, POINT[1], just_inside, POINT[1])], extent) == 2


def test_a_box_across_a_tile_edge_drops_both_tiles() -> None:
    cache = TileCache(10**8, 3600)
    right = morecantile.Tile(CENTRE.x + 1, CENTRE.y, 17)
    far = morecantile.Tile(CENTRE.x - 2, CENTRE.y, 17)
    fill(cache, [key(CENTRE), key(right), key(far), key(CENTRE, scope="whole")])
    edge = WMQ.bounds(CENTRE).right
    assert cache.invalidate("buildings", [(edge - 1e-5, 34.62, edge + 1e-5, 34.62)], extent) == 3
    assert cache.get(key(far)) is not None


def test_several_boxes_before_and_after_an_edit_are_all_dropped() -> None:
    cache = TileCache(10**8, 3600)
    a, b = WMQ.tile(112.45, 34.62, 15), WMQ.tile(113.5, 35.0, 15)
    fill(cache, [key(a), key(b), key(WMQ.tile(100.0, 20.0, 15))])
    boxes = [(112.45, 34.62, 112.4501, 34.6201), (113.5, 35.0, 113.5001, 35.0001)]
    assert cache.invalidate("buildings", boxes, extent) == 2
    assert len(cache) == 1


def test_the_cache_keeps_within_its_byte_bound_dropping_the_least_recently_used() -> None:
    cache = TileCache(max_bytes=300, ttl_s=3600)
    keys = [key(t) for t in block(WMQ, 17)[:4]]
    for k in keys[:3]:
        assert cache.put(k, rendered(b"x" * 100), cache.generation)
    assert cache.get(keys[0]) is not None  # now the most recently used
    cache.put(keys[3], rendered(b"y" * 100), cache.generation)
    assert cache.size_bytes == 300
    assert cache.get(keys[1]) is None and cache.get(keys[0]) is not None
    assert not cache.put(keys[1], rendered(b"z" * 301), cache.generation)


def test_entries_expire_and_a_tile_rendered_before_an_edit_is_not_stored() -> None:
    now = [0.0]
    cache = TileCache(10**6, ttl_s=60, clock=lambda: now[0])
    k = key(CENTRE)
    generation = cache.generation
    cache.invalidate("buildings", [(0.0, 0.0, 0.0, 0.0)], extent)  # an edit commits meanwhile
    assert not cache.put(k, rendered(b"stale"), generation)
    assert cache.put(k, rendered(b"fresh"), cache.generation)
    now[0] = 59.0
    assert cache.get(k) is not None
    now[0] = 61.0
    assert cache.get(k) is None and len(cache) == 0
