"""Risk map: grading scales per org, dynamic re-grading and the incremental four-colour roll-up.

Revision ID: 0008
Revises: 0007

- `risk_scales`: the scheme an org unit grades with (nearest ancestor wins; the root row '' is the default
  from twin/riskmap/scales.yaml). Readable by the subtree below a row and the ancestors above the caller;
  written by admins.
- Dynamic risks: `risk_points.likelihood_steps` and `effective_level`, computed by a BEFORE trigger from
  the open hazards linked to the point (hazards.risk_point_id, state not closed/rejected) and the active
  alerts (cleared_at IS NULL) of sensors linked to it (new `sensors.risk_point_id`). Triggers on hazards,
  alerts and sensors re-grade the linked point, so whoever writes those tables needs no call into Python.
- `risk_rollup`: counts per level under each zone, floor, building, campus and org unit, kept by AFTER
  triggers on risk_points and risk_zones: one edit subtracts its old row and adds its new one along its
  own path (O(depth), ~10 rows), never a recount. Read-only for the server; SECURITY DEFINER functions
  write it, because an org row (a county's) lies outside the writer's school scope.
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from twin.db.rls import APP_ROLE, ROLES, SCOPE, scope_table_sql, unscope_table_sql
from twin.db.types import LTree

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APPS = ", ".join(ROLES)
OPEN_HAZARD = "h.state NOT IN ('closed', 'rejected')"


def upgrade() -> None:
    _columns()
    _tables()
    for statement in scope_table_sql("risk_scales"):
        op.execute(statement)
    # A school sees the province's choice it grades under, not only rows of its own subtree.
    op.execute(
        f"CREATE POLICY ancestor_read ON risk_scales FOR SELECT TO {APP_ROLE} USING (org_path @> {SCOPE})"
    )
    op.execute("GRANT USAGE ON SEQUENCE risk_scales_id_seq TO " + APPS)
    for statement in scope_table_sql("risk_rollup", audit=False):
        op.execute(statement)
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON risk_rollup FROM {APPS}")
    op.execute("INSERT INTO write_grants (role, table_name) VALUES ('admin', 'risk_scales')")
    _seed_default_scale()
    _grading_functions()
    _dynamic_triggers()
    _rollup_functions()
    op.execute("SELECT twin_rollup_rebuild()")


def _columns() -> None:
    op.add_column("risk_points", sa.Column("effective_level", sa.Integer(), nullable=True))
    op.add_column(
        "risk_points", sa.Column("likelihood_steps", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_risk_points_effective_level_1_to_4"),
        "risk_points",
        "effective_level IS NULL OR effective_level BETWEEN 1 AND 4",
    )
    op.execute("UPDATE risk_points SET effective_level = level")
    op.add_column("sensors", sa.Column("risk_point_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_sensors_risk_point_id_risk_points"),
        "sensors",
        "risk_points",
        ["risk_point_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_sensors_risk_point_id"), "sensors", ["risk_point_id"], unique=False)
    op.create_index(op.f("ix_hazards_risk_point_id"), "hazards", ["risk_point_id"], unique=False)


def _tables() -> None:
    op.create_table(
        "risk_scales",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("colours", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("dynamic", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_scales")),
        sa.UniqueConstraint("org_path", name=op.f("uq_risk_scales_org_path")),
    )
    op.create_index("ix_risk_scales_org_path", "risk_scales", ["org_path"], postgresql_using="gist")
    op.create_table(
        "risk_rollup",
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column(
            "points", postgresql.ARRAY(sa.Integer()), server_default=sa.text("'{0,0,0,0}'"), nullable=False
        ),
        sa.Column(
            "zones", postgresql.ARRAY(sa.Integer()), server_default=sa.text("'{0,0,0,0}'"), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('zone', 'floor', 'building', 'campus', 'org')", name=op.f("ck_risk_rollup_kind_known")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_risk_rollup")),
    )
    op.create_index("ix_risk_rollup_org_path", "risk_rollup", ["org_path"], postgresql_using="gist")


def _seed_default_scale() -> None:
    from twin.riskmap.scales import default_scale

    scale = default_scale()
    op.execute(
        sa.text(
            "INSERT INTO risk_scales (org_path, scheme, definition) VALUES ('', :scheme, CAST(:d AS jsonb))"
        ).bindparams(scheme=scale.scheme, d=json.dumps(scale.definition(), ensure_ascii=False))
    )


def _grading_functions() -> None:
    # The scale in force for an org path: the nearest ancestor's row (the root '' always matches).
    op.execute("""
