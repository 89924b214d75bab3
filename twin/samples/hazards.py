"""The hazard ledger (隐患台账) of the sample school: spring and autumn term 2026."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from twin.samples.layout import Building
from twin.samples.risk_catalog import RESPONSIBLE, Place
from twin.samples.risks import locate_point

Row = dict[str, Any]
CHINA = timezone(timedelta(hours=8))
DAYS_TO_FIX = {"general": 7, "major": 30}  # default deadlines per grade (a rule in data, see risk.md)

# name, category, grade, state, found (month, day, hour), risk point name or a place,
# description, measures, department
HAZARDS: tuple[tuple[str, str, str, str, tuple[int, int, int], str | Place, str, str, str], ...] = (
    (
        "化学试剂柜未上锁",
        "laboratory",
        "general",
        "closed",
        (3, 2, 10),
        "化学试剂柜",
        "试剂柜钥匙插在锁上无人看管",
        "收回钥匙，落实双人双锁",
        "教务处",
    ),
    (
        "电动车在宿舍楼道充电",
        "fire",
        "major",
        "supervised",
        (3, 9, 21),
        "宿舍区电动车集中充电点",
        "充电桩数量不足，学生私拉电线充电",
        "增设充电桩并安装智能断电装置",
        "总务处",
    ),
    (
        "锅炉安全阀超期未检",
        "utilities",
        "major",
        "evaluated",
        (3, 16, 9),
        "燃气锅炉",
        "安全阀校验已过期两个月",
        "联系特检院校验安全阀",
        "总务处",
    ),
    (
        "灭火器压力不足",
        "fire",
        "general",
        "accepted",
        (3, 23, 15),
        "第一教学楼一层灭火器箱",
        "3具灭火器压力指针在红区",
        "更换灭火器",
        "安全办",
    ),
    (
        "走廊栏杆松动",
        "buildings",
        "general",
        "assigned",
        (4, 1, 11),
        "第三教学楼五层走廊栏杆",
        "五层东段栏杆立柱松动",
        "加固栏杆立柱",
        "总务处",
    ),
    (
        "排水明沟护栏缺失",
        "drowning",
        "general",
        "reported",
        (4, 8, 16),
        "排水明沟护栏",
        "约20米护栏被拆除未恢复",
        "恢复护栏并设警示牌",
        "总务处",
    ),
    (
        "食堂燃气报警器失效",
        "canteen",
        "general",
        "submitted",
        (4, 15, 8),
        "食堂燃气灶具",
        "燃气报警器测试无响应",
        "更换燃气报警器并联动切断阀",
        "总务处",
    ),
    (
        "正门上下学时段人车混行",
        "traffic",
        "general",
        "confirmed",
        (4, 22, 17),
        "正门人车分流口",
        "接送车辆驶入校门口人行区域",
        "设置隔离栏，增派护学岗",
        "政教处",
    ),
    (
        "配电房门未关闭",
        "utilities",
        "general",
        "closed",
        (5, 6, 14),
        "高压配电柜",
        "配电房门敞开无人值守",
        "加装闭门器和门禁",
        "总务处",
    ),
    (
        "单杠基座锈蚀",
        "sports",
        "general",
        "deferral_requested",
        (5, 13, 10),
        "单双杠区",
        "单杠立柱根部锈蚀严重",
        "更换单杠",
        "体育组",
    ),
    (
        "宿舍安全出口上锁",
        "dormitory",
        "general",
        "rectifying",
        (5, 20, 22),
        "男生宿舍2号楼安全出口",
        "夜间安全出口被链条锁锁闭",
        "改用推杠式安全门锁",
        "政教处",
    ),
    (
        "围墙监控盲区",
        "security",
        "general",
        "rectifying",
        (6, 3, 15),
        "东北角围墙监控盲区",
        "东北角约30米无监控覆盖",
        "增设摄像机和周界报警",
        "安全办",
    ),
    (
        "屋顶平台门未封闭",
        "buildings",
        "general",
        "rejected",
        (6, 10, 12),
        "第三教学楼屋顶平台",
        "屋顶平台门可随意打开",
        "经核实已有门禁，不构成隐患",
        "安全办",
    ),
    (
        "东南角雨季积水",
        "natural_disaster",
        "general",
        "reported",
        (7, 15, 8),
        "东南角积水点",
        "暴雨后积水深约30厘米",
        "疏通雨水口，增设排水泵",
        "总务处",
    ),
    (
        "体育馆应急照明损坏",
        "fire",
        "general",
        "assigned",
        (9, 8, 16),
        ("b", "B14", 1, (0.1, 0.5)),
        "西侧应急照明灯不亮",
        "更换应急照明灯具",
        "总务处",
    ),
)


def hazard_layer(points: list[Row], blds: list[Building], staff: dict[str, str]) -> list[Row]:
    """The hazard ledger of spring and autumn term 2026, each found near the risk point it belongs to."""
    by_name = {p["name"]: p for p in points}
    by_code = {b.code: b for b in blds}
    rows = []
    for i, entry in enumerate(HAZARDS, start=1):
        name, category, grade, state, (month, day, hour), where, description, measures, dept = entry
        found = datetime(2026, month, day, hour, 0, tzinfo=CHINA)
        deadline = (found + timedelta(days=DAYS_TO_FIX[grade])).replace(hour=18)
        if isinstance(where, str):
            point = by_name[where]
            geom, building, floor, risk_point = (point[k] for k in ("geometry", "building", "floor", "code"))
        else:
            geom, building, floor = locate_point(where, by_code)
            risk_point = None
        rows.append(
            {
                "number": f"YH-2026-{i:03d}",
                "name": name,
                "category": category,
                "found_at": found.isoformat(),
                "grade": grade,
                "state": state,
                "building": building,
                "floor": floor,
                "description": description,
                "measures": measures,
                "deadline": deadline.isoformat(),
                "responsible_department": dept,
                "responsible": staff[RESPONSIBLE[category]],
                "risk_point": risk_point,
                "geometry": geom,
            }
        )
    return rows
