"""Phonemes -> visemes -> rig coefficient tracks, with coarticulation.

Training targets for AudioNet come from speech whose phoneme timing is known
(forced-aligned real speech, synthetic voices), and the phonetic driver uses
the same model. Each phoneme (an IPA string) maps
to a viseme; each viseme is a target pose of the rig's mouth and jaw shapes.
Poses are blended over time with a dominance model (Cohen & Massaro 1993):
segment ``s`` with target ``T_s`` has, for each coefficient group, a dominance
``D_s(t) = alpha_s`` inside the segment and ``alpha_s exp(-d / rho)`` at a
distance ``d`` outside it, with a longer reach before the segment
(anticipation, ``RHO_BEFORE``) than after it (carry-over, ``RHO_AFTER``). The
coefficient track is ``c(t) = sum_s D_s(t) T_s / sum_s D_s(t)``. Strong
dominances (bilabial closure, rounding, silence) win over weak ones (/h/, /k/,
schwa), so /k/ in "coo" is rounded and /m/ closes the lips whatever surrounds
it.

Viseme table (targets; unnamed shapes are 0; ``a_jaw``/``a_lip`` are the
dominances of the jaw group and of the lip group). The opening shapes
(``jawOpen``, ``mouthLowerDown``, ``mouthUpperUp``, ``mouthClose``), the reach
(``RHO_BEFORE`` 0.1 s, ``RHO_AFTER`` 0.035 s) and the lead (``LEAD`` 0: GRID
shows none) are fitted to real mouths: per-frame rig fits of 364 GRID s1
clips with pocketsphinx forced-aligned phones (``tools/fit_visemes.py``,
report in ``docs/visemes_fit/``; held-out s1 clips r 0.68 -> 0.80, other GRID
speakers 0.61 -> 0.73, amplitude 0.52 -> 0.83 of the real mouth). Rounding
and spreading (funnel, pucker, stretch, smile, press, roll) and the
dominances are hand-set: the rig fits of one frontal speaker do not separate
rounding from opening. Visemes absent from the aligned GRID phones (SCHWA,
ER, Y_ROUND, OE_ROUND) keep hand-set values.

============  ======================  ===================================================  =====  =====
viseme        phonemes (IPA)          target                                               a_jaw  a_lip
============  ======================  ===================================================  =====  =====
sil           pause, silence          everything 0: jaw and lips closed, relaxed           1.0    1.0
PBM           p b m                   jawOpen .10, closure 1, mouthPress .45               1.5    5.0
FV            f v                     mouthUpperUp .40, mouthClose .09, mouthRollLower     1.5    4.0
                                      .55
TH            θ ð                     mouthClose .15                                       1.5    1.0
TDN           t d n ɾ ʔ               jawOpen .16, mouthLowerDown .25, mouthUpperUp .53,   1.2    0.4
                                      mouthClose .14, mouthStretch .12
SZ            s z                     jawOpen .14, mouthLowerDown .27, mouthUpperUp .68,   1.5    1.2
                                      mouthClose .08, mouthStretch .30, mouthSmile .10
SH            ʃ ʒ tʃ dʒ ɕ ʑ ç         jawOpen .12, mouthLowerDown .35, mouthUpperUp .57,   1.5    2.5
                                      mouthClose .01, mouthFunnel .55, mouthPucker .25
KG            k g ŋ x ɣ q χ           jawOpen .10, mouthLowerDown .21, mouthUpperUp .13    1.0    0.2
H             h ɦ                     jawOpen .23                                          0.3    0.1
L             l ɫ ʎ ɭ                 jawOpen .31, mouthLowerDown .60, mouthUpperUp .64,   0.8    0.3
                                      mouthClose .11
R             ɹ r ʁ ɻ ʀ               mouthClose .14, mouthFunnel .25, mouthPucker .35     1.0    1.5
W             w ʍ ɥ                   jawOpen .11, mouthUpperUp .03, mouthClose .11,       1.5    3.0
                                      mouthFunnel .20, mouthPucker .85
Y             j                       jawOpen .14, mouthLowerDown .16, mouthUpperUp .21,   1.0    1.0
                                      mouthStretch .25, mouthSmile .20
AA            ɑ a ä ɒ ɐ(long)         jawOpen .32, mouthLowerDown .57, mouthUpperUp .65    1.5    0.8
AE            æ                       jawOpen .30, mouthLowerDown .41, mouthUpperUp .40,   1.5    1.0
                                      mouthStretch .30
AH            ʌ ɐ                     jawOpen .19, mouthLowerDown .24, mouthUpperUp .43,   1.2    0.6
                                      mouthClose .04
SCHWA         ə ɘ ɵ ᵻ ɨ               jawOpen .28, mouthLowerDown .05                      0.6    0.3
EH            ɛ e œ(unrounded part)   jawOpen .34, mouthLowerDown .58, mouthUpperUp .73,   1.2    1.0
                                      mouthStretch .30, mouthSmile .12
IH            ɪ                       jawOpen .28, mouthLowerDown .55, mouthUpperUp .86,   1.0    1.0
                                      mouthStretch .32, mouthSmile .18
IY            i y(unrounded part)     jawOpen .16, mouthLowerDown .34, mouthUpperUp .60,   1.2    1.5
                                      mouthStretch .40, mouthSmile .35
ER            ɜ ɚ ɝ                   jawOpen .25, mouthFunnel .30, mouthPucker .20        1.0    1.2
AO            ɔ                       jawOpen .31, mouthLowerDown .23, mouthUpperUp .26,   1.5    1.5
                                      mouthClose .06, mouthFunnel .55, mouthPucker .15
OW            o                       jawOpen .27, mouthLowerDown .18, mouthUpperUp .33,   1.5    2.0
                                      mouthClose .02, mouthFunnel .60, mouthPucker .45
UH            ʊ                       jawOpen .10, mouthLowerDown .16, mouthUpperUp .49,   1.2    1.5
                                      mouthClose .08, mouthFunnel .30, mouthPucker .50
UW            u ɯ                     jawOpen .11, mouthLowerDown .19, mouthUpperUp .25,   1.5    2.5
                                      mouthClose .07, mouthFunnel .30, mouthPucker .90
Y_ROUND                               jawOpen .14, mouthFunnel .30, mouthPucker .80        1.2    2.5
OE_ROUND                              jawOpen .36, mouthFunnel .55, mouthPucker .40        1.2    2.0
============  ======================  ===================================================  =====  =====

``mouthStretch`` and ``mouthSmile`` mean both sides (``_L`` and ``_R``).
Lip closure is relative to the jaw: ``mouthClose`` seals the lips over an open
jaw when it equals ``jawOpen``, so the PBM row's closure is a separate
channel (1 for PBM, 0 elsewhere, blended with the lip dominances) and the
final ``mouthClose = blended mouthClose + closure * jawOpen``, while the
shapes that part the lips (``PARTING``) shrink by ``1 - closure`` (``seal``);
the closure channel's reach is half the others' (a bilabial release is
quick). This keeps the lips sealed during /m/ even when the blended jaw stays
open between vowels.
Front rounded vowels (y, ø, œ) get the rounding of UW/OW/AO on top of their
spread vowel's jaw. Diphthongs (``aɪ``, ``oʊ``...) and affricates are split:
the first symbol takes the first 55 % of the segment, the second the rest.
Stress marks, length marks and other diacritics are ignored; an unknown
symbol is a weak neutral vowel (SCHWA). Targets of names the rig lacks are
dropped; rig names absent from the table stay 0.

Frame ``i`` of a track at ``fps`` covers ``[i / fps, (i + 1) / fps)``
(centre ``(i + 0.5) / fps``, as the audio feature windows), and its value
is the mean of the curve at ``SUBSAMPLES`` evenly spaced instants inside it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

JAW_GROUP = ("jawOpen", "jawForward", "jawLeft", "jawRight", "mouthLowerDown")
RHO_BEFORE = 0.1  # s, anticipatory reach of a segment's dominance
RHO_AFTER = 0.035  # s, carry-over reach
LEAD = 0.0  # s, how far the mouth runs ahead of the sound it makes
SUBSAMPLES = 4
SPLIT = 0.55  # share of a two-symbol segment given to its first symbol
CLOSURE = "closure"  # internal channel: how much the lips seal over the jaw
PARTING = ("mouthUpperUp", "mouthLowerDown")  # lip shapes a bilabial closure cancels


def audio_driven_names(names: Sequence[str]) -> tuple[str, ...]:
    """The rig shapes AudioNet predicts: every name starting with "jaw" or
    "mouth" (eyes and brows are driven by blinks and the photo), rig order."""
    from ..face.rig import audio_driven

    return audio_driven(names)


@dataclass(frozen=True)
class Viseme:
    """A mouth pose and how strongly it resists its neighbours.

    Attributes:
        name: table name (``"PBM"``...).
        target: shape name -> coefficient; missing names are 0.
        jaw_dominance: dominance of the jaw group (``JAW_GROUP``).
        lip_dominance: dominance of all other shapes.
    """

    name: str
    target: tuple[tuple[str, float], ...]
    jaw_dominance: float
    lip_dominance: float


def _v(name: str, jaw: float, lip: float, **target: float) -> Viseme:
    expanded: dict[str, float] = {}
    for key, value in target.items():
        if key in ("mouthStretch", "mouthSmile"):
            expanded[key + "_L"] = value
            expanded[key + "_R"] = value
        else:
            expanded[key] = value
    return Viseme(name, tuple(expanded.items()), jaw, lip)


VISEMES: dict[str, Viseme] = {
    v.name: v
    for v in (
        _v("sil", 1, 1),
        _v("PBM", 1.5, 5, jawOpen=0.10, closure=1.0, mouthPress=0.45),
        _v("FV", 1.5, 4, mouthUpperUp=0.40, mouthClose=0.09, mouthRollLower=0.55),
        _v("TH", 1.5, 1, mouthClose=0.15),
        _v("TDN", 1.2, 0.4, jawOpen=0.16, mouthLowerDown=0.25, mouthUpperUp=0.53, mouthClose=0.14, mouthStretch=0.12),
        _v("SZ", 1.5, 1.2, jawOpen=0.14, mouthLowerDown=0.27, mouthUpperUp=0.68, mouthClose=0.08, mouthStretch=0.30, mouthSmile=0.10),
        _v("SH", 1.5, 2.5, jawOpen=0.12, mouthLowerDown=0.35, mouthUpperUp=0.57, mouthClose=0.01, mouthFunnel=0.55, mouthPucker=0.25),
        _v("KG", 1, 0.2, jawOpen=0.10, mouthLowerDown=0.21, mouthUpperUp=0.13),
        _v("H", 0.3, 0.1, jawOpen=0.23),
        _v("L", 0.8, 0.3, jawOpen=0.31, mouthLowerDown=0.60, mouthUpperUp=0.64, mouthClose=0.11),
        _v("R", 1, 1.5, mouthClose=0.14, mouthFunnel=0.25, mouthPucker=0.35),
        _v("W", 1.5, 3, jawOpen=0.11, mouthUpperUp=0.03, mouthClose=0.11, mouthFunnel=0.20, mouthPucker=0.85),
        _v("Y", 1, 1, jawOpen=0.14, mouthLowerDown=0.16, mouthUpperUp=0.21, mouthStretch=0.25, mouthSmile=0.20),
        _v("AA", 1.5, 0.8, jawOpen=0.32, mouthLowerDown=0.57, mouthUpperUp=0.65),
        _v("AE", 1.5, 1, jawOpen=0.30, mouthLowerDown=0.41, mouthUpperUp=0.40, mouthStretch=0.30),
        _v("AH", 1.2, 0.6, jawOpen=0.19, mouthLowerDown=0.24, mouthUpperUp=0.43, mouthClose=0.04),
        _v("SCHWA", 0.6, 0.3, jawOpen=0.28, mouthLowerDown=0.05),
        _v("EH", 1.2, 1, jawOpen=0.34, mouthLowerDown=0.58, mouthUpperUp=0.73, mouthStretch=0.30, mouthSmile=0.12),
        _v("IH", 1, 1, jawOpen=0.28, mouthLowerDown=0.55, mouthUpperUp=0.86, mouthStretch=0.32, mouthSmile=0.18),
        _v("IY", 1.2, 1.5, jawOpen=0.16, mouthLowerDown=0.34, mouthUpperUp=0.60, mouthStretch=0.40, mouthSmile=0.35),
        _v("ER", 1, 1.2, jawOpen=0.25, mouthFunnel=0.30, mouthPucker=0.20),
        _v("AO", 1.5, 1.5, jawOpen=0.31, mouthLowerDown=0.23, mouthUpperUp=0.26, mouthClose=0.06, mouthFunnel=0.55, mouthPucker=0.15),
        _v("OW", 1.5, 2, jawOpen=0.27, mouthLowerDown=0.18, mouthUpperUp=0.33, mouthClose=0.02, mouthFunnel=0.60, mouthPucker=0.45),
        _v("UH", 1.2, 1.5, jawOpen=0.10, mouthLowerDown=0.16, mouthUpperUp=0.49, mouthClose=0.08, mouthFunnel=0.30, mouthPucker=0.50),
        _v("UW", 1.5, 2.5, jawOpen=0.11, mouthLowerDown=0.19, mouthUpperUp=0.25, mouthClose=0.07, mouthFunnel=0.30, mouthPucker=0.90),
        # Front rounded vowels: a spread vowel's jaw with rounded lips.
        _v("Y_ROUND", 1.2, 2.5, jawOpen=0.14, mouthFunnel=0.30, mouthPucker=0.80),
        _v("OE_ROUND", 1.2, 2, jawOpen=0.36, mouthFunnel=0.55, mouthPucker=0.40),
    )
}

# IPA base symbol -> viseme (one character each, after removing diacritics).
PHONEME_VISEMES: dict[str, str] = {
    "p": "PBM", "b": "PBM", "m": "PBM", "ɱ": "FV", "ɓ": "PBM", "ʙ": "PBM",
    "f": "FV", "v": "FV", "ʋ": "FV", "ɸ": "PBM", "β": "PBM",
    "θ": "TH", "ð": "TH",
    "t": "TDN", "d": "TDN", "n": "TDN", "ɾ": "TDN", "ʔ": "TDN", "ɗ": "TDN", "ʈ": "TDN", "ɖ": "TDN",
    "ɳ": "TDN", "ɲ": "TDN", "c": "TDN", "ɟ": "TDN",
    "s": "SZ", "z": "SZ", "ʂ": "SZ", "ʐ": "SZ",
    "ʃ": "SH", "ʒ": "SH", "ɕ": "SH", "ʑ": "SH", "ç": "SH", "ʝ": "SH",
    "k": "KG", "g": "KG", "ɡ": "KG", "ŋ": "KG", "x": "KG", "ɣ": "KG", "q": "KG", "χ": "KG", "ɢ": "KG",
    "h": "H", "ɦ": "H", "ħ": "H", "ʕ": "H",
    "l": "L", "ɫ": "L", "ʎ": "L", "ɭ": "L", "ɬ": "L", "ɮ": "L", "ʟ": "L",
    "ɹ": "R", "r": "R", "ʁ": "R", "ɻ": "R", "ʀ": "R", "ɽ": "R",
    "w": "W", "ʍ": "W", "ɥ": "W",
    "j": "Y",
    "ɑ": "AA", "a": "AA", "ä": "AA", "ɒ": "AA", "ɶ": "AA",
    "æ": "AE",
    "ʌ": "AH", "ɐ": "AH",
    "ə": "SCHWA", "ɘ": "SCHWA", "ɵ": "SCHWA", "ᵻ": "SCHWA", "ɨ": "SCHWA", "ɤ": "SCHWA",
    "ɛ": "EH", "e": "EH",
    "ɪ": "IH",
    "i": "IY",
    "ɜ": "ER", "ɚ": "ER", "ɝ": "ER",
    "ɔ": "AO",
    "o": "OW",
    "ʊ": "UH",
    "u": "UW", "ɯ": "UW",
    "y": "Y_ROUND", "ʏ": "Y_ROUND",
    "ø": "OE_ROUND", "œ": "OE_ROUND",
}

# Symbols that carry no articulation of their own (stress, length, tie bars,
# syllabicity...) and are removed before lookup.
_IGNORED = set("ˈˌːˑ‿͜͡'\",.-_|#()0123456789")


@dataclass(frozen=True)
class Segment:
    """One phoneme (or pause) on the time axis.

    Attributes:
        phoneme: IPA string as the synthesiser reported it; ``""`` is a pause.
        start: seconds.
        end: seconds, > start.
    """

    phoneme: str
    start: float
    end: float


def phoneme_visemes(phoneme: str) -> tuple[str, ...]:
    """Visemes of one phoneme string, in order (1 or 2; ``("sil",)`` for a pause).

    ``"aɪ"`` -> ``("AA", "IH")``, ``"tʃ"`` -> ``("TDN", "SH")`` (an affricate
    is a stop released into a fricative), ``"ˈoʊ"`` -> ``("OW", "UH")``.
    """
    text = "".join(
        ch for ch in unicodedata.normalize("NFD", phoneme) if ch not in _IGNORED and not unicodedata.combining(ch)
    )
    text = text.replace("ʰ", "").replace("ʲ", "").replace("ʷ", "w").replace("ˠ", "")
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        i += 1
        if ch.isspace():
            continue
        out.append(PHONEME_VISEMES.get(ch, "SCHWA" if ch.isalpha() else "sil"))
    if not out:
        return ("sil",)
    # Collapse repeats ("iː" -> i) and keep at most two parts.
    parts = [out[0]] + [v for prev, v in zip(out, out[1:]) if v != prev]
    return tuple(parts[:1] + parts[-1:]) if len(parts) > 1 else (parts[0],)


def expand_segments(segments: Sequence[Segment]) -> list[tuple[str, float, float]]:
    """Segments -> (viseme, start, end), splitting two-viseme segments at ``SPLIT``."""
    out: list[tuple[str, float, float]] = []
    for seg in segments:
        if seg.end <= seg.start:
            continue
        parts = phoneme_visemes(seg.phoneme)
        if len(parts) == 1:
            out.append((parts[0], seg.start, seg.end))
        else:
            mid = seg.start + SPLIT * (seg.end - seg.start)
            out.append((parts[0], seg.start, mid))
            out.append((parts[1], mid, seg.end))
    return out


def viseme_targets(names: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The viseme table as arrays over ``names``.

    Returns:
        (viseme names (M,), targets (M, K + 1) float64, dominance (M, K + 1)
        float64); the last column is the lip-closure channel.
    """
    names = list(names) + [CLOSURE]
    index = {n: k for k, n in enumerate(names)}
    jaw = np.array([n in JAW_GROUP for n in names])
    keys = list(VISEMES)
    targets = np.zeros((len(keys), len(names)))
    dominance = np.zeros((len(keys), len(names)))
    for m, key in enumerate(keys):
        vis = VISEMES[key]
        for name, value in vis.target:
            if name in index:
                targets[m, index[name]] = value
        dominance[m] = np.where(jaw, vis.jaw_dominance, vis.lip_dominance)
    return keys, targets, dominance


