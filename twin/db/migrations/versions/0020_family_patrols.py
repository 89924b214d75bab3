"""Family level and security patrols: gates, terminals, credentials, gate events, classes; patrol routes,
checkpoints, schedules, guard devices, visits and checks; idempotency keys of hazard reports.

Revision ID: 0020
Revises: 0019

Every table belongs to a school and is under the one scope rule. Two additions to what a parent sees,
both through definer functions that read the caller's own user row (a parent's scope is empty):
notifications addressed to their person, and the gate events of their own children in the live log.
Gate events, visits and checks are written by the ingest and the scheduler (the schema owner).
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from twin.db.rls import ROLES, scope_table_sql, unscope_table_sql
from twin.db.types import LTree

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

APPS = ", ".join(ROLES)
SPATIAL = ("gates", "patrol_routes", "patrol_checkpoints", "patrol_visits")
CONFIG = (
    "gates",
    "gate_terminals",
    "access_credentials",
    "school_classes",
    "class_students",
    "patrol_routes",
    "patrol_checkpoints",
    "patrol_schedules",
    "patrol_devices",
)
# Written in volume by devices and the scheduler: not audited row by row.
LOGS = ("gate_events", "patrol_visits", "patrol_checks", "hazard_requests")
TABLES = (*CONFIG, *LOGS)
SEQUENCES = tuple(t for t in CONFIG if t != "class_students")
REPORTERS = ("admin", "leader", "safety_officer", "maintenance")  # transitions.yaml report_roles
WRITE_GRANTS = {
    "admin": CONFIG,
    "leader": CONFIG,
    "safety_officer": CONFIG,
}
CHILDREN = "(SELECT twin_caller_children())"
# Cached tile layers (twin.layers.tiles): their changes drop the tiles they touch (migration 0012).
TILED = ("gates", "patrol_routes")
TILE_EVENTS = {
    "insert": "NEW TABLE AS changed_new",
    "update": "OLD TABLE AS changed_old NEW TABLE AS changed_new",
    "delete": "OLD TABLE AS changed_old",
}


def upgrade() -> None:
    _tables()
    for table in TABLES:
        for statement in scope_table_sql(table, audit=table not in LOGS):
            op.execute(statement)
    for table in SEQUENCES:
        op.execute(f"GRANT USAGE, SELECT ON SEQUENCE {table}_id_seq TO {APPS}")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON gate_events, patrol_visits, patrol_checks FROM {APPS}")
    grants = [{"role": r, "table_name": t} for r, tables in WRITE_GRANTS.items() for t in tables]
    grants += [{"role": r, "table_name": "hazard_requests"} for r in REPORTERS]
    op.bulk_insert(sa.table("write_grants", sa.column("role"), sa.column("table_name")), grants)
    _parent_functions()
    for table in TILED:
        for event, transition in TILE_EVENTS.items():
            op.execute(
                f"CREATE TRIGGER tiles_changed_{event} AFTER {event.upper()} ON {table} REFERENCING"
                f" {transition} FOR EACH STATEMENT EXECUTE FUNCTION twin_tiles_changed('geom')"
            )
    # A parent reads the notifications addressed to them, and their children's gate events as they happen.
    op.execute(
        f"CREATE POLICY person_read ON notifications FOR SELECT TO {ROLES[0]}"
        " USING (person_id = (SELECT twin_caller_person()))"
    )
    # …and marks them read: a parent's only write outside the report flow (the app sets read_at alone).
    op.execute(
        f"CREATE POLICY person_mark_read ON notifications FOR UPDATE TO {ROLES[0]}"
        " USING (person_id = (SELECT twin_caller_person()))"
        " WITH CHECK (person_id = (SELECT twin_caller_person()))"
    )
    op.execute(
        f"CREATE POLICY parent_gate_read ON live_events FOR SELECT TO {ROLES[0]}"
        " USING (kind = 'notification' AND payload ->> 'topic' = 'gate'"
        f" AND (payload ->> 'student_id')::int = ANY ({CHILDREN}::int[]))"
    )


def _parent_functions() -> None:
    op.execute("""
