import numpy as np
import pytest

from talking_head.face.pose import euler_angles
from talking_head.face.reconstruct import mesh, posed_vertices, reconstruct
from talking_head.face.rig import audio_driven_mask, closed_mouth, inner_lip_gap, load_rig
from talking_head.face.topology import (
    INNER_LIP_LOWER,
    INNER_LIP_UPPER,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    load_topology,
)
from talking_head.types import FaceLandmarks, Photo, RigidPose


@pytest.fixture(scope="module")
def rig():
    return load_rig()


@pytest.fixture(scope="module")
def topo():
    return load_topology()


@pytest.fixture(scope="module")
def recon(astronaut, detector, rig, topo):
    return reconstruct(detector.detect(Photo(astronaut)), rig, topo)


def eye_gap(points):
    upper = list(RIGHT_EYE_UPPER + LEFT_EYE_UPPER)
    lower = list(RIGHT_EYE_LOWER + LEFT_EYE_LOWER)
    return float(np.linalg.norm(points[upper, :2] - points[lower, :2], axis=-1).mean())


def test_record_shapes_and_bounds(recon, rig):
    assert recon.identity.shape == (468, 3) and np.isfinite(recon.identity).all()
    assert recon.expression.shape == (rig.size,)
    assert (recon.expression >= rig.lower - 1e-9).all() and (recon.expression <= rig.upper + 1e-9).all()
    # A frontal face of ~15 cm across a ~100 px face (the photo is 512 px).
    assert 3.0 < recon.pose.scale < 12.0
    yaw, pitch, roll = euler_angles(recon.pose.rotation)
    assert abs(yaw) < 30 and abs(pitch) < 30 and abs(roll) < 30


def test_own_expression_reproduces_the_landmarks(recon):
    posed = posed_vertices(recon, recon.expression)
    assert posed.shape == (468, 3)
    # Exact but for the gap the rig leaves between the lips, closed in the identity.
    error = np.abs(posed - recon.landmarks.mesh_points).max(axis=1)
    assert error.max() < 2.0
    lips = list(set(INNER_LIP_UPPER + INNER_LIP_LOWER))
    assert np.delete(error, lips).max() < 1.0


def test_identity_has_a_closed_mouth(recon, rig):
    # She smiles with parted lips; her neutral face has them together.
    assert inner_lip_gap(recon.landmarks.mesh_points) > 0.8 * recon.pose.scale
    assert inner_lip_gap(recon.identity) < 0.02
    mouth = np.flatnonzero(audio_driven_mask(rig.names))
    coeffs = recon.expression.copy()
    coeffs[mouth] = 0.0
    assert inner_lip_gap(posed_vertices(recon, coeffs)) < 0.2


def test_the_astronaut_smiles(recon, rig):
    # She smiles broadly in the photo; the neutral brow and open eyes stay ~0.
    expression = dict(zip(rig.names, recon.expression))
    assert expression["mouthSmile_L"] > 0.3 and expression["mouthSmile_R"] > 0.3
    assert expression["eyeBlink_L"] < 0.3 and expression["eyeBlink_R"] < 0.3


def test_jaw_open_opens_the_mouth_in_the_photo(recon, rig):
    own = posed_vertices(recon, recon.expression)
    coeffs = recon.expression.copy()
    coeffs[rig.index("jawOpen")] = 1.0
    opened = posed_vertices(recon, coeffs)
    # More than 1.2 cm wider, in pixels of this photo.
    assert inner_lip_gap(opened) - inner_lip_gap(own) > 1.2 * recon.pose.scale
    assert opened[152, 1] > own[152, 1] + 0.5 * recon.pose.scale  # the chin goes down the image


def test_blink_closes_the_eyes_in_the_photo(recon, rig):
    coeffs = recon.expression.copy()
    coeffs[rig.index("eyeBlink_L")] = coeffs[rig.index("eyeBlink_R")] = 1.0
    own = eye_gap(posed_vertices(recon, recon.expression))
    closed = eye_gap(posed_vertices(recon, coeffs))
    assert own > 3.0 and closed < 0.15 * own


