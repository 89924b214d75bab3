"""Two sibling schools in one county and a third in the next county, each with data and users of every role.

Everything that belongs to the sibling school B or the other county's school C carries a marker in its
name, so any response can be searched for a leak without knowing its shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from twin.access.roles import Role
from twin.access.users import NewUser, add_user

PASSWORD = "correct-horse-42"
MARK = {"A": "alpha", "B": "SIBLINGLEAK", "C": "COUSINLEAK"}
SCHOOLS = {"A": ("4103110001", "410311"), "B": ("4103110002", "410311"), "C": ("4103050001", "410305")}


@dataclass
class World:
    users: dict[str, int] = field(default_factory=dict)  # "A.leader" -> user id
    vehicles: dict[str, int] = field(default_factory=dict)  # "A.1" -> vehicle id
    campuses: dict[str, int] = field(default_factory=dict)
    buildings: dict[str, int] = field(default_factory=dict)  # "B" -> the school's building id
    hazards: dict[str, int] = field(default_factory=dict)  # "B" -> the school's hazard id
    photos: dict[str, str] = field(default_factory=dict)  # "B" -> sha256 of a photo of that hazard
    notifications: dict[str, int] = field(default_factory=dict)
    inspections: dict[str, int] = field(default_factory=dict)
    plans: dict[str, int] = field(default_factory=dict)  # "B" -> the school's excavation plan id
    alerts: dict[str, int] = field(default_factory=dict)  # "B" -> an active alert of the school
    incidents: dict[str, int] = field(default_factory=dict)  # "B" -> a bullying incident of the school


ORGS = """
INSERT INTO org_units (code, name, level, parent_id, path) VALUES ('410000', '河南省', 'province', NULL, '410000');
INSERT INTO org_units (code, name, level, parent_id, path)
  SELECT '410300', '洛阳市', 'city', id, '410000.410300' FROM org_units WHERE code = '410000';
INSERT INTO org_units (code, name, level, parent_id, path)
  SELECT c, n, 'county', id, ('410000.410300.' || c)::ltree FROM org_units, (VALUES ('410311', '洛龙区'), ('410305', '涧西区')) v(c, n)
   WHERE code = '410300';
