"""Which database objects belong to our schema, for Alembic's comparisons."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import alembic_helpers


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # PostGIS owns tables of its own (spatial_ref_sys…); monthly partitions are made by a function.
    if type_ == "table" and reflected and compare_to is None:
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))
