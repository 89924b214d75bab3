"""`twin load`: import a delivery (GeoPackage, Shapefile, GeoJSON, EPANET .inp, DEM) in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from twin.config import PathSettings
from twin.errors import ImportRejected
from twin.ingest.raster import register_dem
from twin.ingest.reader import read_layers
from twin.ingest.spec import BY_NAME, LAYERS
from twin.ingest.validate import Row, clean_rows
from twin.ingest.writer import (
    CodeIndex,
    Progress,
    campus_target,
    integrity_message,
    write_campuses,
    write_layer,
    write_org_units,
)

__all__ = ["ImportReport", "import_into", "load_path", "validated_layers"]


@dataclass
class ImportReport:
    """What an import stored: rows per table."""

    campus: str | None
    counts: dict[str, int] = field(default_factory=dict)


def load_path(
    engine: Engine,
    path: Path,
    *,
    campus: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    replace: bool = False,
    paths: PathSettings | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import everything at `path`; on any problem nothing is stored and ImportRejected says what."""
    if path.suffix.lower() in {".tif", ".tiff"}:
        if not campus:
            raise ImportRejected("a DEM needs --campus CODE to know which campus it covers")
        with engine.begin() as conn:
            register_dem(conn, path, campus, paths or PathSettings())
        return ImportReport(campus=campus, counts={"campus_rasters": 1})
    if path.suffix.lower() == ".inp":
        if not campus:
            raise ImportRejected("an EPANET model needs --campus CODE to know which campus it belongs to")
        layers = epanet_layers(path, crs)
    else:
        layers = validated_layers(path, crs, encoding)
    try:
        with engine.begin() as conn:
            return import_into(conn, layers, campus=campus, replace=replace, progress=progress)
    except IntegrityError as exc:
        # The layer-aware writer explains most conflicts; this catches the rest (org tree, campuses).
        raise ImportRejected(integrity_message(exc)) from exc


def import_into(
    conn: Connection,
    layers: dict[str, list[Row]],
    *,
    campus: str | None = None,
    replace: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Write validated layers through `conn`; the caller owns the transaction."""
    report = ImportReport(campus=None, counts={name: len(rows) for name, rows in layers.items()})
    write_org_units(conn, layers.get("org_units", []))
    write_campuses(conn, layers.get("campuses", []), replace=replace)
    per_campus = [spec for spec in LAYERS if spec.per_campus and spec.table in layers]
    if per_campus:
        report.campus = _target_campus(campus, layers.get("campuses", []))
        campus_id, org_path = campus_target(conn, report.campus)
        index = CodeIndex(conn, campus_id, org_path)
        for spec in per_campus:
            write_layer(conn, spec, layers[spec.table], index=index, progress=progress)
    return report


def validated_layers(path: Path, crs: str | None, encoding: str | None) -> dict[str, list[Row]]:
    """Read and check every layer before anything is written."""
    from twin.pipes.survey import survey_layers

    layers: dict[str, list[Row]] = {}
    raws = read_layers(path, encoding=encoding)
    for raw in survey_layers(raws) or raws:
        spec = BY_NAME.get(raw.name)
        if spec is None:
            raise ImportRejected(f"unknown layer; known layers: {', '.join(BY_NAME)}", layer=raw.name)
        layers[raw.name] = clean_rows(raw, spec, crs)
    if not layers:
        raise ImportRejected(f"{path.name} holds no layers")
    return layers


def epanet_layers(path: Path, crs: str | None) -> dict[str, list[Row]]:
    """The water network of an EPANET .inp as checked layers (twin.pipes.epanet reads it with WNTR)."""
    from twin.pipes.epanet import inp_layers

    return {raw.name: clean_rows(raw, BY_NAME[raw.name], crs) for raw in inp_layers(path, crs)}


def _target_campus(named: str | None, campuses: list[Row]) -> str:
    if named:
        return named
    if len(campuses) == 1:
        return str(campuses[0]["code"])
    raise ImportRejected(
        f"name the campus these layers belong to with --campus CODE (the file has {len(campuses)} campuses)"
    )
