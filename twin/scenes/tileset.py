"""3D Tiles 1.1 tileset JSON: one root in the scene's ENU frame, a child per layer with its GLB content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twin.scenes.frame import Frame

LAYERS = ("terrain", "buildings", "pipes", "risk_zones")


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in the frame (metres): min and max corners."""

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]

    def volume(self) -> dict[str, list[float]]:
        """3D Tiles `box`: centre and three half-axis vectors, in the tile's frame."""
        c = [(a + b) / 2 for a, b in zip(self.lo, self.hi, strict=True)]
        h = [max((b - a) / 2, 0.01) for a, b in zip(self.lo, self.hi, strict=True)]
        return {"box": [*c, h[0], 0.0, 0.0, 0.0, h[1], 0.0, 0.0, 0.0, h[2]]}

    def union(self, other: Box) -> Box:
        return Box(
            tuple(min(a, b) for a, b in zip(self.lo, other.lo, strict=True)),  # type: ignore[arg-type]
            tuple(max(a, b) for a, b in zip(self.hi, other.hi, strict=True)),  # type: ignore[arg-type]
        )

    @property
    def diagonal(self) -> float:
        return float(sum((b - a) ** 2 for a, b in zip(self.lo, self.hi, strict=True)) ** 0.5)


@dataclass(frozen=True)
class LayerContent:
    name: str
    uri: str
    box: Box
    geometric_error: float = 0.0


def load_distance_error(distance_m: float) -> float:
    """geometricError that makes a viewer load content from about `distance_m` away (1080-px screen,
    60° field of view, 16-px screen-space error): error ≈ 0.017 × distance."""
    return 0.017 * distance_m


def scene_tileset(
    frame: Frame, layers: list[LayerContent], extras: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Root (refine ADD, transform ENU→ECEF) whose children are the layers; empty layers are left out."""
    if layers:
        box = layers[0].box
        for layer in layers[1:]:
            box = box.union(layer.box)
    else:
        box = Box((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0))
    children = [
        {
            "boundingVolume": layer.box.volume(),
            "geometricError": layer.geometric_error,
            "content": {"uri": layer.uri},
            "extras": {"layer": layer.name},
        }
        for layer in layers
    ]
    root: dict[str, Any] = {
        "transform": frame.transform(),
        "boundingVolume": box.volume(),
        "geometricError": load_distance_error(max(box.diagonal, 100.0) * 4),
        "refine": "ADD",
        "children": children,
    }
    doc: dict[str, Any] = {
        "asset": {"version": "1.1", "generator": "Campus Twin twin.scenes"},
        "geometricError": root["geometricError"],
        "root": root,
    }
    if extras:
        doc["asset"]["extras"] = extras
    return doc
