"""Animation data out: ARKit curves (``arkit.csv``), visemes (``visemes.json``), animated glTF (``face.glb``).

``export_animation(folder, ...)`` writes all three for one generated video,
per frame at the video's fps; see ``arkit.py``, ``visemes.py`` and
``gltf.py`` for the formats.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import OutputPathError

FILES = ("arkit.csv", "visemes.json", "face.glb")


def check_export_folder(folder: str | Path, overwrite: bool = False) -> Path:
    """Validate an export folder before any work.

    Raises:
        OutputPathError: parent missing, a file in the way, or files there and ``overwrite`` is False.
    """
    folder = Path(folder)
    if not folder.parent.is_dir():
        raise OutputPathError(f"Parent folder of the animation export does not exist: {folder.parent}")
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"{folder} exists and is not a folder")
    clash = [n for n in FILES if (folder / n).exists()]
    if clash and not overwrite:
        raise OutputPathError(f"{folder} already holds {', '.join(clash)}; choose another folder or pass --overwrite")
    return folder


def animated_face(asset, track, rig, topology, head_pose: np.ndarray | None = None):
    """The ``gltf.AnimatedFace`` of a generated video: the person's mesh, shapes and weights."""
    import cv2

    from ..face.export import front_facing_winding
    from .gltf import AnimatedFace

    identity = asset.reconstruction.identity
    personal = rig.personalize(identity, topology)
    ok, png = cv2.imencode(".png", cv2.cvtColor(asset.texture.rgba, cv2.COLOR_RGBA2BGRA))
    if not ok:
        raise OutputPathError("could not encode the face texture as PNG")
    return AnimatedFace(
        vertices=identity, uvs=topology.uvs, triangles=front_facing_winding(identity, topology.face_triangles),
        deltas=personal.deltas, names=tuple(track.names), weights=track.final, fps=track.fps,
        texture_png=png.tobytes(), head_pose=head_pose,
    )


def export_animation(folder: str | Path, asset, track, rig, topology, phones=(), head_pose: np.ndarray | None = None,
                     overwrite: bool = True) -> tuple[Path, ...]:
    """Write ``arkit.csv``, ``visemes.json`` and ``face.glb`` into ``folder`` (created).

    Files are written in a scratch folder inside ``folder`` and moved in place
    when all three are complete.

    Args:
        asset: the photo stage's ``FaceAsset`` (reconstruction, texture).
        track: the ``CoefficientTrack`` that drove the video (its ``final`` is exported).
        rig, topology: the pipeline's.
        phones: ``TimedPhone`` s when the phonetic driver ran.
        head_pose: (T, 6) yaw, pitch, roll (degrees), x, y, z (cm) relative to
            the photo, or None (no head motion: zeros).
    Returns:
        the three paths.
    """
    from .arkit import write_arkit_csv
    from .gltf import glb_bytes
    from .visemes import write_visemes_json

    folder = check_export_folder(folder, overwrite)
    folder.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".partial-") as scratch:
        scratch = Path(scratch)
        write_arkit_csv(scratch / "arkit.csv", track.names, track.final, track.fps, head_pose)
        # Visemes are what speech adds to the photo's own expression (a smiling
        # photo keeps its smile under speech; the smile is not a viseme).
        speech = np.clip(np.asarray(track.final) - asset.reconstruction.expression[None], 0.0, None)
        write_visemes_json(scratch / "visemes.json", speech, track.names, track.fps, phones)
        (scratch / "face.glb").write_bytes(glb_bytes(animated_face(asset, track, rig, topology, head_pose)))
        for name in FILES:
            os.replace(scratch / name, folder / name)
    return tuple(folder / n for n in FILES)
