"""AudioNet training data on disk: sharded ``.npz`` files of frame examples.

One format for every source (synthetic speech, talking videos). A dataset is
a folder of shards named ``{split}-{tag}-{index:05d}.npz`` (split ``train``
or ``val``; ``tag`` keeps parallel writers apart). Each shard holds, for N
video frames, without pickles:

==============  ================  ==============================================
key             shape, dtype      meaning
==============  ================  ==============================================
windows         (N, 16, 80) f16   the paper's MFCC window of each frame
targets         (N, K) f32        rig coefficients of the audio-driven shapes
names           (K,) str          their rig names, in order
voice           (N,) i32          index into ``voices``
voices          (V,) str          voice ids (``espeak:en-us+f3``, ``video:talk``)
utterance       (N,) i32          utterance id, unique within the shard
silent          (N,) bool         frame in deep silence (mouth must be closed)
fps             () f64            video frame rate of the frames
==============  ================  ==============================================

Frames of one utterance are stored consecutively and in time order, so
consecutive rows with the same ``utterance`` are consecutive video frames.
Validation shards hold whole voices that no training shard has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS = ("train", "val")


@dataclass(frozen=True)
class Example:
    """One utterance's frames, ready to be written.

    Attributes:
        windows: (T, 16, 80) float32 MFCC windows.
        targets: (T, K) float32 coefficients.
        silent: (T,) bool.
        voice: voice id.
    """

    windows: np.ndarray
    targets: np.ndarray
    silent: np.ndarray
    voice: str


@dataclass(frozen=True)
class FrameData:
    """A split loaded into memory.

    Attributes:
        windows: (N, 16, 80) float16.
        targets: (N, K) float32.
        voice: (N,) int32 into ``voices``.
        utterance: (N,) int64, unique across the loaded shards.
        silent: (N,) bool.
        names: (K,) coefficient names.
        voices: voice ids.
        fps: frame rate.
    """

    windows: np.ndarray
    targets: np.ndarray
    voice: np.ndarray
    utterance: np.ndarray
    silent: np.ndarray
    names: tuple[str, ...]
    voices: tuple[str, ...]
    fps: float

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    @property
    def hours(self) -> float:
        return len(self) / self.fps / 3600.0


class ShardWriter:
    """Accumulates examples of one split and writes a shard every
    ``shard_frames`` frames (and the remainder on ``close``)."""

    def __init__(self, root: str | Path, split: str, names: Sequence[str], fps: float,
                 tag: str = "w0", shard_frames: int = 20000) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.split, self.names, self.fps, self.tag = split, tuple(names), float(fps), tag
        self.shard_frames = shard_frames
        self._pending: list[Example] = []
        self._count = 0
        self._index = 0
        self.written: list[Path] = []

    def add(self, example: Example) -> None:
        t, k = example.targets.shape
        if example.windows.shape[0] != t or example.silent.shape != (t,) or k != len(self.names):
            raise ValueError(
                f"example shapes disagree: windows {example.windows.shape}, targets {example.targets.shape}, "
                f"silent {example.silent.shape}, names {len(self.names)}"
            )
        self._pending.append(example)
        self._count += t
        if self._count >= self.shard_frames:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        path = self.root / f"{self.split}-{self.tag}-{self._index:05d}.npz"
        write_shard(path, self._pending, self.names, self.fps)
        self.written.append(path)
        self._pending, self._count = [], 0
        self._index += 1

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_shard(path: str | Path, examples: Sequence[Example], names: Sequence[str], fps: float) -> None:
    """Write examples as one shard (see the module docstring)."""
    voices = sorted({e.voice for e in examples})
    lookup = {v: i for i, v in enumerate(voices)}
    lengths = [e.targets.shape[0] for e in examples]
    np.savez(
        path,
        windows=np.concatenate([e.windows for e in examples]).astype(np.float16),
        targets=np.concatenate([e.targets for e in examples]).astype(np.float32),
        names=np.array(names, dtype=str),
        voice=np.repeat([lookup[e.voice] for e in examples], lengths).astype(np.int32),
        voices=np.array(voices, dtype=str),
        utterance=np.repeat(np.arange(len(examples)), lengths).astype(np.int32),
        silent=np.concatenate([e.silent for e in examples]).astype(bool),
        fps=np.float64(fps),
    )


def shard_paths(root: str | Path, split: str) -> list[Path]:
    """Shards of a split, sorted by name."""
    return sorted(Path(root).glob(f"{split}-*.npz"))


def load_split(root: str | Path | Sequence[Path], split: str = "train") -> FrameData:
    """Load every shard of ``split`` under ``root`` (a folder or a list of
    folders) into one ``FrameData``; voices are merged by id.

    Raises:
        FileNotFoundError: no shard of that split.
        ValueError: shards disagree on names or fps.
    """
    roots = [Path(root)] if isinstance(root, (str, Path)) else [Path(r) for r in root]
    paths = [p for r in roots for p in shard_paths(r, split)]
    if not paths:
        raise FileNotFoundError(f"no {split}-*.npz shards in {', '.join(map(str, roots))}")
    voices: dict[str, int] = {}
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("windows", "targets", "voice", "utterance", "silent")}
    names: tuple[str, ...] | None = None
    fps: float | None = None
    offset = 0
    for path in paths:
        with np.load(path, allow_pickle=False) as shard:
            shard_names = tuple(str(n) for n in shard["names"])
            shard_fps = float(shard["fps"])
            if names is None:
                names, fps = shard_names, shard_fps
            elif shard_names != names or abs(shard_fps - fps) > 1e-9:
                raise ValueError(f"{path.name}: names/fps differ from the first shard ({paths[0].name})")
            remap = np.array([voices.setdefault(str(v), len(voices)) for v in shard["voices"]], np.int32)
            parts["windows"].append(shard["windows"])
            parts["targets"].append(shard["targets"])
            parts["voice"].append(remap[shard["voice"]])
            utt = shard["utterance"].astype(np.int64)
            parts["utterance"].append(utt + offset)
            offset += int(utt.max()) + 1 if utt.size else 0
            parts["silent"].append(shard["silent"])
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return FrameData(
        windows=cat["windows"], targets=cat["targets"], voice=cat["voice"], utterance=cat["utterance"],
        silent=cat["silent"], names=names, voices=tuple(voices), fps=float(fps),
    )


def sequence_starts(utterance: np.ndarray, length: int) -> np.ndarray:
    """Rows where a run of ``length`` consecutive frames of one utterance starts.

    Args:
        utterance: (N,) utterance id per row (rows of an utterance contiguous).
    Returns:
        (M,) int64 row indices ``i`` with ``utterance[i] == utterance[i + length - 1]``.
    """
    n = utterance.shape[0]
    if n < length:
        return np.zeros(0, np.int64)
    starts = np.arange(n - length + 1)
    return starts[utterance[starts] == utterance[starts + length - 1]]


def tiled_starts(utterance: np.ndarray, length: int) -> np.ndarray:
    """Starts of non-overlapping runs of ``length`` frames tiling each utterance
    from its first frame (a remainder shorter than ``length`` is left out).

    Returns:
        (M,) int64 row indices.
    """
    starts = sequence_starts(utterance, length)
    if starts.size == 0:
        return starts
    _, first = np.unique(utterance, return_index=True)
    first_of_row = np.maximum.accumulate(np.isin(np.arange(utterance.shape[0]), first) * np.arange(utterance.shape[0]))
    return starts[(starts - first_of_row[starts]) % length == 0]
