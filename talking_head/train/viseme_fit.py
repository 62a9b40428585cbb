"""Fit the viseme table (``audio/visemes.py``) to real mouths.

Inputs per clip: timed phones (``visemes.Segment``) and the rig coefficients
fitted to every video frame (``videos.fit_video`` recipe, one neutral per
speaker). The blended curve is linear in the table's targets
(``visemes.blend_weights``)::

    c_k(t) = sum_m W[t, m, g(k)] T[m, k]       g: jaw group, lip group
    mouthClose(t) = sum_m W[t, m, lip] T[m, close] + closure(t) jawOpen(t)

so for a given reach (``rho_before``, ``rho_after``) and lead the targets
``T`` are a bounded least-squares problem per coefficient (targets in
[0, 1], a weak pull towards the hand-set prior for visemes the data rarely
shows, silence pinned at 0 so the mouth closes in pauses). The reach and the
lead are chosen by a small search maximising the correlation of the
predicted mouth opening with the real one on held-out clips.

The mouth opening of coefficients is measured on the rig in the same unit as
the image measure of ``videos.mouth_opening`` (inner-lip gap over the
outer-eye-corner distance), so correlation and amplitude (std ratio) compare
like with like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..audio import visemes as vm

# Coefficients the fit sets by default: the ones that open the mouth. On GRID s1 the
# per-frame rig fits do not separate rounding from opening (fitted to every shape,
# /e/ got more mouthPucker than /u/), so rounding and spreading keep the hand-set
# table unless asked (``ALL_SHAPES``).
FITTED = ("jawOpen", "mouthLowerDown", "mouthUpperUp", "mouthClose")
ALL_SHAPES = FITTED + ("mouthFunnel", "mouthPucker", "mouthStretch", "mouthSmile", "mouthPress", "mouthRollLower")
# Lips touch on bilabials: shapes that part them are 0 there whatever the fit says.
SEALED = {"PBM": ("mouthUpperUp", "mouthLowerDown", "mouthFunnel")}


@dataclass(frozen=True)
class Clip:
    """One clip's phones and its real mouth.

    Attributes:
        name: clip id.
        speaker: speaker id.
        segments: timed phones (seconds from the audio start).
        times: (T,) frame centres, seconds.
        coeffs: (T, K) rig coefficients fitted to the frames (rig order).
        opening: (T,) real inner-lip gap / eye-corner distance (image).
    """

    name: str
    speaker: str
    segments: tuple[vm.Segment, ...]
    times: np.ndarray
    coeffs: np.ndarray
    opening: np.ndarray


def sided(name: str) -> tuple[str, ...]:
    """Rig names of a table name (``mouthSmile`` -> both sides)."""
    return (name + "_L", name + "_R") if name in ("mouthStretch", "mouthSmile") else (name,)


def frame_weights(segments: Sequence[vm.Segment], times: np.ndarray, rho_before: float, rho_after: float,
                  lead: float, fps: float = 25.0) -> np.ndarray:
    """(T, M, 3) blend weights averaged over each frame's interval (as
    ``visemes.coefficient_track``), the mouth ``lead`` s ahead of the phones."""
    offsets = ((np.arange(vm.SUBSAMPLES) + 0.5) / vm.SUBSAMPLES - 0.5) / fps
    at = (np.asarray(times)[:, None] + offsets[None] + lead).reshape(-1)
    w = vm.blend_weights(segments, at, rho_before, rho_after)
    return w.reshape(len(times), vm.SUBSAMPLES, *w.shape[1:]).mean(axis=1)


def table_matrix(names: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Current table targets (M, K + 1) over rig ``names`` (+ closure)."""
    keys, targets, _ = vm.viseme_targets(names)
    return keys, targets


