"""Drills and safety-education sessions of the sample schools (spring and autumn term 2026).

Made in the database, set-based, for every school under a path that has none yet, so the sample campus
and a province of 50,000 schools get theirs the same way. Deterministic: the school's code seeds
everything (hashtext), so two builds agree.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from twin.models.activities import DRILL_TYPES, EDUCATION_TYPES

PER_SCHOOL = {"drills": (4, DRILL_TYPES), "education_sessions": (10, EDUCATION_TYPES)}


def _insert(table: str, per_school: int, types: tuple[str, ...]) -> str:
    pick = f"abs(hashtext(o.code || '{table}' || k))"
    array = "ARRAY[" + ", ".join(f"'{t}'" for t in types) + "]"
    return f"""
INSERT INTO {table} (org_path, type, held_on, participants, note)
SELECT o.path,
       ({array})[1 + {pick} % {len(types)}],
       date '2026-02-24' + ({pick} / 7) % 300,
       greatest(30, coalesce(o.enrolment, 1200) * (20 + ({pick} / 13) % 80) / 100),
       'sample'
  FROM org_units o, generate_series(1, {per_school}) k
 WHERE o.level = 'school' AND o.path <@ CAST(:under AS ltree)
   AND NOT EXISTS (SELECT 1 FROM {table} x WHERE x.org_path = o.path)
"""


def seed_activities_sql() -> list[str]:
    """The statements, each taking the bound parameter `under` (an org path)."""
    return [_insert(table, per_school, types) for table, (per_school, types) in PER_SCHOOL.items()]


def seed_activities(conn: Connection, under: str) -> int:
    """Drills and sessions for the schools under `under` that have none; the number of rows added."""
    analyze(conn)
    return sum(conn.execute(text(sql), {"under": under}).rowcount for sql in seed_activities_sql())


def analyze(conn: Connection) -> None:
    """Fresh statistics first: after a bulk load (or an aborted one) the planner may think the tables
    empty and test `NOT EXISTS` with a sequential scan per school."""
    for table in PER_SCHOOL:
        conn.execute(text(f"ANALYZE {table}"))
