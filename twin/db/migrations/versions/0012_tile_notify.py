"""Tell every server process which map tiles a committed change touched.

Revision ID: 0012
Revises: 0011

Each server worker caches rendered tiles. An edit made through one worker used to drop only that
worker's tiles; the others, and every writer outside the editing engine (imports, the hazard loop,
re-grading), relied on the cache's time to live. A statement-level trigger on every table a cached
tile layer reads now sends `NOTIFY twin_tiles` with the table and the lon/lat boxes of the rows before
and after the statement; PostgreSQL delivers it at commit (never for a rolled-back change) to every
listening worker (twin.layers.tile_events). One notification per statement, not per row, so a bulk
import costs one extent, not a flood. A risk point's notification also carries its zones' boxes: the
four-colour map colours the zone by its points, including when a hazard or an alert re-grades a point.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# table -> geometry column: the tables of the cached tile layers (vehicles and alerts are not cached).
TABLES = {
    "campuses": "boundary",
    "buildings": "geom",
    "pipe_segments": "geom",
    "pipe_nodes": "geom",
    "valves": "geom",
    "risk_points": "geom",
    "risk_zones": "geom",
    "hazards": "geom",
    "inspections": "geom",
    "sensors": "geom",
    "bus_routes": "geom",
    "bus_stops": "geom",
}
EVENTS = {
    "insert": "NEW TABLE AS changed_new",
    "update": "OLD TABLE AS changed_old NEW TABLE AS changed_new",
    "delete": "OLD TABLE AS changed_old",
}

FUNCTION = """
CREATE FUNCTION twin_tiles_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    boxes jsonb := '[]';
    b box2d;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format('SELECT ST_Extent(%I)::box2d FROM changed_old', TG_ARGV[0]) INTO b;
        IF b IS NOT NULL THEN
            boxes := boxes || jsonb_build_array(jsonb_build_array(ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)));
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        EXECUTE format('SELECT ST_Extent(%I)::box2d FROM changed_new', TG_ARGV[0]) INTO b;
        IF b IS NOT NULL THEN
            boxes := boxes || jsonb_build_array(jsonb_build_array(ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)));
        END IF;
    END IF;
    -- A risk point colours its zone on the four-colour map: the whole zone's tiles change with it.
    IF TG_TABLE_NAME = 'risk_points' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            SELECT ST_Extent(z.geom)::box2d INTO b FROM risk_zones z WHERE z.id IN (SELECT zone_id FROM changed_old);
            IF b IS NOT NULL THEN
                boxes := boxes || jsonb_build_array(jsonb_build_array(ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)));
            END IF;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            SELECT ST_Extent(z.geom)::box2d INTO b FROM risk_zones z WHERE z.id IN (SELECT zone_id FROM changed_new);
            IF b IS NOT NULL THEN
                boxes := boxes || jsonb_build_array(jsonb_build_array(ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)));
            END IF;
        END IF;
    END IF;
    IF jsonb_array_length(boxes) > 0 THEN
        PERFORM pg_notify('twin_tiles', jsonb_build_object('table', TG_TABLE_NAME, 'boxes', boxes)::text);
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    for table, geom in TABLES.items():
        for event, transition in EVENTS.items():
            op.execute(
                f"CREATE TRIGGER tiles_changed_{event} AFTER {event.upper()} ON {table} "
                f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION twin_tiles_changed('{geom}')"
            )


def downgrade() -> None:
    for table in TABLES:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER tiles_changed_{event} ON {table}")
    op.execute("DROP FUNCTION twin_tiles_changed()")
