"""Idempotency keys of hazard reports (`Idempotency-Key`, as in the IETF httpapi draft).

A phone that sent a report and lost the answer sends it again with the same key; the first report's
hazard is the answer, and nothing is stored twice. The key is remembered per user in the transaction
that stores the hazard, so a report either exists with its key or not at all. Two sends racing each
other meet at the key's primary key: the second waits for the first to commit, then finds its hazard.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.errors import InvalidInput

KEY = re.compile(r"^[\x21-\x7e]{1,128}$")  # visible ASCII: a UUID, a ULID, a random token


def checked_key(raw: str | None) -> str | None:
    """The key of a request, or None without one; a key that is not one is refused, not ignored."""
    if raw is None:
        return None
    key = raw.strip().strip('"')  # the draft sends it as a quoted string; accept it bare too
    if not KEY.match(key):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 128 visible ASCII characters (a UUID, for example)",
            field="Idempotency-Key",
        )
    return key


async def earlier(conn: AsyncConnection, user_id: int, key: str) -> int | None:
    """The hazard an earlier request with this key made, or None."""
    query = text("SELECT hazard_id FROM hazard_requests WHERE user_id = :u AND key = :k")
    return (await conn.execute(query, {"u": user_id, "k": key})).scalar_one_or_none()


_REMEMBER = text("""
INSERT INTO hazard_requests (user_id, key, org_path, hazard_id)
SELECT :u, :k, h.org_path, h.id FROM hazards h WHERE h.id = :h
ON CONFLICT (user_id, key) DO NOTHING RETURNING hazard_id
""")


async def remember(conn: AsyncConnection, user_id: int, key: str, hazard_id: int) -> bool:
    """Tie the key to the new hazard; False when a concurrent request with the key committed first."""
    return (await conn.execute(_REMEMBER, {"u": user_id, "k": key, "h": hazard_id})).first() is not None


class KeyTaken(Exception):
    """A concurrent request with the same key won: this one's hazard is rolled back."""
