"""Head-motion statistics, checked on a clip the test renders with a known head track."""

from dataclasses import replace

import numpy as np

from talking_head.eval.headmotion import (
    blink_depth,
    head_statistics,
    landmark_poses,
    lagged_correlation,
    median_frequency,
    windows,
)

FPS = 25.0


def test_statistics_of_a_known_track():
    t = np.arange(200) / FPS
    poses = np.zeros((200, 5))
    poses[:, 0] = 3.0 * np.sqrt(2) * np.sin(2 * np.pi * 0.5 * t)  # std 3 deg at 0.5 Hz
    stats = head_statistics(poses, FPS)
    assert abs(stats.std["yaw"] - 3.0) < 0.05
    assert abs(stats.median_frequency - 0.5) < 0.15
    # Mean |d/dt| of A sin(wt) is 2 A w / pi.
    assert abs(stats.speed - 2 * 3.0 * np.sqrt(2) * 2 * np.pi * 0.5 / np.pi) < 0.5


def test_lagged_correlation_finds_the_lag():
    rng = np.random.default_rng(0)
    a = np.convolve(rng.normal(size=300), np.ones(5), mode="same")
    r, lag = lagged_correlation(np.roll(a, 3), a, 6)
    assert lag == 3 and r > 0.95


def test_windows_and_frequency_edge_cases():
    assert windows(100, FPS) == [slice(0, 100)]
    assert windows(450, FPS) == [slice(0, 200), slice(200, 400)]
    assert np.isnan(median_frequency(np.zeros((3, 3)), FPS))


def test_blink_depth_per_blink():
    closure = np.zeros(40)
    closure[10:15] = [0.5, 1.0, 1.0, 0.6, 0.31]
    closure[30:33] = [0.5, 0.8, 0.4]  # never shut: not counted
    opening = np.full((40, 2), 0.2)
    opening[11:13] = 0.04
    np.testing.assert_allclose(blink_depth(opening, closure), [0.2])


def test_rendered_moving_head_is_measured_back(pipeline, asset, detector):
    """Render a clip with a known yaw/roll track; the statistics of the re-detected
    pose follow it (MediaPipe reads a rendered face's yaw short, roll fully)."""
    animator = pipeline.animator(asset, replace(pipeline.config, head_motion=1.0))
    t = np.arange(24) / FPS
    track = np.zeros((24, 5))
    track[:, 0] = 6.0 * np.sin(2 * np.pi * 1.0 * t)
    track[:, 2] = 4.0 * np.sin(2 * np.pi * 1.0 * t + 1.0)
    points = np.stack([detector.detect_all(animator.frame(asset.reconstruction.expression, row).rgb)[0]
                       for row in track])
    measured = landmark_poses(points)
    stats = head_statistics(measured, FPS)
    assert 0.4 * track[:, 0].std() < stats.std["yaw"] < 1.3 * track[:, 0].std()
    assert 0.7 * track[:, 2].std() < stats.std["roll"] < 1.3 * track[:, 2].std()
    assert np.corrcoef(measured[:, 0], track[:, 0])[0, 1] > 0.9


def test_unposed_opening_does_not_change_with_the_head_pose():
    from talking_head.face.rig import load_rig
    from talking_head.face.topology import load_topology
    from talking_head.eval.headmotion import unposed_opening
    from talking_head.motion.headpose import delta_rotation

    topology, rig = load_topology(), load_rig()
    coeffs = np.zeros(rig.size)
    coeffs[list(rig.names).index("jawOpen")] = 0.5
    face = rig.apply(topology.vertices, coeffs)
    frontal = np.diag([1.0, -1.0, -1.0])
    frames = [40.0 * face @ (frontal @ delta_rotation(*angles)).T + np.array([250.0, 250.0, 0.0])
              for angles in [(0, 0, 0), (12, 0, 0), (0, -10, 0), (5, 8, -6)]]
    opening = unposed_opening(np.stack(frames))
    assert opening[0] > 0.05
    np.testing.assert_allclose(opening, opening[0], rtol=1e-6)
