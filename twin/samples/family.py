"""Gates, cards, classes and a patrol round of the sample campus, made in the database from its rows.

Two gates where the campus boundary comes nearest its north and south middle, each with a card reader in,
a card reader out and a face terminal for both ways; a card and a face for every student; six classes
with their class teachers; a patrol round through five buildings with two shifts and the guards' phones
and a tag reader. Deterministic: everything follows from the campus's own rows and their order.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

CLASSES = 6
ROUND_BUILDINGS = 5

_GATES = """
INSERT INTO gates (org_path, campus_id, code, name, geom)
SELECT c.org_path, c.id, g.code, g.name,
       ST_ClosestPoint(ST_Boundary(c.boundary), ST_SetSRID(ST_MakePoint(
           ST_X(ST_Centroid(c.boundary)),
           CASE g.code WHEN 'N' THEN ST_YMax(c.boundary) ELSE ST_YMin(c.boundary) END), 4326))
  FROM campuses c, (VALUES ('N', '北门 North Gate'), ('S', '南门 South Gate')) AS g(code, name)
 WHERE c.code = :campus AND c.boundary IS NOT NULL
"""
_TERMINALS = """
INSERT INTO gate_terminals (org_path, gate_id, device_id, method, direction)
SELECT g.org_path, g.id, c.code || '-' || g.code || '-' || t.suffix, t.method, t.direction
  FROM gates g JOIN campuses c ON c.id = g.campus_id,
       (VALUES ('CARD-IN', 'card', 'in'), ('CARD-OUT', 'card', 'out'), ('FACE', 'face', 'both'))
         AS t(suffix, method, direction)
 WHERE c.code = :campus
"""
_CREDENTIALS = """
INSERT INTO access_credentials (org_path, person_id, method, credential)
SELECT p.org_path, p.id, m.method, upper(m.method) || '-' || p.code
  FROM people p, (VALUES ('card'), ('face')) AS m(method)
 WHERE p.role = 'student' AND p.org_path = CAST(:school AS ltree)
"""
_CLASSES = f"""
INSERT INTO school_classes (org_path, code, name, teacher_id)
SELECT CAST(:school AS ltree), 'G1-' || n, '高一(' || n || ')班',
       (SELECT id FROM people WHERE role = 'teacher' AND org_path = CAST(:school AS ltree)
         ORDER BY id OFFSET n - 1 LIMIT 1)
  FROM generate_series(1, {CLASSES}) n
"""
_CLASS_STUDENTS = f"""
INSERT INTO class_students (student_id, org_path, class_id)
SELECT s.id, s.org_path, k.id
  FROM (SELECT id, org_path, row_number() OVER (ORDER BY id) AS r FROM people
         WHERE role = 'student' AND org_path = CAST(:school AS ltree)) s
  JOIN school_classes k ON k.org_path = s.org_path AND k.code = 'G1-' || (1 + (s.r - 1) % {CLASSES})
"""
_ROUND = f"""
WITH stops AS (
    SELECT b.id, b.code, b.name, ST_PointOnSurface(b.geom) AS p, row_number() OVER (ORDER BY b.code) AS n
      FROM buildings b JOIN campuses c ON c.id = b.campus_id
     WHERE c.code = :campus ORDER BY b.code LIMIT {ROUND_BUILDINGS}),
route AS (
    INSERT INTO patrol_routes (org_path, campus_id, code, name, geom)
    SELECT c.org_path, c.id, 'R1', '夜间巡更 Night round', (SELECT ST_MakeLine(p ORDER BY n) FROM stops)
      FROM campuses c WHERE c.code = :campus
    RETURNING id, org_path)
INSERT INTO patrol_checkpoints (org_path, route_id, sequence, code, name, radius_m, offset_min, tag_id, geom)
SELECT route.org_path, route.id, s.n, 'R1-' || s.n, s.name, 20, 10 * (s.n - 1), :campus || '-TAG-' || s.n, s.p
  FROM stops s, route
"""
_SHIFTS = """
INSERT INTO patrol_schedules (org_path, route_id, name, starts, duration_min, tolerance_min)
SELECT r.org_path, r.id, s.name, CAST(s.starts AS time), 60, 10
  FROM patrol_routes r JOIN campuses c ON c.id = r.campus_id,
       (VALUES ('Evening', '18:00'), ('Night', '22:00')) AS s(name, starts)
 WHERE c.code = :campus AND r.code = 'R1'
"""
_DEVICES = """
INSERT INTO patrol_devices (org_path, campus_id, device_id, person_id)
SELECT c.org_path, c.id, c.code || '-GUARD-' || row_number() OVER (ORDER BY p.id), p.id
  FROM campuses c JOIN people p ON p.org_path = c.org_path AND p.role = 'guard'
 WHERE c.code = :campus
UNION ALL
SELECT c.org_path, c.id, c.code || '-TAGREADER-1', NULL FROM campuses c WHERE c.code = :campus
"""


def seed_family(conn: Connection, campus: str, school: str) -> None:
    """Gates, credentials, classes and a patrol round for the campus `campus` of school path `school`."""
    for sql in (_GATES, _TERMINALS, _CREDENTIALS, _CLASSES, _CLASS_STUDENTS, _ROUND, _SHIFTS, _DEVICES):
        conn.execute(text(sql), {"campus": campus, "school": school})
