"""Many videos from a manifest, on this machine's cores (process pool) or a Ray cluster.

A manifest is a CSV (header row) or JSON Lines file (``.jsonl``/``.ndjson``,
one object per line) with one job per row:

- ``photo``, ``audio`` (required): paths, relative ones resolved against the
  manifest's folder;
- ``transcript`` (optional): the text, or a path to a text file (resolved
  like the inputs when such a file exists);
- ``out`` (optional): the .mp4, relative to the output folder; default
  ``<photo stem>_<audio stem>.mp4``;
- any generation option by its config name (``smoothing``, ``driver``,
  ``mouth_motion``...; ``-`` or ``_``), overriding the defaults the command
  line gave for every row. Empty cells keep the default.

The whole manifest is checked before any work: a missing column, an unknown
option, a bad value or two rows writing the same output is refused with a
``ManifestError`` naming the row (the first data row is row 1; CSV line
numbers are given too). Missing or bad input files are not manifest errors:
such a job is recorded as failed and the others go on.

Each finished job appends one JSON line to ``OUT/batch_status.jsonl``:
``{"id", "status": "ok" | "error", "output", "message", "seconds", "row"}``;
``id`` is the output path relative to the output folder, so it stays the same
when the manifest's rows move. Running the same batch again skips jobs whose
latest line is ``ok`` (and whose video is still there) and jobs whose latest
line is ``error``; jobs without a line (interrupted) run. ``retry_failed``
runs the failed ones again too. Videos appear atomically (the video writer
renames a finished partial file), so an interrupted job leaves no video.

Engines:

- ``local``: a process pool (spawn) of ``workers`` processes (default: the
  cores), each loading the models once, with a progress bar and ETA.
- ``ray``: one Ray task per job; ``ray.init()`` starts a local Ray when no
  ``address`` is given, else joins that cluster (every node needs this
  package installed and the input paths readable at the same place). A task
  asks for one GPU when the cluster has GPUs. Workers keep their pipeline
  between tasks, so models load once per Ray worker process.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from .config import GenerationConfig, option_fields
from .errors import InputError, OutputPathError, TalkingHeadError

STATUS_FILE = "batch_status.jsonl"
ENGINES = ("local", "ray")
INPUT_COLUMNS = ("photo", "audio", "transcript", "out")
PATH_OPTIONS = ("audionet", "coeffs")  # options holding input paths, resolved like photo and audio
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


class ManifestError(InputError):
    """The manifest cannot be used as it is; the message names the row."""


@dataclass(frozen=True)
class Job:
    """One video to make.

    Attributes:
        id: the output path relative to the batch folder (the key in the status file).
        row: 1-based data row of the manifest.
        photo, audio: absolute input paths.
        out: absolute output .mp4.
        transcript: text or a text file's path, or None.
        config: the row's generation settings.
        animation: folder for ``export_animation``, or None.
    """

    id: str
    row: int
    photo: str
    audio: str
    out: str
    transcript: str | None
    config: GenerationConfig
    animation: str | None = None


@dataclass(frozen=True)
class JobResult:
    """One line of ``batch_status.jsonl``."""

    id: str
    status: str  # "ok" or "error"
    output: str
    message: str
    seconds: float
    row: int = 0


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did.

    Attributes:
        results: this run's results, in completion order.
        skipped: ids not run because the status file had them.
        failed: ids whose latest status is ``error`` (this run or an earlier one).
        total: jobs in the manifest.
        seconds: wall time of this run.
    """

    results: tuple[JobResult, ...]
    skipped: tuple[str, ...]
    failed: tuple[str, ...]
    total: int
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.failed


