"""The province built with COPY: ids reserved up front, references resolved in Python, rows streamed.

`load_province` (twin.samples.loading) inserts campus by campus through the import path: many round
trips and huge multi-VALUES statements (0.33 s per school). Here a chunk of schools becomes one COPY per
table: every row still goes through the same validation (`clean_rows`) and the same preparation as an
import (`_prepare`: defaults, code references to ids), but ids come from a block of the table's
sequence reserved in one query, so nothing waits for RETURNING. Geometries go as EWKB hex.

Triggers are off for the load (`session_replication_role = replica`: no audit, versions, tile
notifications, roll-up increments, foreign-key checks — the ids are ours and consistent); what they would
have computed is computed once at the end, set-based: effective risk levels (static, raised for dynamic
points by open hazards and active alerts), the roll-up (`twin_rollup_rebuild()`) and the statistics'
summaries (`twin_stats_rebuild()`).
The next chunk is generated and validated in a worker thread while this one's COPY runs, so Python and
the database work at the same time. Memory stays bounded by two chunks: only code -> (id, path) of org
units is kept across chunks. `phases` times each step (docs/scale.md: where a load's time goes).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg.types.json import Jsonb
from shapely.geometry import MultiPolygon
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import JSONB

from twin.errors import ImportRejected
from twin.ingest.spec import LayerSpec
from twin.ingest.writer import _key, _prepare
from twin.models import Base
from twin.samples.activities import seed_activities_sql
from twin.samples.province import PER_CAMPUS, PERSON_COLUMNS, ProvinceChunk, province_chunks

Progress = Callable[[int], None]
Layers = dict[str, list[tuple[str, dict[str, Any]]]]
ORG_COLUMNS = ("id", "code", "name", "level", "parent_id", "path", "enrolment", "boundary")
CAMPUS_COLUMNS = ("id", "org_path", "school_id", "code", "name", "address", "metric_srid", "boundary")


class MemoryIndex:
    """A campus's code -> id per table, all from this load (a new campus refers to nothing stored)."""

    def __init__(self, campus_id: int, org_path: str) -> None:
        self.campus_id, self.org_path = campus_id, org_path
        self.ids: dict[str, dict[Any, int]] = {}

    def add(self, table: str, key: Any, id_: int) -> None:
        self.ids.setdefault(table, {})[key] = id_

    def get(self, table: str, key: Any) -> int | None:
        return self.ids.get(table, {}).get(key)


def _varying(table: str) -> tuple[str, ...]:
    """Columns the province generator changes from school to school (besides the geometry)."""
    extra = {"sensors": ("device_id",), "vehicles": ("plate", "device_id")}.get(table, ())
    return (*PERSON_COLUMNS.get(table, ()), *extra, "base_elev_m", "ground_elev_m")


def _present(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _ewkb(geom: shapely.Geometry | None) -> str | None:
    if geom is None:
        return None
    return str(shapely.to_wkb(shapely.set_srid(geom, 4326), hex=True, include_srid=True))


def _ewkb_all(geoms: list[shapely.Geometry | None]) -> list[str | None]:
    """EWKB hex of many geometries (None stays None), in one call."""
    arr = shapely.set_srid(np.array(geoms, dtype=object), 4326)
    return list(shapely.to_wkb(arr, hex=True, include_srid=True))


def _ids(cur: psycopg.Cursor[Any], table: str, n: int) -> Iterator[int]:
    """`n` ids from the table's sequence in one round trip."""
    if n == 0:
        return iter(())
    rows = cur.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table, n)
    ).fetchall()
    return iter(int(r[0]) for r in rows)


