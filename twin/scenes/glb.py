"""glTF 2.0 binary (GLB) writing with EXT_mesh_features and EXT_structural_metadata, in numpy.

One GLB = one mesh of one or more primitives sharing ONE property table (CesiumJS reads one table per
model; a click on a vertex with feature id i yields row i). Feature ids are per-vertex FLOAT
(`_FEATURE_ID_0`: deck.gl 9 refuses 1-component uint8 attributes); vertices are z-up ENU, so the root
node carries the z-up→y-up matrix. Nothing is compressed (no Draco, no KHR_mesh_quantization).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

Y_UP = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
FLOAT, UINT32, UINT8 = 5126, 5125, 5121
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963


@dataclass
class Primitive:
    """Triangles: positions (N, 3) ENU metres, normals (N, 3), indices (M, 3), feature ids (N,),
    optional RGBA colours (N, 4) in 0..1 (multiplied with the material's colour)."""

    positions: NDArray[np.float32]
    normals: NDArray[np.float32]
    indices: NDArray[np.uint32]
    feature_ids: NDArray[np.float32]
    colours: NDArray[np.float32] | None = None
    colour: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    translucent: bool = False
    double_sided: bool = False


@dataclass
class PropertyTable:
    """Rows of one class: column name -> values; str columns become STRING, int INT32, float FLOAT64."""

    name: str
    columns: dict[str, Sequence[Any]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


class _Buffer:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.views: list[dict[str, Any]] = []

    def add(self, data: bytes, target: int | None = None, stride: int | None = None) -> int:
        pad = (-self.size) % 8  # 8-byte aligned: metadata views require it, attributes like it
        if pad:
            self.chunks.append(b"\0" * pad)
            self.size += pad
        view: dict[str, Any] = {"buffer": 0, "byteOffset": self.size, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        if stride is not None:
            view["byteStride"] = stride
        self.chunks.append(data)
        self.size += len(data)
        self.views.append(view)
        return len(self.views) - 1


def _column(buf: _Buffer, values: Sequence[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(class property, property-table property) of one column."""
    sample = next((v for v in values if v is not None), "")
    if isinstance(sample, bool | str) or sample is None:
        texts = ["" if v is None else str(v) for v in values]
        encoded = [t.encode() for t in texts]
        offsets = np.zeros(len(encoded) + 1, dtype="uint32")
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        data = b"".join(encoded) or b"\0"
        prop = {
            "values": buf.add(data),
            "stringOffsets": buf.add(offsets.tobytes()),
            "stringOffsetType": "UINT32",
        }
        return {"type": "STRING"}, prop
    if isinstance(sample, int | np.integer):
        arr = np.array([0 if v is None else v for v in values], dtype="int32")
        return {"type": "SCALAR", "componentType": "INT32"}, {"values": buf.add(arr.tobytes())}
    arr = np.array([np.nan if v is None else v for v in values], dtype="float64")
    return {"type": "SCALAR", "componentType": "FLOAT64"}, {"values": buf.add(arr.tobytes())}


def _accessor(
    buf: _Buffer, arr: NDArray[Any], kind: str, target: int, minmax: bool = False
) -> dict[str, Any]:
    component = {np.dtype("float32"): FLOAT, np.dtype("uint32"): UINT32}[arr.dtype]
    acc: dict[str, Any] = {
        "bufferView": buf.add(np.ascontiguousarray(arr).tobytes(), target),
        "componentType": component,
        "count": int(arr.shape[0]) if kind != "SCALAR" or target != ELEMENT_ARRAY_BUFFER else int(arr.size),
        "type": kind,
    }
    if minmax:
        acc["min"] = [float(v) for v in arr.min(axis=0)]
        acc["max"] = [float(v) for v in arr.max(axis=0)]
    return acc


def write_glb(primitives: Sequence[Primitive], table: PropertyTable, schema_id: str = "twin") -> bytes:
    """The GLB of `primitives` (empty ones are skipped) with `table` as its one property table."""
    buf = _Buffer()
    accessors: list[dict[str, Any]] = []
    materials: list[dict[str, Any]] = []
    prims: list[dict[str, Any]] = []

    def accessor(*args: Any, **kw: Any) -> int:
        accessors.append(_accessor(buf, *args, **kw))
        return len(accessors) - 1

    for p in primitives:
        if len(p.indices) == 0:
            continue
        attributes = {
            "POSITION": accessor(p.positions.astype("float32"), "VEC3", ARRAY_BUFFER, minmax=True),
            "NORMAL": accessor(p.normals.astype("float32"), "VEC3", ARRAY_BUFFER),
            "_FEATURE_ID_0": accessor(p.feature_ids.astype("float32"), "SCALAR", ARRAY_BUFFER),
        }
        if p.colours is not None:
            attributes["COLOR_0"] = accessor(p.colours.astype("float32"), "VEC4", ARRAY_BUFFER)
        material: dict[str, Any] = {
            "pbrMetallicRoughness": {
                "baseColorFactor": list(p.colour),
                "metallicFactor": 0.0,
                "roughnessFactor": 0.9,
            },
            "doubleSided": p.double_sided,
        }
        if p.translucent:
            material["alphaMode"] = "BLEND"
        materials.append(material)
        count = int(np.count_nonzero(np.bincount(p.feature_ids.astype("int64"))))  # distinct features here
        prims.append({
            "attributes": attributes,
            "indices": accessor(p.indices.astype("uint32").reshape(-1), "SCALAR", ELEMENT_ARRAY_BUFFER),
            "material": len(materials) - 1,
            "mode": 4,
            "extensions": {
                "EXT_mesh_features": {
                    "featureIds": [{"featureCount": count, "attribute": 0, "propertyTable": 0}]
                }
            },
        })  # fmt: skip
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "Campus Twin twin.scenes"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"matrix": Y_UP, "mesh": 0}] if prims else [{"matrix": Y_UP}],
    }
    if prims and table.count:
        doc["extensionsUsed"] = ["EXT_mesh_features", "EXT_structural_metadata"]
        doc["extensions"] = {"EXT_structural_metadata": _metadata(buf, table, schema_id)}
        doc.update(meshes=[{"primitives": prims}], materials=materials, accessors=accessors)
    binary = b"".join(buf.chunks)
    binary += b"\0" * ((-len(binary)) % 4)
    if binary:
        doc["buffers"] = [{"byteLength": len(binary)}]
        doc["bufferViews"] = buf.views
    return _pack(doc, binary)


def _metadata(buf: _Buffer, table: PropertyTable, schema_id: str) -> dict[str, Any]:
    class_props, table_props = {}, {}
    for name, values in table.columns.items():
        class_props[name], table_props[name] = _column(buf, values)
    return {
        "schema": {"id": schema_id, "classes": {table.name: {"properties": class_props}}},
        "propertyTables": [{"class": table.name, "count": table.count, "properties": table_props}],
    }


def _pack(doc: dict[str, Any], binary: bytes) -> bytes:
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 4)
    chunks = [struct.pack("<I4s", len(text), b"JSON"), text]
    if binary:
        chunks += [struct.pack("<I4s", len(binary), b"BIN\0"), binary]
    body = b"".join(chunks)
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def read_glb_json(data: bytes) -> dict[str, Any]:
    """The JSON chunk of a GLB (tests and debugging)."""
    length = struct.unpack_from("<I", data, 12)[0]
    doc: dict[str, Any] = json.loads(data[20 : 20 + length])
    return doc
