"""Split statistics from the summaries: one summary table per topic and split, kept by the same triggers.

Revision ID: 0022
Revises: 0021

`split=grade`, `split=category`, … read `stats_<topic>_by_<split>` (the summary's sums, one more key: the
row's split value) instead of the fact rows: a province's "hazards by county, split by grade" was the raw
group-by over 1M rows. The cells' indexes of all summary tables now cover the sums (INCLUDE), so a
province's 50k year rows are read from the index instead of from most of the table's pages (the price:
summary upserts are no longer HOT updates). The split value may be NULL (a risk point with no level), so
the key is a unique index NULLS NOT DISTINCT (PostgreSQL 15) rather than a primary key. The topics' trigger functions and
twin_stats_rebuild() are replaced by versions that also keep these tables; the tables are filled here.
"""

import sqlalchemy as sa
from alembic import op

from twin.db.rls import APP_ROLE, WHOLE_ROLE, scope_table_sql, unscope_table_sql
from twin.db.summaries import (
    GRAINS,
    SUMMARIES,
    rebuild_function_sql,
    split_truncate_trigger_sql,
    statement_sql,
    trigger_function_sql,
)
from twin.db.types import LTree

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

KEY = ["org_path", "county", "grain", "day", "split"]


def upgrade() -> None:
    for s in SUMMARIES.values():
        # The cells' index covers the sums: a province's year rows are one in ~40 across the whole heap.
        op.drop_index(f"ix_{s.table}_cells", table_name=s.table)
        op.create_index(
            f"ix_{s.table}_cells",
            s.table,
            ["county", "grain", "day"],
            postgresql_include=["org_path", "n_rows", *s.columns],
        )
        for split in s.splits:
            table = s.split_table(split)
            op.create_table(
                table,
                sa.Column("org_path", LTree(), nullable=False),
                sa.Column("county", sa.Boolean(), nullable=False),
                sa.Column("grain", sa.String(length=5), nullable=False),
                sa.Column("day", sa.Date(), nullable=False),
                sa.Column("split", sa.Text(), nullable=True),
                sa.Column("n_rows", sa.BigInteger(), nullable=False),
                *(sa.Column(c, sa.BigInteger(), nullable=False) for c in s.columns),
                sa.CheckConstraint(f"grain IN {GRAINS}", name=op.f(f"ck_{table}_grain_known")),
            )
            op.create_index(f"uq_{table}_key", table, KEY, unique=True, postgresql_nulls_not_distinct=True)
            op.create_index(f"ix_{table}_org_path", table, ["org_path"], postgresql_using="gist")
            op.create_index(
                f"ix_{table}_cells",
                table,
                ["county", "grain", "day"],
                postgresql_include=["org_path", "split", "n_rows", *s.columns],
            )
            for statement in scope_table_sql(table, audit=False):
                op.execute(statement)
            op.execute(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {APP_ROLE}, {WHOLE_ROLE}")
            op.execute(split_truncate_trigger_sql(s, split))
            op.execute(statement_sql(s, {s.source: 1}, split))
        op.execute(trigger_function_sql(s, splits=True))
    op.execute(rebuild_function_sql(splits=True))


def downgrade() -> None:
    op.execute(rebuild_function_sql())
    for s in SUMMARIES.values():
        op.execute(trigger_function_sql(s))
        op.drop_index(f"ix_{s.table}_cells", table_name=s.table)
        op.create_index(f"ix_{s.table}_cells", s.table, ["county", "grain", "day"])
        for split in s.splits:
            table = s.split_table(split)
            op.execute(f"DROP TRIGGER IF EXISTS stats_summary_truncate_{split} ON {s.source}")
            for statement in unscope_table_sql(table):
                op.execute(statement)
            op.drop_table(table)
