"""An index of the org tree's roots: a whole-territory caller's every request read all of `org_units`.

Revision ID: 0024
Revises: 0023

`twin_begin_request` decides whether a caller at a root of the tree has the whole territory by asking
whether another root exists (`parent_id IS NULL AND path <> …`). With no index to answer it, that was a
sequential scan of the org units on each request of a province analyst: 5–10 ms for a province of 50,000
schools, more than the statement of most of their statistics. The partial index holds the roots only.
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_org_units_roots", "org_units", ["id"], postgresql_where="parent_id IS NULL")


def downgrade() -> None:
    op.drop_index("ix_org_units_roots", table_name="org_units")
