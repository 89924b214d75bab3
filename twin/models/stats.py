"""Per-school summaries of the statistics' topics (migration 0018, twin.db.summaries).

One table per topic, `stats_<topic>`: a row per fact org path, grain and first day of the cell, with
the count of rows and the sums of the topic's per-row integers. Kept by statement-level triggers on the
raw table; read by twin.stats.summary_sql. Under row-level security like the facts they sum. A topic's
splits (migration 0022) have one more table each, `stats_<topic>_by_<split>`, keyed by the split value too.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from twin.db.summaries import GRAINS, SUMMARIES
from twin.models.base import Base, LTree


def _summary_table(name: str, columns: list[str]) -> Table:
    return Table(
        name,
        Base.metadata,
        Column("org_path", LTree(), nullable=False),
        Column("county", Boolean(), nullable=False),  # a county's total (twin.db.summaries.PATHS)
        Column("grain", String(5), nullable=False),
        Column("day", Date(), nullable=False),
        Column("n_rows", BigInteger(), nullable=False),
        *(Column(c, BigInteger(), nullable=False) for c in columns),
        PrimaryKeyConstraint("org_path", "county", "grain", "day"),
        CheckConstraint(f"grain IN {GRAINS}", name="grain_known"),
        Index(f"ix_{name}_org_path", "org_path", postgresql_using="gist"),
        # A province's or a city's cells of one grain and period without visiting every school's days,
        # and without the table (0022): a province's year rows lie one in ~40 across the whole heap.
        Index(
            f"ix_{name}_cells", "county", "grain", "day", postgresql_include=["org_path", "n_rows", *columns]
        ),
    )


SUMMARY_TABLES: dict[str, Table] = {
    topic: _summary_table(s.table, list(s.columns)) for topic, s in SUMMARIES.items()
}


KEY = ("org_path", "county", "grain", "day", "split")


def _split_table(name: str, columns: list[str]) -> Table:
    """A topic's summary by one split (migration 0022): the same sums, keyed by the split value too."""
    return Table(
        name,
        Base.metadata,
        Column("org_path", LTree(), nullable=False),
        Column("county", Boolean(), nullable=False),
        Column("grain", String(5), nullable=False),
        Column("day", Date(), nullable=False),
        Column("split", Text(), nullable=True),  # NULL is a value of its own (a risk point with no level)
        Column("n_rows", BigInteger(), nullable=False),
        *(Column(c, BigInteger(), nullable=False) for c in columns),
        CheckConstraint(f"grain IN {GRAINS}", name="grain_known"),
        Index(f"uq_{name}_key", *KEY, unique=True, postgresql_nulls_not_distinct=True),
        Index(f"ix_{name}_org_path", "org_path", postgresql_using="gist"),
        Index(
            f"ix_{name}_cells",
            "county",
            "grain",
            "day",
            postgresql_include=["org_path", "split", "n_rows", *columns],
        ),
    )


SPLIT_TABLES: dict[tuple[str, str], Table] = {
    (topic, split): _split_table(s.split_table(split), list(s.columns))
    for topic, s in SUMMARIES.items()
    for split in s.splits
}
