"""An animated, textured face as glTF 2.0 binary (``face.glb``), written with NumPy and ``struct``.

One mesh (the person's neutral face: the reconstruction's identity mesh with
the mouth opening cut, the canonical UVs, the texture PNG embedded), one
morph target per rig shape (their names in ``mesh.extras.targetNames``, which
three.js and Blender read), and one animation with a ``weights`` channel (the
coefficients per frame) and a ``rotation`` and ``translation`` channel (the
head pose) on the face's node. Units: metres, y up, the face looking
along +z, as glTF wants. Frame ``i`` is keyed at ``i / fps``, linear
interpolation.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import numpy as np

FLOAT, USHORT, UINT = 5126, 5123, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
CM = 0.01  # metres per centimetre


@dataclass(frozen=True)
class AnimatedFace:
    """What ``face.glb`` holds.

    Attributes:
        vertices: (V, 3) neutral mesh, canonical cm (x subject's left, y up, z front).
        uvs: (V, 2) in [0, 1], v an image row (glTF's convention too).
        triangles: (F, 3) counter-clockwise seen from the front.
        deltas: (K, V, 3) displacement per shape at weight 1, cm.
        names: (K,) shape names.
        weights: (T, K) per-frame weights.
        fps: frame rate of ``weights``.
        texture_png: the texture image as PNG bytes.
        head_pose: (T, 6) yaw, pitch, roll (degrees), x, y, z (cm), or None.
    """

    vertices: np.ndarray
    uvs: np.ndarray
    triangles: np.ndarray
    deltas: np.ndarray
    names: tuple[str, ...]
    weights: np.ndarray
    fps: float
    texture_png: bytes
    head_pose: np.ndarray | None = None


def euler_quaternions(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """(T, 4) unit quaternions (x, y, z, w) of ``Rz(roll) @ Ry(yaw) @ Rx(pitch)``, angles in degrees."""
    half = np.radians(np.stack([pitch, yaw, roll], axis=1)) / 2
    cx, cy, cz = np.cos(half).T
    sx, sy, sz = np.sin(half).T
    # q = qz * qy * qx
    w = cz * cy * cx + sz * sy * sx
    x = cz * cy * sx - sz * sy * cx
    y = cz * sy * cx + sz * cy * sx
    z = sz * cy * cx - cz * sy * sx
    return np.stack([x, y, z, w], axis=1)


class _Builder:
    """Accumulates the binary chunk, buffer views and accessors."""

    def __init__(self):
        self.blob = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def view(self, data: bytes, target: int | None = None) -> int:
        self.blob.extend(b"\0" * (-len(self.blob) % 4))  # every view starts 4-byte aligned
        view = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.blob.extend(data)
        self.views.append(view)
        return len(self.views) - 1

    def accessor(self, array: np.ndarray, kind: str, component: int = FLOAT, target: int | None = None,
                 bounds: bool = False) -> int:
        dtype = {FLOAT: "<f4", USHORT: "<u2", UINT: "<u4"}[component]
        array = np.ascontiguousarray(array, dtype=dtype)
        width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[kind]
        flat = array.reshape(-1, width)
        record = {"bufferView": self.view(array.tobytes(), target), "componentType": component,
                  "count": len(flat), "type": kind}
        if bounds:
            record["min"] = [float(v) if component == FLOAT else int(v) for v in flat.min(axis=0)]
            record["max"] = [float(v) if component == FLOAT else int(v) for v in flat.max(axis=0)]
        self.accessors.append(record)
        return len(self.accessors) - 1


def glb_bytes(face: AnimatedFace) -> bytes:
    """The ``.glb`` file's bytes (header, JSON chunk, BIN chunk)."""
    frames, k = face.weights.shape
    if face.deltas.shape != (k,) + face.vertices.shape:
        raise ValueError(f"deltas {face.deltas.shape} do not match {k} weights and vertices {face.vertices.shape}")
    b = _Builder()
    position = b.accessor(face.vertices * CM, "VEC3", target=ARRAY_BUFFER, bounds=True)
    texcoord = b.accessor(face.uvs, "VEC2", target=ARRAY_BUFFER)
    index_type = USHORT if len(face.vertices) < 65535 else UINT
    indices = b.accessor(face.triangles.reshape(-1), "SCALAR", index_type, ELEMENT_ARRAY_BUFFER, bounds=True)
    targets = [{"POSITION": b.accessor(delta * CM, "VEC3", target=ARRAY_BUFFER, bounds=True)}
               for delta in face.deltas]
    image_view = b.view(face.texture_png)

    times = np.arange(frames, dtype=np.float64) / face.fps
    time_accessor = b.accessor(times, "SCALAR", bounds=True)
    samplers = [{"input": time_accessor, "output": b.accessor(face.weights, "SCALAR"), "interpolation": "LINEAR"}]
    channels = [{"sampler": 0, "target": {"node": 0, "path": "weights"}}]
    pose = np.zeros((frames, 6)) if face.head_pose is None else np.asarray(face.head_pose, dtype=np.float64)
    rotations = euler_quaternions(pose[:, 0], pose[:, 1], pose[:, 2])
    samplers.append({"input": time_accessor, "output": b.accessor(rotations, "VEC4"), "interpolation": "LINEAR"})
    channels.append({"sampler": 1, "target": {"node": 0, "path": "rotation"}})
    samplers.append({"input": time_accessor, "output": b.accessor(pose[:, 3:] * CM, "VEC3"),
                     "interpolation": "LINEAR"})
    channels.append({"sampler": 2, "target": {"node": 0, "path": "translation"}})

    first = [float(w) for w in face.weights[0]] if frames else [0.0] * k
    document = {
        "asset": {"version": "2.0", "generator": "talking-head"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"name": "face", "mesh": 0}],
        "meshes": [{
            "name": "face",
            "primitives": [{"attributes": {"POSITION": position, "TEXCOORD_0": texcoord}, "indices": indices,
                            "material": 0, "mode": 4, "targets": targets}],
            "weights": first,
            "extras": {"targetNames": list(face.names)},
        }],
        "materials": [{"name": "skin", "pbrMetallicRoughness": {"baseColorTexture": {"index": 0},
                                                                "metallicFactor": 0.0, "roughnessFactor": 1.0},
                       "doubleSided": False}],
        "textures": [{"source": 0, "sampler": 0}],
        "samplers": [{"magFilter": 9729, "minFilter": 9987, "wrapS": 33071, "wrapT": 33071}],
        "images": [{"bufferView": image_view, "mimeType": "image/png"}],
        "animations": [{"name": "talk", "samplers": samplers, "channels": channels}],
        "accessors": b.accessors,
        "bufferViews": b.views,
        "buffers": [{"byteLength": len(b.blob) + (-len(b.blob) % 4)}],
    }
    text = json.dumps(document, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    blob = bytes(b.blob) + b"\0" * (-len(b.blob) % 4)
    total = 12 + 8 + len(text) + 8 + len(blob)
    return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(text), b"JSON") + text
            + struct.pack("<I4s", len(blob), b"BIN\0") + blob)


def read_glb(data: bytes) -> tuple[dict, bytes]:
    """Split a ``.glb`` into its JSON document and binary chunk (for tests and tools).

    Raises:
        ValueError: not a glTF 2.0 binary.
    """
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    if magic != b"glTF" or version != 2 or total != len(data):
        raise ValueError("not a glTF 2.0 binary")
    length, kind = struct.unpack_from("<I4s", data, 12)
    if kind != b"JSON":
        raise ValueError("first chunk is not JSON")
    document = json.loads(data[20 : 20 + length])
    offset = 20 + length
    blob = b""
    if offset < total:
        blob_length, kind = struct.unpack_from("<I4s", data, offset)
        blob = data[offset + 8 : offset + 8 + blob_length]
    return document, blob


def accessor_array(document: dict, blob: bytes, index: int) -> np.ndarray:
    """One accessor's data as an (count, width) array."""
    accessor = document["accessors"][index]
    view = document["bufferViews"][accessor["bufferView"]]
    dtype = {FLOAT: "<f4", USHORT: "<u2", UINT: "<u4"}[accessor["componentType"]]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[accessor["type"]]
    start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
    return np.frombuffer(blob, dtype=dtype, count=accessor["count"] * width, offset=start).reshape(-1, width)
