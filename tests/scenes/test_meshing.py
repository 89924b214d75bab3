"""Pure meshing without a database: frame, prisms, tubes, the cache's invalidation by table and box."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
import trimesh
from pyproj import Transformer

from twin.scenes import cache as scene_cache_module
from twin.scenes.cache import Content, SceneCache
from twin.scenes.frame import Frame
from twin.scenes.pipes import tubes
from twin.scenes.prism import prisms


def test_enu_frame_round_trips_and_points_east_north_up() -> None:
    frame = Frame(112.45, 34.62, 150.0)
    enu = frame.from_lonlat(
        np.array([112.45, 112.451, 112.45]), np.array([34.62, 34.62, 34.621]), np.full(3, 150.0)
    )
    np.testing.assert_allclose(enu[0], 0.0, atol=1e-6)
    assert enu[1, 0] == pytest.approx(91.7, abs=0.5) and abs(enu[1, 1]) < 0.01  # 0.001° east at 34.6°N
    assert enu[2, 1] == pytest.approx(110.9, abs=0.5) and abs(enu[2, 0]) < 0.01
    back = frame.to_lonlat(enu)
    np.testing.assert_allclose(back[:, :2], [[112.45, 34.62], [112.451, 34.62], [112.45, 34.621]], atol=1e-9)
    # the transform is what pyproj says the origin is in ECEF
    x, y, z = Transformer.from_crs(4979, 4978, always_xy=True).transform(112.45, 34.62, 150.0)
    np.testing.assert_allclose(frame.transform()[12:15], [x, y, z], atol=1e-6)


def test_prisms_are_closed_with_outward_faces_even_with_holes() -> None:
    courtyard = shapely.box(0, 0, 30, 20).difference(shapely.box(10, 5, 20, 15))
    ell = shapely.Polygon([(0, 0), (10, 0), (10, 4), (4, 4), (4, 10), (0, 10)])
    mesh = prisms(np.array([courtyard, ell]), np.array([100.0, 0.0]), np.array([112.0, 3.0]))
    for i, volume in enumerate([(600 - 100) * 12, 64 * 3]):
        solid = trimesh.Trimesh(mesh.positions, mesh.indices[mesh.feature_ids[mesh.indices[:, 0]] == i])
        solid.merge_vertices()
        solid.remove_unreferenced_vertices()
        assert solid.is_watertight and solid.is_winding_consistent
        assert solid.volume == pytest.approx(volume)


def test_tubes_are_closed_octagonal_prisms() -> None:
    mesh = tubes(np.array([[0.0, 0.0, -1.0]]), np.array([[10.0, 5.0, -1.5]]), np.array([0.25]), np.array([0]))
    solid = trimesh.Trimesh(mesh.positions, mesh.indices)
    solid.merge_vertices()
    assert solid.is_watertight
    length = float(np.linalg.norm([10.0, 5.0, -0.5]))
    assert solid.volume == pytest.approx(2 * np.sqrt(2) * 0.25**2 * length)


def test_cache_drops_only_layers_drawn_from_the_changed_table_where_it_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = SceneCache()
    for layer in ("buildings", "pipes"):
        cache.put(("campus", 1, layer), layer, (112.44, 34.61, 112.46, 34.63), Content.of(b"x", None))
    cache.put(("campus", 2, "buildings"), "buildings", (113.0, 35.0, 113.1, 35.1), Content.of(b"y", None))
    assert cache.invalidate("buildings", [(112.45, 34.62, 112.451, 34.621)]) == 1
    assert cache.get(("campus", 1, "buildings")) is None
    assert cache.get(("campus", 1, "pipes")) is not None and cache.get(("campus", 2, "buildings")) is not None
    payload = json.dumps({"table": "campuses", "boxes": [[113.05, 35.05, 113.06, 35.06]]})
    monkeypatch.setattr(scene_cache_module, "_CACHE", cache)
    assert scene_cache_module.on_notification(payload) == 1
