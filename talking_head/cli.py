"""Command line: ``talking-head COMMAND ...`` (or ``python -m talking_head``). The only reader of argv."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .config import GenerationConfig, RenderConfig
from .errors import InputError, OutputPathError, TalkingHeadError
from .options import add_config_options, config_from_args


TEXTURE_OPTIONS = ("texture_size", "texture_mode")


def _config(args: argparse.Namespace, kind: type = RenderConfig) -> RenderConfig:
    try:
        return config_from_args(args, kind)
    except ValueError as error:
        raise InputError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talking-head",
        description="Talking-head videos from one photo (Lv et al., ACM MM 2022).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    texture = commands.add_parser(
        "texture",
        help="reconstruct the face of a photo and write its texture and mesh",
        description="Write texture.png, face.obj + face.mtl, landmarks.json and overlay.png into DIR.",
    )
    texture.add_argument("--photo", required=True, type=Path, help="portrait photo (JPEG, PNG, WebP)")
    texture.add_argument("--out", required=True, type=Path, help="output folder (created; its parent must exist)")
    add_config_options(texture, RenderConfig, only=TEXTURE_OPTIONS)
    texture.add_argument("--overwrite", action="store_true", help="replace existing outputs")

    animate = commands.add_parser(
        "animate",
        help="render a sequence of expression coefficients to a silent video",
        description="Render a (frames x K) .npy of rig coefficients (see `rig-names`) over the photo.",
    )
    animate.add_argument("--photo", required=True, type=Path, help="portrait photo")
    animate.add_argument("--coeffs", required=True, type=Path, help=".npy array, frames x K")
    animate.add_argument("--out", required=True, type=Path, help="output .mp4")
    add_config_options(animate, RenderConfig)
    animate.add_argument("--overwrite", action="store_true", help="replace existing outputs")

    generate = commands.add_parser(
        "generate",
        help="photo + audio -> talking-head video",
        description="Render a talking-head MP4 (H.264 + AAC) of the photo's face speaking the audio.",
    )
    generate.add_argument("--photo", required=True, type=Path, help="portrait photo (JPEG, PNG, WebP)")
    generate.add_argument("--audio", required=True, type=Path,
                          help="speech: WAV, MP3, M4A/AAC, OGG/Opus, WebM, FLAC, or a video's audio track")
    generate.add_argument("--out", required=True, type=Path, help="output .mp4 (its folder must exist)")
    generate.add_argument("--transcript", default=None, metavar="TEXT_OR_FILE",
                          help="what is said (English), as text or a UTF-8 text file: the phonetic driver aligns "
                               "it to the audio for exact lip timing; if it does not match the audio, the phones "
                               "are recognised instead (with a note)")
    add_config_options(generate, GenerationConfig)
    generate.add_argument("--intermediates", type=Path, default=None,
                          help="folder for the texture, raw/final coefficients (.npy) and their plot")
    generate.add_argument("--export-animation", type=Path, default=None, metavar="DIR",
                          help="also write the motion into DIR: arkit.csv (ARKit blendshape curves + head pose), "
                               "visemes.json (timed visemes) and face.glb (the textured face with blendshapes and "
                               "their animation, glTF 2.0)")
    generate.add_argument("--overwrite", action="store_true", help="replace an existing output")

    batch = commands.add_parser(
        "batch",
        help="many videos from a manifest (CSV or JSON Lines), on this machine's cores or a Ray cluster",
        description="Run every row of MANIFEST (columns photo, audio, optional transcript, out, and any generation "
                    "option) with the options below as defaults. Results go to DIR/batch_status.jsonl; running "
                    "again skips finished jobs. Exit status 1 when any job failed.",
    )
    batch.add_argument("manifest", type=Path, help="CSV or .jsonl manifest; relative paths resolve against its folder")
    batch.add_argument("--out", required=True, type=Path, help="output folder (created; its parent must exist)")
    batch.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="local: a process pool on this machine (default); ray: Ray tasks")
    batch.add_argument("--workers", type=int, default=None, metavar="N",
                       help="local processes, or CPUs of a local Ray (default: the cores)")
    batch.add_argument("--address", default=None, help="Ray cluster address to join (default: start a local Ray)")
    batch.add_argument("--retry-failed", action="store_true", help="run the jobs recorded as failed again")
    batch.add_argument("--export-animation", action="store_true",
                       help="also write each video's arkit.csv, visemes.json and face.glb into <video>_animation/")
    add_config_options(batch, GenerationConfig)

    evaluate = commands.add_parser(
        "evaluate",
        help="measure a talking-head video from its pixels",
        description="Lip sync, jitter, sharpness (CPBD), identity, flicker and format of a video, "
                    "from landmarks re-detected with MediaPipe.",
    )
    evaluate.add_argument("--video", required=True, type=Path, help="the video to measure")
    evaluate.add_argument("--photo", type=Path, help="the photo it was made from (sharpness ratio, identity)")
    evaluate.add_argument("--real-video", type=Path,
                          help="a real video of the same speech: lip sync against its mouth opening "
                               "(default: against the audio's loudness)")
    evaluate.add_argument("--json", type=Path, help="also write the numbers to this JSON file")

    bench = commands.add_parser(
        "bench",
        help="speed, memory and quality benchmark with an ablation report",
        description="Per-stage speed at 512x512, peak memory for 10 s / 1 min / 5 min of audio, and, with "
                    "--real-videos, quality of the full pipeline and its ablations on real talking videos "
                    "(first frame as the photo, their own audio). Writes report.md, bench.json and plots.",
    )
    bench.add_argument("--real-videos", type=Path, help="folder of real talking videos (.mp4 with audio)")
    bench.add_argument("--out", type=Path, default=Path("bench_report"), help="report folder (created)")
    add_config_options(bench, GenerationConfig, only=("device",))
    bench.add_argument("--frames-mode", action="store_true",
                       help="also time per-frame restoration (slow on a CPU: seconds per frame)")
    bench.add_argument("--quick", action="store_true", help="memory at 10 s and 1 min only")

    commands.add_parser("rig-names", help="print the expression rig's blendshape names, one per line")
    from .restore.weights import add_weights_arguments
    from .train.config import TRAIN_DESCRIPTION, add_train_arguments

    add_weights_arguments(commands.add_parser(
        "weights", help="list or fetch restorer weights", description="List or fetch restorer weights."))
    add_train_arguments(commands.add_parser(
        "train-audionet", help="train AudioNet on sharded feature/target data (see assets/audionet)",
        description=TRAIN_DESCRIPTION))
    return parser


def _check_folder(out: Path, names: list[str], overwrite: bool) -> Path:
    if not out.parent.is_dir():
        raise OutputPathError(f"Parent folder does not exist: {out.parent}")
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"{out} exists and is not a folder")
    clash = [n for n in names if (out / n).exists()]
    if clash and not overwrite:
        raise OutputPathError(f"{out} already holds {', '.join(clash)}; choose another folder or pass --overwrite")
    return out


def run_texture(args: argparse.Namespace) -> int:
    import cv2

    from .face.export import draw_overlay, front_facing_winding, landmarks_record, write_json, write_obj
    from .face.reconstruct import mesh, posed_vertices
    from .pipeline import TalkingHeadPipeline

    names = ["texture.png", "face.obj", "face.mtl", "landmarks.json", "overlay.png"]
    out = _check_folder(args.out, names, args.overwrite)
    pipeline = TalkingHeadPipeline(_config(args))
    asset = pipeline.analyse(args.photo)
    recon = asset.reconstruction
    topo = pipeline.topology
    # Write everything into a scratch folder first, so a failure leaves nothing half-written.
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".partial-") as scratch:
        scratch = Path(scratch)
        cv2.imwrite(str(scratch / "texture.png"), cv2.cvtColor(asset.texture.rgba, cv2.COLOR_RGBA2BGRA))
        canonical = mesh(recon, recon.expression)
        write_obj(scratch / "face.obj", canonical, topo.uvs, front_facing_winding(canonical, topo.triangles))
        write_json(scratch / "landmarks.json", landmarks_record(recon, pipeline.rig.names))
        overlay = draw_overlay(asset.photo.rgb, posed_vertices(recon, recon.expression), topo.triangles, topo.mouth_triangles)
        cv2.imwrite(str(scratch / "overlay.png"), cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
        for name in names:
            os.replace(scratch / name, out / name)
    pipeline.close()
    for note in asset.notes:
        print(f"note: {note}", file=sys.stderr)
    timing = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in asset.timings.items())
    print(f"wrote {', '.join(names)} to {out} ({timing})")
    return 0


def load_coefficients(path: Path) -> np.ndarray:
    """Read a .npy coefficient file (no pickles)."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"Coefficient file not found: {path}") from None
    except (ValueError, OSError, EOFError) as error:
        raise InputError(f"Cannot read {path.name} as a .npy array: {error}") from None