def frame_times(n_frames: int, fps: float, subsamples: int = SUBSAMPLES) -> np.ndarray:
    """(n_frames, subsamples) instants evenly spread inside each frame's interval."""
    offsets = (np.arange(subsamples) + 0.5) / subsamples
    return (np.arange(n_frames)[:, None] + offsets[None]) / fps


def blend_weights(
    segments: Sequence[Segment],
    times: np.ndarray,
    rho_before: float = RHO_BEFORE,
    rho_after: float = RHO_AFTER,
) -> np.ndarray:
    """Normalised dominance of every table viseme at arbitrary instants.

    The blended curve is linear in the table's targets:
    ``c_k(t) = sum_m W[t, m, g(k)] T[m, k]`` with ``g`` the jaw group (0), the
    lip group (1) or the closure channel (2), so ``coarticulate`` and the fit
    of the table to real mouths (``train/viseme_fit.py``) share this function.

    Args:
        segments: phonemes covering the utterance (gaps count as silence).
        times: (N,) seconds.
    Returns:
        (N, M, 3) float64 over the ``VISEMES`` rows (table order); each of the
        three groups sums to 1 over M.
    """
    keys = list(VISEMES)
    row = {k: m for m, k in enumerate(keys)}
    flat = np.asarray(times, dtype=np.float64).reshape(-1)
    parts = expand_segments(segments)
    if not parts:
        out = np.zeros((flat.size, len(keys), 3))
        out[:, row["sil"]] = 1.0
        return out
    # Silence before the first and after the last phoneme (and in gaps between
    # segments) is explicit, so the mouth closes there.
    filled: list[tuple[str, float, float]] = []
    cursor = min(0.0, parts[0][1])
    for vis, start, end in sorted(parts, key=lambda p: p[1]):
        if start > cursor + 1e-4:
            filled.append(("sil", cursor, start))
        filled.append((vis, start, end))
        cursor = max(cursor, end)
    tail = max(cursor, float(flat.max(initial=cursor))) + 1.0
    filled.append(("sil", cursor, tail))

    rows = np.array([row[v] for v, _, _ in filled])
    starts = np.array([s for _, s, _ in filled])
    ends = np.array([e for _, _, e in filled])
    jaw_dom = np.array([VISEMES[k].jaw_dominance for k in keys])[rows]
    lip_dom = np.array([VISEMES[k].lip_dominance for k in keys])[rows]
    before = np.maximum(starts[None] - flat[:, None], 0.0)  # (N, S) distance to the segment ahead
    after = np.maximum(flat[:, None] - ends[None], 0.0)
    decay = np.exp(-before / rho_before - after / rho_after)  # 1 inside the segment
    # Lips part quickly after a bilabial: the closure channel reaches half as far.
    quick = np.exp(-2.0 * before / rho_before - 2.0 * after / rho_after)
    weight = np.stack([decay * jaw_dom, decay * lip_dom, quick * lip_dom], axis=-1)  # (N, S, 3)
    weight /= np.maximum(weight.sum(axis=1, keepdims=True), 1e-300)
    onehot = np.zeros((len(rows), len(keys)))
    onehot[np.arange(len(rows)), rows] = 1.0
    return np.einsum("nsg,sm->nmg", weight, onehot)


