"""Time-coded visemes (``visemes.json``) from the driver's phones or the coefficient track.

Format (JSON object)::

    {
      "format": "talking-head-visemes/1",
      "fps": 25.0,                 # the video's frame rate
      "duration": 3.2,             # seconds of video
      "source": "phones" | "coefficients",
      "visemes": [{"viseme": "AA", "start": 0.12, "end": 0.2}, ...],
      "phones": [{"phone": "AA1", "start": 0.12, "end": 0.2}, ...],   # phonetic driver only
      "table": {"AA": {"jawOpen": 0.7, ...}, ...}                     # viseme -> rig targets
    }

Viseme names are those of ``audio/visemes.py``'s table (``sil``, ``PBM``,
``FV``, ``TH``, ``TDN``, ``SZ``, ``SH``, ``KG``, ``H``, ``L``, ``R``, ``W``,
``Y``, ``AA``, ``AE``, ``AH``, ``SCHWA``, ``EH``, ``IH``, ``IY``, ``ER``,
``AO``, ``OW``, ``UH``, ``UW``, ``Y_ROUND``, ``OE_ROUND``); segments tile the
video from 0 to ``duration`` without gaps, times in seconds.

- ``source: "phones"``: the phonetic driver ran; each recognised or aligned
  ARPAbet phone gives its viseme(s) by the same rules that drive the mouth
  (a diphthong's two visemes split its time), gaps are ``sil``.
- ``source: "coefficients"``: other drivers know no phones; each frame's
  mouth pose (the driven jaw and mouth columns of the final track) is
  classified as the nearest viseme target, and runs of equal frames become
  segments. It describes the mouth shown, not the speech heard.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..audio.visemes import VISEMES, audio_driven_names, expand_segments, viseme_targets

FORMAT = "talking-head-visemes/1"


def classify_frames(coeffs: np.ndarray, names) -> list[str]:
    """Nearest viseme target per frame, over the jaw and mouth shapes.

    Args:
        coeffs: (T, K) final coefficients.
        names: (K,) rig names.
    Returns:
        T viseme names.
    """
    names = list(names)
    keys, targets, _ = viseme_targets(names)
    driven = [names.index(n) for n in audio_driven_names(names)]
    table = targets[:, driven]
    # The PBM closure is a channel of its own: mouthClose = closure * jawOpen.
    closure = targets[:, -1]
    if "mouthClose" in names:
        column = audio_driven_names(names).index("mouthClose")
        table[:, column] += closure * targets[:, names.index("jawOpen")]
    distance = ((np.asarray(coeffs)[:, None, driven] - table[None]) ** 2).sum(axis=2)
    return [keys[i] for i in distance.argmin(axis=1)]


def runs(labels: list[str], fps: float) -> list[dict]:
    """Frame labels -> merged ``{"viseme", "start", "end"}`` segments (frame i spans [i, i+1) / fps)."""
    out: list[dict] = []
    for i, label in enumerate(labels):
        if out and out[-1]["viseme"] == label:
            out[-1]["end"] = round((i + 1) / fps, 4)
        else:
            out.append({"viseme": label, "start": round(i / fps, 4), "end": round((i + 1) / fps, 4)})
    return out


def phone_visemes(phones, duration: float) -> list[dict]:
    """Timed ARPAbet phones -> viseme segments tiling ``[0, duration]``, gaps as ``sil``."""
    from ..audio.phonetic import phones_to_segments  # present whenever the phonetic driver produced phones

    out: list[dict] = []
    cursor = 0.0
    for viseme, start, end in expand_segments(phones_to_segments(phones)):
        start, end = max(start, cursor), min(end, duration)
        if end <= start:
            continue
        if start > cursor:
            out.append({"viseme": "sil", "start": round(cursor, 4), "end": round(start, 4)})
        out.append({"viseme": viseme, "start": round(start, 4), "end": round(end, 4)})
        cursor = end
    if cursor < duration:
        out.append({"viseme": "sil", "start": round(cursor, 4), "end": round(duration, 4)})
    return out


def viseme_record(coeffs: np.ndarray, names, fps: float, phones=()) -> dict:
    """The ``visemes.json`` object (see the module docstring)."""
    duration = round(len(coeffs) / fps, 4)
    record = {"format": FORMAT, "fps": fps, "duration": duration}
    if phones:
        record["source"] = "phones"
        record["visemes"] = phone_visemes(phones, duration)
        record["phones"] = [{"phone": p.label, "start": round(p.start, 4), "end": round(p.end, 4)} for p in phones]
    else:
        record["source"] = "coefficients"
        record["visemes"] = runs(classify_frames(coeffs, names), fps)
    record["table"] = {v.name: {k: t for k, t in v.target} for v in VISEMES.values()}
    return record


def write_visemes_json(path: Path, coeffs: np.ndarray, names, fps: float, phones=()) -> None:
    Path(path).write_text(json.dumps(viseme_record(coeffs, names, fps, phones), indent=1))