def run_animate(args: argparse.Namespace) -> int:
    from .pipeline import TalkingHeadPipeline
    from .video import VideoWriter, check_output_path

    check_output_path(args.out, args.overwrite, inputs=(args.photo, args.coeffs))
    config = _config(args)
    pipeline = TalkingHeadPipeline(config)
    try:
        coeffs = pipeline.check_coefficients(load_coefficients(args.coeffs))
        asset = pipeline.analyse(args.photo)
        start = time.perf_counter()
        with pipeline.animator(asset) as animator, \
                VideoWriter(args.out, animator.size, config.fps, overwrite=args.overwrite) as writer:
            for row in coeffs:
                writer.write(animator.frame(row).rgb)
            backend = animator.renderer.backend
        elapsed = time.perf_counter() - start
    finally:
        pipeline.close()
    print(f"wrote {len(coeffs)} frames ({len(coeffs) / config.fps:.2f} s) to {args.out} "
          f"in {elapsed:.2f} s, renderer {backend}")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from .audio.transcript import read_transcript
    from .pipeline import TalkingHeadPipeline

    transcript = read_transcript(args.transcript)  # text or a file; refused here before any work
    for note in transcript.notes:
        print(f"note: {note}", file=sys.stderr)
    pipeline = TalkingHeadPipeline(_config(args, GenerationConfig))
    stages: dict[str, int] = {}

    def progress(stage: str, fraction: float) -> None:
        if stages.get(stage) != int(fraction * 10):
            stages[stage] = int(fraction * 10)
            print(f"\r{stage:>10} {fraction * 100:5.1f}%", end="", file=sys.stderr, flush=True)

    try:
        result = pipeline.generate(args.photo, str(args.audio), str(args.out), overwrite=args.overwrite,
                                   intermediates=args.intermediates, progress=progress, transcript=transcript.text,
                                   export_animation=args.export_animation)
    finally:
        print(file=sys.stderr)
        pipeline.close()
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    compute = sum(v for k, v in result.timings.items() if k != "render")
    print(f"wrote {result.video}: {result.frames} frames, {result.duration:.2f} s "
          f"(audio {result.audio_duration:.2f} s) in {compute:.1f} s "
          f"({compute / max(result.duration, 1e-9):.2f} s per second of video)")
    return 0


