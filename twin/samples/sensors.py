"""Registered devices of the sample campus: detectors in buildings, meters on the networks, perimeter
and gate devices."""

from __future__ import annotations

from typing import Any

from shapely.geometry import Point

from twin.samples.layout import Building
from twin.samples.netbuild import Network

Row = dict[str, Any]
Where = tuple[Any, ...]

# type, name, where: ("b", building, floor, fx, fy) | ("p", x, y, height) | ("water", node kind, index)
SENSORS: tuple[tuple[str, str, Where], ...] = (
    *(
        ("smoke", f"{name}烟感", ("b", code, floor, 0.5, 0.5))
        for code, name, floor in (
            ("B02", "第一教学楼", 3),
            ("B03", "第二教学楼", 2),
            ("B04", "第三教学楼", 4),
            ("B05", "图书馆", 2),
            ("B09", "第四教学楼", 1),
            ("B10", "第五教学楼", 2),
            ("B06", "礼堂", 1),
            ("B14", "体育馆", 1),
            ("B19", "男生宿舍1号楼", 3),
            ("B20", "男生宿舍2号楼", 5),
            ("B21", "女生宿舍1号楼", 2),
            ("B22", "女生宿舍2号楼", 4),
        )
    ),
    ("gas", "食堂后厨燃气探测器", ("b", "B18", 1, 0.85, 0.5)),
    ("gas", "化学实验室气体探测器", ("b", "B08", 2, 0.3, 0.2)),
    ("gas", "综合实验楼气体探测器", ("b", "B11", 2, 0.5, 0.3)),
    ("gas", "锅炉房燃气探测器", ("b", "B23", 1, 0.5, 0.5)),
    ("temperature", "锅炉房温度传感器", ("b", "B23", 1, 0.3, 0.7)),
    ("fire", "消防控制室火灾报警主机", ("b", "B01", 1, 0.9, 0.5)),
    ("air_quality", "图书馆空气质量监测", ("b", "B05", 1, 0.5, 0.3)),
    ("power", "配电房电力监测", ("b", "B13", 1, 0.5, 0.5)),
    ("power", "男生宿舍1号楼配电箱监测", ("b", "B19", 1, 0.5, 0.1)),
    ("water_pressure", "市政进水口压力", ("water", "source", 0)),
    ("water_pressure", "管网压力监测点1", ("water", "hydrant", 0)),
    ("water_pressure", "管网压力监测点2", ("water", "hydrant", -1)),
    ("access", "正门门禁", ("p", 192.0, 4.0, 1.2)),
    ("access", "北门门禁", ("p", 102.0, 296.0, 1.2)),
    ("camera", "正门摄像机", ("p", 186.0, 5.0, 6.0)),
    ("camera", "北门摄像机", ("p", 96.0, 295.0, 6.0)),
    ("camera", "田径场摄像机", ("p", 196.0, 134.0, 8.0)),
    ("camera", "食堂入口摄像机", ("p", 240.0, 157.0, 4.0)),
    ("intrusion", "西侧围墙入侵探测", ("p", 0.5, 150.0, 2.5)),
    ("intrusion", "东侧围墙入侵探测", ("p", 399.5, 200.0, 2.5)),
    ("intrusion", "北侧围墙入侵探测", ("p", 250.0, 299.5, 2.5)),
    ("intrusion", "南侧围墙入侵探测", ("p", 300.0, 0.5, 2.5)),
    ("water_level", "排水明沟水位计", ("p", 395.25, 60.0, 0.0)),
)


def sensor_layer(blds: list[Building], water: Network, device_prefix: str) -> list[Row]:
    by_code = {b.code: b for b in blds}
    rows: list[Row] = []
    for i, (kind, name, where) in enumerate(SENSORS, start=1):
        building, floor, height = None, None, 0.0
        if where[0] == "b":
            _, building, floor, fx, fy = where
            b = by_code[building]
            x0, y0, x1, y1 = b.footprint.bounds
            point = Point(round(x0 + fx * (x1 - x0), 3), round(y0 + fy * (y1 - y0), 3))
            height = round(floor * b.floor_height_m - 0.2, 2)  # under the ceiling of its floor
        elif where[0] == "water":
            nodes = sorted(c for c, n in water.nodes.items() if n.kind == where[1])
            point = Point(water.nodes[nodes[where[2]]].xy)
            height = -round(water.nodes[nodes[where[2]]].depth or 0.0, 2)  # on the buried main
        else:
            point, height = Point(where[1], where[2]), where[3]
        rows.append(
            {
                "device_id": f"{device_prefix}{i:04d}",
                "type": kind,
                "name": name,
                "building": building,
                "floor": floor,
                "height_m": height,
                "geometry": point,
            }
        )
    return rows