CREATE FUNCTION twin_risk_scale(p ltree) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT definition FROM risk_scales WHERE org_path @> p ORDER BY nlevel(org_path) DESC LIMIT 1
$$""")
    # The level of `inputs` with L moved `steps` towards "more likely"; NULL when the inputs are not on
    # the scale (the static level then stands). Mirrors twin.riskmap.scales.assess.
    op.execute("""
CREATE FUNCTION twin_risk_grade(method text, inputs jsonb, steps int, scale jsonb) RETURNS int
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    likelihoods float8[];
    i int;
    l float8;
    score float8;
    band jsonb;
BEGIN
    IF method IS NULL OR inputs IS NULL OR scale IS NULL OR NOT (inputs ? 'L') THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(x::float8 ORDER BY x::float8) INTO likelihoods
      FROM jsonb_array_elements_text(scale -> method -> 'L') AS v(x);
    i := array_position(likelihoods, (inputs ->> 'L')::float8);
    IF i IS NULL THEN
        RETURN NULL;
    END IF;
    l := likelihoods[least(i + greatest(steps, 0), array_length(likelihoods, 1))];
    IF method = 'LS' THEN
        score := l * (inputs ->> 'S')::float8;
        RETURN (scale -> 'LS' -> 'bands' ->> (score::int)::text)::int;
    END IF;
    score := round((l * (inputs ->> 'E')::float8 * (inputs ->> 'C')::float8)::numeric, 4);
    FOR band IN SELECT * FROM jsonb_array_elements(scale -> 'LEC' -> 'bands') LOOP
        IF (band ->> 'low' IS NULL OR score >= (band ->> 'low')::float8)
           AND (band ->> 'high' IS NULL OR score < (band ->> 'high')::float8) THEN
            RETURN (band ->> 'level')::int;
        END IF;
    END LOOP;
    RETURN NULL;
END $$""")


def _dynamic_triggers() -> None:
    # Steps up the L list for a dynamic point now: the rule's steps for any open hazard and any active
    # alert linked to it, capped. Definer: the hazards and alerts are the point's own school's.
    op.execute(f"""
CREATE FUNCTION twin_risk_steps(point_id int, rule jsonb) RETURNS int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT least(
        coalesce((rule ->> 'max_steps')::int, 2),
        CASE WHEN EXISTS (SELECT 1 FROM hazards h WHERE h.risk_point_id = point_id AND {OPEN_HAZARD})
             THEN coalesce((rule ->> 'open_hazard_steps')::int, 1) ELSE 0 END
      + CASE WHEN EXISTS (SELECT 1 FROM sensors s JOIN alerts a ON a.sensor_id = s.id
                          WHERE s.risk_point_id = point_id AND a.cleared_at IS NULL)
             THEN coalesce((rule ->> 'active_alert_steps')::int, 1) ELSE 0 END)
$$""")
    op.execute("""
CREATE FUNCTION twin_risk_effective() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    scale jsonb;
    raised int;
BEGIN
    IF NOT NEW.dynamic OR NEW.level IS NULL THEN
        NEW.likelihood_steps := 0;
        NEW.effective_level := NEW.level;
        RETURN NEW;
    END IF;
    scale := twin_risk_scale(NEW.org_path);
    -- A new point has no hazard or sensor linked to it yet.
    NEW.likelihood_steps := CASE WHEN TG_OP = 'INSERT' THEN 0 ELSE twin_risk_steps(NEW.id, scale -> 'dynamic') END;
    raised := CASE WHEN NEW.likelihood_steps > 0
                   THEN twin_risk_grade(NEW.method, NEW.inputs, NEW.likelihood_steps, scale) END;
    -- A raise never lowers: the effective level is at least as high (as small a number) as the static one.
    NEW.effective_level := least(NEW.level, coalesce(raised, NEW.level));
    RETURN NEW;