def _copy(
    cur: psycopg.Cursor[Any], table: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]
) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class CopyLoader:
    """Loads province chunks through one psycopg connection (the schema owner's)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        # Seconds per phase over the load: "python:<table>" (validation, preparation) and "copy:<table>"
        # (rows already built, so it is the database's time and the wire) — where a load's time goes.
        self.phases: dict[str, float] = defaultdict(float)
        self.orgs: dict[str, tuple[int, str]] = {
            code: (id_, path)
            for id_, code, path in conn.execute("SELECT id, code, path::text FROM org_units").fetchall()
        }

    def validated(self, chunk: ProvinceChunk, phases: dict[str, float]) -> Layers:
        """The chunk's rows of every layer, validated: pure Python, no database (a worker thread's job)."""
        layers = {}
        for spec in PER_CAMPUS:
            if spec.table in chunk.layers:
                t0 = time.perf_counter()
                layers[spec.table] = self._cleaned(spec, chunk)
                phases[f"validate:{spec.table}"] += time.perf_counter() - t0
        return layers

    def load_chunk(self, chunk: ProvinceChunk, layers: Layers | None = None) -> None:
        t_all = time.perf_counter()
        if layers is None:
            layers = self.validated(chunk, self.phases)
        self._load_chunk(chunk, layers)
        self.phases["chunk"] += time.perf_counter() - t_all

    def _load_chunk(self, chunk: ProvinceChunk, layers: Layers) -> None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute("SET LOCAL twin.bulk = 'on'")
            campuses = self._org_units_and_campuses(cur, chunk)
            indexes = {code: MemoryIndex(cid, path) for code, (cid, path) in campuses.items()}
            for spec in PER_CAMPUS:
                if spec.table in layers:
                    self._layer(cur, spec, layers[spec.table], indexes)

    def _org_units_and_campuses(
        self, cur: psycopg.Cursor[Any], chunk: ProvinceChunk
    ) -> dict[str, tuple[int, str]]:
        from twin.samples.loading import _clean

        new = chunk.org_units[~chunk.org_units["code"].isin(list(self.orgs))].reset_index(drop=True)
        ids = _ids(cur, "org_units", len(new))
        rows = []
        for unit in _clean("org_units", new) if len(new) else []:
            parent = self.orgs.get(unit.get("parent_code") or "")
            if unit["level"] != "province" and parent is None:
                raise ImportRejected(
                    f"parent {unit.get('parent_code')!r} is unknown", layer="org_units", feature=unit["code"]
                )
            id_ = next(ids)
            path = f"{parent[1]}.{unit['code']}" if parent else str(unit["code"])
            self.orgs[str(unit["code"])] = (id_, path)
            parent_id = parent[0] if parent else None
            values = (unit["code"], unit["name"], unit["level"], parent_id, path, unit.get("enrolment"))
            rows.append((id_, *values, _ewkb(unit.get("geom"))))
        _copy(cur, "org_units", ORG_COLUMNS, rows)
        ids = _ids(cur, "campuses", len(chunk.campuses))
        campuses: dict[str, tuple[int, str]] = {}
        rows = []
        for campus in chunk.campuses.itertuples(index=False):
            school_id, path = self.orgs[str(campus.school_code)]
            id_ = next(ids)
            campuses[str(campus.code)] = (id_, path)
            rows.append(
                (
                    id_,
                    path,
                    school_id,
                    campus.code,
                    campus.name,
                    campus.address,
                    int(campus.metric_srid),
                    _ewkb(campus.geometry),
                )
            )
        _copy(cur, "campuses", CAMPUS_COLUMNS, rows)
        return campuses

    def _cleaned(self, spec: LayerSpec, chunk: ProvinceChunk) -> list[tuple[str, dict[str, Any]]]:
        """(campus code, validated row) for the chunk's rows of one layer, in order.

        The chunk's rows are one template school's, repeated site after site with only codes, heights
        and places changed (twin.samples.province). The first school's rows go through the full
        validation; the others copy its typed values and take their own varying columns and geometries,
        which are checked vectorised (valid, not empty). Anything unexpected falls back to validating
        every row.
        """
        from twin.samples.loading import _clean

        frame = chunk.layers[spec.table]
        owners = [str(c) for c in frame["campus_code"]]
        m = owners.count(owners[0]) if owners else 0
        fast = m > 0 and len(owners) % m == 0 and owners[::m] == list(dict.fromkeys(owners))
        if not fast:
            return list(zip(owners, _clean(spec.table, frame.drop(columns="campus_code")), strict=True))
        base = _clean(spec.table, frame.iloc[:m].drop(columns="campus_code").reset_index(drop=True))
        geoms = self._checked_geometries(spec, frame)
        if spec.geometry and geoms is None:
            return list(zip(owners, _clean(spec.table, frame.drop(columns="campus_code")), strict=True))
        varying = [c for c in _varying(spec.table) if c in frame.columns]
        values = {c: frame[c].to_numpy(dtype=object) for c in varying}
        rows = []
        for i in range(len(frame)):
            template = base[i % m]
            row = dict(template)
            for c in varying:
                if c in template:
                    row[c] = _present(values[c][i])
            if geoms is not None and "geom" in template:
                geom = geoms[i]
                if template["geom"].geom_type == "MultiPolygon" and geom.geom_type == "Polygon":
                    geom = MultiPolygon([geom])
                row["geom"] = geom
            rows.append(row)
        return list(zip(owners, rows, strict=True))

    @staticmethod
    def _checked_geometries(spec: LayerSpec, frame: Any) -> Any:
        """The layer's geometries in 2D if every one is valid and not empty (else None: validate slowly)."""
        if not spec.geometry or frame.geometry.name not in frame.columns:
            return None
        geoms = shapely.force_2d(frame.geometry.to_numpy())
        present = ~shapely.is_missing(geoms)
        if spec.geometry_optional:
            geoms = np.where(present & ~shapely.is_empty(geoms), geoms, None)
            present = ~shapely.is_missing(geoms)
        elif not present.all():
            return None
        ok = shapely.is_valid(geoms[present]) & ~shapely.is_empty(geoms[present])
        return geoms if ok.all() else None

    def _layer(
        self,
        cur: psycopg.Cursor[Any],
        spec: LayerSpec,
        rows: list[tuple[str, dict[str, Any]]],
        indexes: dict[str, MemoryIndex],
    ) -> None:
        t_prep = time.perf_counter()
        table: Table = Base.metadata.tables[spec.table]
        has_id = "id" in table.c and table.c["id"].identity is None
        ids = _ids(cur, spec.table, len(rows)) if has_id else iter(())
        keyed = "code" in table.c
        prepared: list[dict[str, Any]] = []
        # EWKB of the whole layer in one vectorised call; _prepare gets the rows without geometry (it
        # would serialise each one again for the import path's INSERT).
        ewkb = _ewkb_all([row.get("geom") for _, row in rows]) if spec.geometry else None
        for i, (campus, row) in enumerate(rows):
            index = indexes[campus]
            bare = {k: v for k, v in row.items() if k != "geom"}
            out = _prepare(spec, table, bare, i, index)  # type: ignore[arg-type]
            if ewkb is not None:
                out["geom"] = ewkb[i]
            if has_id:
                out["id"] = next(ids)
                if keyed:
                    index.add(spec.table, _key(spec.table, row), out["id"])
            prepared.append(out)
        if not prepared:
            return
        columns = tuple(prepared[0])
        json_columns = {c for c in columns if c in table.c and isinstance(table.c[c].type, JSONB)}
        rows_out = [
            tuple(Jsonb(r[c]) if c in json_columns and r[c] is not None else r[c] for c in columns)
            for r in prepared
        ]
        t0 = time.perf_counter()
        self.phases[f"python:{spec.table}"] += t0 - t_prep
        _copy(cur, spec.table, columns, rows_out)
        self.phases[f"copy:{spec.table}"] += time.perf_counter() - t0


