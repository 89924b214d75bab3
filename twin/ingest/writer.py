"""Write validated layers in one transaction, resolving code references to ids as it goes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import Connection, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

from twin.crs import metric_srid_for
from twin.errors import ImportRejected
from twin.ingest.spec import UTILITY_SCOPED, LayerSpec
from twin.models import Base, Campus, OrgUnit, Person
from twin.models.org import ORG_LEVELS

Row = dict[str, Any]
Progress = Callable[[str, int, int], None]
STORAGE_SRID = 4326


@dataclass
class CodeIndex:
    """code (or (utility, code)) -> id per table for one campus: this delivery's rows, then stored ones."""

    conn: Connection
    campus_id: int
    org_path: str
    ids: dict[str, dict[Any, int]] = field(default_factory=dict)

    def add(self, table: str, key: Any, id_: int) -> None:
        self.ids.setdefault(table, {})[key] = id_

    def get(self, table: str, key: Any) -> int | None:
        found = self.ids.get(table, {}).get(key)
        return found if found is not None else self._stored(table, key)

    def _stored(self, table_name: str, key: Any) -> int | None:
        table = Base.metadata.tables[table_name]
        query = select(table.c.id)
        if table_name in UTILITY_SCOPED:
            query = query.where(table.c.utility == key[0], table.c.code == key[1])
        else:
            query = query.where(table.c.code == key)
        if "campus_id" in table.c:
            query = query.where(table.c.campus_id == self.campus_id)
        else:
            query = query.where(table.c.org_path == self.org_path)
        found = self.conn.execute(query.limit(1)).scalar_one_or_none()
        return int(found) if found is not None else None


def write_org_units(conn: Connection, rows: list[Row]) -> None:
    """Insert org units parent-first; units already stored are kept as they are."""
    for row in sorted(rows, key=lambda r: ORG_LEVELS.index(r["level"])):
        if conn.execute(select(OrgUnit.id).where(OrgUnit.code == row["code"])).first():
            continue
        parent_code = row.get("parent_code")
        parent = None
        if parent_code:
            parent = conn.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.code == parent_code)).first()
            if parent is None:
                raise ImportRejected(
                    f"parent {parent_code!r} is neither stored nor in the file",
                    layer="org_units",
                    feature=row["code"],
                    field="parent_code",
                )
        elif row["level"] != "province":
            raise ImportRejected(
                f"a {row['level']} needs a parent_code", layer="org_units", feature=row["code"]
            )
        path = f"{parent.path}.{row['code']}" if parent else row["code"]
        values = {k: v for k, v in row.items() if k not in {"parent_code", "geom"}}
        geom = row.get("geom")
        conn.execute(
            insert(OrgUnit).values(
                **values,
                path=path,
                parent_id=parent.id if parent else None,
                boundary=_wkb(geom) if geom is not None else None,
            )
        )


def write_campuses(conn: Connection, rows: list[Row], *, replace: bool) -> None:
    for row in rows:
        school = conn.execute(
            select(OrgUnit.id, OrgUnit.path).where(
                OrgUnit.code == row["school_code"], OrgUnit.level == "school"
            )
        ).first()
        if school is None:
            raise ImportRejected(
                f"school {row['school_code']!r} is not a stored or imported school",
                layer="campuses",
                feature=row["code"],
                field="school_code",
            )
        existing = conn.execute(select(Campus.id).where(Campus.code == row["code"])).scalar_one_or_none()
        if existing is not None:
            if not replace:
                raise ImportRejected(
                    f"campus {row['code']!r} is already stored; use --replace to reload it",
                    layer="campuses",
                    feature=row["code"],
                )
            conn.execute(delete(Campus).where(Campus.id == existing))
        centre = row["geom"].centroid
        srid = row.get("metric_srid") or metric_srid_for(centre.x, centre.y)
        conn.execute(
            insert(Campus).values(
                code=row["code"],
                name=row["name"],
                address=row.get("address"),
                school_id=school.id,
                org_path=school.path,
                metric_srid=srid,
                boundary=_wkb(row["geom"]),
            )
        )


