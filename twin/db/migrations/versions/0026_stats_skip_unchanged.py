"""Statistics triggers return at once for an update that changes nothing they count.

Revision ID: 0026
Revises: 0025

A statement-level trigger with transition tables cannot be limited to columns, so every update of a
summarised table summed its old and new rows into deltas that cancelled out: the ingest's count-up of 200
active alerts (count and last time only) spent 10 ms of its 28 ms there, every batch. The functions now
compare what the old and the new rows count (twin.db.summaries.counted_sql) first and skip the upserts
when the two multisets are equal.
"""

from __future__ import annotations

from alembic import op

from twin.db.summaries import SUMMARIES, trigger_function_sql

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for s in SUMMARIES.values():
        op.execute(trigger_function_sql(s, splits=True, skip_unchanged=True))


def downgrade() -> None:
    for s in SUMMARIES.values():
        op.execute(trigger_function_sql(s, splits=True))
