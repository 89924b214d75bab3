"""The sample school's risk register as data: zones, points and hazards with their assessments.

Places are given relative to the plan: ("b", building, floor, fractions of the footprint's bounding box)
for rooms and equipment inside buildings, ("g", ground code, buffer m) for open grounds, ("box", x0, y0,
x1, y1) and ("p", x, y) in local metres. Inputs use only the values the methods allow (see risk.md): LEC
L in {10, 6, 3, 1, 0.5, 0.2, 0.1}, E in {10, 6, 3, 2, 1, 0.5}, C in {100, 40, 15, 7, 3, 1}; LS L, S in 1..5.
"""

from __future__ import annotations

from typing import Any

Place = tuple[Any, ...]
# name, category, place, method, inputs, dynamic
Entry = tuple[str, str, Place, str, tuple[float, ...], bool]


def _b(code: str, floor: int | None, *fractions: float) -> Place:
    return ("b", code, floor, fractions)


WHOLE = (0.0, 0.0, 1.0, 1.0)

ZONES: tuple[Entry, ...] = (
    ("化学实验室", "laboratory", _b("B08", 2, 0, 0, 1, 0.45), "LEC", (3, 6, 15), False),
    ("危险化学品储存室", "laboratory", _b("B08", 1, 0.6, 0.55, 1, 1), "LEC", (3, 6, 40), False),
    ("物理实验室", "laboratory", _b("B11", 2, 0, 0, 1, 0.53), "LS", (2, 3), False),
    ("生物实验室", "laboratory", _b("B11", 3, 0, 0, 1, 0.53), "LS", (2, 2), False),
    ("锅炉房", "utilities", _b("B23", 1, *WHOLE), "LEC", (3, 6, 40), False),
    ("配电房", "utilities", _b("B13", 1, *WHOLE), "LEC", (1, 6, 15), False),
    ("水泵房", "utilities", _b("B16", 1, *WHOLE), "LS", (2, 3), False),
    ("食堂后厨操作间", "canteen", _b("B18", 1, 0.5, 0, 1, 1), "LEC", (3, 6, 15), False),
    ("食堂一楼就餐大厅", "crowd", _b("B18", 1, 0, 0, 0.5, 1), "LS", (3, 4), True),
    ("食堂二楼就餐区", "crowd", _b("B18", 2, *WHOLE), "LS", (3, 3), True),
    ("第一教学楼西楼梯间", "crowd", _b("B02", None, 0, 0, 0.12, 1), "LEC", (3, 6, 15), True),
    ("第二教学楼西楼梯间", "crowd", _b("B03", None, 0, 0, 0.12, 1), "LEC", (1, 6, 15), True),
    ("第三教学楼东楼梯间", "crowd", _b("B04", None, 0.88, 0, 1, 1), "LS", (3, 5), True),
    ("第四教学楼楼梯间", "crowd", _b("B09", None, 0, 0, 0.12, 1), "LS", (3, 4), True),
    ("第五教学楼楼梯间", "crowd", _b("B10", None, 0.88, 0, 1, 1), "LS", (3, 4), True),
    ("男生宿舍1号楼", "dormitory", _b("B19", None, *WHOLE), "LS", (3, 5), False),
    ("女生宿舍1号楼", "dormitory", _b("B21", None, *WHOLE), "LS", (2, 5), False),
    ("教工宿舍", "dormitory", _b("B15", None, *WHOLE), "LS", (2, 4), False),
    ("400米田径场", "sports", ("g", "SF-01", 0.0), "LS", (3, 3), True),
    ("篮球场", "sports", ("g", "SF-02", 0.0), "LS", (3, 2), False),
    ("体育馆", "sports", _b("B14", 1, *WHOLE), "LEC", (3, 3, 7), False),
    ("礼堂", "events", _b("B06", None, *WHOLE), "LEC", (1, 3, 40), True),
    ("正门区域", "traffic", ("g", "GT-01", 25.0), "LEC", (6, 6, 7), True),
    ("北门区域", "security", ("g", "GT-02", 15.0), "LS", (2, 3), False),
    ("东侧排水明沟", "drowning", ("g", "WT-01", 2.0), "LS", (2, 5), False),
    ("中轴大道南段", "traffic", ("box", 186.5, 25.0, 193.5, 150.0), "LS", (3, 3), True),
    ("校车停靠区", "traffic", ("box", 150.0, 4.0, 185.0, 18.0), "LS", (3, 4), True),
    ("医务室", "epidemic", _b("B07", None, *WHOLE), "LS", (2, 3), True),
    ("心理咨询室", "bullying", _b("B01", 2, 0, 0, 0.2, 1), "LS", (2, 3), False),
    ("东南角低洼区域", "natural_disaster", ("box", 340.0, 5.0, 390.0, 20.0), "LS", (2, 4), True),
    ("第五教学楼（C级鉴定）", "buildings", _b("B10", None, *WHOLE), "LEC", (1, 6, 40), False),
    ("北侧围墙", "security", ("box", 0.5, 291.0, 399.5, 299.5), "LS", (2, 3), False),
)

