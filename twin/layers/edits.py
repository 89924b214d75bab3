"""Create, replace, update and delete features (OGC API - Features Part 4), with optimistic locking.

Whether the caller may write is the database's decision (row-level security and `write_grants`, see
twin.db.rls): a refused write is turned into a 403 here, never pre-judged from a role table in Python.
The version a feature is at is the database's too (trigger `version_bump`, migration 0006); its ETag is
`"{fid}-{version}"`, and a change must name the version it was made from in `If-Match`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    ColumnElement,
    Row,
    UniqueConstraint,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.crs import CrsSpec
from twin.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from twin.layers import tiles, validate
from twin.layers.registry import COLLECTIONS, Collection, collection
from twin.models import Campus

log = logging.getLogger(__name__)

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Change:
    """What a committed edit touched: the feature, its new version, and the areas to redraw."""

    collection: str
    fid: int
    version: int
    bboxes: tuple[BBox, ...]

    @property
    def etag(self) -> str:
        return etag(self.fid, self.version)


def etag(fid: int, version: int) -> str:
    """The strong ETag of a feature version; GET on the item sends the same."""
    return f'"{fid}-{version}"'


def editable(collection_id: str) -> Collection:
    """The collection, if its features may be edited (404 unknown, 405 read-only)."""
    c = collection(collection_id)
    if not c.editable:
        names = ", ".join(k for k, v in COLLECTIONS.items() if v.editable)
        raise MethodNotAllowed(f"collection {c.id!r} is read-only; editable collections: {names}")
    return c


def feature_id(fid: str, c: Collection) -> int:
    """A feature id from the path; anything but a whole number names no feature (404, as on GET)."""
    if not fid.isdigit() or int(fid) > 2**31 - 1:
        raise NotFound(f"no feature {fid!r} in {c.id}")
    return int(fid)


def check_if_match(header: str | None, fid: int, current: int) -> None:
    """428 without If-Match; 412 unless it names the current version (strong comparison, or `*`)."""
    if header is None or not header.strip():
        raise PreconditionRequired(
            f'changing feature {fid} needs If-Match with the ETag you read, e.g. If-Match: "{fid}-{current}"'
            " (GET the feature for it)"
        )
    tags = [t.strip() for t in header.split(",")]
    if "*" in tags or etag(fid, current) in tags:
        return
    raise PreconditionFailed(
        f"feature {fid} is at version {current} (ETag {etag(fid, current)}), not the one you sent"
        f" ({header.strip()}); GET it again and reapply your change",
        current_version=current,
        etag=etag(fid, current),
    )


@contextmanager
def db_errors(c: Collection) -> Iterator[None]:
    """Database refusals as the client's problem: 403 for a policy, 409 a duplicate, 400 a bad value."""
    try:
        yield
    except DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None) or ""
        message = str(exc.orig).splitlines()[-1]
        if state == "42501":
            raise Forbidden(f"your role may not change {c.id}") from exc
        if state == "23505":  # the server withholds the key's values under row-level security
            raise Conflict(
                f"{c.id}: a feature with the same {_unique_columns(c, exc)} already exists"
            ) from exc
        if state == "23503":
            raise InvalidInput(f"{c.id}: refers to something that does not exist ({message})") from exc
        if state.startswith(("22", "23")):
            raise InvalidInput(f"{c.id}: {message}") from exc
        raise


def _unique_columns(c: Collection, exc: DBAPIError) -> str:
    name = getattr(exc.orig.__cause__ if exc.orig is not None else None, "constraint_name", None)
    for constraint in c.table.constraints:
        if constraint.name == name and isinstance(constraint, UniqueConstraint):
            return ", ".join(col.name for col in constraint.columns)
    return "values"


