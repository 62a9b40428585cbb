"""Animation export: arkit.csv, visemes.json and face.glb; arkit.csv back in as the curves driver."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy.spatial.transform import Rotation

from talking_head.audio.decode import AudioClip
from talking_head.audio.visemes import VISEMES
from talking_head.cli import main
from talking_head.config import GenerationConfig
from talking_head.drivers import DriveRequest
from talking_head.drivers.curves import CurvesDriver
from talking_head.errors import InputError, OutputPathError
from talking_head.export import animated_face, check_export_folder
from talking_head.export.arkit import ARKIT_NAMES, HEAD_COLUMNS, arkit_matrix, read_curves, resample, write_arkit_csv
from talking_head.export.gltf import accessor_array, euler_quaternions, glb_bytes, read_glb
from talking_head.export.visemes import classify_frames, runs
from talking_head.face.rig import load_rig
from talking_head.types import CoefficientTrack
from talking_head.video import read_frames

from test_generate import vowel_bursts, write_wav

ROOT = Path(__file__).resolve().parents[1]
NAMES = load_rig().names


def test_every_rig_shape_maps_to_arkit_names_and_the_rest_stay_zero():
    matrix = arkit_matrix(NAMES)
    assert matrix.shape == (len(NAMES), 52) and len(set(ARKIT_NAMES)) == 52
    assert (matrix.sum(axis=1) >= 1).all()  # every shape lands somewhere
    assert matrix.sum(axis=0).max() == 1  # no ARKit column gets two shapes
    column = {n: [ARKIT_NAMES[j] for j in np.flatnonzero(matrix[k])] for k, n in enumerate(NAMES)}
    assert column["mouthSmile_L"] == ["mouthSmileLeft"] and column["eyeBlink_R"] == ["eyeBlinkRight"]
    assert column["mouthUpperUp"] == ["mouthUpperUpLeft", "mouthUpperUpRight"]
    assert column["browDown_L"] == ["browDownLeft"] and column["jawOpen"] == ["jawOpen"]
    zero = {ARKIT_NAMES[j] for j in np.flatnonzero(matrix.sum(axis=0) == 0)}
    assert {"tongueOut", "cheekPuff", "eyeLookUpLeft", "mouthFrownRight"} <= zero and "jawOpen" not in zero


def test_arkit_csv_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    coeffs = rng.uniform(0, 1, (40, len(NAMES)))
    pose = rng.normal(0, 3, (40, 6))
    write_arkit_csv(tmp_path / "arkit.csv", NAMES, coeffs, 25.0, pose)
    header = (tmp_path / "arkit.csv").read_text().splitlines()[0].split(",")
    assert header == ["time", *ARKIT_NAMES, *HEAD_COLUMNS]
    curves = read_curves(tmp_path / "arkit.csv", NAMES)
    assert curves.names == NAMES and curves.ignored == ()
    assert np.allclose(curves.times, np.arange(40) / 25.0)
    values, notes = resample(curves, 40, 25.0)
    assert np.abs(values - coeffs).max() < 1e-5 and notes == ()
    assert np.abs(curves.head - pose).max() < 1e-3


def test_foreign_curves_resample_and_report_what_they_ignore(tmp_path):
    times = np.arange(0, 1.0, 1 / 60)
    jaw = 0.5 + 0.5 * np.sin(2 * np.pi * times)
    lines = ["Time,JawOpen,EyeBlinkLeft,MouthPressLeft,MouthPressRight,Timecode"]
    lines += [f"{t},{j},0.25,0.2,0.4,x" for t, j in zip(times, jaw)]
    (tmp_path / "capture.csv").write_text("\n".join(lines) + "\n")
    curves = read_curves(tmp_path / "capture.csv", NAMES)
    assert set(curves.names) == {"jawOpen", "eyeBlink_L", "mouthPress"} and curves.ignored == ("Timecode",)
    values, notes = resample(curves, 50, 25.0)  # 2 s of audio, 1 s of curve
    jaw_column = curves.names.index("jawOpen")
    at = np.arange(25) / 25.0
    assert np.allclose(values[:25, jaw_column], 0.5 + 0.5 * np.sin(2 * np.pi * at), atol=0.01)
    assert np.allclose(values[25:, jaw_column], jaw[-1])  # held
    assert np.allclose(values[:, curves.names.index("mouthPress")], 0.3)  # mean of left and right
    assert "held" in notes[0]


@pytest.mark.parametrize("text, message", [
    ("time,foo,bar\n0,1,2\n", "no column"),
    ("time,jawOpen\n0,0.1\n0,0.2\n", "increase"),
    ("time,jawOpen\n0,abc\n", "not a number"),
    ("time,jawOpen\n0,\n", "empty or non-finite"),
])
def test_bad_curve_files_are_refused(tmp_path, text, message):
    (tmp_path / "c.csv").write_text(text)
    with pytest.raises(InputError, match=message):
        read_curves(tmp_path / "c.csv", NAMES)
    with pytest.raises(InputError, match="not found"):
        read_curves(tmp_path / "missing.csv", NAMES)


def test_curves_driver_keeps_the_photo_in_missing_columns_and_cuts_long_curves(tmp_path):
    lines = ["jawOpen,unknownThing"] + [f"{i / 100},1" for i in range(100)]  # no time column: rows are frames
    (tmp_path / "c.csv").write_text("\n".join(lines) + "\n")
    rig = load_rig()
    base = rig.coefficients(browInnerUp=0.4, mouthSmile_L=0.3)
    clip = AudioClip(np.zeros(16000, np.float32), 16000)
    request = DriveRequest(clip, 25, 25.0, rig.names, tuple(n for n in rig.names if n.startswith(("jaw", "mouth"))),
                           base)
    out = CurvesDriver(str(tmp_path / "c.csv")).drive(request, lambda f: None)
    assert out.coeffs.shape == (25, len(rig.names))
    assert np.allclose(out.coeffs[:, rig.index("jawOpen")], np.arange(25) / 100)
    assert np.allclose(out.coeffs[:, rig.index("browInnerUp")], 0.4)  # the photo's own brows
    assert np.allclose(out.coeffs[:, rig.index("mouthSmile_L")], 0.0)  # a mouth shape at rest
    joined = " ".join(out.notes)
    assert "longer than the audio" in joined and "unknownThing" in joined and "no time column" in joined


def test_coeffs_option_implies_the_curves_driver():
    assert GenerationConfig(coeffs="x.csv").driver == "curves"
    with pytest.raises(ValueError, match="curve file"):
        GenerationConfig(driver="curves")


def test_quaternions_match_scipy():
    rng = np.random.default_rng(1)
    yaw, pitch, roll = rng.uniform(-40, 40, (3, 10))
    ours = euler_quaternions(yaw, pitch, roll)
    # Rz(roll) @ Ry(yaw) @ Rx(pitch): intrinsic z-y-x.
    theirs = Rotation.from_euler("ZYX", np.stack([roll, yaw, pitch], axis=1), degrees=True).as_quat()
    assert np.allclose(np.abs((ours * theirs).sum(axis=1)), 1.0, atol=1e-9)


def test_visemes_from_coefficients_name_the_table_poses():
    rig = load_rig()

    def pose(name):  # the table's own target for a viseme, as rig coefficients
        return rig.coefficients(**{k: v for k, v in VISEMES[name].target if k in rig.names})

    frames = [pose("AA"), rig.coefficients(), pose("UW")]
    assert classify_frames(np.stack(frames), rig.names) == ["AA", "sil", "UW"]
    assert runs(["sil", "sil", "AA"], 25.0) == [{"viseme": "sil", "start": 0.0, "end": 0.08},
                                                {"viseme": "AA", "start": 0.08, "end": 0.12}]


def _validator():
    module = Path(os.environ.get("GLTF_VALIDATOR", ROOT / ".cache/node/node_modules/gltf-validator"))
    return module if shutil.which("node") and (module / "package.json").exists() else None


def test_glb_carries_mesh_texture_morph_targets_and_animation(asset, tmp_path):
    rig = load_rig()
    rng = np.random.default_rng(2)
    weights = rng.uniform(0, 1, (12, len(rig.names)))
    pose = np.zeros((12, 6))
    pose[:, 0] = np.linspace(0, 20, 12)  # a yaw sweep
    track = CoefficientTrack(rig.names, weights, weights, 25.0)
    from talking_head.face.topology import load_topology

    topology = load_topology()
    face = animated_face(asset, track, rig, topology, pose)
    data = glb_bytes(face)
    document, blob = read_glb(data)
    primitive = document["meshes"][0]["primitives"][0]
    assert len(primitive["targets"]) == len(rig.names)
    assert document["meshes"][0]["extras"]["targetNames"] == list(rig.names)
    positions = accessor_array(document, blob, primitive["attributes"]["POSITION"])
    assert np.allclose(positions, asset.reconstruction.identity * 0.01, atol=1e-6)
    jaw = accessor_array(document, blob, primitive["targets"][rig.index("jawOpen")]["POSITION"])
    assert np.allclose(jaw, rig.personalize(asset.reconstruction.identity).deltas[rig.index("jawOpen")] * 0.01,
                       atol=1e-6)
    assert np.abs(jaw).max() > 1e-3  # the jaw target really moves vertices
    animation = document["animations"][0]
    paths = {c["target"]["path"]: c["sampler"] for c in animation["channels"]}
    assert set(paths) == {"weights", "rotation", "translation"}
    times = accessor_array(document, blob, animation["samplers"][paths["weights"]]["input"])[:, 0]
    assert np.allclose(times, np.arange(12) / 25.0)
    animated = accessor_array(document, blob, animation["samplers"][paths["weights"]]["output"])
    assert np.allclose(animated.reshape(12, -1), weights, atol=1e-6)
    rotation = accessor_array(document, blob, animation["samplers"][paths["rotation"]]["output"])
    assert np.isclose(Rotation.from_quat(rotation[-1]).magnitude(), np.radians(20))
    view = document["bufferViews"][document["images"][0]["bufferView"]]
    png = np.frombuffer(blob[view["byteOffset"] : view["byteOffset"] + view["byteLength"]], np.uint8)
    texture = cv2.cvtColor(cv2.imdecode(png, cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    assert np.array_equal(texture, asset.texture.rgba)

    validator = _validator()
    if validator is None:
        pytest.skip("the Khronos glTF validator is not installed (`make test` installs it into .cache/node)")
    (tmp_path / "face.glb").write_bytes(data)
    done = subprocess.run(["node", str(ROOT / "tools/validate_gltf.mjs"), str(tmp_path / "face.glb")],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "GLTF_VALIDATOR": str(validator)})
    report = json.loads(done.stdout.splitlines()[-1])
    assert done.returncode == 0, report["issues"]["messages"]
    assert report["issues"]["numErrors"] == 0 and report["issues"]["numWarnings"] == 0, report["issues"]["messages"]
    assert report["info"]["hasMorphTargets"] and report["info"]["animationCount"] == 1
    assert report["info"]["hasTextures"] and report["info"]["totalVertexCount"] == 468


def test_export_folder_checks(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "arkit.csv").write_text("x")
    with pytest.raises(OutputPathError, match="already holds arkit.csv"):
        check_export_folder(tmp_path / "taken")
    with pytest.raises(OutputPathError, match="does not exist"):
        check_export_folder(tmp_path / "no" / "such")
    assert check_export_folder(tmp_path / "taken", overwrite=True) == tmp_path / "taken"


@pytest.fixture(scope="module")
def exported(tmp_path_factory, astronaut):
    folder = tmp_path_factory.mktemp("export")
    Image.fromarray(astronaut).save(folder / "photo.png")
    write_wav(folder / "speech.wav", vowel_bursts(1.6, [0.2, 0.9]))
    code = main(["generate", "--photo", str(folder / "photo.png"), "--audio", str(folder / "speech.wav"),
                 "--out", str(folder / "a.mp4"), "--size", "128", "--texture-size", "256", "--smoothing", "0",
                 "--no-blink", "--driver", "audionet", "--export-animation", str(folder / "anim")])
    assert code == 0
    return folder


def test_generate_exports_the_three_files_at_the_video_rate(exported):
    anim = exported / "anim"
    assert sorted(p.name for p in anim.iterdir()) == ["arkit.csv", "face.glb", "visemes.json"]
    curves = read_curves(anim / "arkit.csv", NAMES)
    frames = sum(1 for _ in read_frames(exported / "a.mp4"))
    assert len(curves.times) == frames == 40
    jaw = curves.values[:, curves.names.index("jawOpen")]
    assert jaw.max() > 0.1 and jaw[:3].max() < jaw.max() / 2  # the mouth moves with the bursts
    record = json.loads((anim / "visemes.json").read_text())
    assert record["format"] == "talking-head-visemes/1" and record["source"] == "coefficients"
    segments = record["visemes"]
    assert segments[0]["start"] == 0 and segments[-1]["end"] == pytest.approx(record["duration"])
    assert all(a["end"] == b["start"] for a, b in zip(segments, segments[1:]))
    assert {s["viseme"] for s in segments} <= set(VISEMES) and len({s["viseme"] for s in segments}) > 1
    document, _ = read_glb((anim / "face.glb").read_bytes())
    assert document["animations"][0]["channels"][0]["target"]["path"] == "weights"


def test_exported_curves_drive_the_same_mouth(exported):
    anim = exported / "anim"
    code = main(["generate", "--photo", str(exported / "photo.png"), "--audio", str(exported / "speech.wav"),
                 "--out", str(exported / "b.mp4"), "--size", "128", "--texture-size", "256", "--smoothing", "0",
                 "--no-blink", "--coeffs", str(anim / "arkit.csv"), "--export-animation", str(exported / "again")])
    assert code == 0
    first = read_curves(anim / "arkit.csv", NAMES)
    second = read_curves(exported / "again" / "arkit.csv", NAMES)
    assert first.names == second.names
    assert np.abs(first.values - second.values).max() < 1e-5  # the same coefficient track
    assert first.head is not None and np.abs(first.head[:, :3]).max() > 0.1  # the head moved (head motion 1)
    np.testing.assert_allclose(second.head, first.head, atol=2e-3)  # and the file's pose came back in
    jaw = first.values[:, first.names.index("jawOpen")]
    for index in (0, int(np.argmax(jaw)), len(jaw) - 1):  # closed, widest open, end
        a = list(read_frames(exported / "a.mp4"))[index].astype(float)
        b = list(read_frames(exported / "b.mp4"))[index].astype(float)
        # Same track and head pose (to 5e-5 degrees): what is left is H.264 noise of two encodes.
        assert np.abs(a - b).mean() < 2.0


def test_visemes_from_the_phonetic_drivers_phones_tile_the_video():
    from talking_head.drivers import TimedPhone
    from talking_head.export.visemes import viseme_record

    phones = (TimedPhone("HH", 0.2, 0.3), TimedPhone("AY", 0.3, 0.5), TimedPhone("SIL", 0.5, 0.6),
              TimedPhone("M", 0.6, 0.7))
    record = viseme_record(np.zeros((25, len(NAMES))), NAMES, 25.0, phones)
    assert record["source"] == "phones" and [p["phone"] for p in record["phones"]] == ["HH", "AY", "SIL", "M"]
    shown = [(s["viseme"], s["start"], s["end"]) for s in record["visemes"]]
    assert shown == [("sil", 0.0, 0.2), ("H", 0.2, 0.3), ("AA", 0.3, 0.41), ("IH", 0.41, 0.5), ("sil", 0.5, 0.6),
                     ("PBM", 0.6, 0.7), ("sil", 0.7, 1.0)]
