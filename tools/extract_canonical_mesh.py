"""Extract MediaPipe's canonical face mesh (with UVs) into ``assets/face_model/``.

The mesh lives in the npm package ``@mediapipe/face_mesh`` (Apache-2.0), inside
``face_mesh_solution_packed_assets.data`` as
``geometry_pipeline_metadata_landmarks.binarypb``; the loader script next to it
lists each packed file's byte range. We parse it with the protobuf classes
that ship in the ``mediapipe`` wheel.

Usage::

    python tools/extract_canonical_mesh.py            # runs `npm pack` itself
    python tools/extract_canonical_mesh.py --package DIR  # an unpacked package

Writes ``assets/face_model/canonical_mesh.npz`` and copies the licence notice.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

NPM_SPEC = "@mediapipe/face_mesh@0.4.1657299874"
PACKED = "face_mesh_solution_packed_assets.data"
LOADER = "face_mesh_solution_packed_assets_loader.js"
MEMBER = "geometry_pipeline_metadata_landmarks.binarypb"
OUT_DIR = Path(__file__).resolve().parents[1] / "assets" / "face_model"

# Inner-lip contour of MediaPipe's 468-point topology, corner to corner
# (78 = subject's right corner, 308 = left corner). Facts from the topology.
INNER_UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
INNER_LOWER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]


def fetch_package(workdir: Path) -> Path:
    """Download and unpack the npm package into ``workdir``; return its folder."""
    out = subprocess.run(
        ["npm", "pack", NPM_SPEC, "--json"], cwd=workdir, check=True, capture_output=True, text=True
    )
    tgz = workdir / json.loads(out.stdout)[0]["filename"]
    with tarfile.open(tgz) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package"


def read_member(package: Path) -> bytes:
    """Slice the metadata protobuf out of the packed-assets blob."""
    loader = (package / LOADER).read_text()
    pattern = r'"filename":\s*"([^"]*)",\s*"start":\s*(\d+),\s*"end":\s*(\d+)'
    for name, start, end in re.findall(pattern, loader):
        if name.endswith(MEMBER):
            return (package / PACKED).read_bytes()[int(start) : int(end)]
    raise SystemExit(f"{MEMBER} not listed in {LOADER}")


def mouth_opening_triangles(triangles: np.ndarray, uvs: np.ndarray) -> np.ndarray:
    """Mask of the triangles that close the mouth (inside the inner-lip contour).

    Args:
        triangles: (T, 3) int vertex indices.
        uvs: (V, 2) float texture coordinates.
    Returns:
        (T,) bool, True for triangles whose three vertices lie on the inner-lip
        contour and whose centroid lies inside the contour polygon in UV space.
    """
    import matplotlib.path as mpath

    ring = INNER_UPPER + INNER_LOWER[-2:0:-1]
    polygon = mpath.Path(uvs[ring])
    on_ring = np.isin(triangles, ring).all(axis=1)
    inside = polygon.contains_points(uvs[triangles].mean(axis=1))
    return on_ring & inside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, help="unpacked npm package folder")
    args = parser.parse_args()

    from mediapipe.modules.face_geometry.protos import geometry_pipeline_metadata_pb2 as pb

    with tempfile.TemporaryDirectory() as tmp:
        package = args.package or fetch_package(Path(tmp))
        metadata = pb.GeometryPipelineMetadata()
        metadata.ParseFromString(read_member(package))
        notice = (package / "README.md").read_text() if (package / "README.md").exists() else ""
        version = json.loads((package / "package.json").read_text())["version"]

    mesh = metadata.canonical_mesh
    buffer = np.asarray(mesh.vertex_buffer, dtype=np.float64).reshape(-1, 5)
    triangles = np.asarray(mesh.index_buffer, dtype=np.int32).reshape(-1, 3)
    vertices, uvs = buffer[:, :3], buffer[:, 3:]
    ids = np.array([b.landmark_id for b in metadata.procrustes_landmark_basis], dtype=np.int32)
    weights = np.array([b.weight for b in metadata.procrustes_landmark_basis], dtype=np.float64)
    mouth = mouth_opening_triangles(triangles, uvs)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT_DIR / "canonical_mesh.npz",
        vertices=vertices.astype(np.float32),
        uvs=uvs.astype(np.float32),
        triangles=triangles,
        mouth_triangles=mouth,
        procrustes_ids=ids,
        procrustes_weights=weights.astype(np.float32),
    )
    (OUT_DIR / "NOTICE").write_text(
        f"canonical_mesh.npz is extracted from the npm package {NPM_SPEC.rsplit('@', 1)[0]} "
        f"version {version}\n(geometry_pipeline_metadata_landmarks.binarypb) by "
        "tools/extract_canonical_mesh.py.\n\n"
        "Copyright 2020 The MediaPipe Authors.\n"
        "Licensed under the Apache License, Version 2.0 (the \"License\"); you may not use\n"
        "this file except in compliance with the License. You may obtain a copy at\n"
        "    http://www.apache.org/licenses/LICENSE-2.0\n"
        "Unless required by applicable law or agreed to in writing, software distributed\n"
        "under the License is distributed on an \"AS IS\" BASIS, WITHOUT WARRANTIES OR\n"
        "CONDITIONS OF ANY KIND, either express or implied.\n\n"
        "Changes: vertex, UV and triangle buffers re-saved as NumPy arrays; a mask of the\n"
        "mouth-opening triangles added.\n"
        + (f"\nPackage README:\n{notice}" if notice else "")
    )
    print(
        f"{len(vertices)} vertices, {len(triangles)} triangles, {int(mouth.sum())} mouth triangles, "
        f"{len(ids)} Procrustes landmarks -> {OUT_DIR}"
    )


if __name__ == "__main__":
    main()