"""


def build(conn: Connection) -> World:
    world = World()
    conn.execute(text(ORGS))
    for key, (school, county) in SCHOOLS.items():
        _school(conn, world, key, school, county)
    for code, role in (
        ("410000", Role.analyst),
        ("410300", Role.analyst),
        ("410311", Role.admin),
        ("410311", Role.leader),
        ("410305", Role.admin),
    ):
        world.users[f"{code}.{role.value}"] = add_user(
            conn, NewUser(f"{role.value}_{code}", role, code, PASSWORD)
        )
    return world


def _school(conn: Connection, world: World, key: str, school: str, county: str) -> None:
    mark = MARK[key]
    path = f"410000.410300.{county}.{school}"
    conn.execute(
        text(
            "INSERT INTO org_units (code, name, level, parent_id, path) SELECT :code, :name, 'school', id, CAST(:path AS ltree)"
            " FROM org_units WHERE code = :county"
        ),
        {"code": school, "name": f"school {mark}", "path": path, "county": county},
    )
    x = 112.40 + 0.02 * list(MARK).index(key)
    campus = conn.execute(
        text(
            "INSERT INTO campuses (org_path, school_id, code, name, metric_srid, boundary)"
            " SELECT path, id, :code, :name, 4546, ST_Multi(ST_MakeEnvelope(:x, 34.60, :x + 0.01, 34.61, 4326))"
            " FROM org_units WHERE code = :school RETURNING id"
        ),
        {"code": f"C{key}", "name": f"campus {mark}", "x": x, "school": school},
    ).scalar_one()
    world.campuses[key] = campus
    params = {"p": path, "c": campus, "m": mark, "x": x + 0.005}
    world.buildings[key] = conn.execute(
        text(
            "INSERT INTO buildings (org_path, campus_id, code, name, use, floors, height_m, base_elev_m, geom)"
            " VALUES (CAST(:p AS ltree), :c, 'B1', 'building ' || :m, 'teaching', 4, 14, 150,"
            " ST_MakeEnvelope(:x, 34.605, :x + 0.0005, 34.6055, 4326)) RETURNING id"
        ),
        params,
    ).scalar_one()
    world.plans[key] = conn.execute(
        text(
            "INSERT INTO excavation_plans (org_path, campus_id, utility, request, plan, geom)"
            " VALUES (CAST(:p AS ltree), :c, 'water', '{}', json_build_object('campus', 'plan ' || :m),"
            " ST_MakeEnvelope(:x, 34.604, :x + 0.0001, 34.6041, 4326)) RETURNING id"
        ),
        params,
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO risk_points (org_path, campus_id, code, name, category, level, geom)"
            " VALUES (CAST(:p AS ltree), :c, 'R1', 'risk ' || :m, 'fire', 2, ST_SetSRID(ST_MakePoint(:x, 34.606), 4326))"
        ),
        params,
    )
    _hazard_loop(conn, world, key, params)
    _alert(conn, world, key, params)
    for n in (1, 2):
        route = conn.execute(
            text(
                "INSERT INTO bus_routes (org_path, campus_id, code, name, geom) VALUES (CAST(:p AS ltree), :c, :code, 'route ' || :m,"
                " ST_MakeLine(ST_SetSRID(ST_MakePoint(:x, 34.59), 4326), ST_SetSRID(ST_MakePoint(:x, 34.605), 4326)))"
                " RETURNING id"
            ),
            {**params, "code": f"L{n}"},
        ).scalar_one()
        stop = conn.execute(
            text(
                "INSERT INTO bus_stops (org_path, route_id, code, name, sequence, geom) VALUES (CAST(:p AS ltree), :r, 'S1',"
                " 'stop ' || :m, 1, ST_SetSRID(ST_MakePoint(:x, 34.59), 4326)) RETURNING id"
            ),
            {**params, "r": route},
        ).scalar_one()
        vehicle = conn.execute(
            text(
                "INSERT INTO vehicles (org_path, campus_id, plate, device_id, route_id) VALUES (CAST(:p AS ltree), :c, :plate, :dev, :r)"
                " RETURNING id"
            ),
            {**params, "plate": f"{mark}-{n}", "dev": f"{key}{n}", "r": route},
        ).scalar_one()
        world.vehicles[f"{key}.{n}"] = vehicle
        conn.execute(
            text(
                "INSERT INTO positions (vehicle_id, time, org_path, speed_kmh, geom) VALUES (:v, now(), CAST(:p AS ltree), 30,"
                " ST_SetSRID(ST_MakePoint(:x, 34.595), 4326))"
            ),
            {**params, "v": vehicle},
        )
        student = conn.execute(
            text(
                "INSERT INTO people (org_path, code, name, role, route_id, stop_id) VALUES (CAST(:p AS ltree), :code, 'pupil ' || :m,"
                " 'student', :r, :s) RETURNING id"
            ),
            {**params, "code": f"ST-{key}{n}", "r": route, "s": stop},
        ).scalar_one()
        if n == 1:  # one child per school has a parent account; the other route's bus is not theirs
            parent = conn.execute(
                text(
                    "INSERT INTO people (org_path, code, name, role) VALUES (CAST(:p AS ltree), :code, 'parent ' || :m, 'parent')"
                    " RETURNING id"
                ),
                {**params, "code": f"PA-{key}"},
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO guardians (org_path, parent_id, student_id) VALUES (CAST(:p AS ltree), :pa, :st)"
                ),
                {**params, "pa": parent, "st": student},
            )
    for role in Role:
        person = f"PA-{key}" if role is Role.parent else None
        world.users[f"{key}.{role.value}"] = add_user(
            conn, NewUser(f"{role.value}_{key}", role, school, PASSWORD, person)
        )


def _hazard_loop(conn: Connection, world: World, key: str, params: dict[str, object]) -> None:
    """A hazard with a photo, a notification about it and an inspection task, all marked."""
    import hashlib

    world.hazards[key] = conn.execute(
        text(
            "INSERT INTO hazards (org_path, campus_id, number, name, category, state, found_at, deadline, geom)"
            " VALUES (CAST(:p AS ltree), :c, 'YH-' || :m, 'hazard ' || :m, 'fire', 'assigned', now(),"
            " now() - interval '1 day', ST_SetSRID(ST_MakePoint(:x, 34.606), 4326)) RETURNING id"
        ),
        params,
    ).scalar_one()
    world.photos[key] = hashlib.sha256(str(params["m"]).encode()).hexdigest()
    conn.execute(
        text(
            "INSERT INTO hazard_photos (hazard_id, sha256, org_path, media_type, bytes, width, height)"
            " VALUES (:h, :s, CAST(:p AS ltree), 'image/png', 10, 1, 1)"
        ),
        {**params, "h": world.hazards[key], "s": world.photos[key]},
    )
    world.notifications[key] = conn.execute(
        text(
            "INSERT INTO notifications (org_path, school_path, level, hazard_id, kind, title, created_at)"
            " VALUES (CAST(:p AS ltree), CAST(:p AS ltree), 'school', :h, 'overdue', 'overdue ' || :m, now())"
            " RETURNING id"
        ),
        {**params, "h": world.hazards[key]},
    ).scalar_one()
    world.incidents[key] = conn.execute(
        text(
            "INSERT INTO incidents (org_path, campus_id, type, place_kind, occurred_at, reported_at, summary,"
            " geom) VALUES (CAST(:p AS ltree), :c, 'verbal', 'toilet', now(), now(), 'incident ' || :m,"
            " ST_SetSRID(ST_MakePoint(:x, 34.606), 4326)) RETURNING id"
        ),
        params,
    ).scalar_one()
    world.inspections[key] = conn.execute(
        text(
            "INSERT INTO inspections (org_path, campus_id, risk_point_id, frequency, due_at, note, geom)"
            " SELECT org_path, campus_id, id, 'daily', now() - interval '1 hour', 'check ' || :m, geom"
            " FROM risk_points WHERE campus_id = :c RETURNING id"
        ),
        params,
    ).scalar_one()


def _alert(conn: Connection, world: World, key: str, params: dict[str, object]) -> None:
    sensor = conn.execute(
        text(
            "INSERT INTO sensors (org_path, campus_id, device_id, type, name, building_id, floor, geom)"
            " VALUES (CAST(:p AS ltree), :c, :dev, 'smoke', 'smoke ' || :m, :b, 1,"
            " ST_SetSRID(ST_MakePoint(:x + 0.0002, 34.6052), 4326)) RETURNING id"
        ),
        {**params, "dev": f"SMOKE-{key}", "b": world.buildings[key]},
    ).scalar_one()
    world.alerts[key] = conn.execute(
        text(
            "INSERT INTO alerts (org_path, campus_id, sensor_id, event_id, type, severity, first_at, last_at,"
            " context, geom) VALUES (CAST(:p AS ltree), :c, :s, 'ev-' || :m, 'smoke', 'major', now(), now(),"
            " jsonb_build_object('building', jsonb_build_object('name', 'building ' || :m)),"
            " ST_SetSRID(ST_MakePoint(:x + 0.0002, 34.6052), 4326)) RETURNING id"
        ),
        {**params, "s": sensor},
    ).scalar_one()
