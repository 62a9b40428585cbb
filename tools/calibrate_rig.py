"""Calibrate the expression rig on real talking videos.

For each video: detect the 468 landmarks on every frame, remove the rigid pose
(similarity on MediaPipe's Procrustes basis), then estimate jointly a per-video
neutral ``N`` and per-frame coefficients ``e_t`` by alternation::

    e_t = rig.fit(X_t, N)          (bounded least squares per frame)
    N   = mean_t (X_t - D e_t)

and report how much of the mouth-region motion the rig explains::

    EV = 1 - sum_t |X_t - N - D e_t|^2 / sum_t |X_t - mean_t X_t|^2

over the mouth region of ``rig.mouth_region()`` (inner and outer lip contours,
the chin 152 and the jaw line beside it: 148, 377, 176, 400, 149, 378), in 3D
and in x, y only.

Usage (from the repository root)::

    python -m tools.calibrate_rig --videos /path/to/real_talking [--json out.json]
    python -m tools.calibrate_rig --videos DIR --shapes jawOpen,mouthLowerDown  # ablation
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from talking_head.face.pose import estimate_pose
from talking_head.face.rig import (
    ExpressionRig,
    explained_variance,
    fit_with_neutral,
    load_rig,
    mouth_region,
    regions,
)
from talking_head.face.topology import Topology, load_topology


@dataclass(frozen=True)
class VideoReport:
    name: str
    frames: int
    detected: int
    ev_3d: float
    ev_xy: float
    jaw_open_mean: float
    jaw_open_p5: float
    jaw_open_p95: float
    coefficient_p95: dict


def read_landmarks(path: Path) -> np.ndarray:
    """(T, 468, 3) image-space landmarks of every frame (NaN where no face)."""
    import av

    from talking_head.face.landmarks import LandmarkDetector

    frames = []
    with LandmarkDetector(max_faces=1, min_confidence=0.5, static=False) as detector, av.open(str(path)) as container:
        for frame in container.decode(video=0):
            faces = detector.detect_all(frame.to_ndarray(format="rgb24"))
            frames.append(faces[0][:468] if faces else np.full((468, 3), np.nan))
    return np.asarray(frames)


def unpose(points: np.ndarray, topology: Topology, reference: np.ndarray | None = None) -> np.ndarray:
    """Canonical-space landmarks with the rigid pose removed.

    Args:
        points: (T, 468, 3) image-space landmarks.
        reference: (468, 3) or (T, 468, 3) canonical shapes the Procrustes
            basis is aligned to; default the canonical mean mesh.
    Returns:
        (T, 468, 3) canonical cm.
    """
    reference = np.broadcast_to(topology.vertices if reference is None else reference, points.shape)
    out = np.empty_like(points)
    for t, (p, ref) in enumerate(zip(points, reference)):
        pose = estimate_pose(ref, p, topology.procrustes_ids, topology.procrustes_weights)
        out[t] = pose.invert(p)
    return out


def fit_weights(topology: Topology) -> np.ndarray:
    """(468,) fit weights: the lower face (lips, jaw, cheeks), eyes and brows."""
    reg = regions(topology)
    return np.maximum.reduce([reg.mouth, reg.jaw, reg.eyes, reg.brows]) + 1e-3


def subset(rig: ExpressionRig, names: list[str]) -> ExpressionRig:
    """The rig restricted to some shapes (for ablations)."""
    keep = [rig.index(n) for n in names]
    return ExpressionRig(tuple(names), rig.deltas[keep], rig.lower[keep], rig.upper[keep])


def calibrate_video(
    name: str,
    points: np.ndarray,
    rig: ExpressionRig,
    topology: Topology,
    iterations: int = 30,
    pose_rounds: int = 0,
) -> VideoReport:
    """Joint neutral + coefficient fit of one video and its explained variance.

    ``pose_rounds`` > 0 re-estimates each frame's pose against the fitted
    model ``N + D e_t`` (still on the Procrustes basis) and fits again.
    """
    ok = ~np.isnan(points).any(axis=(1, 2))
    weights = fit_weights(topology)
    shapes = unpose(points[ok], topology)
    neutral, coeffs = fit_with_neutral(rig, shapes, weights, iterations)
    for _ in range(pose_rounds):
        shapes = unpose(points[ok], topology, reference=rig.apply(neutral, coeffs))
        neutral, coeffs = fit_with_neutral(rig, shapes, weights, iterations)
    model = rig.apply(neutral, coeffs)
    ids = list(mouth_region())
    jaw = coeffs[:, rig.index("jawOpen")] if "jawOpen" in rig.names else np.zeros(len(coeffs))
    return VideoReport(
        name=name,
        frames=len(points),
        detected=int(ok.sum()),
        ev_3d=explained_variance(shapes[:, ids], model[:, ids]),
        ev_xy=explained_variance(shapes[:, ids, :2], model[:, ids, :2]),
        jaw_open_mean=float(jaw.mean()),
        jaw_open_p5=float(np.percentile(jaw, 5)),
        jaw_open_p95=float(np.percentile(jaw, 95)),
        coefficient_p95={n: round(float(np.percentile(coeffs[:, k], 95)), 3) for k, n in enumerate(rig.names)},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=Path, required=True, help="folder of .mp4 talking videos")
    parser.add_argument("--json", type=Path, help="write the per-video report here")
    parser.add_argument("--iterations", type=int, default=30, help="neutral/coefficient alternations")
    parser.add_argument("--pose-rounds", type=int, default=0, help="re-estimate poses against the fitted model")
    parser.add_argument("--shapes", help="comma-separated subset of shapes to fit (ablation)")
    args = parser.parse_args(argv)

    topology, rig = load_topology(), load_rig()
    if args.shapes:
        rig = subset(rig, args.shapes.split(","))
    videos = sorted(args.videos.glob("*.mp4"))
    if not videos:
        parser.error(f"no .mp4 files in {args.videos}")
    reports = []
    print(f"{'video':<10}{'frames':>7}{'EV 3D':>8}{'EV xy':>8}{'jawOpen mean':>14}{'p5-p95':>12}")
    for path in videos:
        points = read_landmarks(path)
        report = calibrate_video(path.stem, points, rig, topology, args.iterations, args.pose_rounds)
        reports.append(report)
        print(
            f"{report.name:<10}{report.frames:>7}{report.ev_3d:>8.1%}{report.ev_xy:>8.1%}"
            f"{report.jaw_open_mean:>14.3f}{report.jaw_open_p5:>7.2f}-{report.jaw_open_p95:.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in reports], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
