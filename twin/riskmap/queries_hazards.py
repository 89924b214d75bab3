"""Every SQL statement of the hazard loop, with bound parameters; row-level security scopes each one.

Callers pass the request's scoped connection; nothing here commits. The ledger and the lists also write
the caller's scope in (`twin.access.planner_scope`) so the planner can size it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    Table,
    and_,
    cast,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from twin.db.types import LTree
from twin.models import Building, Campus, Hazard, HazardPhoto, HazardTransition, OrgUnit, Person
from twin.models.base import Base


def cast_table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


H = cast_table(Hazard)
Responsible = aliased(Person)
Finder = aliased(Person)
Acceptor = aliased(Person)


def within(column: Any, path: str) -> ColumnElement[bool]:
    return column.op("<@")(cast(literal(path, String), LTree()))


async def lock_hazard(conn: AsyncConnection, hazard_id: int) -> dict[str, Any] | None:
    """The hazard's loop fields, locked for this transaction; None when it is not visible."""
    query = (
        select(
            H.c.id,
            H.c.org_path.cast(String).label("org_path"),
            H.c.campus_id,
            H.c.number,
            H.c.name,
            H.c.state,
            H.c.grade,
            H.c.category,
            H.c.deadline,
            H.c.version,
            H.c.responsible_person_id,
        )
        .where(H.c.id == hazard_id)
        .with_for_update()
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def hazard_visible(conn: AsyncConnection, hazard_id: int) -> bool:
    return (await conn.execute(select(H.c.id).where(H.c.id == hazard_id))).first() is not None


async def _in_loop(conn: AsyncConnection, stmt: Any) -> Any:
    """Run a write on hazards as the loop: the guard trigger (migration 0009) lets state change only here."""
    await conn.execute(text("SELECT set_config('twin.hazard_loop', 'on', true)"))
    result = (await conn.execute(stmt)).scalar_one()
    await conn.execute(text("SELECT set_config('twin.hazard_loop', '', true)"))
    return result


async def update_hazard(conn: AsyncConnection, hazard_id: int, values: dict[str, Any]) -> int:
    """Apply a transition's changes; returns the hazard's new version."""
    stmt = update(H).where(H.c.id == hazard_id).values(**values).returning(H.c.version)
    return int(await _in_loop(conn, stmt))


async def record_transition(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(HazardTransition).values(**values))


async def history(conn: AsyncConnection, hazard_id: int) -> list[dict[str, Any]]:
    t = HazardTransition
    query = (
        select(t.id, t.from_state, t.to_state, t.user_id, t.role, t.at, t.note, t.payload)
        .where(t.hazard_id == hazard_id)
        .order_by(t.at, t.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def next_number(conn: AsyncConnection, school_path: str, year: int) -> int:
    """The next hazard number of a school and year; the row lock serialises concurrent reports."""
    stmt = text(
        "INSERT INTO hazard_numbers (org_path, year, last) VALUES (CAST(:p AS ltree), :y, 1)"
        " ON CONFLICT (org_path, year) DO UPDATE SET last = hazard_numbers.last + 1 RETURNING last"
    )
    return int((await conn.execute(stmt, {"p": school_path, "y": year})).scalar_one())


async def school_of(conn: AsyncConnection, org_path: str) -> dict[str, Any]:
    """Code and path of the school owning a row (the org unit at its path)."""
    query = select(OrgUnit.code, OrgUnit.path.cast(String).label("path")).where(
        OrgUnit.path == cast(literal(org_path, String), LTree())
    )
    return dict((await conn.execute(query)).mappings().one())


async def ancestor(conn: AsyncConnection, org_path: str, level: str) -> dict[str, Any] | None:
    """The org unit of `level` above (or at) `org_path`: the school, its county, city or province."""
    query = select(OrgUnit.code, OrgUnit.name, OrgUnit.path.cast(String).label("path")).where(
        OrgUnit.level == level, OrgUnit.path.op("@>")(cast(literal(org_path, String), LTree()))
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def find_org(conn: AsyncConnection, code: str) -> str | None:
    query = select(OrgUnit.path.cast(String)).where(OrgUnit.code == code)
    return (await conn.execute(query)).scalar_one_or_none()


async def campus_by(
    conn: AsyncConnection, *, code: str | None = None, id_: int | None = None
) -> dict[str, Any] | None:
    cond = Campus.code == code if code is not None else Campus.id == id_
    query = select(Campus.id, Campus.code, Campus.org_path.cast(String).label("org_path")).where(cond)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def campuses_near(conn: AsyncConnection, lon: float, lat: float, metres: float) -> list[dict[str, Any]]:
    """Visible campuses whose boundary lies within `metres` of the point, nearest first."""
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    distance = func.ST_Distance(func.Geography(Campus.boundary), func.Geography(point))
    query = (
        select(Campus.id, Campus.code, Campus.org_path.cast(String).label("org_path"), distance.label("d"))
        .where(func.ST_DWithin(func.Geography(Campus.boundary), func.Geography(point), metres))
        .order_by(distance)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def building(conn: AsyncConnection, campus_id: int | None, ref: int | str) -> dict[str, Any] | None:
    """A visible building by id, or by code within the campus, with a point inside its footprint."""
    # The centroid, unless the footprint is an L or a U and its centroid falls outside it.
    point = text(
        "CASE WHEN ST_Contains(buildings.geom, ST_Centroid(buildings.geom)) THEN ST_Centroid(buildings.geom)"
        " ELSE ST_PointOnSurface(buildings.geom) END"
    )
    cond = (
        Building.id == ref
        if isinstance(ref, int)
        else and_(Building.code == ref, Building.campus_id == campus_id)
    )
    query = select(
        Building.id,
        Building.campus_id,
        Building.code,
        Building.floors,
        func.ST_X(point).label("lon"),
        func.ST_Y(point).label("lat"),
    ).where(cond)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def person_visible(conn: AsyncConnection, person_id: int) -> bool:
    return (await conn.execute(select(Person.id).where(Person.id == person_id))).first() is not None


async def risk_point_campus(conn: AsyncConnection, risk_point_id: int) -> int | None:
    query = text("SELECT campus_id FROM risk_points WHERE id = :id")
    return (await conn.execute(query, {"id": risk_point_id})).scalar_one_or_none()


async def insert_hazard(conn: AsyncConnection, values: dict[str, Any], lon: float, lat: float) -> int:
    geom = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    stmt = insert(H).values(**values, geom=geom).returning(H.c.id)
    return int(await _in_loop(conn, stmt))


async def add_photo(conn: AsyncConnection, values: dict[str, Any]) -> None:
    stmt = text(
        "INSERT INTO hazard_photos"
        " (hazard_id, sha256, org_path, media_type, bytes, width, height, uploaded_by)"
        " VALUES (:hazard_id, :sha256, CAST(:org_path AS ltree), :media_type, :bytes, :width, :height,"
        " :uploaded_by)"
        " ON CONFLICT (hazard_id, sha256) DO NOTHING"
    )
    await conn.execute(stmt, values)


async def photos(conn: AsyncConnection, hazard_id: int) -> list[dict[str, Any]]:
    p = HazardPhoto
    query = (
        select(p.sha256, p.media_type, p.bytes, p.width, p.height, p.uploaded_at)
        .where(p.hazard_id == hazard_id)
        .order_by(p.uploaded_at, p.sha256)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def photo(conn: AsyncConnection, hazard_id: int, sha256: str) -> dict[str, Any] | None:
    p = HazardPhoto
    query = select(p.sha256, p.media_type, p.bytes).where(p.hazard_id == hazard_id, p.sha256 == sha256)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


def overdue(now: datetime, open_states: frozenset[str]) -> ColumnElement[bool]:
    """Deadline passed and still open: a flag computed from the clock, never stored."""
    return and_(H.c.deadline.is_not(None), H.c.deadline < now, H.c.state.in_(sorted(open_states)))


def ledger_select(now: datetime, open_states: frozenset[str], rows: Subquery | None = None) -> Select[Any]:
    """The ledger's columns (隐患台账): one row per hazard, people and places by name.

    With `rows` (a subquery of hazard ids), those rows drive the join: a page of 100 reads 100 hazards.
    """
    base = rows.join(H, H.c.id == rows.c.id) if rows is not None else H
    photo_hashes = (
        select(func.coalesce(func.array_agg(HazardPhoto.sha256), text("'{}'::varchar[]")))
        .where(HazardPhoto.hazard_id == H.c.id)
        .scalar_subquery()
    )
    return (
        select(
            H.c.id,
            H.c.number,
            H.c.name,
            H.c.category,
            H.c.grade,
            H.c.state,
            overdue(now, open_states).label("overdue"),
            H.c.found_at,
            Finder.name.label("found_by"),
            Campus.code.label("campus"),
            Building.code.label("building"),
            H.c.floor,
            func.ST_X(H.c.geom).label("lon"),
            func.ST_Y(H.c.geom).label("lat"),
            H.c.description,
            H.c.measures,
            H.c.deadline,
            H.c.responsible_department,
            Responsible.name.label("responsible_person"),
            H.c.responsible_person_id,
            H.c.funds_cny,
            H.c.rectified_at,
            Acceptor.name.label("accepted_by"),
            H.c.accepted_at,
            H.c.result,
            H.c.risk_point_id,
            H.c.inspection_id,
            H.c.version,
            photo_hashes.label("photos"),
        )
        .select_from(base)
        .join(Campus, Campus.id == H.c.campus_id)
        .outerjoin(Building, Building.id == H.c.building_id)
        .outerjoin(Responsible, Responsible.id == H.c.responsible_person_id)
        .outerjoin(Finder, Finder.id == H.c.found_by_id)
        .outerjoin(Acceptor, Acceptor.id == H.c.accepted_by_id)
    )


async def ledger_page(
    conn: AsyncConnection,
    now: datetime,
    open_states: frozenset[str],
    conditions: list[ColumnElement[bool]],
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the ledger, newest first, and how many hazards match in all.

    The page's ids come first (the scope's index, or the found_at index for wide scopes), then only those
    rows are joined and dressed: dressing a province's 100k hazards to keep 100 cost 250 ms
    (bench/hazards.py).
    """
    total = (await conn.execute(select(func.count()).select_from(H).where(*conditions))).scalar_one()
    page = (
        select(H.c.id.label("id"), H.c.found_at.label("found_at"))
        .where(*conditions)
        .order_by(H.c.found_at.desc(), H.c.id.desc())
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    dressed = ledger_select(now, open_states, page).order_by(page.c.found_at.desc(), page.c.id.desc())
    return [dict(r) for r in (await conn.execute(dressed)).mappings()], int(total)


async def one_hazard(conn: AsyncConnection, query: Select[Any], hazard_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(query.where(H.c.id == hazard_id))).mappings().first()
    return dict(row) if row else None