POINTS: tuple[Entry, ...] = (
    ("第一教学楼一层灭火器箱", "fire", _b("B02", 1, 0.5, 0.15), "LS", (2, 3), False),
    ("第三教学楼三层室内消火栓", "fire", _b("B04", 3, 0.5, 0.15), "LS", (2, 4), False),
    ("图书馆二层书库", "fire", _b("B05", 2, 0.3, 0.6), "LEC", (3, 6, 15), False),
    ("宿舍区电动车集中充电点", "fire", ("p", 263.0, 212.0), "LS", (4, 5), True),
    ("行政楼消防控制室", "fire", _b("B01", 1, 0.9, 0.5), "LEC", (1, 10, 15), False),
    ("食堂燃气灶具", "canteen", _b("B18", 1, 0.8, 0.5), "LEC", (3, 6, 15), False),
    ("食堂燃气总阀", "utilities", _b("B18", 1, 0.95, 0.9), "LEC", (1, 6, 40), False),
    ("食堂留样柜", "canteen", _b("B18", 1, 0.7, 0.2), "LS", (2, 5), False),
    ("食堂从业人员晨检点", "epidemic", _b("B18", 1, 0.6, 0.8), "LS", (2, 4), True),
    ("化学试剂柜", "laboratory", _b("B08", 2, 0.3, 0.2), "LEC", (3, 6, 15), False),
    ("易制毒化学品双人双锁柜", "laboratory", _b("B08", 1, 0.8, 0.8), "LEC", (1, 6, 40), False),
    ("化学实验室通风橱", "laboratory", _b("B08", 2, 0.1, 0.3), "LS", (2, 3), False),
    ("化学实验室洗眼器", "laboratory", _b("B08", 2, 0.5, 0.1), "LS", (1, 3), False),
    ("物理实验室学生电源", "laboratory", _b("B11", 2, 0.5, 0.3), "LS", (2, 3), False),
    ("燃气锅炉", "utilities", _b("B23", 1, 0.5, 0.5), "LEC", (3, 6, 40), True),
    ("锅炉燃气调压阀", "utilities", _b("B23", 1, 0.1, 0.2), "LEC", (1, 6, 40), False),
    ("配电房变压器", "utilities", _b("B13", 1, 0.5, 0.5), "LEC", (1, 6, 40), False),
    ("高压配电柜", "utilities", _b("B13", 1, 0.2, 0.8), "LS", (2, 5), False),
    ("二次供水水箱", "utilities", _b("B16", 1, 0.5, 0.5), "LS", (2, 4), False),
    ("浴室热水器", "utilities", _b("B24", 1, 0.3, 0.5), "LS", (2, 4), False),
    ("浴室地面防滑", "buildings", _b("B24", 1, 0.7, 0.5), "LS", (3, 2), False),
    ("第三教学楼五层走廊栏杆", "buildings", _b("B04", 5, 0.5, 0.05), "LEC", (3, 6, 15), False),
    ("第三教学楼屋顶平台", "buildings", _b("B04", 6, 0.3, 0.5), "LS", (2, 5), False),
    ("艺术楼外墙瓷砖", "buildings", _b("B12", None, 0.02, 0.5), "LS", (3, 3), False),
    ("第五教学楼墙体裂缝", "buildings", _b("B10", 3, 0.5, 0.5), "LEC", (1, 6, 40), False),
    ("第一教学楼西楼梯扶手", "crowd", _b("B02", 2, 0.06, 0.5), "LS", (3, 4), True),
    ("第四教学楼楼梯口", "crowd", _b("B09", 1, 0.06, 0.5), "LS", (3, 4), True),
    ("礼堂安全出口", "events", _b("B06", 1, 0.02, 0.5), "LS", (2, 4), True),
    ("礼堂舞台灯光吊杆", "events", _b("B06", 2, 0.5, 0.9), "LEC", (1, 3, 15), False),
    ("体育馆看台", "events", _b("B14", 1, 0.5, 0.9), "LS", (2, 4), True),
    ("体育器材室", "sports", _b("B14", 1, 0.9, 0.1), "LS", (2, 2), False),
    ("单双杠区", "sports", ("p", 300.0, 100.0), "LS", (3, 3), False),
    ("跳远沙坑", "sports", ("p", 260.0, 70.0), "LS", (2, 2), False),
    ("篮球架", "sports", ("p", 310.0, 182.0), "LS", (2, 3), False),
    ("排水明沟护栏", "drowning", ("p", 392.0, 120.0), "LS", (2, 5), False),
    ("东南角积水点", "drowning", ("p", 370.0, 12.0), "LS", (2, 4), True),
    ("正门人车分流口", "traffic", ("p", 190.0, 8.0), "LEC", (6, 6, 7), True),
    ("校车停靠点", "traffic", ("p", 170.0, 11.0), "LS", (3, 4), True),
    ("中轴大道减速带", "traffic", ("p", 190.0, 90.0), "LS", (2, 3), False),
    ("停车场出入口", "traffic", ("p", 55.0, 19.0), "LS", (2, 3), False),
    ("门卫室访客登记", "security", _b("B25", 1, 0.5, 0.5), "LS", (2, 4), False),
    ("北门", "security", ("p", 100.0, 294.0), "LS", (2, 3), False),
    ("东北角围墙监控盲区", "security", ("p", 395.0, 296.0), "LS", (3, 3), False),
    ("宿舍楼后巷", "bullying", ("p", 230.0, 292.0), "LS", (2, 4), False),
    ("第二教学楼二层卫生间", "bullying", _b("B03", 2, 0.95, 0.5), "LS", (3, 3), False),
    ("医务室隔离观察室", "epidemic", _b("B07", 1, 0.5, 0.8), "LS", (2, 4), True),
    ("男生宿舍1号楼配电箱", "dormitory", _b("B19", 1, 0.5, 0.1), "LS", (2, 4), False),
    ("女生宿舍1号楼阳台", "dormitory", _b("B21", 4, 0.5, 0.95), "LS", (2, 4), False),
    ("男生宿舍2号楼安全出口", "dormitory", _b("B22", 1, 0.02, 0.5), "LS", (3, 5), False),
    ("教工宿舍燃气热水器", "dormitory", _b("B15", 3, 0.5, 0.5), "LS", (2, 3), False),
    ("图书馆避雷设施", "natural_disaster", _b("B05", 4, 0.5, 0.5), "LS", (2, 3), False),
    ("防汛物资仓库", "natural_disaster", _b("B17", 1, 0.5, 0.5), "LS", (2, 2), False),
)