CREATE FUNCTION twin_caller_person() RETURNS int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.person_id FROM users u
     WHERE u.id = nullif(current_setting('twin.user', true), '')::int AND NOT u.disabled
$$""")
    op.execute("""
CREATE FUNCTION twin_caller_children() RETURNS int[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(array_agg(g.student_id), '{}') FROM users u JOIN guardians g ON g.parent_id = u.person_id
     WHERE u.id = nullif(current_setting('twin.user', true), '')::int AND u.role = 'parent' AND NOT u.disabled
$$""")
    functions = "twin_caller_person(), twin_caller_children()"
    op.execute(f"REVOKE ALL ON FUNCTION {functions} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {functions} TO {APPS}")


def _geom(kind: str) -> sa.Column:  # type: ignore[type-arg]
    geometry = Geometry(
        geometry_type=kind,
        srid=4326,
        dimension=2,
        spatial_index=False,
        from_text="ST_GeomFromEWKT",
        name="geometry",
        nullable=False,
    )
    return sa.Column("geom", geometry, nullable=False)


def _timestamps() -> tuple[sa.Column, sa.Column]:  # type: ignore[type-arg]
    return tuple(  # type: ignore[return-value]
        sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)
        for name in ("created_at", "updated_at")
    )


def _geom_valid(table: str) -> sa.CheckConstraint:
    check = "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)"
    return sa.CheckConstraint(check, name=op.f(f"ck_{table}_geom_valid"))


def _tables() -> None:
    op.create_geospatial_table(
        "gates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _geom("POINT"),
        *_timestamps(),
        _geom_valid("gates"),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_gates_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gates")),
        sa.UniqueConstraint("campus_id", "code", name=op.f("uq_gates_campus_id_code")),
    )
    op.create_geospatial_index(
        "idx_gates_geom", "gates", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_gates_campus_id"), "gates", ["campus_id"], unique=False)
    op.create_index(
        "ix_gates_geom_org_path", "gates", ["geom", "org_path"], unique=False, postgresql_using="gist"
    )
    op.create_index("ix_gates_org_path", "gates", ["org_path"], unique=False, postgresql_using="gist")
    op.create_geospatial_table(
        "patrol_routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _geom("LINESTRING"),
        *_timestamps(),
        _geom_valid("patrol_routes"),
        sa.ForeignKeyConstraint(
            ["campus_id"],
            ["campuses.id"],
            name=op.f("fk_patrol_routes_campus_id_campuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_routes")),
        sa.UniqueConstraint("campus_id", "code", name=op.f("uq_patrol_routes_campus_id_code")),
    )
    op.create_geospatial_index(
        "idx_patrol_routes_geom",
        "patrol_routes",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_patrol_routes_campus_id"), "patrol_routes", ["campus_id"], unique=False)
    op.create_index(
        "ix_patrol_routes_geom_org_path",
        "patrol_routes",
        ["geom", "org_path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_patrol_routes_org_path", "patrol_routes", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "gate_terminals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "direction IN ('in', 'out', 'both')", name=op.f("ck_gate_terminals_direction_known")
        ),
        sa.CheckConstraint("method IN ('card', 'face')", name=op.f("ck_gate_terminals_method_known")),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_gate_terminals_gate_id_gates"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_terminals")),
        sa.UniqueConstraint("device_id", name=op.f("uq_gate_terminals_device_id")),
    )
    op.create_index(op.f("ix_gate_terminals_gate_id"), "gate_terminals", ["gate_id"], unique=False)
    op.create_index(
        "ix_gate_terminals_org_path", "gate_terminals", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_geospatial_table(
        "patrol_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("radius_m", sa.Double(), server_default="15", nullable=False),
        sa.Column("offset_min", sa.Double(), server_default="0", nullable=False),
        sa.Column("tag_id", sa.String(length=128), nullable=True),
        _geom("POINT"),
        *_timestamps(),
        _geom_valid("patrol_checkpoints"),
        sa.CheckConstraint("offset_min >= 0", name=op.f("ck_patrol_checkpoints_offset_not_negative")),
        sa.CheckConstraint(
            "radius_m > 0 AND radius_m <= 500", name=op.f("ck_patrol_checkpoints_radius_sensible")
        ),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["patrol_routes.id"],
            name=op.f("fk_patrol_checkpoints_route_id_patrol_routes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_checkpoints")),
        sa.UniqueConstraint("route_id", "sequence", name=op.f("uq_patrol_checkpoints_route_id_sequence")),
        sa.UniqueConstraint("tag_id", name=op.f("uq_patrol_checkpoints_tag_id")),
    )
    op.create_geospatial_index(
        "idx_patrol_checkpoints_geom",
        "patrol_checkpoints",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_patrol_checkpoints_geom_org_path",
        "patrol_checkpoints",
        ["geom", "org_path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_patrol_checkpoints_org_path",
        "patrol_checkpoints",
        ["org_path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(op.f("ix_patrol_checkpoints_route_id"), "patrol_checkpoints", ["route_id"], unique=False)
    op.create_table(
        "patrol_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("tolerance_min", sa.Integer(), server_default="10", nullable=False),
        sa.Column("weekdays", sa.String(length=7), server_default="1234567", nullable=False),
        sa.Column("tz", sa.String(length=64), server_default="Asia/Shanghai", nullable=False),
        *_timestamps(),
        sa.CheckConstraint("weekdays ~ '^[1-7]{1,7}$'", name=op.f("ck_patrol_schedules_weekdays_iso")),
        sa.CheckConstraint(
            "duration_min > 0 AND duration_min <= 1440", name=op.f("ck_patrol_schedules_duration_sensible")
        ),
        sa.CheckConstraint("tolerance_min >= 0", name=op.f("ck_patrol_schedules_tolerance_not_negative")),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["patrol_routes.id"],
            name=op.f("fk_patrol_schedules_route_id_patrol_routes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_schedules")),
    )
    op.create_index(
        "ix_patrol_schedules_org_path",
        "patrol_schedules",
        ["org_path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(op.f("ix_patrol_schedules_route_id"), "patrol_schedules", ["route_id"], unique=False)
    op.create_table(
        "access_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("credential", sa.String(length=128), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("method IN ('card', 'face')", name=op.f("ck_access_credentials_method_known")),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_access_credentials_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_credentials")),
        sa.UniqueConstraint("method", "credential", name=op.f("uq_access_credentials_method_credential")),
    )
    op.create_index(
        "ix_access_credentials_org_path",
        "access_credentials",
        ["org_path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_access_credentials_person_id"), "access_credentials", ["person_id"], unique=False
    )
    op.create_table(
        "gate_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_gate_events_direction_known")),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_gate_events_gate_id_gates"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_gate_events_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["gate_terminals.id"],
            name=op.f("fk_gate_events_terminal_id_gate_terminals"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_gate_events_event_id")),
    )
    op.create_index(
        "ix_gate_events_org_path", "gate_events", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_index("ix_gate_events_person_id_time", "gate_events", ["person_id", "time"], unique=False)
    op.create_table(
        "patrol_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["campus_id"],
            ["campuses.id"],
            name=op.f("fk_patrol_devices_campus_id_campuses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_patrol_devices_person_id_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_devices")),
        sa.UniqueConstraint("device_id", name=op.f("uq_patrol_devices_device_id")),
    )
    op.create_index(op.f("ix_patrol_devices_campus_id"), "patrol_devices", ["campus_id"], unique=False)
    op.create_index(
        "ix_patrol_devices_org_path", "patrol_devices", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "school_classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["people.id"],
            name=op.f("fk_school_classes_teacher_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_classes")),
        sa.UniqueConstraint("org_path", "code", name=op.f("uq_school_classes_org_path_code")),
    )
    op.create_index(
        "ix_school_classes_org_path", "school_classes", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "class_students",
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["school_classes.id"],
            name=op.f("fk_class_students_class_id_school_classes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["people.id"],
            name=op.f("fk_class_students_student_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("student_id", name=op.f("pk_class_students")),
    )
    op.create_index(op.f("ix_class_students_class_id"), "class_students", ["class_id"], unique=False)
    op.create_index(
        "ix_class_students_org_path", "class_students", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_geospatial_table(
        "patrol_visits",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("event_id", sa.String(length=160), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _geom("POINT"),
        sa.CheckConstraint("source IN ('gps', 'tag')", name=op.f("ck_patrol_visits_source_known")),
        _geom_valid("patrol_visits"),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["patrol_checkpoints.id"],
            name=op.f("fk_patrol_visits_checkpoint_id_patrol_checkpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["patrol_devices.id"],
            name=op.f("fk_patrol_visits_device_id_patrol_devices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_patrol_visits_person_id_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_visits")),
        sa.UniqueConstraint("event_id", name=op.f("uq_patrol_visits_event_id")),
    )
    op.create_geospatial_index(
        "idx_patrol_visits_geom",
        "patrol_visits",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_patrol_visits_checkpoint_id_time", "patrol_visits", ["checkpoint_id", "time"], unique=False
    )
    op.create_index(
        "ix_patrol_visits_geom_org_path",
        "patrol_visits",
        ["geom", "org_path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_patrol_visits_org_path", "patrol_visits", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "patrol_checks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("shift_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shift_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tolerance_min", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("visit_id", sa.BigInteger(), nullable=True),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'on_time', 'late', 'missed')", name=op.f("ck_patrol_checks_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["patrol_checkpoints.id"],
            name=op.f("fk_patrol_checks_checkpoint_id_patrol_checkpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["patrol_schedules.id"],
            name=op.f("fk_patrol_checks_schedule_id_patrol_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["patrol_visits.id"],
            name=op.f("fk_patrol_checks_visit_id_patrol_visits"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_checks")),
        sa.UniqueConstraint(
            "schedule_id",
            "checkpoint_id",
            "due_at",
            name=op.f("uq_patrol_checks_schedule_id_checkpoint_id_due_at"),
        ),
    )
    op.create_index("ix_patrol_checks_due_at", "patrol_checks", ["due_at"], unique=False)
    op.create_index(
        "ix_patrol_checks_org_path", "patrol_checks", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "hazard_requests",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["hazards.id"],
            name=op.f("fk_hazard_requests_hazard_id_hazards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_hazard_requests")),
    )
    op.create_index(
        "ix_hazard_requests_org_path", "hazard_requests", ["org_path"], unique=False, postgresql_using="gist"
    )


def downgrade() -> None:
    for table in TILED:
        for event in TILE_EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS tiles_changed_{event} ON {table}")
    op.execute("DROP POLICY IF EXISTS parent_gate_read ON live_events")
    op.execute("DROP POLICY IF EXISTS person_read ON notifications")
    op.execute("DROP POLICY IF EXISTS person_mark_read ON notifications")
    op.execute("DROP FUNCTION IF EXISTS twin_caller_children()")
    op.execute("DROP FUNCTION IF EXISTS twin_caller_person()")
    names = ", ".join(f"'{t}'" for t in TABLES)
    op.execute(f"DELETE FROM write_grants WHERE table_name IN ({names})")
    for table in TABLES:
        for statement in unscope_table_sql(table):
            op.execute(statement)
    for table in reversed(_CREATED):
        if table in SPATIAL:
            op.drop_geospatial_index(
                f"idx_{table}_geom", table_name=table, postgresql_using="gist", column_name="geom"
            )
            op.drop_geospatial_table(table)
        else:
            op.drop_table(table)


# In the order `_tables` creates them (foreign keys): dropped in reverse.
_CREATED = (
    "gates",
    "patrol_routes",
    "gate_terminals",
    "patrol_checkpoints",
    "patrol_schedules",
    "access_credentials",
    "gate_events",
    "patrol_devices",
    "school_classes",
    "class_students",
    "patrol_visits",
    "patrol_checks",
    "hazard_requests",
)
