"""Reading GLBs back in tests, independently of the writer: the JSON chunk, accessors, property tables."""

from __future__ import annotations

import itertools
import json
import struct
from typing import Any

import numpy as np

COMPONENTS = {5126: "float32", 5125: "uint32", 5123: "uint16", 5121: "uint8"}
WIDTH = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}


def _chunks(data: bytes) -> tuple[dict[str, Any], bytes]:
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2 and total == len(data)
    length, kind = struct.unpack_from("<I4s", data, 12)
    assert kind == b"JSON"
    doc = json.loads(data[20 : 20 + length])
    rest = 20 + length
    binary = b""
    if rest < len(data):
        blen, bkind = struct.unpack_from("<I4s", data, rest)
        assert bkind == b"BIN\0"
        binary = data[rest + 8 : rest + 8 + blen]
    return doc, binary


def glb_json(data: bytes) -> dict[str, Any]:
    return _chunks(data)[0]


def _view(doc: dict[str, Any], binary: bytes, index: int) -> bytes:
    view = doc["bufferViews"][index]
    return binary[view.get("byteOffset", 0) : view.get("byteOffset", 0) + view["byteLength"]]


def accessor(data: bytes, index: int) -> np.ndarray:
    doc, binary = _chunks(data)
    acc = doc["accessors"][index]
    arr = np.frombuffer(_view(doc, binary, acc["bufferView"]), dtype=COMPONENTS[acc["componentType"]])
    return arr.reshape(acc["count"], WIDTH[acc["type"]]) if WIDTH[acc["type"]] > 1 else arr


def mesh_of(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, triangles, feature ids) of the first primitive."""
    doc = glb_json(data)
    prim = doc["meshes"][0]["primitives"][0]
    positions = accessor(data, prim["attributes"]["POSITION"]).astype("float64")
    triangles = accessor(data, prim["indices"]).reshape(-1, 3).astype("int64")
    ids = accessor(data, prim["attributes"]["_FEATURE_ID_0"]).astype("int64")
    return positions, triangles, ids


def property_table(data: bytes) -> dict[str, list[Any]]:
    """Column name -> values of the GLB's one property table (STRING via stringOffsets)."""
    doc, binary = _chunks(data)
    meta = doc["extensions"]["EXT_structural_metadata"]
    assert len(meta["propertyTables"]) == 1
    table = meta["propertyTables"][0]
    klass = meta["schema"]["classes"][table["class"]]["properties"]
    out: dict[str, list[Any]] = {}
    for name, prop in table["properties"].items():
        raw = _view(doc, binary, prop["values"])
        if klass[name]["type"] == "STRING":
            offsets = np.frombuffer(_view(doc, binary, prop["stringOffsets"]), dtype="uint32")
            assert len(offsets) == table["count"] + 1
            out[name] = [raw[a:b].decode() for a, b in itertools.pairwise(offsets)]
        else:
            dtype = {"INT32": "int32", "FLOAT64": "float64"}[klass[name]["componentType"]]
            out[name] = np.frombuffer(raw, dtype=dtype)[: table["count"]].tolist()
    return out
