"""Let spatial indexes serve queries under row-level security.

Revision ID: 0007
Revises: 0006

Under RLS, PostgreSQL evaluates a query's own conditions only after the policies unless their functions
are LEAKPROOF, so `geom && <box>` could not be an index condition: a city analyst's tile scanned the
city's 150k rows (26 ms) instead of reading the GiST index (0.1 ms) — bench/ogc.py, province tiles.
`&&` compares two bounding boxes and raises only on mixed SRIDs, which the storage constraint rules
out. Needs a superuser; without one, queries stay correct but slower (a NOTICE says so).
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FUNCTIONS = ("geometry_overlaps(geometry, geometry)",)


def _alter(leakproof: bool) -> None:
    mark = "LEAKPROOF" if leakproof else "NOT LEAKPROOF"
    alters = " ".join(f"ALTER FUNCTION {f} {mark};" for f in FUNCTIONS)
    op.execute(
        "DO $$ BEGIN IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN "
        f"{alters} ELSE RAISE NOTICE 'not a superuser: spatial indexes cannot serve scoped queries'; "
        "END IF; END $$"
    )


def upgrade() -> None:
    _alter(True)


def downgrade() -> None:
    _alter(False)
