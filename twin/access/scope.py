"""Turn a verified token into the scope of one transaction (row-level security settings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access.roles import Role
from twin.db.rls import WHOLE_ROLE


@dataclass(frozen=True)
class Caller:
    """Who is acting in this transaction, as the database established it."""

    user_id: int
    username: str
    role: Role
    org_path: str
    person_id: int | None
    whole: bool = False

    def may_administer(self) -> bool:
        return self.role is Role.admin


# A whole-territory caller takes the role `twin_app_all` (the same rows the scoped role would show, without
# testing the scope on every one of them) in the same SELECT: `set_config('role', …, true)` is SET LOCAL ROLE
# (same membership check, undone at the end of the transaction) without a round trip of its own. It is in
# the caller's statement, not in the definer function, where PostgreSQL refuses a role change.
BEGIN_REQUEST = (
    "SELECT username, role, org_path::text, person_id{settings}, whole,"
    " CASE WHEN whole THEN set_config('role', :whole_role, true) END AS switched"
    " FROM twin_begin_request(:uid, :ver)"
)


async def begin_request(
    conn: AsyncConnection, user_id: int, version: int, *, settings: Mapping[str, str] | None = None
) -> Caller | None:
    """Set the transaction's scope from the user row; None if the user is gone, disabled or revoked.

    `settings`: server settings for the rest of the transaction (names and values are the code's, bound as
    parameters), set in the same round trip instead of a SET LOCAL each."""
    params: dict[str, object] = {"uid": user_id, "ver": version, "whole_role": WHOLE_ROLE}
    configs = ""
    for i, (name, value) in enumerate((settings or {}).items()):
        configs += f", set_config(:name{i}, :value{i}, true)"
        params.update({f"name{i}": name, f"value{i}": value})
    row = (await conn.execute(text(BEGIN_REQUEST.format(settings=configs)), params)).first()
    if row is None:
        return None
    return Caller(
        user_id=user_id,
        username=row.username,
        role=Role(row.role),
        org_path=row.org_path,
        person_id=row.person_id,
        whole=row.whole,
    )


def planner_scope(caller: Caller) -> str | None:
    """The org path a query should also filter by, literally, so the planner can size the scope.

    Row-level security already enforces the scope; this is only for the plan (see twin.db.rls and
    bench/scope.py). None when there is nothing to add: the whole territory, or a parent.
    """
    if caller.whole or caller.role is Role.parent:
        return None
    return caller.org_path