# -- manifest ---------------------------------------------------------------------
def _rows(path: Path) -> list[tuple[int, str, dict]]:
    """(row number, where, fields) for each data row of a CSV or JSON Lines manifest."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ManifestError(f"Manifest not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(f"Cannot read the manifest {path.name}: {error}") from None
    rows = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for line_no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            where = f"row {len(rows) + 1} (line {line_no})"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ManifestError(f"{path.name} {where}: not a JSON object ({error.msg})") from None
            if not isinstance(record, dict):
                raise ManifestError(f"{path.name} {where}: not a JSON object")
            rows.append((len(rows) + 1, where, record))
        return rows
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise ManifestError(f"{path.name} is empty: it needs a header with photo and audio columns")
    for record in reader:
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue
        where = f"row {len(rows) + 1} (line {reader.line_num})"
        if None in record:
            raise ManifestError(f"{path.name} {where}: more cells than header columns")
        rows.append((len(rows) + 1, where, record))
    return rows


def _option_value(spec, value, where: str):
    """A manifest cell as the option's type."""
    default = spec.default
    name = spec.name
    if isinstance(value, str):
        text = value.strip()
        if isinstance(default, bool):
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ManifestError(f"{where}: {name} must be true or false, got {value!r}")
        if isinstance(default, (int, float)):
            try:
                number = type(default)(text)
            except ValueError:
                raise ManifestError(f"{where}: {name} needs a number, got {value!r}") from None
            if isinstance(number, float) and not math.isfinite(number):
                raise ManifestError(f"{where}: {name} needs a finite number, got {value!r}")
            return number
        return text
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ManifestError(f"{where}: {name} must be true or false, got {value!r}")
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ManifestError(f"{where}: {name} needs a number, got {value!r}")
        if isinstance(default, int) and float(value) != int(value):
            raise ManifestError(f"{where}: {name} needs a whole number, got {value!r}")
        return type(default)(value)
    raise ManifestError(f"{where}: {name} needs text, got {value!r}")


