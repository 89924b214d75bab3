"""A fingerprint of every table: row count and a checksum of the rows, read as the database owner."""

from __future__ import annotations

from sqlalchemy import Engine, text

TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND c.relname NOT IN ('spatial_ref_sys', 'alembic_version')
 ORDER BY c.relname
"""


def fingerprint(engine: Engine) -> dict[str, tuple[int, str]]:
    """{table: (rows, md5 of the rows in text form, in order)}; partitioned tables count all partitions."""
    with engine.connect() as conn:
        names = conn.execute(text(TABLES)).scalars().all()
        return {
            name: tuple(  # type: ignore[misc]
                conn.execute(
                    text(
                        f"SELECT count(*), coalesce(md5(string_agg(t::text, chr(10) ORDER BY t::text)), '') FROM \"{name}\" t"
                    )
                ).one()
            )
            for name in names
        }


def changes(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> dict[str, str]:
    """Tables whose rows differ, with their counts before -> after."""
    return {
        name: f"{before.get(name, (0, ''))[0]} -> {after.get(name, (0, ''))[0]} rows"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }
