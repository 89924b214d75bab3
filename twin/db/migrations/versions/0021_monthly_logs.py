"""Alert events and bus incidents partitioned by month, with a default partition for odd timestamps.

Revision ID: 0021
Revises: 0020

Both tables only grow (every sensor event id ever taken in; every bus incident), so old months are
retired by detaching and dropping their partition (twin.db.retention), never by a `DELETE`. A partitioned
table's unique keys must hold the partition key: `alert_events` is keyed `(event_id, time)` — a
redelivered event carries its original time, so the ingest's `ON CONFLICT` finds it in the same partition
— and `bus_incidents` `(id, at)`.

A DEFAULT partition takes what no month holds (a device whose clock says 1970), so the ingest never
creates tables nor refuses an event; `twin_ensure_month_partition` now moves the default's rows of a
month into that month's new partition before attaching it (a plain CREATE … PARTITION OF would fail on
them). Rows are moved partition to partition, which fires none of the parent's statement triggers: the
statistics' summary of `bus_incidents` (0018) is neither counted twice nor lost, here or by retention.
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from twin.db.rls import ROLES, scope_table_sql
from twin.db.summaries import SUMMARIES, trigger_sql
from twin.db.types import LTree

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

APPS = ", ".join(ROLES)
KEYS = {"alert_events": "time", "bus_incidents": "at"}
BUS_INCIDENT_KINDS = ("overspeed", "deviation", "late", "offline", "enter", "exit")  # as of 0016
STATS = SUMMARIES["bus_incidents"]


def upgrade() -> None:
    op.execute(ENSURE_MONTH_PARTITION)
    for table in KEYS:
        _set_aside(table)
    _alert_events(partitioned=True)
    _bus_incidents(partitioned=True)
    for table, key in KEYS.items():
        _months(table)
        _move_rows(table, key)
        _scope(table)


def downgrade() -> None:
    for table in KEYS:
        _set_aside(table)
    _alert_events(partitioned=False)
    _bus_incidents(partitioned=False)
    for table, key in KEYS.items():
        _move_rows(table, key)
        _scope(table)
    op.execute(ENSURE_MONTH_PARTITION_0001)


def _set_aside(table: str) -> None:
    """Rename the table and its indexes and sequence out of the way of the new one (dropped once copied)."""
    op.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
    op.execute(f"""
DO $$
DECLARE ix text;
BEGIN
    FOR ix IN SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = '{table}_old' LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', ix, left(ix, 59) || '_old');
    END LOOP;
END $$""")
    if table == "bus_incidents":
        op.execute("ALTER SEQUENCE bus_incidents_id_seq RENAME TO bus_incidents_old_id_seq")


def _months(table: str) -> None:
    """12 months back and 12 ahead like `positions`, and the default partition for the rest."""
    op.execute(
        f"SELECT twin_ensure_month_partition('{table}', m) FROM generate_series("
        "date_trunc('month', now()) - interval '12 months', date_trunc('month', now()) + interval '12 months',"
        " interval '1 month') AS m"
    )
    op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")


def _move_rows(table: str, key: str) -> None:
    """Copy into the new table before its statistics triggers exist (the summary counts them already)."""
    if table == "alert_events":
        # Going back to one key per event id: keep each id's first time (the one the dedupe saw first).
        op.execute(
            "INSERT INTO alert_events SELECT DISTINCT ON (event_id) * FROM alert_events_old"
            " ORDER BY event_id, time, received_at"
        )
    else:
        op.execute(f"INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM {table}_old")
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" greatest((SELECT max(id) FROM {table}), (SELECT last_value FROM {table}_old_id_seq)))"
        )
    op.execute(f"DROP TABLE {table}_old")  # its policies and triggers go with it


def _scope(table: str) -> None:
    """The scope rule as in 0011/0014 (policies on the parent hold for every partition read through it)."""
    for statement in scope_table_sql(table, audit=False):
        op.execute(statement)
    if table == "alert_events":  # only the ingest (the owner) writes it
        op.execute(f"REVOKE INSERT, UPDATE, DELETE ON alert_events FROM {APPS}")
    else:  # statement-level triggers with transition tables are allowed on a partitioned table
        for statement in trigger_sql(STATS):
            op.execute(statement)


def _alert_events(*, partitioned: bool) -> None:
    key = ("event_id", "time") if partitioned else ("event_id",)
    op.create_table(
        "alert_events",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_events_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_alert_events")),
        **({"postgresql_partition_by": "RANGE (time)"} if partitioned else {}),
    )
    op.create_index(op.f("ix_alert_events_alert_id"), "alert_events", ["alert_id"], unique=False)
    op.create_index("ix_alert_events_org_path", "alert_events", ["org_path"], postgresql_using="gist")


def _bus_incidents(*, partitioned: bool) -> None:
    key = ("id", "at") if partitioned else ("id",)
    op.create_geospatial_table(
        "bus_incidents",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.CheckConstraint(f"kind IN {BUS_INCIDENT_KINDS}", name=op.f("ck_bus_incidents_kind_known")),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_bus_incidents_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.id"],
            name=op.f("fk_bus_incidents_vehicle_id_vehicles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_bus_incidents")),
        **({"postgresql_partition_by": "RANGE (at)"} if partitioned else {}),
    )
    op.create_geospatial_index(
        "idx_bus_incidents_geom", "bus_incidents", ["geom"], postgresql_using="gist", postgresql_ops={}
    )
    op.create_index("ix_bus_incidents_org_path", "bus_incidents", ["org_path"], postgresql_using="gist")
    op.create_index(
        "ix_bus_incidents_geom_org_path", "bus_incidents", ["geom", "org_path"], postgresql_using="gist"
    )
    op.create_index("ix_bus_incidents_at", "bus_incidents", ["at"])


# The month's partition, made idempotently; rows of that month waiting in the parent's default partition
# (if it has one) are moved into the new table before it is attached. The default is locked first so no
# row of the month slips in between the move and the attach (which would make the attach fail).
ENSURE_MONTH_PARTITION = """
CREATE OR REPLACE FUNCTION twin_ensure_month_partition(parent regclass, ts timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi timestamptz := lo + interval '1 month';
    name text := parent::text || '_' || to_char(lo AT TIME ZONE 'UTC', 'YYYY_MM');
    strays regclass;
    key text;
    cols text;
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    SELECT c.oid::regclass INTO strays FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
    IF strays IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)', name, parent, lo, hi);
        RETURN name;
    END IF;
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', strays);
    SELECT a.attname INTO key FROM pg_partitioned_table p
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = parent;
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols FROM pg_attribute
     WHERE attrelid = parent AND attnum > 0 AND NOT attisdropped;
    EXECUTE format('CREATE TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name, parent);
    EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= %L AND %I < %L RETURNING %s)'
                   ' INSERT INTO %I (%s) SELECT %s FROM moved',
                   strays, key, lo, key, hi, cols, name, cols, cols);
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, name, lo, hi);
    RETURN name;
END $$;
"""

ENSURE_MONTH_PARTITION_0001 = """
CREATE OR REPLACE FUNCTION twin_ensure_month_partition(parent regclass, ts timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    name text := parent::text || '_' || to_char(lo AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
    IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                       name, parent, lo, lo + interval '1 month');
    END IF;
    RETURN name;
END $$;
"""
