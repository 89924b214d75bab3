"""One table's rows to a (Geo)Parquet file, streamed in chunks: a retired month never sits in memory whole.

Geometry columns are written as WKB with GeoParquet 1.0 metadata and no `crs` (GeoParquet's default,
OGC:CRS84: the lon/lat order of the stored EPSG:4326 points), so `geopandas.read_parquet` and DuckDB read
them as geometries; a table without geometry is plain Parquet.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, text

CHUNK_ROWS = 50_000

# PostgreSQL type -> (select expression, Arrow type); anything else is read as text.
_TYPES: dict[str, tuple[str, pa.DataType]] = {
    "int2": ("{c}", pa.int16()),
    "int4": ("{c}", pa.int32()),
    "int8": ("{c}", pa.int64()),
    "float4": ("{c}", pa.float32()),
    "float8": ("{c}", pa.float64()),
    "bool": ("{c}", pa.bool_()),
    "timestamptz": ("{c}", pa.timestamp("us", tz="UTC")),
    "geometry": ("ST_AsBinary({c})", pa.binary()),
}
_TEXT = ("{c}::text", pa.string())
_GEOPARQUET_TYPES = {
    t.upper(): t for t in ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")
}

_COLUMNS = text("""
SELECT a.attname AS name, t.typname AS type FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
 WHERE a.attrelid = CAST(:table AS regclass) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
""")
_GEOMETRY_TYPES = text("""
SELECT type FROM geometry_columns WHERE f_table_schema = 'public' AND f_table_name = :table
   AND f_geometry_column = :column
""")


def dump_table(conn: Connection, table: str, path: Path, *, geometry_of: str | None = None) -> int:
    """Write every row of `table` to `path` (replaced if there); the number of rows written.

    `geometry_of` names the table whose `geometry_columns` entry says the geometry type (a partition's
    parent: its own entry may be missing when it was made by ATTACH).
    """
    columns = [(r.name, r.type) for r in conn.execute(_COLUMNS, {"table": table})]
    schema = pa.schema([(name, _TYPES.get(kind, _TEXT)[1]) for name, kind in columns])
    geoms = [name for name, kind in columns if kind == "geometry"]
    if geoms:
        schema = schema.with_metadata({b"geo": _geo_metadata(conn, geometry_of or table, geoms)})
    select = ", ".join(f"{_TYPES.get(kind, _TEXT)[0].format(c=_quote(name))} AS {_quote(name)}"
                       for name, kind in columns)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # a failed dump never leaves a file that looks whole
    written = 0
    with pq.ParquetWriter(partial, schema) as writer:
        result = conn.execute(  # a server-side cursor, this statement only
            text(f"SELECT {select} FROM {_quote(table)}"),
            execution_options={"stream_results": True, "yield_per": CHUNK_ROWS},
        )
        for chunk in result.partitions():
            batch = pa.RecordBatch.from_pylist([dict(r._mapping) for r in chunk], schema=schema)
            writer.write_batch(batch)
            written += batch.num_rows
    partial.replace(path)
    return written


def _geo_metadata(conn: Connection, table: str, geoms: list[str]) -> bytes:
    described = {}
    for column in geoms:
        kind = conn.execute(_GEOMETRY_TYPES, {"table": table, "column": column}).scalar_one_or_none()
        named = _GEOPARQUET_TYPES.get(str(kind).upper())  # GEOMETRY (any type): an empty list
        described[column] = {"encoding": "WKB", "geometry_types": [named] if named else []}
    return json.dumps({"version": "1.0.0", "primary_column": geoms[0], "columns": described}).encode()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
