"""Users: sign-in, creation, disabling and password changes. Statements are shared by the CLI (as owner)
and the server (as `twin_app`, where row-level security limits an admin to its subtree)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, insert, select, text, update
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access.passwords import check_strength, hash_password, verify_password
from twin.access.roles import Role
from twin.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from twin.models import OrgUnit, Person, User


@dataclass(frozen=True)
class NewUser:
    username: str
    role: Role
    org_code: str
    password: str
    person_code: str | None = None


def _check_new(user: NewUser) -> None:
    if (
        not user.username
        or len(user.username) > 64
        or not user.username.replace("_", "").replace(".", "").isalnum()
    ):
        raise InvalidInput("a username is 1–64 letters, digits, '_' or '.'")
    reason = check_strength(user.password)
    if reason:
        raise InvalidInput(reason)
    if user.role is Role.parent and not user.person_code:
        raise InvalidInput("a parent account needs the parent's person code (--person)")


def _org(user: NewUser) -> Select[int, str]:
    return select(OrgUnit.id, OrgUnit.path).where(OrgUnit.code == user.org_code)


def _insert(user: NewUser, org_id: int, org_path: str, person_id: int | None) -> Any:
    return (
        insert(User)
        .values(
            username=user.username,
            password_hash=hash_password(user.password),
            role=user.role.value,
            org_id=org_id,
            org_path=org_path,
            person_id=person_id,
        )
        .returning(User.id)
    )


def add_user(conn: Connection, user: NewUser) -> int:
    """Create a user as the database owner (the `twin user add` command)."""
    _check_new(user)
    org = conn.execute(_org(user)).first()
    if org is None:
        raise NotFound(f"no org unit with code {user.org_code!r}")
    person_id = None
    if user.person_code:
        person_id = conn.execute(
            select(Person.id).where(Person.code == user.person_code)
        ).scalar_one_or_none()
        if person_id is None:
            raise NotFound(f"no person with code {user.person_code!r}")
    try:
        return int(conn.execute(_insert(user, org.id, org.path, person_id)).scalar_one())
    except IntegrityError as exc:
        raise Conflict(f"user {user.username!r} already exists") from exc


def _set_disabled(which: Any, disabled: bool) -> Any:
    """Disabling also bumps the token version, so every token the user holds stops working."""
    return (
        update(User)
        .where(which)
        .values(disabled=disabled, token_version=User.token_version + (1 if disabled else 0))
        .returning(User.id)
    )


def set_user_disabled(conn: Connection, username: str, *, disabled: bool) -> None:
    """As the owner: disable (revoking tokens) or enable a user by name."""
    found = conn.execute(_set_disabled(User.username == username, disabled)).first()
    if found is None:
        raise NotFound(f"no user {username!r}")


def _set_password(which: Any, password: str) -> Any:
    """A strong enough password, hashed; the token version bumps so earlier tokens stop working."""
    reason = check_strength(password)
    if reason:
        raise InvalidInput(reason)
    return (
        update(User)
        .where(which)
        .values(password_hash=hash_password(password), token_version=User.token_version + 1)
        .returning(User.id)
    )


def set_user_password(conn: Connection, username: str, password: str) -> None:
    """As the owner: set a password; earlier tokens stop working."""
    found = conn.execute(_set_password(User.username == username, password)).first()
    if found is None:
        raise NotFound(f"no user {username!r}")


async def create_user(conn: AsyncConnection, user: NewUser) -> int:
    """Create a user as an admin; the policies refuse an org outside the admin's subtree."""
    _check_new(user)
    org = (await conn.execute(_org(user))).first()
    if org is None:
        raise NotFound(f"no org unit with code {user.org_code!r}")
    person_id = None
    if user.person_code:
        found = await conn.execute(select(Person.id).where(Person.code == user.person_code))
        person_id = found.scalar_one_or_none()
        if person_id is None:
            raise NotFound(f"no person with code {user.person_code!r} in your jurisdiction")
    async with conn.begin_nested():
        try:
            return int((await conn.execute(_insert(user, org.id, org.path, person_id))).scalar_one())
        except IntegrityError as exc:
            raise Conflict(f"user {user.username!r} already exists") from exc
        except ProgrammingError as exc:
            if "row-level security" in str(exc.orig):
                raise Forbidden(f"org {user.org_code!r} is outside your jurisdiction") from exc
            raise


async def login(conn: AsyncConnection, username: str, password: str) -> tuple[int, int]:
    """(user id, token version) for a correct password; one message for every failure."""
    row = (await conn.execute(text("SELECT * FROM twin_login(:name)"), {"name": username})).first()
    # Verify against a dummy hash when the user is unknown, so timing does not reveal who exists.
    ok = verify_password(row.password_hash if row else _dummy_hash(), password)
    if row is None or not ok or row.disabled:
        raise Unauthorized("wrong username or password, or the account is disabled")
    return int(row.id), int(row.token_version)


async def list_users(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(
            User.id, User.username, User.role, User.org_path, User.disabled, OrgUnit.code.label("org_code")
        )
        .join(OrgUnit, OrgUnit.id == User.org_id)
        .order_by(User.org_path, User.username)
    )
    return [dict(r._mapping) for r in rows]


async def set_disabled(conn: AsyncConnection, user_id: int, disabled: bool) -> None:
    """Disable or enable; disabling also revokes every token the user holds."""
    result = await conn.execute(_set_disabled(User.id == user_id, disabled))
    if result.first() is None:
        raise NotFound(f"no user {user_id} in your jurisdiction")


async def change_password(conn: AsyncConnection, user_id: int, old: str, new: str) -> None:
    """Change one's own password; every earlier token stops working."""
    row = (await conn.execute(select(User.password_hash).where(User.id == user_id))).first()
    if row is None or not verify_password(row.password_hash, old):
        raise Unauthorized("the current password is wrong")
    await conn.execute(_set_password(User.id == user_id, new))


@cache
def _dummy_hash() -> str:
    return hash_password("timing-equaliser-not-a-password")
