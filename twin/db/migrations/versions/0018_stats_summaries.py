"""Per-school summaries of the statistics' topics, kept by statement-level triggers.

Revision ID: 0018
Revises: 0016

A province's statistics read ~50k summary rows (per school and year, month or day) instead of millions of
fact rows (twin.db.summaries). The tables carry the fact's org path and are under the same row-level
security; the apps may read them but only the triggers (SECURITY DEFINER) write them. Two indexes serve
the "not yet" corrections of the measures that compare with now: open hazards by deadline, inspections
by due time.
"""

import sqlalchemy as sa
from alembic import op

from twin.db.rls import APP_ROLE, WHOLE_ROLE, scope_table_sql, unscope_table_sql
from twin.db.summaries import (
    GRAINS,
    OPEN,
    SUMMARIES,
    TRUNCATED_SQL,
    rebuild_function_sql,
    trigger_function_sql,
    trigger_sql,
)
from twin.db.types import LTree

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_hazards_open_deadline",
        "hazards",
        ["deadline"],
        postgresql_include=["org_path", "found_at"],
        postgresql_where=sa.text(OPEN),
    )
    op.create_index(
        "ix_inspections_due_at", "inspections", ["due_at"], postgresql_include=["org_path", "done_at"]
    )
    op.execute(TRUNCATED_SQL)
    for s in SUMMARIES.values():
        op.create_table(
            s.table,
            sa.Column("org_path", LTree(), nullable=False),
            sa.Column("county", sa.Boolean(), nullable=False),
            sa.Column("grain", sa.String(length=5), nullable=False),
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("n_rows", sa.BigInteger(), nullable=False),
            *(sa.Column(c, sa.BigInteger(), nullable=False) for c in s.columns),
            sa.CheckConstraint(f"grain IN {GRAINS}", name=op.f(f"ck_{s.table}_grain_known")),
            sa.PrimaryKeyConstraint("org_path", "county", "grain", "day", name=op.f(f"pk_{s.table}")),
        )
        op.create_index(f"ix_{s.table}_org_path", s.table, ["org_path"], postgresql_using="gist")
        op.create_index(f"ix_{s.table}_cells", s.table, ["county", "grain", "day"])
        for statement in scope_table_sql(s.table, audit=False):
            op.execute(statement)
        op.execute(f"REVOKE INSERT, UPDATE, DELETE ON {s.table} FROM {APP_ROLE}, {WHOLE_ROLE}")
        op.execute(trigger_function_sql(s))
        for statement in trigger_sql(s):
            op.execute(statement)
    op.execute(rebuild_function_sql())
    op.execute("SELECT twin_stats_rebuild()")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS twin_stats_rebuild()")
    for s in SUMMARIES.values():
        for event in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS stats_summary_{event} ON {s.source}")
        op.execute(f"DROP FUNCTION IF EXISTS twin_stats_{s.topic}()")
        for statement in unscope_table_sql(s.table):
            op.execute(statement)
        op.drop_table(s.table)
    op.execute("DROP FUNCTION IF EXISTS twin_stats_truncated()")
    op.drop_index("ix_inspections_due_at", table_name="inspections")
    op.drop_index("ix_hazards_open_deadline", table_name="hazards")
