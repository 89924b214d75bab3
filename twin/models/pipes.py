"""Underground networks of six utilities: nodes, segments, isolation devices, service connections."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from twin.models.base import Base, LTree, Timestamps, Versioned, geometry, school_owned

# Chinese survey codes in the docstring of each: 给水 JS, 排水 PS, 燃气 RQ, 电力 DL, 通信 TX, 热力 RL.
UTILITIES = ("water", "drainage", "gas", "power", "telecom", "heat")
NODE_KINDS = (
    "junction",
    "valve",
    "hydrant",
    "manhole",
    "meter",
    "tee",
    "source",
    "tank",
    "plant",
    "transformer",
    "switch",
    "regulator",
    "inspection_well",
    "outlet",
    "end",
)
DEPTH_REFS = ("top", "invert")
LINK_STATUS = ("open", "closed")
DEVICE_KINDS = (
    "gate_valve",
    "butterfly_valve",
    "ball_valve",
    "gas_valve",
    "squeeze_off",
    "switch",
    "breaker",
    "disconnector",
)
POSITIONS = ("open", "closed")

_utility_known = CheckConstraint(f"utility IN {UTILITIES}", name="utility_known")


class PipeNode(Versioned, Base):
    """A surveyed point of a network (管点): junction, valve chamber, manhole, source…"""

    __tablename__ = "pipe_nodes"
    __table_args__ = school_owned(
        "pipe_nodes",
        UniqueConstraint("campus_id", "utility", "code"),
        _utility_known,
        CheckConstraint(f"kind IN {NODE_KINDS}", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    utility: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    ground_elev_m: Mapped[float | None]
    well_depth_m: Mapped[float | None]
    owner: Mapped[str | None] = mapped_column(String(100))
    geom: Mapped[Any] = geometry("POINT")


class PipeSegment(Versioned, Base):
    """A pipe or cable run between two nodes (管线段); depths are to the top or to the invert."""

    __tablename__ = "pipe_segments"
    __table_args__ = school_owned(
        "pipe_segments",
        UniqueConstraint("campus_id", "utility", "code"),
        _utility_known,
        CheckConstraint(f"depth_ref IN {DEPTH_REFS}", name="depth_ref_known"),
        CheckConstraint(f"status IN {LINK_STATUS}", name="status_known"),
        CheckConstraint("diameter_mm > 0 AND diameter_mm <= 5000", name="diameter_plausible"),
        CheckConstraint(
            "start_depth_m IS NULL OR start_depth_m BETWEEN 0 AND 50", name="start_depth_plausible"
        ),
        CheckConstraint("end_depth_m IS NULL OR end_depth_m BETWEEN 0 AND 50", name="end_depth_plausible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    utility: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    start_node_id: Mapped[int | None] = mapped_column(ForeignKey("pipe_nodes.id", ondelete="SET NULL"))
    end_node_id: Mapped[int | None] = mapped_column(ForeignKey("pipe_nodes.id", ondelete="SET NULL"))
    start_depth_m: Mapped[float | None]
    end_depth_m: Mapped[float | None]
    depth_ref: Mapped[str] = mapped_column(String(8))
    diameter_mm: Mapped[float]
    material: Mapped[str | None] = mapped_column(String(32))
    laying: Mapped[str | None] = mapped_column(String(32))
    pressure_class: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8), server_default="open")
    owner: Mapped[str | None] = mapped_column(String(100))
    year: Mapped[int | None]
    geom: Mapped[Any] = geometry("LINESTRING")


class Valve(Versioned, Base):
    """An isolation device on a segment beside a node: valves, squeeze-off points, switches, breakers."""

    __tablename__ = "valves"
    __table_args__ = school_owned(
        "valves",
        UniqueConstraint("campus_id", "utility", "code"),
        _utility_known,
        CheckConstraint(f"kind IN {DEVICE_KINDS}", name="kind_known"),
        CheckConstraint(f"normal_position IN {POSITIONS}", name="position_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    utility: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    segment_id: Mapped[int] = mapped_column(ForeignKey("pipe_segments.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("pipe_nodes.id", ondelete="CASCADE"))
    normal_position: Mapped[str] = mapped_column(String(8), server_default="open")
    operable: Mapped[bool] = mapped_column(server_default="true")
    geom: Mapped[Any] = geometry("POINT")


class ServiceConnection(Versioned, Base):
    """A network node feeding a building (入户)."""

    __tablename__ = "service_connections"
    __table_args__ = school_owned(
        "service_connections",
        UniqueConstraint("node_id", "building_id"),
        _utility_known,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    utility: Mapped[str] = mapped_column(String(16))
    node_id: Mapped[int] = mapped_column(ForeignKey("pipe_nodes.id", ondelete="CASCADE"))
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    geom: Mapped[Any] = geometry("LINESTRING", nullable=True)


class ExcavationPlan(Timestamps, Base):
    """A stored excavation plan (模拟开挖方案): the request, the plan document and the trench's top outline.

    `plan` keeps the trench geometry and the depth profile as JSON so the 3D cut can be built from it.
    Plans are made, not edited: no feature versions.
    """

    __tablename__ = "excavation_plans"
    __table_args__ = school_owned("excavation_plans", _utility_known)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    utility: Mapped[str] = mapped_column(String(16))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("pipe_segments.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    request: Mapped[dict[str, Any]]
    plan: Mapped[dict[str, Any]]
    geom: Mapped[Any] = geometry("POLYGON")
