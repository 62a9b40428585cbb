"""Files a person can open elsewhere: textured OBJ, landmarks JSON, mesh overlay."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from ..face.pose import euler_angles
from ..types import FaceReconstruction


def write_obj(
    path: Path,
    vertices: np.ndarray,
    uvs: np.ndarray,
    triangles: np.ndarray,
    texture_name: str = "texture.png",
) -> None:
    """Write a textured mesh as OBJ + MTL (the MTL next to it, same stem).

    Args:
        path: the .obj path.
        vertices: (V, 3) positions (canonical cm, y up, as Blender expects).
        uvs: (V, 2) in [0, 1] with v as an image row; OBJ's v points up, so it
            is written as 1 - v.
        triangles: (T, 3) int vertex indices, counter-clockwise seen from the
            front.
        texture_name: image file the material refers to (relative path).
    """
    path = Path(path)
    mtl = path.with_suffix(".mtl")
    mtl.write_text(
        "newmtl face\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\n"
        f"map_Kd {texture_name}\n"
    )
    lines = [f"mtllib {mtl.name}", "o face"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    lines += [f"vt {u:.6f} {1.0 - v:.6f}" for u, v in uvs]
    lines.append("usemtl face")
    lines += [f"f {a}/{a} {b}/{b} {c}/{c}" for a, b, c in triangles + 1]
    path.write_text("\n".join(lines) + "\n")


def front_facing_winding(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Reorder triangles so their normals point towards +z (the viewer).

    Args:
        vertices: (V, 3) canonical positions.
        triangles: (T, 3).
    Returns:
        (T, 3) with every triangle counter-clockwise seen from +z on average.
    """
    a, b, c = (vertices[triangles[:, i]] for i in range(3))
    normals = np.cross(b - a, c - a)
    if normals[:, 2].sum() < 0:
        return triangles[:, [0, 2, 1]]
    return triangles


def landmarks_record(recon: FaceReconstruction, names: tuple[str, ...]) -> dict:
    """JSON-ready summary of the photo's face: landmarks, pose, expression."""
    yaw, pitch, roll = euler_angles(recon.pose.rotation)
    return {
        "image_size": {"height": recon.landmarks.image_size[0], "width": recon.landmarks.image_size[1]},
        "faces_detected": recon.landmarks.num_faces,
        "landmarks": np.round(recon.landmarks.points, 3).tolist(),
        "pose": {
            "scale": recon.pose.scale,
            "rotation": recon.pose.rotation.tolist(),
            "translation": recon.pose.translation.tolist(),
            "yaw_pitch_roll_degrees": [yaw, pitch, roll],
        },
        "expression": {name: float(value) for name, value in zip(names, recon.expression)},
        "conventions": "image pixels, x right, y down, z smaller = nearer; image = scale * R @ canonical + t",
    }


def write_json(path: Path, record: dict) -> None:
    Path(path).write_text(json.dumps(record, indent=1))


def draw_overlay(image: np.ndarray, vertices: np.ndarray, triangles: np.ndarray, mouth: np.ndarray) -> np.ndarray:
    """The mesh drawn over the photo.

    Args:
        image: (H, W, 3) uint8.
        vertices: (V, >=2) image-space positions.
        triangles: (T, 3).
        mouth: (T,) bool, mouth-opening triangles (drawn in another colour).
    Returns:
        (H, W, 3) uint8 copy with the wireframe.
    """
    canvas = image.copy()
    thickness = max(1, round(max(image.shape[:2]) / 700))
    shift = 4  # sub-pixel precision for cv2 drawing
    points = np.round(vertices[:, :2] * (1 << shift)).astype(np.int32)
    skin = [points[t] for t in triangles[~mouth]]
    lips = [points[t] for t in triangles[mouth]]
    cv2.polylines(canvas, skin, True, (60, 230, 120), thickness, cv2.LINE_AA, shift)
    cv2.polylines(canvas, lips, True, (250, 70, 70), thickness, cv2.LINE_AA, shift)
    return canvas