def test_mesh_and_sequences(recon, rig):
    zeros = np.zeros(rig.size)
    assert np.allclose(mesh(recon, zeros), recon.identity)
    seq = np.stack([zeros, recon.expression, rig.coefficients(jawOpen=0.5)])
    assert mesh(recon, seq).shape == (3, 468, 3)
    posed = posed_vertices(recon, seq)
    assert posed.shape == (3, 468, 3)
    assert np.allclose(posed[1], posed_vertices(recon, recon.expression))


def test_another_pose_moves_the_face(recon):
    shifted = RigidPose(recon.pose.scale, recon.pose.rotation, recon.pose.translation + [10.0, -5.0, 0.0])
    moved = posed_vertices(recon, recon.expression, pose=shifted)
    assert np.allclose(moved - posed_vertices(recon, recon.expression), [10.0, -5.0, 0.0])


def test_synthetic_face_recovers_pose_and_expression(rig, topo):
    # The canonical face with an open jaw and a half-shut eye, turned and scaled into a 512 px image.
    truth = rig.coefficients(jawOpen=0.6, eyeBlink_L=0.5)
    angle = np.radians(10)
    turn = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    pose = RigidPose(scale=12.0, rotation=np.diag([1.0, -1.0, -1.0]) @ turn, translation=np.array([256.0, 250.0, 0.0]))
    points = np.zeros((478, 3))
    neutral = closed_mouth(topo)
    points[:468] = pose.apply(rig.apply(neutral, truth))
    points[468:] = points[468]
    recon = reconstruct(FaceLandmarks(points=points, image_size=(512, 512)), rig, topo)
    assert recon.pose.scale == pytest.approx(12.0, rel=0.03)
    assert np.allclose(recon.pose.rotation, pose.rotation, atol=0.03)
    # The opening is read as expression (on the lips, jawOpen and mouthLowerDown
    # look alike), and the identity's mouth is closed like the neutral one.
    e = dict(zip(rig.names, recon.expression))
    assert e["jawOpen"] + e["mouthLowerDown"] > 0.5
    assert inner_lip_gap(recon.identity) < 0.02
    assert np.abs(recon.identity[[13, 14, 17, 152]] - neutral[[13, 14, 17, 152]]).max() < 0.5
    assert 0.3 < e["eyeBlink_L"] < 0.6 and e["eyeBlink_R"] < 0.05
    left = list(LEFT_EYE_UPPER)
    assert np.abs(recon.identity[left] - neutral[left]).max() < 0.2  # the priors keep ~0.1 of it
    assert np.abs(posed_vertices(recon, recon.expression) - points[:468]).max() < 0.1 * 12.0


def test_shut_eyes_are_capped(rig, topo):
    pose = RigidPose(scale=10.0, rotation=np.diag([1.0, -1.0, -1.0]), translation=np.array([200.0, 200.0, 0.0]))
    points = np.zeros((478, 3))
    points[:468] = pose.apply(rig.apply(closed_mouth(topo), rig.coefficients(eyeBlink_L=1.0, eyeBlink_R=1.0)))
    recon = reconstruct(FaceLandmarks(points=points, image_size=(400, 400)), rig, topo)
    assert recon.expression[rig.index("eyeBlink_L")] <= 0.8 + 1e-9
    assert np.isfinite(recon.identity).all()
    assert np.abs(posed_vertices(recon, recon.expression) - points[:468]).max() < 0.5


def test_bad_landmarks_raise(rig, topo):
    points = np.full((478, 3), np.nan)
    with pytest.raises(ValueError, match="landmarks"):
        reconstruct(FaceLandmarks(points=points, image_size=(10, 10)), rig, topo)