def bbox_columns(c: Collection) -> list[ColumnElement[Any]]:
    g: ColumnElement[Any] = c.table.c[c.geometry_column]
    if "zone_id" in c.table.c:
        # A risk point colours its zone on the four-colour map: the tiles to drop are the whole zone's.
        zones = collection("risk_zones").table
        # The owning row named literally: in INSERT … RETURNING SQLAlchemy does not correlate a subquery
        # and would join risk_points again (more than one row).
        owner_zone: ColumnElement[Any] = literal_column(f"{c.table.name}.zone_id")
        zone = select(zones.c.geom).where(zones.c.id == owner_zone).scalar_subquery()
        g = func.coalesce(func.ST_Collect(g, zone), g)
    return [func.ST_XMin(g), func.ST_YMin(g), func.ST_XMax(g), func.ST_YMax(g)]


def bbox_of(row: Row[Any], start: int) -> BBox:
    x0, y0, x1, y1 = (float(v) for v in row[start : start + 4])
    return (x0, y0, x1, y1)


async def locked(conn: AsyncConnection, c: Collection, fid: int) -> Row[Any] | None:
    """(version, bbox…) of a visible feature, locked for this transaction; None if not visible."""
    t = c.table
    query = select(t.c.version, *bbox_columns(c)).where(t.c.id == fid).with_for_update()
    return (await conn.execute(query)).first()


async def locked_or_404(conn: AsyncConnection, c: Collection, fid: int) -> Row[Any]:
    row = await locked(conn, c, fid)
    if row is None:
        raise NotFound(f"no feature {fid} in {c.id}")
    return row


def _wkb(geom: BaseGeometry) -> ColumnElement[Any]:
    return func.ST_GeomFromWKB(shapely.to_wkb(geom), 4326)


async def _campus(conn: AsyncConnection, values: dict[str, Any], *, required: bool) -> None:
    """Resolve `campus` (a code) or `campus_id` to a campus the caller sees; its org path is the row's."""
    code = values.pop(validate.CAMPUS_CODE, None)
    cid = values.get("campus_id")
    if cid is None and code is None:
        if required:
            raise InvalidInput("campus_id (or campus, the campus code) is required", property="campus_id")
        return
    query = select(Campus.id).where(Campus.id == cid if cid is not None else Campus.code == code)
    found = (await conn.execute(query)).scalar_one_or_none()
    named = f"campus {cid if cid is not None else code!r}"
    if found is None:
        raise Forbidden(f"{named} is not a campus within your jurisdiction", property="campus_id")
    if code is not None and cid is not None:
        same = (await conn.execute(select(Campus.code).where(Campus.id == cid))).scalar_one()
        if same != code:
            raise InvalidInput(f"campus {code!r} and campus_id {cid} name different campuses")
    values["campus_id"] = found
    # Never from the client: the scope key follows the campus.
    values["org_path"] = select(Campus.org_path).where(Campus.id == found).scalar_subquery()


async def create(conn: AsyncConnection, c: Collection, raw: bytes, crs: CrsSpec) -> Change:
    """Store a new feature; its id is the database's."""
    props, geojson = validate.feature_parts(validate.parse_json(raw))
    values = validate.properties(c, props)
    assert geojson is not None
    geom = validate.geometry(geojson, c, crs)
    await _campus(conn, values, required=True)
    t = c.table
    stmt = (
        insert(t)
        .values(**values, **{c.geometry_column: _wkb(geom)})
        .returning(t.c.id, t.c.version, *bbox_columns(c))
    )
    with db_errors(c):
        row = (await conn.execute(stmt)).one()
    return Change(c.id, row.id, row.version, (bbox_of(row, 2),))


async def replace(
    conn: AsyncConnection, c: Collection, fid: int, if_match: str | None, raw: bytes, crs: CrsSpec
) -> Change:
    """Replace a feature's properties and geometry; what is not sent is cleared (or set to its default)."""
    current = await locked_or_404(conn, c, fid)
    check_if_match(if_match, fid, current.version)
    props, geojson = validate.feature_parts(validate.parse_json(raw))
    values = validate.properties(c, props)
    assert geojson is not None
    geom = validate.geometry(geojson, c, crs)
    await _campus(conn, values, required=False)
    cleared: dict[str, Any] = {
        name: literal_column("DEFAULT") if col.server_default is not None else None
        for name, col in validate.writable(c).items()
        if name not in values and name != "campus_id"
    }
    return await _update(conn, c, fid, current, {**cleared, **values, c.geometry_column: _wkb(geom)})


