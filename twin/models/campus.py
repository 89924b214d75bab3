"""Campuses, their buildings and grounds (roads, sports fields, gates, assembly points)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from twin.models.base import Base, LTree, Versioned, geometry, school_owned

BUILDING_USES = (
    "teaching",
    "dormitory",
    "canteen",
    "laboratory",
    "gym",
    "library",
    "admin",
    "boiler",
    "auditorium",
    "clinic",
    "guardhouse",
    "utility",
    "other",
)
GROUND_KINDS = ("road", "walkway", "sports_field", "green", "gate", "assembly_point", "parking", "water")


class Campus(Versioned, Base):
    """One site of a school, with the projected CRS used for its metric work."""

    __tablename__ = "campuses"
    __table_args__ = school_owned(
        "campuses",
        CheckConstraint("metric_srid BETWEEN 2000 AND 900913", name="metric_srid_plausible"),
        geoms=("boundary",),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    metric_srid: Mapped[int]
    boundary: Mapped[Any] = geometry("MULTIPOLYGON")


class Building(Versioned, Base):
    """A building: footprint extruded from its base elevation by its height."""

    __tablename__ = "buildings"
    __table_args__ = school_owned(
        "buildings",
        UniqueConstraint("campus_id", "code"),
        CheckConstraint(f"use IN {BUILDING_USES}", name="use_known"),
        CheckConstraint("height_m > 0 AND height_m < 1000", name="height_plausible"),
        CheckConstraint("floors >= 1 AND floors < 200", name="floors_plausible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    use: Mapped[str] = mapped_column(String(32))
    floors: Mapped[int]
    height_m: Mapped[float]
    base_elev_m: Mapped[float]
    year_built: Mapped[int | None]
    occupancy: Mapped[int | None]
    geom: Mapped[Any] = geometry("POLYGON")


class Ground(Versioned, Base):
    """Open-air features: roads and walkways (the evacuation network), fields, gates, assembly points."""

    __tablename__ = "grounds"
    __table_args__ = school_owned(
        "grounds",
        CheckConstraint(f"kind IN {GROUND_KINDS}", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    geom: Mapped[Any] = geometry("GEOMETRY")


class CampusRaster(Base):
    """A raster registered for a campus (the DEM the excavation and terrain use), kept as a file."""

    __tablename__ = "campus_rasters"
    __table_args__ = school_owned("campus_rasters", UniqueConstraint("campus_id", "kind"), geoms=("extent",))

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(500))
    srid: Mapped[int]
    resolution_m: Mapped[float]
    extent: Mapped[Any] = geometry("POLYGON")
