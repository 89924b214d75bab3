"""The versions of a feature (table `feature_versions`, kept by triggers): list, read one, restore one.

Row-level security scopes the history like the features: a version is visible where its feature was.
A restore writes the old state back through the same policies as any edit, as a new version; for a
deleted feature it re-inserts the row with its old id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.errors import InvalidInput, NotFound
from twin.layers import edits, validate
from twin.layers.registry import Collection
from twin.models import FeatureVersion as V

_LISTED = (V.version, V.operation, V.changed_by, V.changed_at)


def _of(c: Collection, fid: int) -> Any:
    return (V.collection == c.table.name) & (V.feature_id == fid)


async def list_versions(conn: AsyncConnection, c: Collection, fid: int) -> list[dict[str, Any]]:
    """Every version of a feature, oldest first: who made it, when and how."""
    rows = (await conn.execute(select(*_LISTED).where(_of(c, fid)).order_by(V.version))).all()
    listed = [dict(r._mapping) for r in rows]
    current = (
        await conn.execute(select(c.table.c.version, c.table.c.updated_at).where(c.table.c.id == fid))
    ).first()
    if current is not None and current.version not in {r["version"] for r in listed}:
        # A feature history has not met yet (bulk-loaded): its current state is its only known version.
        listed.append(
            {
                "version": current.version,
                "operation": "baseline",
                "changed_by": None,
                "changed_at": current.updated_at,
            }
        )
    if not listed:
        raise NotFound(f"no feature {fid} in {c.id}")
    return listed


async def get_version(conn: AsyncConnection, c: Collection, fid: int, version: int) -> dict[str, Any]:
    """One version as a GeoJSON Feature (CRS84), with `version`, `operation`, `changed_by`, `changed_at`."""
    query = select(*_LISTED, V.properties, func.ST_AsGeoJSON(V.geom).cast(JSONB).label("geometry")).where(
        _of(c, fid), V.version == version
    )
    row = (await conn.execute(query)).first()
    if row is not None:
        meta = {k: row._mapping[k] for k in ("version", "operation", "changed_by", "changed_at")}
        return {"type": "Feature", "id": fid, "geometry": row.geometry, "properties": row.properties, **meta}
    listed = await list_versions(conn, c, fid)
    if listed[-1]["version"] == version and listed[-1]["operation"] == "baseline":
        return {**await edits.read_feature(conn, c, fid), **listed[-1]}
    known = ", ".join(str(r["version"]) for r in listed)
    raise NotFound(f"feature {fid} of {c.id} has no version {version}; its versions: {known}")


async def restore(
    conn: AsyncConnection, c: Collection, fid: int, version: int, if_match: str | None
) -> edits.Change:
    """Make `version` the feature's state again, as a new version (re-inserting a deleted feature)."""
    current = await edits.locked(conn, c, fid)
    if current is not None:
        edits.check_if_match(if_match, fid, current.version)
    else:
        edits.check_if_match(if_match, fid, await _deleted_at(conn, c, fid))
    snapshot = await _snapshot(conn, c, fid, version)
    await _label("restore", conn)
    with edits.db_errors(c):
        if current is not None:
            row = (await conn.execute(_restore_update(c), {"vid": snapshot.id, "fid": fid})).one()
        else:
            params = {"vid": snapshot.id, "fid": fid, "version": await _next(conn, c, fid)}
            row = (await conn.execute(_restore_insert(c), params)).one()
    await _label("", conn)
    before = (edits.bbox_of(current, 1),) if current is not None else ()
    return edits.Change(c.id, fid, row.version, (*before, edits.bbox_of(row, 1)))


async def _deleted_at(conn: AsyncConnection, c: Collection, fid: int) -> int:
    """The version a deleted feature's deletion has (its current version, for If-Match)."""
    last = (
        await conn.execute(
            select(V.version, V.operation).where(_of(c, fid)).order_by(V.version.desc()).limit(1)
        )
    ).first()
    if last is None or last.operation != "delete":
        raise NotFound(f"no feature {fid} in {c.id}")
    return int(last.version)


async def _snapshot(conn: AsyncConnection, c: Collection, fid: int, version: int) -> Row[int, str]:
    row = (await conn.execute(select(V.id, V.operation).where(_of(c, fid), V.version == version))).first()
    if row is None:
        raise NotFound(f"feature {fid} of {c.id} has no stored version {version}; GET its versions")
    if row.operation == "delete":
        raise InvalidInput(
            f"version {version} of feature {fid} records its deletion; restore version {version - 1} instead"
        )
    return row


async def _next(conn: AsyncConnection, c: Collection, fid: int) -> int:
    return int((await conn.execute(select(func.max(V.version)).where(_of(c, fid)))).scalar_one()) + 1


async def _label(operation: str, conn: AsyncConnection) -> None:
    """Name the operation the version trigger records (transaction-local; '' means the statement's own)."""
    await conn.execute(text("SELECT set_config('twin.operation', :op, true)"), {"op": operation})


def _restored_columns(c: Collection) -> list[str]:
    """Columns a restore writes back: what the client may set, and when the feature was first made."""
    return [*validate.writable(c), "created_at"]


def _bbox_sql(g: str) -> str:
    return f"ST_XMin({g}), ST_YMin({g}), ST_XMax({g}), ST_YMax({g})"


def _restored(c: Collection) -> tuple[str, str, str]:
    """(column list, the same columns picked from the stored version, geometry column) of a restore."""
    names = _restored_columns(c)
    return ", ".join(f'"{n}"' for n in names), ", ".join(f'r."{n}"' for n in names), c.geometry_column


def _restore_update(c: Collection) -> Any:
    cols, picked, g = _restored(c)
    return text(
        f"UPDATE {c.table.name} t SET ({cols}, org_path, {g}) ="
        f" (SELECT {picked}, v.org_path, v.geom FROM feature_versions v,"
        f" jsonb_populate_record(NULL::{c.table.name}, v.properties) r WHERE v.id = :vid)"
        f" WHERE t.id = :fid RETURNING t.version, {_bbox_sql('t.' + g)}"
    )


def _restore_insert(c: Collection) -> Any:
    cols, picked, g = _restored(c)
    return text(
        f"INSERT INTO {c.table.name} AS t (id, version, {cols}, org_path, {g})"
        f" SELECT :fid, :version, {picked}, v.org_path, v.geom FROM feature_versions v,"
        f" jsonb_populate_record(NULL::{c.table.name}, v.properties) r WHERE v.id = :vid"
        f" RETURNING t.version, {_bbox_sql('t.' + g)}"
    )