def _resolve(base: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def read_manifest(manifest: str | Path, out_dir: str | Path, defaults: GenerationConfig | None = None,
                  export_animation: bool = False) -> list[Job]:
    """Parse and check a manifest (see the module docstring).

    Args:
        manifest: the .csv or .jsonl file.
        out_dir: the batch folder; relative ``out`` paths go there.
        defaults: settings of every row (the command line's), default ``GenerationConfig()``.
        export_animation: also write each job's animation data into
            ``<video without .mp4>_animation/``.
    Raises:
        ManifestError: naming the row, before any work.
    """
    manifest = Path(manifest)
    base = manifest.resolve().parent
    out_dir = Path(out_dir).resolve()
    defaults = defaults or GenerationConfig()
    options = {f.name: f for f in option_fields(GenerationConfig) if f.metadata["cli"]}
    jobs: list[Job] = []
    seen: dict[str, str] = {}
    rows = _rows(manifest)
    if not rows:
        raise ManifestError(f"{manifest.name} has no jobs")
    for number, where, record in rows:
        where = f"{manifest.name} {where}"
        cells = {str(k).strip().replace("-", "_"): v for k, v in record.items() if k is not None}
        for required in ("photo", "audio"):
            value = cells.get(required)
            if not isinstance(value, str) or not value.strip():
                raise ManifestError(f"{where}: the {required} column is missing or empty")
        unknown = sorted(k for k in cells if k not in INPUT_COLUMNS and k not in options)
        if unknown:
            raise ManifestError(f"{where}: unknown column(s) {', '.join(unknown)}; allowed: "
                                f"{', '.join(INPUT_COLUMNS)} and the generation options "
                                f"({', '.join(options)})")
        overrides = {}
        for name, value in cells.items():
            if name in options and value is not None and not (isinstance(value, str) and not value.strip()):
                overrides[name] = _option_value(options[name], value, where)
                if name in PATH_OPTIONS:
                    overrides[name] = _resolve(base, overrides[name])
        try:
            config = replace(defaults, **overrides)
        except ValueError as error:
            raise ManifestError(f"{where}: {error}") from None
        photo = _resolve(base, cells["photo"].strip())
        audio = _resolve(base, cells["audio"].strip())
        transcript = cells.get("transcript")
        if transcript is not None and not isinstance(transcript, str):
            raise ManifestError(f"{where}: transcript must be text")
        transcript = transcript.strip() if transcript and transcript.strip() else None
        if transcript is not None and len(transcript) < 4096 and "\n" not in transcript:
            candidate = Path(_resolve(base, transcript))
            if candidate.is_file():
                transcript = str(candidate)
        out = cells.get("out")
        if out is not None and not isinstance(out, str):
            raise ManifestError(f"{where}: out must be a path")
        if out is None or not out.strip():
            out = f"{Path(photo).stem}_{Path(audio).stem}.mp4"
        out_path = Path(out.strip()).expanduser()
        out_path = out_path if out_path.is_absolute() else out_dir / out_path
        out_path = Path(os.path.normpath(out_path))
        if out_path.suffix.lower() != ".mp4":
            raise ManifestError(f"{where}: out must end in .mp4, got {out!r}")
        try:
            job_id = out_path.relative_to(out_dir).as_posix()
        except ValueError:
            job_id = str(out_path)
        if job_id in seen:
            raise ManifestError(f"{where}: writes {job_id}, as {seen[job_id]} does; give each row its own out")
        seen[job_id] = where
        animation = str(out_path.with_name(out_path.stem + "_animation")) if export_animation else None
        jobs.append(Job(job_id, number, photo, audio, str(out_path), transcript, config, animation))
    return jobs


# -- status file ------------------------------------------------------------------
def read_status(out_dir: str | Path) -> dict[str, JobResult]:
    """The latest result per job id recorded in ``out_dir/batch_status.jsonl`` (unreadable lines skipped)."""
    path = Path(out_dir) / STATUS_FILE
    latest: dict[str, JobResult] = {}
    if not path.exists():
        return latest
    names = {f.name for f in fields(JobResult)}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
            result = JobResult(**{k: v for k, v in record.items() if k in names})
        except (json.JSONDecodeError, TypeError):
            continue  # a line cut by a crash
        latest[result.id] = result
    return latest


def plan(jobs: list[Job], status: dict[str, JobResult], retry_failed: bool = False) -> tuple[list[Job], list[str]]:
    """(jobs to run, ids skipped): skip ok jobs whose video exists and, unless ``retry_failed``, failed jobs."""
    todo, skipped = [], []
    for job in jobs:
        last = status.get(job.id)
        if last is not None and last.status == "ok" and Path(job.out).exists():
            skipped.append(job.id)
        elif last is not None and last.status == "error" and not retry_failed:
            skipped.append(job.id)
        else:
            todo.append(job)
    return todo, skipped


# -- one job ------------------------------------------------------------------------
def run_job(pipeline, job: Job) -> JobResult:
    """Make one video with a loaded pipeline; every failure becomes an ``error`` result."""
    start = time.perf_counter()
    try:
        Path(job.out).parent.mkdir(parents=True, exist_ok=True)
        for kind, path in (("photo", job.photo), ("audio", job.audio)):
            if not Path(path).is_file():
                raise InputError(f"{kind} not found: {path}")
        from .audio.transcript import read_transcript

        transcript = read_transcript(job.transcript)  # the manifest's author may name files, as on the CLI
        result = pipeline.generate(job.photo, job.audio, job.out, overwrite=True, config=job.config,
                                   transcript=transcript.text, export_animation=job.animation)
        message = "; ".join(tuple(transcript.notes) + tuple(result.notes))
        status = "ok"
    except TalkingHeadError as error:
        status, message = "error", str(error)
    except Exception as error:  # an unexpected failure of one job must not stop the batch
        status, message = "error", f"{type(error).__name__}: {error}"
    return JobResult(job.id, status, job.out, message, round(time.perf_counter() - start, 3), job.row)


_PIPELINE = None  # one per worker process (pool worker or Ray worker), built on its first job


def _worker_pipeline(threads: int | None = None):
    global _PIPELINE
    if _PIPELINE is None:
        import cv2
        import torch

        from .pipeline import TalkingHeadPipeline

        if threads:
            torch.set_num_threads(threads)
            cv2.setNumThreads(threads)
        _PIPELINE = TalkingHeadPipeline()
    return _PIPELINE


def _init_worker(threads: int) -> None:
    _worker_pipeline(threads)


def _pool_job(job: Job) -> JobResult:
    return run_job(_worker_pipeline(), job)


def _ray_job(job: Job, threads: int) -> JobResult:
    return run_job(_worker_pipeline(threads), job)


# -- engines ------------------------------------------------------------------------
def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _run_local(todo: list[Job], workers: int, record) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    threads = max(1, available_cores() // workers)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(threads,)) as pool:
        futures = {pool.submit(_pool_job, job): job for job in todo}
        try:
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool as error:
                    result = JobResult(job.id, "error", job.out, f"worker process died: {error}", 0.0, job.row)
                record(result)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _run_ray(todo: list[Job], workers: int | None, address: str | None, record) -> None:
    try:
        import ray
    except ImportError:
        raise InputError("the ray engine needs the ray package: pip install ray") from None
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers or available_cores(), include_dashboard=False, log_to_driver=False)
        started = True
    pending: dict = {}
    try:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        # One CPU per task, so one compute thread per task.
        task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=0)(_ray_job)
        pending = {task.remote(job, 1): job for job in todo}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as error:  # the task's process died or Ray failed it
                    result = JobResult(job.id, "error", job.out, f"ray task failed: {error}"[:2000], 0.0, job.row)
                record(result)
    except BaseException:
        for ref in list(pending):
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()


