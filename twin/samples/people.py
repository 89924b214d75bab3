"""People of the sample school and its buses: staff, students riding the buses, their parents, drivers,
three routes into the surrounding streets, their stops and vehicles."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from shapely.geometry import LineString, Point

from twin.samples.frame import Site
from twin.samples.layout import MAIN_GATE

Row = dict[str, Any]

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾田董袁潘蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志文博宇浩然欣怡子涵梓轩雨萱晨曦佳琪思远一鸣"
)

# key (used to name who is responsible for what), title, role
STAFF: tuple[tuple[str, str, str], ...] = (
    ("principal", "校长", "staff"),
    ("vp_safety", "分管安全副校长", "staff"),
    ("vp_teaching", "教学副校长", "staff"),
    ("safety", "安全办主任", "staff"),
    ("logistics", "总务处主任", "staff"),
    ("academic", "教务处主任", "staff"),
    ("student_affairs", "政教处主任", "staff"),
    ("youth", "团委书记", "teacher"),
    ("lab", "化学实验室管理员", "teacher"),
    ("lab_head", "实验中心主任", "teacher"),
    ("canteen", "食堂管理员", "staff"),
    ("chef", "厨师长", "staff"),
    ("dorm", "宿舍管理员", "staff"),
    ("dorm_f", "女生宿舍管理员", "staff"),
    ("boiler", "锅炉工", "staff"),
    ("electrician", "电工", "staff"),
    ("plumber", "水暖工", "staff"),
    ("doctor", "校医", "staff"),
    ("bus", "校车安全管理员", "staff"),
    ("it", "网络管理员", "staff"),
    ("pe", "体育教研组长", "teacher"),
    ("grade1", "高一年级主任", "teacher"),
    ("grade2", "高二年级主任", "teacher"),
    ("grade3", "高三年级主任", "teacher"),
    ("psych", "心理健康教师", "teacher"),
    ("guard_chief", "保安队长", "guard"),
    ("guard1", "保安员", "guard"),
    ("guard2", "保安员", "guard"),
    ("librarian", "图书管理员", "staff"),
    ("events", "办公室主任", "staff"),
)
TEACHING = (
    "语文教师",
    "数学教师",
    "英语教师",
    "物理教师",
    "化学教师",
    "生物教师",
    "历史教师",
    "地理教师",
    "政治教师",
    "体育教师",
    "音乐教师",
    "美术教师",
)

# code, name, waypoints (local metres; the campus gate is the last point), stop names
ROUTES: tuple[tuple[str, str, tuple[tuple[float, float], ...], tuple[str, ...]], ...] = (
    (
        "L1",
        "1号线（西线）",
        ((-2600, 1500), (-2600, 420), (-900, 420), (-900, -15), (190, -15), MAIN_GATE),
        ("关林路口", "翠云路站", "王城大道站", "古城路口", "太康东路站", "学校正门"),
    ),
    (
        "L2",
        "2号线（南线）",
        ((700, -3300), (700, -1400), (-300, -1400), (-300, -15), (190, -15), MAIN_GATE),
        ("龙门大道站", "开元大道口", "厚载门街站", "学子街站", "长兴街口", "通济街站", "学校正门"),
    ),
    (
        "L3",
        "3号线（东线）",
        ((3200, 1900), (3200, 600), (1400, 600), (1400, -15), (190, -15), MAIN_GATE),
        ("牡丹大道站", "宜人路口", "滨河南路站", "展览路口", "学校正门"),
    ),
)
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on Chinese plates
BUS_SPEED_M_PER_MIN = 333.0  # 20 km/h in town, stops included
STUDENTS, PARENTS_SHARED = 60, 5


@dataclass
class People:
    people: list[Row]
    guardians: list[Row]
    staff: dict[str, str]  # key -> person code
    drivers: list[str]


def _names(rng: random.Random, count: int, taken: set[str], surname: str | None = None) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        name = (surname or rng.choice(SURNAMES)) + given
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _phones(rng: random.Random, prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n:04d}" for n in rng.sample(range(10000), count)]


def bus_routes() -> tuple[list[Row], list[Row]]:
    """Routes (ending at the main gate) and their stops, in local metres."""
    routes: list[Row] = []
    stops: list[Row] = []
    for code, name, points, stop_names in ROUTES:
        line = LineString(points)
        routes.append({"code": code, "name": name, "geometry": line})
        last = line.length - LineString(points[-2:]).length  # the last stop is on the street at the gate
        for i, stop in enumerate(stop_names):
            at = last * i / (len(stop_names) - 1)
            p = line.interpolate(at)
            stops.append(
                {
                    "route": code,
                    "code": f"{code}-{i + 1:02d}",
                    "name": stop,
                    "sequence": i + 1,
                    "scheduled_min": round(at / BUS_SPEED_M_PER_MIN),
                    "geometry": Point(round(p.x, 3), round(p.y, 3)),
                }
            )
    return routes, stops


# Two runs each school morning: the first collects the early wave, the second the rest (local time).
DEPARTURES = (("AM", 7 * 60), ("AM2", 7 * 60 + 40))


def bus_trips(routes: list[Row]) -> list[Row]:
    """The timetable: each route's morning departures; its stops' times follow from `scheduled_min`."""
    return [
        {"route": r["code"], "code": f"{r['code']}-{name}", "departs_min": minute}
        for r in routes
        for name, minute in DEPARTURES
    ]


def people(site: Site, rng: random.Random, stops: list[Row]) -> People:
    """~40 staff and teachers, 6 drivers, 60 students who ride the buses and their parents."""
    p = site.person_prefix
    taken: set[str] = set()
    rows: list[Row] = []
    staff: dict[str, str] = {}
    titles = [*STAFF, *((f"teacher{i}", TEACHING[i % len(TEACHING)], "teacher") for i in range(12))]
    for i, ((key, title, role), name, phone) in enumerate(
        zip(titles, _names(rng, len(titles), taken), _phones(rng, "1380379", len(titles)), strict=True),
        start=1,
    ):
        code = f"{p}T{i:03d}"
        staff[key] = code
        rows.append({"code": code, "name": name, "role": role, "title": title, "phone": phone})
    drivers = []
    for i, (name, phone) in enumerate(zip(_names(rng, 6, taken), _phones(rng, "1370379", 6), strict=True), 1):
        drivers.append(f"{p}D{i:02d}")
        rows.append(
            {"code": drivers[-1], "name": name, "role": "driver", "title": "校车驾驶员", "phone": phone}
        )
    boarding = [s for s in stops if s["name"] != "学校正门"]
    students = []
    for i in range(STUDENTS):
        stop = boarding[i % len(boarding)]
        grade, klass = ("高一", "高二", "高三")[i % 3], 1 + (i // 3) % 12
        name = _names(rng, 1, taken)[0]
        students.append((f"{p}S{i + 1:04d}", name))
        rows.append(
            {
                "code": students[-1][0],
                "name": name,
                "role": "student",
                "title": f"{grade}({klass})班",
                "route": stop["route"],
                "stop": stop["code"],
            }
        )
    guardians: list[Row] = []
    phones = _phones(rng, "1390379", STUDENTS)
    for i, (student, student_name) in enumerate(students):
        father = rng.random() < 0.5
        name = _names(rng, 1, taken, surname=student_name[0] if father else None)[0]
        code = f"{p}P{i + 1:04d}"
        rows.append({"code": code, "name": name, "role": "parent", "title": None, "phone": phones[i]})
        guardians.append({"parent": code, "student": student, "relation": "父亲" if father else "母亲"})
    # A few parents have two children at the school.
    for i in range(PARENTS_SHARED):
        guardians.append(
            {
                "parent": f"{p}P{i + 1:04d}",
                "student": students[STUDENTS - 1 - i][0],
                "relation": guardians[i]["relation"],
            }
        )
    return People(rows, guardians, staff, drivers)


def plate(prefix: str, serial: int) -> str:
    """A plate such as 豫C·S1001: a letter (no I or O) and four digits, numbered through by `serial`."""
    return f"{prefix}{PLATE_LETTERS[serial // 10000]}{serial % 10000:04d}"


def vehicles(site: Site, drivers: list[str]) -> list[Row]:
    """Two buses per route; plates and JT/T 808 terminal numbers from the site's ranges."""
    rows = []
    for i, driver in enumerate(drivers):
        rows.append(
            {
                "plate": plate(site.plate_prefix, site.plate_serial + i),
                "device_id": f"{site.terminal_start + i:012d}",
                "route": ROUTES[i // 2][0],
                "capacity": (45, 35, 56)[i % 3],
                "driver": driver,
            }
        )
    return rows