def campus_target(conn: Connection, code: str) -> tuple[int, str]:
    found = conn.execute(select(Campus.id, Campus.org_path).where(Campus.code == code)).first()
    if found is None:
        raise ImportRejected(f"campus {code!r} is not stored; load its campuses layer first or name another")
    return found.id, found.org_path


def write_layer(
    conn: Connection,
    spec: LayerSpec,
    rows: list[Row],
    *,
    index: CodeIndex,
    progress: Progress | None = None,
    chunk: int = 1000,
) -> None:
    """Insert one per-campus layer, resolving its references through `index`."""
    table: Table = Base.metadata.tables[spec.table]
    if spec.table == "people":
        _drop_people_reloaded(conn, [r["code"] for r in rows])
    prepared = [_prepare(spec, table, row, i, index) for i, row in enumerate(rows)]
    key_col = table.c.get("code")
    for start in range(0, len(prepared), chunk):
        part = prepared[start : start + chunk]
        try:
            if key_col is None:
                conn.execute(insert(table), part)
            else:
                returned = (
                    conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), part)
                    .scalars()
                    .all()
                )
                for row, id_ in zip(part, returned, strict=True):
                    index.add(spec.table, _key(spec.table, row), id_)
        except IntegrityError as exc:
            raise ImportRejected(integrity_message(exc), layer=spec.table) from exc
        if progress:
            progress(spec.table, min(start + chunk, len(prepared)), len(prepared))


def _prepare(spec: LayerSpec, table: Table, row: Row, i: int, index: CodeIndex) -> Row:
    # Every row carries every column (its default when absent): a multi-row insert needs one shape.
    defaults = column_defaults(table)
    out: Row = {column: defaults.get(column) for column in spec.columns if column not in spec.refs}
    out.update({id_column: None for _, id_column in spec.refs.values()})
    out["org_path"] = index.org_path
    if "campus_id" in table.c:
        out["campus_id"] = index.campus_id
    if spec.geometry:
        out["geom"] = None
    for column, value in row.items():
        if column in spec.refs:
            target, id_column = spec.refs[column]
            key = (row["utility"], value) if target in UTILITY_SCOPED else value
            ref = index.get(target, key)
            if ref is None:
                raise ImportRejected(
                    f"refers to {target} {value!r}, which is neither in the delivery nor stored",
                    layer=spec.table,
                    feature=i + 1,
                    field=column,
                )
            out[id_column] = ref
        elif column == "geom":
            out["geom"] = _wkb(value)
        else:
            out[column] = value
    return out


@cache
def column_defaults(table: Table) -> dict[str, Any]:
    """Python values of the columns' simple server defaults ('open', 'true', '1'…)."""
    out: dict[str, Any] = {}
    for column in table.c:
        arg = getattr(column.server_default, "arg", None)
        if not isinstance(arg, str):
            continue
        out[column.name] = {"true": True, "false": False}.get(arg, int(arg) if arg.isdigit() else arg)
    return out


def _key(table: str, row: Row) -> Any:
    return (row["utility"], row["code"]) if table in UTILITY_SCOPED else row["code"]


def _drop_people_reloaded(conn: Connection, codes: list[str]) -> None:
    """People belong to a school, not a campus: a campus reload replaces those it lists."""
    if codes:
        conn.execute(delete(Person).where(Person.code.in_(codes)))


def _wkb(geom: shapely.Geometry) -> Any:
    return from_shape(geom, srid=STORAGE_SRID)


def integrity_message(exc: IntegrityError) -> str:
    diag = getattr(exc.orig, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(exc.orig).splitlines()[0]
    detail = getattr(diag, "message_detail", None)
    return f"conflicts with stored data: {primary}" + (f" ({detail})" if detail else "")