def run_batch(args: argparse.Namespace) -> int:
    from .batch import run_manifest

    if args.address and args.engine != "ray":
        raise InputError("--address joins a Ray cluster: use it with --engine ray")
    summary = run_manifest(args.manifest, args.out, _config(args, GenerationConfig), args.engine, args.workers,
                           args.address, args.retry_failed, args.export_animation)
    done = sum(r.status == "ok" for r in summary.results)
    print(f"{done} of {len(summary.results)} run ok, {len(summary.skipped)} skipped (recorded before), "
          f"{len(summary.failed)} failed in all, {summary.total} jobs, {summary.seconds:.1f} s; "
          f"status in {args.out / 'batch_status.jsonl'}")
    return 0 if summary.ok else 1


def run_evaluate(args: argparse.Namespace) -> int:
    import json

    from .eval.evaluate import evaluate_video

    for path in (args.video, args.photo, args.real_video):
        if path is not None and not path.is_file():
            raise InputError(f"File not found: {path}")
    if args.json is not None:
        check_json = args.json
        if not check_json.parent.is_dir():
            raise OutputPathError(f"Output folder does not exist: {check_json.parent}")
    result = evaluate_video(args.video, args.photo, args.real_video).as_dict()
    width = max(len(k) for k in result)
    for key, value in result.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from .eval.bench import run_bench as bench

    if args.real_videos is not None and not args.real_videos.is_dir():
        raise InputError(f"Folder not found: {args.real_videos}")
    if not args.out.parent.is_dir():
        raise OutputPathError(f"Parent folder does not exist: {args.out.parent}")
    seconds = (10.0, 60.0) if args.quick else (10.0, 60.0, 300.0)
    report = bench(args.out, args.real_videos, args.device, args.frames_mode, seconds)
    print(report.read_text())
    print(f"report: {report}")
    return 0


def run_rig_names(args: argparse.Namespace) -> int:
    from .face.rig import load_rig

    print("\n".join(load_rig().names))
    return 0


def run_weights(args: argparse.Namespace) -> int:
    from .restore.weights import run_weights as run

    return run(args)


def run_train(args: argparse.Namespace) -> int:
    from .train.loop import run_train as run

    return run(args)


COMMANDS = {"texture": run_texture, "animate": run_animate, "generate": run_generate, "batch": run_batch,
            "evaluate": run_evaluate, "bench": run_bench, "rig-names": run_rig_names,
            "weights": run_weights, "train-audionet": run_train}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    previous = _on_sigterm_interrupt()
    try:
        return COMMANDS[args.command](args)
    except TalkingHeadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        # The stages below clean up on the way out (partial video removed, ffmpeg killed).
        print("terminated" if isinstance(stop, Terminated) else "interrupted", file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwind like Ctrl+C, so that every stage cleans up."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _on_sigterm_interrupt():
    """Make SIGTERM raise Terminated in the main thread; the previous handler (None off the main thread)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)