async def patch(
    conn: AsyncConnection, c: Collection, fid: int, if_match: str | None, raw: bytes, crs: CrsSpec
) -> Change:
    """Apply a JSON merge patch (RFC 7396) to a feature's properties and/or geometry."""
    current = await locked_or_404(conn, c, fid)
    check_if_match(if_match, fid, current.version)
    props, geojson = validate.feature_parts(validate.parse_json(raw), partial=True)
    props = await _merge_json_columns(conn, c, fid, props)
    values = validate.properties(c, props, partial=True)
    await _campus(conn, values, required=False)
    if geojson is not None:
        values[c.geometry_column] = _wkb(validate.geometry(geojson, c, crs))
    if not values:
        raise InvalidInput("the patch changes nothing: send properties and/or a geometry")
    return await _update(conn, c, fid, current, values)


async def _merge_json_columns(
    conn: AsyncConnection, c: Collection, fid: int, props: dict[str, Any]
) -> dict[str, Any]:
    """Objects sent for JSON columns merge into what is stored, as RFC 7396 says they do."""
    names = [
        n
        for n, v in props.items()
        if isinstance(v, dict) and n in c.table.c and isinstance(c.table.c[n].type, JSONB)
    ]
    if not names:
        return props
    stored = (await conn.execute(select(*(c.table.c[n] for n in names)).where(c.table.c.id == fid))).one()
    merged = {n: validate.merge_patch(stored[i], props[n]) for i, n in enumerate(names)}
    return {**props, **merged}


async def _update(
    conn: AsyncConnection, c: Collection, fid: int, current: Row[Any], values: dict[str, Any]
) -> Change:
    t = c.table
    stmt = update(t).where(t.c.id == fid).values(**values).returning(t.c.version, *bbox_columns(c))
    with db_errors(c):
        row = (await conn.execute(stmt)).one()
    return Change(c.id, fid, row.version, (bbox_of(current, 1), bbox_of(row, 1)))


async def remove(conn: AsyncConnection, c: Collection, fid: int, if_match: str | None) -> Change:
    """Delete a feature; its last state stays in its versions, from where it can be restored."""
    current = await locked_or_404(conn, c, fid)
    check_if_match(if_match, fid, current.version)
    with db_errors(c):
        gone = (
            await conn.execute(delete(c.table).where(c.table.c.id == fid).returning(c.table.c.id))
        ).first()
    if gone is None:  # visible but not deletable: the delete policy filtered it out
        raise Forbidden(f"your role may not change {c.id}")
    return Change(c.id, fid, current.version + 1, (bbox_of(current, 1),))


async def read_feature(conn: AsyncConnection, c: Collection, fid: int) -> dict[str, Any]:
    """The feature as stored, as GeoJSON in CRS84 (the answer to a write)."""
    table, g = c.table.name, c.geometry_column
    query = text(
        f"SELECT t.id, ST_AsGeoJSON(t.{g})::json AS geometry,"
        f" to_jsonb(t) - '{{id,{g},org_path}}'::text[] AS properties FROM {table} t WHERE t.id = :fid"
    ).columns(geometry=JSONB, properties=JSONB)
    row = (await conn.execute(query, {"fid": fid})).first()
    if row is None:
        raise NotFound(f"no feature {fid} in {c.id}")
    return {"type": "Feature", "id": row.id, "geometry": row.geometry, "properties": row.properties}


async def finish(conn: AsyncConnection, change: Change) -> None:
    """Commit the request's transaction, then drop the map tiles the change touched."""
    await conn.commit()
    invalidate_tiles(change)


def invalidate_tiles(change: Change) -> None:
    try:
        tiles.invalidate(change.collection, *change.bboxes)
    except Exception:  # the edit is committed; a stale tile is not worth failing the request for
        log.exception("could not invalidate %s tiles after editing feature %s", change.collection, change.fid)