def run_batch(jobs: list[Job], out_dir: str | Path, engine: str = "local", workers: int | None = None,
              address: str | None = None, retry_failed: bool = False, progress: bool = True,
              pipeline=None) -> BatchSummary:
    """Run the jobs that the status file does not mark done, recording each result as it arrives.

    Args:
        jobs: from ``read_manifest``.
        out_dir: the batch folder (created; its parent must exist).
        engine: ``"local"`` or ``"ray"``.
        workers: local processes (default: the cores) or local Ray CPUs.
        address: Ray cluster address (``ray`` engine only).
        retry_failed: run jobs recorded as failed again.
        progress: show a progress bar with ETA on stderr.
        pipeline: a loaded pipeline for the one-worker local case, which runs
            the jobs in this process (a pool of one would only add a process
            start and a second copy of the models); default: a new one.
    Raises:
        InputError: unknown engine, or ray missing; OutputPathError: no parent folder.
    """
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if workers is not None and workers < 1:
        raise InputError(f"workers must be at least 1; got {workers}")
    out_dir = Path(out_dir)
    if not out_dir.parent.is_dir():
        raise OutputPathError(f"Parent folder does not exist: {out_dir.parent}")
    out_dir.mkdir(exist_ok=True)
    start = time.perf_counter()
    status = read_status(out_dir)
    todo, skipped = plan(jobs, status, retry_failed)
    results: list[JobResult] = []
    if todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="video", disable=not progress, file=sys.stderr, dynamic_ncols=True)
        with open(out_dir / STATUS_FILE, "a", encoding="utf-8") as log:

            def record(result: JobResult) -> None:
                log.write(json.dumps(asdict(result)) + "\n")
                log.flush()
                results.append(result)
                status[result.id] = result
                bar.update(1)
                if result.status == "error":
                    bar.write(f"failed: {result.id}: {result.message}", file=sys.stderr)

            try:
                count = min(workers or available_cores(), len(todo))
                if engine == "local" and count == 1:
                    runner = pipeline if pipeline is not None else _worker_pipeline()
                    for job in todo:
                        record(run_job(runner, job))
                elif engine == "local":
                    _run_local(todo, count, record)
                else:
                    _run_ray(todo, workers, address, record)
            finally:
                bar.close()
    failed = tuple(job.id for job in jobs if job.id in status and status[job.id].status == "error")
    return BatchSummary(tuple(results), tuple(skipped), failed, len(jobs), time.perf_counter() - start)


def run_manifest(manifest: str | Path, out_dir: str | Path, defaults: GenerationConfig | None = None,
                 engine: str = "local", workers: int | None = None, address: str | None = None,
                 retry_failed: bool = False, export_animation: bool = False, progress: bool = True,
                 pipeline=None) -> BatchSummary:
    """``read_manifest`` then ``run_batch``: the whole ``talking-head batch`` command."""
    jobs = read_manifest(manifest, out_dir, defaults, export_animation)
    return run_batch(jobs, out_dir, engine, workers, address, retry_failed, progress, pipeline)