FINISH = """
UPDATE risk_points p
   SET likelihood_steps = s.steps,
       effective_level = least(p.level, coalesce(
           CASE WHEN s.steps > 0 THEN twin_risk_grade(p.method, p.inputs, s.steps, s.scale) END, p.level))
  FROM (SELECT r.id, sc.scale,
               CASE WHEN r.dynamic AND r.level IS NOT NULL
                    THEN twin_risk_steps(r.id, sc.scale -> 'dynamic') ELSE 0 END AS steps
          FROM risk_points r, LATERAL (SELECT twin_risk_scale(r.org_path) AS scale) sc
         WHERE r.effective_level IS NULL AND r.level IS NOT NULL) s
 WHERE p.id = s.id
"""


def finish(conn: psycopg.Connection[Any]) -> None:
    """What the triggers would have done, once for the whole load: levels in force, drills, roll-up."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SET LOCAL twin.bulk = 'on'")
        cur.execute(FINISH)
        for table in ("drills", "education_sessions"):
            cur.execute(f"ANALYZE {table}")  # see twin.samples.activities.analyze
        for (root,) in cur.execute("SELECT path::text FROM org_units WHERE parent_id IS NULL").fetchall():
            for statement in seed_activities_sql():
                cur.execute(statement.replace("%", "%%").replace(":under", "%(under)s"), {"under": root})
        cur.execute("SELECT twin_rollup_rebuild()")
        cur.execute("SELECT twin_stats_rebuild()")  # the statistics' summaries (twin.db.summaries)
    conn.execute("ANALYZE")


def _validated_chunks(
    loader: CopyLoader, n_schools: int, seed: int, chunk_size: int, phases: dict[str, float]
) -> Iterator[tuple[ProvinceChunk, Layers]]:
    """Chunks generated and validated in a worker thread, one ahead of the loader.

    While the database takes one chunk's COPY (psycopg waits without the GIL) the next is generated
    and validated: the Python half and the database half of a load overlap on two cores.
    """
    done = object()
    ready: queue.Queue[Any] = queue.Queue(maxsize=1)  # one chunk ahead: memory stays bounded

    def produce() -> None:
        try:
            chunks = province_chunks(n_schools, seed, chunk_size=chunk_size)
            while True:
                t0 = time.perf_counter()
                chunk = next(chunks, None)
                phases["generate"] += time.perf_counter() - t0
                if chunk is None:
                    break
                ready.put((chunk, loader.validated(chunk, phases)))
            ready.put(done)
        except BaseException as exc:  # handed to the loading thread, which raises it
            ready.put(exc)

    worker = threading.Thread(target=produce, name="province-chunks", daemon=True)
    worker.start()
    while (item := ready.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item
    worker.join()


def load_province_copy(
    dsn: str,
    n_schools: int,
    *,
    seed: int,
    chunk_size: int = 100,
    progress: Progress | None = None,
    phases: dict[str, float] | None = None,
) -> int:
    """Build `n_schools` schools with COPY, a chunk per transaction; returns schools stored.

    `phases`, if given, receives the seconds spent per phase (generate, validate:<table> in the worker
    thread; python:<table>, copy:<table>, chunk in the loading one; finish) for the load's report.
    """
    done = 0
    worker_phases: dict[str, float] = defaultdict(float)
    with psycopg.connect(dsn, autocommit=True) as conn:
        loader = CopyLoader(conn)
        for chunk, layers in _validated_chunks(loader, n_schools, seed, chunk_size, worker_phases):
            loader.load_chunk(chunk, layers)
            done += len(chunk.campuses)
            if progress:
                progress(done)
        t0 = time.perf_counter()
        finish(conn)
        loader.phases["finish"] += time.perf_counter() - t0
    if phases is not None:
        phases.update(loader.phases)
        phases.update(worker_phases)
    return done