# GB 6441-1986 accident types per category: 01 物体打击 02 车辆伤害 03 机械伤害 05 触电 06 淹溺 07 灼烫
# 08 火灾 09 高处坠落 10 坍塌 16 锅炉爆炸 17 容器爆炸 18 其他爆炸 19 中毒和窒息 20 其他伤害
ACCIDENT_TYPES = {
    "fire": "08,19",
    "buildings": "09,10,01",
    "laboratory": "19,07,08,18",
    "canteen": "07,19,03",
    "dormitory": "08,09,05",
    "traffic": "02",
    "sports": "20,01,09",
    "utilities": "05,16,17,07",
    "crowd": "20",
    "events": "20,08",
    "drowning": "06",
    "bullying": "20",
    "security": "20",
    "natural_disaster": "10,20",
    "epidemic": "20",
}

MEASURES = {
    "fire": (
        "配置灭火器与室内消火栓，疏散指示完好",
        "每日防火巡查，每月检查消防设施",
        "每学期消防演练",
        "防烟面罩",
        "启动火灾应急预案，拨打119，组织疏散",
    ),
    "buildings": (
        "栏杆加高至1.1米，外墙加固",
        "每学期校舍安全排查，建立台账",
        "高处作业安全教育",
        "安全帽",
        "划定警戒区，疏散师生，报告教育局",
    ),
    "laboratory": (
        "防爆柜、通风橱、紧急喷淋与洗眼器",
        "危化品双人双锁、出入库登记",
        "实验安全准入培训",
        "护目镜、防护手套、实验服",
        "泄漏处置、洗眼冲淋，拨打120",
    ),
    "canteen": (
        "燃气泄漏报警与切断装置",
        "食品留样48小时，从业人员持健康证",
        "食品安全与燃气使用培训",
        "防烫手套、工作帽",
        "停止供餐，封存留样，报告市场监管部门",
    ),
    "dormitory": (
        "安装烟感与应急照明，疏散通道畅通",
        "宿管24小时值班，禁用大功率电器",
        "宿舍疏散演练",
        "应急手电",
        "夜间疏散预案，清点人数",
    ),
    "traffic": (
        "设置减速带、隔离栏与人车分流",
        "上下学时段护学岗值守",
        "交通安全教育",
        "反光背心",
        "事故现场保护，拨打122、120",
    ),
    "sports": (
        "器材定期检修，场地平整",
        "体育课前热身与器材检查",
        "运动安全与急救培训",
        "护具",
        "现场急救，送医",
    ),
    "utilities": (
        "设备接地、防护罩与安全阀",
        "持证上岗，定期检验",
        "特种设备操作规程培训",
        "绝缘手套、绝缘鞋",
        "切断电源或气源，报告维修",
    ),
    "crowd": (
        "楼梯加装扶手与防滑条，错峰通行",
        "上下课时段教师值守楼梯口",
        "防踩踏疏散演练",
        "无",
        "现场疏导，分流人群",
    ),
    "events": (
        "安全出口与应急照明完好",
        "活动前安全评估与审批",
        "活动人员分工培训",
        "无",
        "活动中止与有序疏散",
    ),
    "drowning": ("设置护栏与警示标志", "汛期巡查", "防溺水安全教育", "救生圈", "施救并拨打120"),
    "bullying": (
        "重点部位视频监控全覆盖",
        "欺凌事件报告与处置制度",
        "心理健康与反欺凌教育",
        "无",
        "隔离当事人，通知家长，心理干预",
    ),
    "security": (
        "周界入侵报警与视频监控",
        "门卫登记与24小时巡逻",
        "防暴演练",
        "防刺背心、钢叉",
        "启动防暴预案，报警110",
    ),
    "natural_disaster": (
        "防汛沙袋与排水泵",
        "极端天气预警响应",
        "防灾避险演练",
        "雨衣、雨靴",
        "转移师生至安全区域",
    ),
    "epidemic": (
        "隔离观察室与消毒设施",
        "晨午检与因病缺勤追踪",
        "传染病防控培训",
        "口罩",
        "隔离观察，报告疾控中心",
    ),
}

# Who answers for a category (staff keys in people.STAFF); level 1 risks go to the safety vice-principal.
RESPONSIBLE = {
    "fire": "safety",
    "buildings": "logistics",
    "laboratory": "lab",
    "canteen": "canteen",
    "dormitory": "dorm",
    "traffic": "bus",
    "sports": "pe",
    "utilities": "electrician",
    "crowd": "student_affairs",
    "events": "events",
    "drowning": "safety",
    "bullying": "psych",
    "security": "safety",
    "natural_disaster": "logistics",
    "epidemic": "doctor",
}