END $$""")
    op.execute(
        "CREATE TRIGGER risk_effective BEFORE INSERT OR UPDATE ON risk_points"
        " FOR EACH ROW EXECUTE FUNCTION twin_risk_effective()"
    )
    # Re-grade the dynamic points a hazard, alert or sensor change touches: a no-op UPDATE that the
    # BEFORE trigger above turns into the new effective level (and the roll-up trigger carries upwards).
    op.execute("""
CREATE FUNCTION twin_risk_regrade(ids int[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE risk_points SET likelihood_steps = likelihood_steps WHERE id = ANY (ids) AND dynamic
$$""")
    op.execute("""
CREATE FUNCTION twin_risk_hazard_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM twin_risk_regrade(array_remove(ARRAY[
        CASE WHEN TG_OP <> 'INSERT' THEN OLD.risk_point_id END,
        CASE WHEN TG_OP <> 'DELETE' THEN NEW.risk_point_id END], NULL));
    RETURN NULL;
END $$""")
    op.execute(
        "CREATE TRIGGER risk_regrade AFTER INSERT OR DELETE OR UPDATE OF state, risk_point_id ON hazards"
        " FOR EACH ROW EXECUTE FUNCTION twin_risk_hazard_changed()"
    )
    op.execute("""
CREATE FUNCTION twin_risk_alert_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM twin_risk_regrade(ARRAY(SELECT s.risk_point_id FROM sensors s
        WHERE s.risk_point_id IS NOT NULL AND s.id IN (
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.sensor_id END,
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.sensor_id END)));
    RETURN NULL;
END $$""")
    op.execute(
        "CREATE TRIGGER risk_regrade AFTER INSERT OR DELETE OR UPDATE OF cleared_at, sensor_id ON alerts"
        " FOR EACH ROW EXECUTE FUNCTION twin_risk_alert_changed()"
    )
    op.execute("""
CREATE FUNCTION twin_risk_sensor_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM twin_risk_regrade(array_remove(ARRAY[
        CASE WHEN TG_OP <> 'INSERT' THEN OLD.risk_point_id END,
        CASE WHEN TG_OP <> 'DELETE' THEN NEW.risk_point_id END], NULL));
    RETURN NULL;
END $$""")
    op.execute(
        "CREATE TRIGGER risk_regrade AFTER DELETE OR UPDATE OF risk_point_id ON sensors"
        " FOR EACH ROW EXECUTE FUNCTION twin_risk_sensor_changed()"
    )


def _rollup_functions() -> None:
    # The roll-up rows one point or zone counts in, in a fixed order (org rows root first, then campus,
    # building, floor, zone) so that concurrent edits lock them in the same order and never deadlock.
    op.execute("""
CREATE FUNCTION twin_rollup_keys(org ltree, campus int, building int, fl int, zone int)
RETURNS TABLE (key text, kind text, path ltree, campus_id int, building_id int, floor int, zone_id int, ord int)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'org:' || subpath(org, 0, n)::text, 'org', subpath(org, 0, n), NULL::int, NULL::int, NULL::int,
           NULL::int, n
      FROM generate_series(1, nlevel(org)) n
    UNION ALL SELECT 'campus:' || campus, 'campus', org, campus, NULL, NULL, NULL, 100 WHERE campus IS NOT NULL
    UNION ALL SELECT 'building:' || building, 'building', org, campus, building, NULL, NULL, 101
     WHERE building IS NOT NULL
    UNION ALL SELECT 'floor:' || building || ':' || fl, 'floor', org, campus, building, fl, NULL, 102
     WHERE building IS NOT NULL AND fl IS NOT NULL
    UNION ALL SELECT 'zone:' || zone, 'zone', org, campus, building, fl, zone, 103 WHERE zone IS NOT NULL
$$""")
    # Add `delta` at level `lvl` to the points' or zones' counts of every row on the path.
    op.execute("""
CREATE FUNCTION twin_rollup_add(what text, lvl int, org ltree, campus int, building int, fl int, zone int,
                                delta int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    one int[];
BEGIN
    IF lvl IS NULL OR lvl < 1 OR lvl > 4 OR delta = 0 THEN
        RETURN;
    END IF;
    one := array_fill(0, ARRAY[4]);
    one[lvl] := delta;
    INSERT INTO risk_rollup AS r (key, kind, org_path, campus_id, building_id, floor, zone_id, points, zones)
    SELECT k.key, k.kind, k.path, k.campus_id, k.building_id, k.floor, k.zone_id,
           CASE WHEN what = 'points' THEN one ELSE array_fill(0, ARRAY[4]) END,
           CASE WHEN what = 'zones' THEN one ELSE array_fill(0, ARRAY[4]) END
      FROM twin_rollup_keys(org, campus, building, fl, zone) k
     ORDER BY k.ord
    ON CONFLICT (key) DO UPDATE SET
        points = CASE WHEN what = 'points' THEN twin_rollup_sum(r.points, one) ELSE r.points END,
        zones = CASE WHEN what = 'zones' THEN twin_rollup_sum(r.zones, one) ELSE r.zones END;
END $$""")
    op.execute("""
CREATE FUNCTION twin_rollup_sum(a int[], b int[]) RETURNS int[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4]]
$$""")
    op.execute("""
CREATE FUNCTION twin_rollup_point() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.effective_level, OLD.org_path, OLD.campus_id, OLD.building_id, OLD.floor,
                             OLD.zone_id)
       IS NOT DISTINCT FROM (NEW.effective_level, NEW.org_path, NEW.campus_id, NEW.building_id, NEW.floor,
                             NEW.zone_id) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM twin_rollup_add('points', OLD.effective_level, OLD.org_path, OLD.campus_id, OLD.building_id,
                                OLD.floor, OLD.zone_id, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM twin_rollup_add('points', NEW.effective_level, NEW.org_path, NEW.campus_id, NEW.building_id,
                                NEW.floor, NEW.zone_id, 1);
    END IF;
    RETURN NULL;
END $$""")
    op.execute("""
CREATE FUNCTION twin_rollup_zone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.level, OLD.org_path, OLD.campus_id, OLD.building_id, OLD.floor)
       IS NOT DISTINCT FROM (NEW.level, NEW.org_path, NEW.campus_id, NEW.building_id, NEW.floor) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM twin_rollup_add('zones', OLD.level, OLD.org_path, OLD.campus_id, OLD.building_id, OLD.floor,
                                OLD.id, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM twin_rollup_add('zones', NEW.level, NEW.org_path, NEW.campus_id, NEW.building_id, NEW.floor,
                                NEW.id, 1);
    END IF;
    RETURN NULL;
END $$""")
    op.execute(
        "CREATE TRIGGER risk_rollup AFTER INSERT OR UPDATE OR DELETE ON risk_points"
        " FOR EACH ROW EXECUTE FUNCTION twin_rollup_point()"
    )
    op.execute(
        "CREATE TRIGGER risk_rollup AFTER INSERT OR UPDATE OR DELETE ON risk_zones"
        " FOR EACH ROW EXECUTE FUNCTION twin_rollup_zone()"
    )
    # The full recount, set-based: for the migration, bulk loads, repairs, and the tests that check the
    # increments add up to it.
    op.execute(f"""
CREATE FUNCTION twin_rollup_rebuild() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM risk_rollup;
    INSERT INTO risk_rollup (key, kind, org_path, campus_id, building_id, floor, zone_id, points, zones)
    SELECT k.key, min(k.kind), min(k.path::text)::ltree, min(k.campus_id), min(k.building_id), min(k.floor),
           min(k.zone_id), {_counts("p")}, {_counts("z")}
      FROM (SELECT 1 AS p, 0 AS z, effective_level AS lvl, org_path, campus_id, building_id, floor, zone_id
              FROM risk_points
            UNION ALL
            SELECT 0, 1, level, org_path, campus_id, building_id, floor, id FROM risk_zones) x,
           twin_rollup_keys(x.org_path, x.campus_id, x.building_id, x.floor, x.zone_id) k
     WHERE x.lvl BETWEEN 1 AND 4
     GROUP BY k.key;
$$""")
    # What the four-colour layer shows: a zone's highest level and its colour on the zone's scale.
    op.execute("""
CREATE FUNCTION twin_rollup_highest(points int[], zones int[]) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT min(i) FROM generate_series(1, 4) i WHERE coalesce(points[i], 0) + coalesce(zones[i], 0) > 0
$$""")
    op.execute("""
CREATE FUNCTION twin_risk_colour(p ltree, lvl int) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT l ->> 'colour' FROM jsonb_array_elements(twin_risk_scale(p) -> 'levels') l
     WHERE (l ->> 'level')::int = lvl
$$""")
    for fn in (
        "twin_rollup_add(text, int, ltree, int, int, int, int, int)",
        "twin_rollup_rebuild()",
        "twin_risk_regrade(int[])",
        # Whether a point has open hazards or alerts is the point's school's business.
        "twin_risk_steps(int, jsonb)",
    ):
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")


def _counts(flag: str) -> str:
    return (
        "ARRAY["
        + ", ".join(f"count(*) FILTER (WHERE x.{flag} = 1 AND x.lvl = {n})::int" for n in range(1, 5))
        + "]"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS risk_rollup ON risk_zones")
    op.execute("DROP TRIGGER IF EXISTS risk_rollup ON risk_points")
    op.execute("DROP TRIGGER IF EXISTS risk_regrade ON sensors")
    op.execute("DROP TRIGGER IF EXISTS risk_regrade ON alerts")
    op.execute("DROP TRIGGER IF EXISTS risk_regrade ON hazards")
    op.execute("DROP TRIGGER IF EXISTS risk_effective ON risk_points")
    for fn in (
        "twin_rollup_rebuild()",
        "twin_rollup_zone()",
        "twin_rollup_point()",
        "twin_rollup_add(text, int, ltree, int, int, int, int, int)",
        "twin_rollup_sum(int[], int[])",
        "twin_risk_colour(ltree, int)",
        "twin_rollup_highest(int[], int[])",
        "twin_rollup_keys(ltree, int, int, int, int)",
        "twin_risk_sensor_changed()",
        "twin_risk_alert_changed()",
        "twin_risk_hazard_changed()",
        "twin_risk_regrade(int[])",
        "twin_risk_effective()",
        "twin_risk_steps(int, jsonb)",
        "twin_risk_grade(text, jsonb, int, jsonb)",
        "twin_risk_scale(ltree)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.execute("DELETE FROM write_grants WHERE table_name = 'risk_scales'")
    for table in ("risk_rollup", "risk_scales"):
        for statement in unscope_table_sql(table):
            op.execute(statement)
    op.execute("DROP POLICY IF EXISTS ancestor_read ON risk_scales")
    op.drop_index("ix_risk_rollup_org_path", table_name="risk_rollup", postgresql_using="gist")
    op.drop_table("risk_rollup")
    op.drop_index("ix_risk_scales_org_path", table_name="risk_scales", postgresql_using="gist")
    op.drop_table("risk_scales")
    op.drop_index(op.f("ix_hazards_risk_point_id"), table_name="hazards")
    op.drop_index(op.f("ix_sensors_risk_point_id"), table_name="sensors")
    op.drop_constraint(op.f("fk_sensors_risk_point_id_risk_points"), "sensors", type_="foreignkey")
    op.drop_column("sensors", "risk_point_id")
    op.drop_constraint(op.f("ck_risk_points_effective_level_1_to_4"), "risk_points", type_="check")
    op.drop_column("risk_points", "likelihood_steps")
    op.drop_column("risk_points", "effective_level")