def seal(blended: np.ndarray, closure: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Apply the lip-closure channel to blended coefficients (in place).

    ``mouthClose += closure * jawOpen`` (capped at 1) seals the lips over the
    jaw, and the shapes that part the lips (``PARTING``) shrink by
    ``1 - closure``: they blend with the jaw group, so an open neighbour would
    otherwise pull the lower lip down in the middle of an /m/.

    Args:
        blended: (N, K) coefficients over ``names``.
        closure: (N,) closure channel in [0, 1].
    Returns:
        ``blended``.
    """
    names = list(names)
    for name in PARTING:
        if name in names:
            blended[:, names.index(name)] *= 1.0 - closure
    if "mouthClose" in names and "jawOpen" in names:
        close, jaw = names.index("mouthClose"), names.index("jawOpen")
        blended[:, close] = np.minimum(blended[:, close] + closure * blended[:, jaw], 1.0)
    return blended


def coarticulate(
    segments: Sequence[Segment],
    times: np.ndarray,
    names: Sequence[str],
    rho_before: float = RHO_BEFORE,
    rho_after: float = RHO_AFTER,
) -> np.ndarray:
    """Dominance-blended coefficient curve at arbitrary instants.

    Args:
        segments: phonemes covering the utterance (gaps count as silence).
        times: (...,) seconds.
        names: rig shape names (K).
    Returns:
        (..., K) float64 coefficients in the table's range ([0, 1]).
    """
    _, targets, _ = viseme_targets(names)
    if not expand_segments(segments):
        return np.zeros(np.shape(times) + (len(names),))
    weights = blend_weights(segments, times, rho_before, rho_after)  # (N, M, 3)
    group = np.array([0 if n in JAW_GROUP else 1 for n in names] + [2])
    out = np.einsum("nmk,mk->nk", weights[:, :, group], targets)
    out = seal(out[:, :-1], out[:, -1], names)
    return out.reshape(np.shape(times) + (len(names),))


def coefficient_track(
    segments: Sequence[Segment], n_frames: int, fps: float, names: Sequence[str], lead: float = LEAD
) -> np.ndarray:
    """Per-video-frame coefficients of an utterance.

    Args:
        segments: phoneme timing (seconds from the start of the audio).
        n_frames: frames, usually ``features.frame_count(duration, fps)``.
        fps: video frame rate.
        names: rig shape names (K).
        lead: seconds the mouth runs ahead of the phones (frame ``i`` shows
            the curve at its own instants plus ``lead``).
    Returns:
        (n_frames, K) float32.
    """
    times = frame_times(n_frames, fps) + lead
    out = np.empty((n_frames, len(names)), np.float32)
    step = 512  # bounded memory: (frames * subsamples, segments, K) per block
    for lo in range(0, n_frames, step):
        out[lo : lo + step] = _windowed(segments, times[lo : lo + step], names).mean(axis=1)
    return out


def _windowed(segments: Sequence[Segment], times: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """``coarticulate`` restricted to the segments near ``times`` (same result:
    segments farther than 1.5 s contribute less than exp(-23))."""
    lo, hi = float(times.min()) - 1.5, float(times.max()) + 1.5
    near = [s for s in segments if s.end >= lo and s.start <= hi]
    if not near:
        return np.zeros(times.shape + (len(names),))
    # Pin the gaps at the window's edges as silence, as the full utterance would have.
    first, last = min(s.start for s in segments), max(s.end for s in segments)
    if near[0].start > first and near[0].start > lo:
        near = [Segment("", lo, near[0].start)] + near
    if near[-1].end < last and near[-1].end < hi:
        near = near + [Segment("", near[-1].end, hi)]
    return coarticulate(near, times, names)


def silence_mask(segments: Sequence[Segment], n_frames: int, fps: float, margin: float = 0.1) -> np.ndarray:
    """(n_frames,) bool: frame centre at least ``margin`` s away from any
    non-pause phoneme (deep silence, where the mouth must be closed)."""
    centres = (np.arange(n_frames) + 0.5) / fps
    silent = np.ones(n_frames, bool)
    for seg in segments:
        if phoneme_visemes(seg.phoneme) == ("sil",):
            continue
        silent &= ~((centres > seg.start - margin) & (centres < seg.end + margin))
    return silent


def describe() -> str:
    """The viseme table as text (one viseme per line), for docs and the CLI."""
    lines = []
    for key, vis in VISEMES.items():
        phones = " ".join(p for p, v in PHONEME_VISEMES.items() if v == key) or "(pause)"
        pose = ", ".join(f"{n} {v:g}" for n, v in vis.target) or "closed"
        lines.append(f"{key:9s} {phones:28s} {pose}  [jaw {vis.jaw_dominance:g}, lips {vis.lip_dominance:g}]")
    return "\n".join(lines)
