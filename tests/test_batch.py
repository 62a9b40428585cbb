"""`talking-head batch`: manifests, the status file, resume, and both engines with a failing job."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from talking_head.batch import STATUS_FILE, Job, JobResult, ManifestError, plan, read_manifest, read_status, run_manifest
from talking_head.cli import main
from talking_head.config import GenerationConfig
from talking_head.video import probe_video

from test_generate import vowel_bursts, write_wav

TINY = ["--size", "64", "--texture-size", "128"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory, astronaut):
    """A photo, a face-less image and two 1 s clips."""
    folder = tmp_path_factory.mktemp("batch")
    Image.fromarray(astronaut).save(folder / "photo.png")
    Image.fromarray(np.full((128, 128, 3), 120, np.uint8)).save(folder / "blank.png")
    write_wav(folder / "a.wav", vowel_bursts(1.0, [0.2]))
    write_wav(folder / "b.wav", vowel_bursts(1.0, [0.5]))
    return folder


def test_csv_manifest_resolves_paths_and_applies_row_options(folder, tmp_path):
    (folder / "words.txt").write_text("hello there")
    (folder / "m.csv").write_text("photo,audio,transcript,out,smoothing,mouth-motion,blink\n"
                                  "photo.png,a.wav,words.txt,x/one.mp4,0,,false\n"
                                  f"{folder / 'photo.png'},b.wav,say this,,,1.2,\n")
    defaults = GenerationConfig(size=64, smoothing=3)
    jobs = read_manifest(folder / "m.csv", tmp_path / "out", defaults)
    assert [j.id for j in jobs] == ["x/one.mp4", "photo_b.mp4"]
    one, two = jobs
    assert one.photo == str(folder / "photo.png") and one.audio == str(folder / "a.wav")
    assert one.transcript == str(folder / "words.txt") and two.transcript == "say this"
    assert one.out == str(tmp_path / "out" / "x" / "one.mp4")
    assert (one.config.smoothing, one.config.blink, one.config.size) == (0, False, 64)
    assert (two.config.smoothing, two.config.mouth_motion, two.config.blink) == (3, 1.2, True)


def test_jsonl_manifest(folder, tmp_path):
    (folder / "m.jsonl").write_text('{"photo": "photo.png", "audio": "a.wav", "driver": "loudness", "size": 96}\n\n'
                                    '{"photo": "photo.png", "audio": "b.wav", "blink": false}\n')
    jobs = read_manifest(folder / "m.jsonl", tmp_path)
    assert [(j.config.driver, j.config.size, j.config.blink) for j in jobs] == [("loudness", 96, True),
                                                                                 ("phonetic", 512, False)]


@pytest.mark.parametrize("text, message", [
    ("photo,out\nphoto.png,a.mp4\n", "row 1 .*audio column is missing"),
    ("photo,audio,colour\nphoto.png,a.wav,red\n", "row 1 .*unknown column.*colour"),
    ("photo,audio\nphoto.png,a.wav\nphoto.png,b.wav,extra\n", "row 2 .*more cells"),
    ("photo,audio,smoothing\nphoto.png,a.wav,1\nphoto.png,a.wav,99\n", "row 2 .*smoothing must be within 0..10"),
    ("photo,audio,smoothing\nphoto.png,a.wav,two\n", "row 1 .*smoothing needs a number"),
    ("photo,audio,blink\nphoto.png,a.wav,maybe\n", "row 1 .*blink must be true or false"),
    ("photo,audio,driver\nphoto.png,a.wav,magic\n", "row 1 .*driver must be one of"),
    ("photo,audio,out\nphoto.png,a.wav,v.mp4\nphoto.png,b.wav,./v.mp4\n", "row 2 .*writes v.mp4, as .*row 1"),
    ("photo,audio,out\nphoto.png,a.wav,v.avi\n", "row 1 .*must end in .mp4"),
    ("photo,audio\n", "has no jobs"),
])
def test_bad_csv_manifests_are_refused_naming_the_row(folder, tmp_path, text, message):
    (folder / "bad.csv").write_text(text)
    with pytest.raises(ManifestError, match=message):
        read_manifest(folder / "bad.csv", tmp_path)


@pytest.mark.parametrize("text, message", [
    ('{"photo": "p.png", "audio": "a.wav"}\n[1, 2]\n', "row 2 .*not a JSON object"),
    ('{"photo": "p.png", "audio": "a.wav", "size": "big"}\n', "row 1 .*size needs a number"),
    ('{"photo": "p.png", "audio": "a.wav", "smoothing": 1.5}\n', "row 1 .*whole number"),
    ('{"photo": "p.png", "audio": "a.wav", "blink": 1}\n', "row 1 .*true or false"),
])
def test_bad_jsonl_manifests_are_refused_naming_the_row(folder, tmp_path, text, message):
    (folder / "bad.jsonl").write_text(text)
    with pytest.raises(ManifestError, match=message):
        read_manifest(folder / "bad.jsonl", tmp_path)


def test_a_bad_manifest_does_no_work(folder, tmp_path, capsys):
    (folder / "bad2.csv").write_text("photo,audio,smoothing\nphoto.png,a.wav,1\nphoto.png,a.wav,-1\n")
    assert main(["batch", str(folder / "bad2.csv"), "--out", str(tmp_path / "out")]) == 2
    assert "row 2" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_plan_skips_recorded_jobs_and_retries_failed_ones(tmp_path):
    config = GenerationConfig()
    jobs = [Job(name, i, "p", "a", str(tmp_path / name), None, config) for i, name in enumerate("abcd")]
    (tmp_path / "a").write_text("video")
    status = {"a": JobResult("a", "ok", "", "", 1.0), "b": JobResult("b", "error", "", "x", 1.0),
              "c": JobResult("c", "ok", "", "", 1.0)}  # c's video was deleted: run again
    todo, skipped = plan(jobs, status)
    assert [j.id for j in todo] == ["c", "d"] and skipped == ["a", "b"]
    todo, skipped = plan(jobs, status, retry_failed=True)
    assert [j.id for j in todo] == ["b", "c", "d"] and skipped == ["a"]


def _status_lines(out):
    return [json.loads(line) for line in (out / STATUS_FILE).read_text().splitlines()]


def _check_outputs(out, ids):
    for name in ids:
        info = probe_video(out / name)
        assert (info.width, info.height, info.frames) == (64, 64, 25) and info.audio_codec == "aac"
    assert not list(out.glob(".*partial*")) and not list(out.glob("**/.*.mp4"))


def test_local_batch_records_a_bad_job_resumes_and_retries(folder, tmp_path, pipeline):
    (folder / "jobs.csv").write_text("photo,audio,out,smoothing\nphoto.png,a.wav,one.mp4,\n"
                                     "missing.png,a.wav,bad.mp4,\nphoto.png,b.wav,sub/two.mp4,0\n")
    out = tmp_path / "out"
    args = ["batch", str(folder / "jobs.csv"), "--out", str(out), *TINY]
    assert main(args + ["--workers", "2", "--export-animation"]) == 1  # a process pool of two; one job failed
    lines = _status_lines(out)
    assert sorted((r["id"], r["status"]) for r in lines) == [("bad.mp4", "error"), ("one.mp4", "ok"),
                                                               ("sub/two.mp4", "ok")]
    bad = next(r for r in lines if r["status"] == "error")
    assert "photo not found" in bad["message"] and bad["row"] == 2 and not (out / "bad.mp4").exists()
    assert all(r["seconds"] >= 0 and r["output"].endswith(r["id"]) for r in lines)
    _check_outputs(out, ["one.mp4", "sub/two.mp4"])
    assert sorted(p.name for p in (out / "sub" / "two_animation").iterdir()) == ["arkit.csv", "face.glb",
                                                                                "visemes.json"]

    assert main(args) == 1  # resume: nothing left to do, the failure still counts
    assert len(_status_lines(out)) == 3

    shutil.copy(folder / "photo.png", folder / "missing.png")  # fix the bad row, retry it alone
    summary = run_manifest(folder / "jobs.csv", out, GenerationConfig(size=64, texture_size=128), workers=1,
                           retry_failed=True, progress=False, pipeline=pipeline)
    assert [r.id for r in summary.results] == ["bad.mp4"] and summary.ok
    assert sorted(summary.skipped) == ["one.mp4", "sub/two.mp4"]
    assert read_status(out)["bad.mp4"].status == "ok" and len(_status_lines(out)) == 4
    _check_outputs(out, ["bad.mp4"])


def test_ray_batch_records_a_face_less_photo_and_goes_on(folder, tmp_path):
    (folder / "ray.jsonl").write_text('{"photo": "photo.png", "audio": "a.wav", "out": "one.mp4"}\n'
                                      '{"photo": "blank.png", "audio": "a.wav", "out": "noface.mp4"}\n'
                                      '{"photo": "photo.png", "audio": "b.wav", "out": "two.mp4", "smoothing": 0}\n')
    out = tmp_path / "ray"
    assert main(["batch", str(folder / "ray.jsonl"), "--out", str(out), "--engine", "ray", "--workers", "1",
                 *TINY]) == 1
    status = read_status(out)
    assert {k: v.status for k, v in status.items()} == {"one.mp4": "ok", "noface.mp4": "error", "two.mp4": "ok"}
    assert "face" in status["noface.mp4"].message.lower()
    _check_outputs(out, ["one.mp4", "two.mp4"])
