"""The campus plan in local metres: boundary, buildings, the internal road grid and open grounds.

The site is 400 m x 300 m with the main gate in the middle of the south fence. Roads form a grid: three
east-west roads (y = 25, 150, 285), four north-south roads (x = 12, 100, 190, 385) and a lane between the
dormitory rows (y = 246). The teaching quarter
lies west of the main axis, the sports field, canteen and dormitories east of it. Buildings keep at least
8 m from road centrelines so the utilities laid beside the roads never run under a building.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import shapely
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import nearest_points

from twin.samples.frame import HEIGHT_M, WIDTH_M

Row = dict[str, Any]
XY = tuple[float, float]

MAIN_GATE: XY = (190.0, 3.0)
NORTH_GATE: XY = (100.0, 297.0)
TRACK_CENTRE: XY = (286.0, 85.0)
DITCH_X = (393.0, 397.5)  # top edges of the ditch (see terrain.Terrain)
MAX_ROAD_PIECE_M = 50.0  # roads are cut into pieces no longer than this: survey points along the networks

# (name, fixed coordinate, the crossing coordinates in order)
EW_ROADS = (
    ("南环路", 25.0, (12.0, 100.0, 190.0, 385.0)),
    ("中心路", 150.0, (12.0, 100.0, 190.0, 385.0)),
    ("北环路", 285.0, (12.0, 100.0, 190.0, 385.0)),
    ("宿舍路", 246.0, (190.0, 385.0)),
)
NS_ROADS = (
    ("西环路", 12.0, (25.0, 150.0, 285.0)),
    ("文化路", 100.0, (25.0, 150.0, 285.0, NORTH_GATE[1])),
    ("中轴大道", 190.0, (MAIN_GATE[1], 25.0, 150.0, 246.0, 285.0)),
    ("东环路", 385.0, (25.0, 150.0, 246.0, 285.0)),
)

# code, name, use, floors, height, footprint (rectangle x0, y0, x1, y1 or a ring), year, occupancy
_BUILDINGS: tuple[tuple[str, str, str, int, float, tuple[float, ...] | tuple[XY, ...], int, int], ...] = (
    ("B01", "行政楼", "admin", 5, 18.0, (112, 35, 178, 52), 2008, 120),
    ("B02", "第一教学楼", "teaching", 5, 18.5, (112, 62, 178, 80), 2008, 900),
    ("B03", "第二教学楼", "teaching", 5, 18.5, (112, 90, 178, 108), 2009, 900),
    ("B04", "第三教学楼", "teaching", 6, 22.2, (112, 120, 178, 140), 2015, 1000),
    ("B05", "图书馆", "library", 4, 15.6, (22, 35, 90, 60), 2010, 300),
    ("B06", "礼堂", "auditorium", 2, 13.5, (22, 70, 90, 100), 2011, 1200),
    ("B07", "医务室", "clinic", 2, 7.2, (22, 110, 48, 140), 2008, 20),
    (
        "B08",
        "化学实验楼",
        "laboratory",
        3,
        11.4,
        ((58, 110), (90, 110), (90, 140), (76, 140), (76, 124), (58, 124)),
        2012,
        180,
    ),
    ("B09", "第四教学楼", "teaching", 4, 15.2, (112, 160, 178, 178), 2003, 700),
    ("B10", "第五教学楼", "teaching", 4, 15.2, (112, 188, 178, 206), 2003, 700),
    (
        "B11",
        "综合实验楼",
        "laboratory",
        4,
        15.6,
        ((112, 216), (178, 216), (178, 232), (128, 232), (128, 246), (112, 246)),
        2016,
        240,
    ),
    ("B12", "艺术楼", "teaching", 3, 11.1, (140, 242, 178, 275), 2018, 200),
    ("B13", "配电房", "utility", 1, 5.0, (112, 256, 132, 275), 2008, 2),
    ("B14", "体育馆", "gym", 1, 12.0, (22, 160, 90, 200), 2014, 800),
    ("B15", "教工宿舍", "dormitory", 6, 19.8, (22, 210, 90, 228), 2006, 160),
    ("B16", "水泵房", "utility", 1, 4.5, (22, 245, 42, 265), 2008, 2),
    ("B17", "后勤仓库", "other", 1, 5.5, (56, 240, 90, 275), 2008, 6),
    ("B18", "学生食堂", "canteen", 2, 7.8, (200, 160, 280, 205), 2010, 1200),
    ("B19", "男生宿舍1号楼", "dormitory", 6, 19.8, (200, 218, 258, 234), 2010, 480),
    ("B20", "男生宿舍2号楼", "dormitory", 6, 19.8, (200, 257, 258, 275), 2013, 480),
    ("B21", "女生宿舍1号楼", "dormitory", 5, 17.0, (270, 218, 328, 234), 2010, 400),
    ("B22", "女生宿舍2号楼", "dormitory", 5, 17.0, (270, 257, 328, 275), 2013, 400),
    ("B23", "锅炉房", "boiler", 1, 6.5, (343, 255, 375, 275), 2008, 4),
    ("B24", "学生浴室", "other", 2, 7.6, (343, 212, 375, 234), 2012, 150),
    ("B25", "门卫室", "guardhouse", 1, 3.6, (198, 6, 208, 14), 2008, 4),
)


@dataclass(frozen=True)
class Building:
    code: str
    name: str
    use: str
    floors: int
    height_m: float
    footprint: Polygon
    year_built: int
    occupancy: int

    @property
    def floor_height_m(self) -> float:
        return self.height_m / self.floors


def campus_boundary() -> Polygon:
    return box(0.0, 0.0, WIDTH_M, HEIGHT_M)


def campus_outline(step_m: float = 10.0) -> Polygon:
    """The boundary to store: a vertex every 10 m, because a straight metric edge bends slightly in lon/lat
    and a four-corner ring would leave features that touch the fence a millimetre outside."""
    result: Polygon = shapely.segmentize(campus_boundary(), step_m)
    return result


def buildings() -> list[Building]:
    out = []
    for code, name, use, floors, height, shape, year, occupancy in _BUILDINGS:
        if isinstance(shape[0], tuple):
            poly = Polygon([(float(x), float(y)) for x, y in shape])
        else:
            poly = box(*(float(v) for v in shape))
        out.append(Building(code, name, use, floors, height, shapely.normalize(poly), year, occupancy))
    return out


def road_graph() -> nx.Graph:
    """The road network: nodes keyed by (x, y), edges carry the piece as a LineString and the road name."""
    graph = nx.Graph()

    def add_run(name: str, points: list[XY]) -> None:
        for a, b in itertools.pairwise(points):
            pieces = max(1, math.ceil(math.dist(a, b) / MAX_ROAD_PIECE_M))
            cuts = [
                (round(a[0] + (b[0] - a[0]) * k / pieces, 3), round(a[1] + (b[1] - a[1]) * k / pieces, 3))
                for k in range(pieces + 1)
            ]
            for p, q in itertools.pairwise(cuts):
                graph.add_edge(p, q, line=LineString([p, q]), road=name, length=math.dist(p, q))

    for name, y, xs in EW_ROADS:
        add_run(name, [(x, y) for x in xs])
    for name, x, ys in NS_ROADS:
        add_run(name, [(x, y) for y in ys])
    return graph


def track() -> Polygon:
    """A standard 400 m track: 84.39 m straights, lane-1 radius 36.5 m, eight 1.22 m lanes."""
    cx, cy = TRACK_CENTRE
    straight = LineString([(cx - 42.195, cy), (cx + 42.195, cy)])
    return straight.buffer(36.5 + 8 * 1.22, quad_segs=16)


def infield() -> Polygon:
    cx, cy = TRACK_CENTRE
    return LineString([(cx - 42.195, cy), (cx + 42.195, cy)]).buffer(36.5, quad_segs=16)


def ditch() -> Polygon:
    return box(DITCH_X[0], 0.5, DITCH_X[1], HEIGHT_M - 0.5)


def grounds(blds: list[Building], roads: nx.Graph) -> list[Row]:
    """Open-air features in a fixed order: roads, walkways, fields, gates, assembly points, parking, water,
    greens."""
    rows: list[Row] = []
    for i, (_, _, data) in enumerate(sorted(roads.edges(data=True)), start=1):
        rows.append({"code": f"RD-{i:02d}", "kind": "road", "name": data["road"], "geometry": data["line"]})
    for i, walk in enumerate(walkways(blds, roads), start=1):
        rows.append({"code": f"WK-{i:02d}", "kind": "walkway", "name": walk[0], "geometry": walk[1]})
    courts = box(295, 160, 375, 205)
    rows += [
        {"code": "SF-01", "kind": "sports_field", "name": "400米田径场", "geometry": track()},
        {"code": "SF-02", "kind": "sports_field", "name": "篮球场", "geometry": courts},
        {"code": "GT-01", "kind": "gate", "name": "正门", "geometry": Point(MAIN_GATE)},
        {"code": "GT-02", "kind": "gate", "name": "北门", "geometry": Point(NORTH_GATE)},
    ]
    cx, cy = TRACK_CENTRE
    for i, (dx, dy) in enumerate(((-30, 15), (0, 15), (30, 15), (-30, -15), (0, -15), (30, -15)), start=1):
        rows.append(
            {
                "code": f"AP-{i:02d}",
                "kind": "assembly_point",
                "name": f"{i}号应急疏散集合点",
                "geometry": Point(cx + dx, cy + dy),
            }
        )
    parking = box(20, 6, 90, 17)
    rows.append({"code": "PK-01", "kind": "parking", "name": "教职工停车场", "geometry": parking})
    rows.append({"code": "WT-01", "kind": "water", "name": "东侧排水明沟", "geometry": ditch()})
    for i, green in enumerate(greens(blds, [parking]), start=1):
        rows.append({"code": f"GR-{i:02d}", "kind": "green", "name": "绿地", "geometry": green})
    return rows


def walkways(blds: list[Building], roads: nx.Graph) -> list[tuple[str, LineString]]:
    """A path from each building's door (the wall facing the nearest road) to that road."""
    network = shapely.union_all([d["line"] for _, _, d in sorted(roads.edges(data=True))])
    out = []
    for b in blds:
        on_road = network.interpolate(network.project(b.footprint.centroid))
        door = nearest_points(b.footprint.exterior, on_road)[0]
        walk = LineString([door, on_road])
        others = [o.footprint for o in blds if o.code != b.code]
        if walk.length > 0.5 and not any(walk.intersects(o) for o in others):
            out.append((f"{b.name}入口步道", walk))
    return out


def greens(blds: list[Building], paved: list[Polygon]) -> list[Polygon]:
    """Lawns: what is left of the four teaching blocks once buildings (with a 4 m apron) and paving are
    taken out; slivers narrower than 2 m are dropped."""
    blocks = [
        box(16.5, 29.5, 95.5, 145.5),
        box(104.5, 29.5, 185.5, 145.5),
        box(16.5, 154.5, 95.5, 280.5),
        box(104.5, 154.5, 185.5, 280.5),
    ]
    taken = shapely.union_all(
        [b.footprint.buffer(4.0, join_style="mitre") for b in blds] + [p.buffer(1.0) for p in paved]
    )
    out: list[Polygon] = []
    for block in blocks:
        rest = block.difference(taken).buffer(-1.0, join_style="mitre").buffer(1.0, join_style="mitre")
        for part in shapely.get_parts(rest):
            if part.area >= 150.0:
                out.append(shapely.normalize(part))
    return out