def predict(weights: np.ndarray, targets: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """(T, M, 3) weights, (M, K + 1) targets -> (T, K) coefficients (as ``coarticulate``)."""
    group = np.array([0 if n in vm.JAW_GROUP else 1 for n in names] + [2])
    out = np.einsum("nmk,mk->nk", weights[:, :, group], targets)
    return vm.seal(out[:, :-1], out[:, -1], names)


def fit_targets(weights: np.ndarray, real: np.ndarray, names: Sequence[str], prior: np.ndarray,
                pull: float = 0.02, fitted: Sequence[str] = FITTED) -> np.ndarray:
    """Bounded least-squares table targets.

    Args:
        weights: (N, M, 3) stacked frame weights of the training clips.
        real: (N, K) real coefficients at those frames.
        prior: (M, K + 1) targets to start from (kept for unfitted names, and
            a pull of ``pull`` * N / M frames' weight towards it).
    Returns:
        (M, K + 1) fitted targets (silence row 0, closure channel as the prior).
    """
    from scipy.optimize import lsq_linear

    names = list(names)
    keys = list(vm.VISEMES)
    sil = keys.index("sil")
    free = np.array([m for m in range(len(keys)) if m != sil])
    out = prior.copy()
    n = len(real)
    lam = np.sqrt(pull * n / len(free))

    def solve(w: np.ndarray, y: np.ndarray, p: np.ndarray, rows: np.ndarray) -> np.ndarray:
        a = np.vstack([w[:, rows], lam * np.eye(len(rows))])
        b = np.concatenate([y, lam * p[rows]])
        return lsq_linear(a, b, bounds=(0.0, 1.0), method="bvls").x

    order = [f for f in fitted if f != "mouthClose"] + (["mouthClose"] if "mouthClose" in fitted else [])
    for table_name in order:
        cols = [names.index(c) for c in sided(table_name) if c in names]
        if not cols:
            continue
        group = 0 if table_name in vm.JAW_GROUP else 1
        y = real[:, cols].mean(axis=1)
        w = weights[:, :, group]
        closure = weights[:, :, 2] @ out[:, -1]
        if table_name in vm.PARTING:
            w = w * (1.0 - closure)[:, None]  # sealed by a bilabial closure (visemes.seal)
        if table_name == "mouthClose":
            # The closure channel seals the lips over the predicted jaw; fit what it leaves.
            jaw = names.index("jawOpen")
            jaw_pred = weights[:, :, 0] @ out[:, jaw]
            y = y - closure * jaw_pred
        sealed = [keys.index(k) for k, shapes in SEALED.items() if table_name in shapes]
        rows = np.array([m for m in free if m not in sealed])
        values = solve(w, y, prior[:, cols[0]], rows)
        for c in cols:
            out[rows, c] = values
            out[sealed, c] = 0.0
            out[sil, c] = 0.0
    return out


def opening_scale() -> float:
    """Inter-ocular distance of the canonical mesh, cm (rig opening -> image ratio), as
    ``eval.metrics.mouth_opening`` measures it on images (one definition for both)."""
    from ..eval.metrics import interocular
    from ..face.topology import load_topology

    return float(interocular(load_topology().vertices[None])[0])


def rig_opening(coeffs: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """(T, K') coefficients over ``names`` -> (T,) inner-lip gap of the posed
    canonical mesh minus its neutral gap, over the inter-ocular distance."""
    from ..face.rig import inner_lip_gap, load_rig
    from ..face.topology import load_topology

    rig = load_rig()
    v = load_topology().vertices
    full = np.zeros((len(coeffs), rig.size))
    full[:, [rig.index(n) for n in names]] = coeffs
    return (inner_lip_gap(rig.apply(v, full)) - inner_lip_gap(v)) / opening_scale()


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    denom = np.sqrt((a**2).sum() * (b**2).sum())
    return float((a * b).sum() / denom) if denom > 1e-12 else float("nan")


def lagged(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    """Pearson r of ``a[t]`` with ``b[t + lag]``."""
    if lag >= 0:
        return pearson(a[: len(a) - lag], b[lag:])
    return pearson(a[-lag:], b[: len(b) + lag])


def sync_scores(real: np.ndarray, ours: np.ndarray, silent: np.ndarray | None = None,
                closed: float | None = None, max_lag: int = 2) -> dict:
    """Mouth-opening agreement of one clip.

    Args:
        real, ours: (T,) openings in the same unit (gap / eye-corner distance).
        silent: (T,) bool deep-silence frames (optional).
        closed: opening below which the mouth counts as closed (default 1 mm
            on the canonical face, as ``tools/eval_audionet.py``).
    Returns:
        r at lag 0, best r and its lag within +-max_lag (positive: ours later),
        amplitude ratio std(ours) / std(real), share of silent frames closed.
    """
    closed = 0.1 / opening_scale() if closed is None else closed
    scores = [(lag, lagged(real, ours, lag)) for lag in range(-max_lag, max_lag + 1)]
    lag, best = max(scores, key=lambda s: -np.inf if np.isnan(s[1]) else s[1])
    ok = np.isfinite(real) & np.isfinite(ours)
    out = {"r0": round(pearson(real, ours), 3), "r_best": round(best, 3), "lag": lag,
           "amplitude": round(float(np.std(ours[ok]) / max(np.std(real[ok]), 1e-12)), 3)}
    if silent is not None and silent.any():
        out["silent_closed"] = round(float((ours[silent] < closed).mean()), 3)
        out["silent_frames"] = int(silent.sum())
    return out
