"""AudioNet: one 16x80 MFCC window -> the rig's audio-driven coefficients.

A compact 1D convolutional network over the 16 feature frames (the 80
cepstral coefficients are its input channels):

    normalise (fixed per-coefficient mean/std of the training data)
    -> conv3(80 -> C) -> 3 x [conv3 stride 2 (C -> C)]    16 -> 8 -> 4 -> 2 frames
       (batch norm + leaky ReLU after each conv)
    -> linear(2C -> H) -> leaky ReLU -> linear(H -> K)
    -> lower + (upper - lower) * sigmoid(.)               within the rig's bounds

Its output replaces the photo's own mouth and jaw coefficients (names from
``visemes.audio_driven_names``); eyes and brows are driven elsewhere.

Checkpoint (``torch.save``, read with ``torch.load(weights_only=True)``): a
dict ``{"format": "talking_head.audionet/1", "config": {...}, "state_dict":
{...}, "meta": {...}}`` where ``config`` holds the fields of
``AudioNetConfig`` (dimensions, coefficient names and bounds), so a file
describes itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import WeightsError

FORMAT = "talking_head.audionet/1"
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[2] / "assets" / "audionet" / "audionet.pt"


@dataclass(frozen=True)
class AudioNetConfig:
    """Dimensions and output space of an AudioNet.

    Attributes:
        names: (K,) rig coefficient names, in output order.
        lower: (K,) lowest output per coefficient.
        upper: (K,) highest output per coefficient.
        window: feature frames per input window.
        n_mfcc: cepstral coefficients per feature frame.
        channels: convolution width C.
        hidden: width H of the hidden linear layer.
        fps: video frame rate the windows were made for (informational).
    """

    names: tuple[str, ...]
    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()
    window: int = 16
    n_mfcc: int = 80
    channels: int = 128
    hidden: int = 128
    fps: float = 25.0
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        k = len(self.names)
        if not self.lower:
            object.__setattr__(self, "lower", (0.0,) * k)
        if not self.upper:
            object.__setattr__(self, "upper", (1.0,) * k)
        if len(self.lower) != k or len(self.upper) != k:
            raise ValueError(f"{k} names but {len(self.lower)} lower and {len(self.upper)} upper bounds")
        if self.window < 8 or self.window % 8:
            raise ValueError(f"window must be a multiple of 8 feature frames, got {self.window}")

    @property
    def size(self) -> int:
        return len(self.names)


class AudioNet(nn.Module):
    """See the module docstring. Input (N, 16, 80) float, output (N, K) float."""

    def __init__(self, config: AudioNetConfig) -> None:
        super().__init__()
        self.config = config
        c, h = config.channels, config.hidden
        self.register_buffer("feature_mean", torch.zeros(config.n_mfcc))
        self.register_buffer("feature_std", torch.ones(config.n_mfcc))
        self.register_buffer("lower", torch.tensor(config.lower, dtype=torch.float32))
        self.register_buffer("upper", torch.tensor(config.upper, dtype=torch.float32))
        layers: list[nn.Module] = []
        widths = [config.n_mfcc, c, c, c, c]
        for i, (a, b) in enumerate(zip(widths, widths[1:])):
            layers += [nn.Conv1d(a, b, 3, stride=1 if i == 0 else 2, padding=1, bias=False),
                       nn.BatchNorm1d(b), nn.LeakyReLU(0.2)]
        self.encoder = nn.Sequential(*layers)
        steps = config.window // 8
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(c * steps, h), nn.LeakyReLU(0.2), nn.Linear(h, config.size)
        )

    def set_normalisation(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Fix the input statistics: (n_mfcc,) mean and std over training windows."""
        self.feature_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.feature_std.copy_(torch.as_tensor(np.maximum(std, 1e-3), dtype=torch.float32))

    def logits(self, windows: torch.Tensor) -> torch.Tensor:
        """(N, 16, 80) -> (N, K) unbounded outputs."""
        if windows.ndim != 3 or windows.shape[1:] != (self.config.window, self.config.n_mfcc):
            raise ValueError(
                f"expected windows (N, {self.config.window}, {self.config.n_mfcc}), got {tuple(windows.shape)}"
            )
        x = (windows.float() - self.feature_mean) / self.feature_std
        return self.head(self.encoder(x.transpose(1, 2)))

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """(N, 16, 80) -> (N, K) coefficients within [lower, upper]."""
        return self.lower + (self.upper - self.lower) * torch.sigmoid(self.logits(windows))


def _plain(value):
    """Containers of the config as lists/floats/strs (weights_only-safe)."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def save_audionet(model: AudioNet, path: str | Path, meta: dict | None = None) -> None:
    """Write a self-describing checkpoint (see the module docstring)."""
    config = asdict(model.config)
    config.pop("meta")
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save({"format": FORMAT, "config": _plain(config), "state_dict": state, "meta": _plain(meta or {})},
               str(path))


def load_audionet(path: str | Path | None = None, device: str | torch.device = "cpu") -> AudioNet:
    """Load an AudioNet checkpoint (default: the shipped weights) in eval mode.

    Raises:
        WeightsError: missing, unreadable or not an AudioNet checkpoint.
    """
    path = Path(DEFAULT_WEIGHTS if path is None else path)
    if not path.is_file():
        raise WeightsError(f"AudioNet weights not found: {path}")
    try:
        blob = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means a bad file
        raise WeightsError(f"cannot read AudioNet weights {path.name}: {error.__class__.__name__}: {error}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise WeightsError(f"{path.name} is not an AudioNet checkpoint (expected format {FORMAT})")
    raw = dict(blob["config"])
    for key in ("names", "lower", "upper"):
        raw[key] = tuple(raw[key])
    config = AudioNetConfig(**raw, meta=dict(blob.get("meta", {})))
    model = AudioNet(config)
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as error:
        raise WeightsError(f"{path.name}: weights do not match its config: {error}") from None
    return model.eval().to(device)


@torch.no_grad()
def predict(model: AudioNet, windows: np.ndarray | Iterable[np.ndarray], batch_size: int = 2048) -> np.ndarray:
    """Coefficients for MFCC windows, in batches.

    Args:
        windows: (N, 16, 80) float array, or an iterable of such batches
            (e.g. ``features.iter_feature_windows``).
    Returns:
        (N, K) float32.
    """
    model.eval()
    device = next(model.parameters()).device
    batches = [windows] if isinstance(windows, np.ndarray) else windows
    out: list[np.ndarray] = []
    for batch in batches:
        batch = np.asarray(batch)
        for lo in range(0, batch.shape[0], batch_size):
            x = torch.from_numpy(np.ascontiguousarray(batch[lo : lo + batch_size], dtype=np.float32)).to(device)
            out.append(model(x).float().cpu().numpy())
    if not out:
        return np.zeros((0, model.config.size), np.float32)
    return np.concatenate(out)
