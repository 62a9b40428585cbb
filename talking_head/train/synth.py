"""Synthetic speech with exact phoneme timing, for AudioNet training data.

espeak-ng (Debian packages ``espeak-ng`` and ``libespeak-ng1``) is driven
through ``ctypes``: with ``espeakINITIALIZE_PHONEME_EVENTS`` and
``espeakINITIALIZE_PHONEME_IPA`` the synthesis callback reports every phoneme
as an IPA string with its sample position in the output, so the timing is
the synthesiser's own, not an alignment. festival (``festival``,
``festvox-kallpc16k``, ``festvox-us-slt-hts``) is an optional second source:
it writes its phone segment end times with ``utt.save.segs``.

Neither is needed by the package at run time; only the training-data tool
uses this module. ``espeak_available()`` / ``festival_available()`` tell
whether a source can be used here.

Sentences come from a small English grammar (``make_text``), with word lists
written for this project, so no corpus is needed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.visemes import Segment

# espeak-ng API constants (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7
_POS_CHARACTER = 1


@dataclass(frozen=True)
class Utterance:
    """Synthesised speech and its phoneme timing.

    Attributes:
        samples: (N,) float32 in [-1, 1].
        sample_rate: Hz.
        segments: phonemes in order; pauses have phoneme ``""``; times in
            seconds from sample 0.
        voice: voice id (e.g. ``"espeak:en-us+f3"``).
        text: what was said.
    """

    samples: np.ndarray
    sample_rate: int
    segments: tuple[Segment, ...]
    voice: str
    text: str

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / float(self.sample_rate)


@dataclass(frozen=True)
class Prosody:
    """espeak-ng speaking parameters.

    Attributes:
        rate: words per minute (80..450).
        pitch: base pitch 0..100.
        pitch_range: pitch range 0..100 (0 is monotone).
        word_gap: extra pause between words, in units of 10 ms.
    """

    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50
    word_gap: int = 0


def espeak_library_path() -> str | None:
    """Path or soname of libespeak-ng, or None when it is not installed."""
    return ctypes.util.find_library("espeak-ng")


def espeak_available() -> bool:
    """True when libespeak-ng can be loaded here."""
    path = espeak_library_path()
    if path is None:
        return False
    try:
        ctypes.CDLL(path)
    except OSError:
        return False
    return True


def festival_available() -> bool:
    """True when the ``festival`` binary is on PATH."""
    return shutil.which("festival") is not None


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class EspeakSynth:
    """libespeak-ng in synchronous mode, collecting audio and phoneme events.

    The library is process-global; use one instance per process.
    """

    def __init__(self) -> None:
        path = espeak_library_path()
        if path is None:
            raise RuntimeError("libespeak-ng not found; install the Debian packages espeak-ng and libespeak-ng1")
        self._lib = ctypes.CDLL(path)
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        options = _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
        self.sample_rate = int(self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, options))
        if self.sample_rate <= 0:
            raise RuntimeError("espeak_Initialize failed (espeak-ng-data missing?)")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._callback = _CALLBACK(self._on_audio)  # keep a reference: C holds the pointer
        self._lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav, count, events) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                self._events.append((int(event.sample), event.id.string.decode("utf-8", "replace")))
            i += 1
        return 0

    def voices_ok(self, voice: str) -> bool:
        """True when espeak-ng accepts the voice name (e.g. ``"en-us+f3"``)."""
        return self._lib.espeak_SetVoiceByName(voice.encode()) == 0

    def say(self, text: str, voice: str, prosody: Prosody = Prosody()) -> Utterance:
        """Synthesise ``text`` with ``voice``; exact phoneme segments included.

        Raises:
            ValueError: unknown voice.
        """
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        for param, value in (
            (_PARAM_RATE, prosody.rate),
            (_PARAM_PITCH, prosody.pitch),
            (_PARAM_RANGE, prosody.pitch_range),
            (_PARAM_WORDGAP, prosody.word_gap),
            (_PARAM_VOLUME, 100),
        ):
            self._lib.espeak_SetParameter(param, int(value), 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        samples = pcm.astype(np.float32) / 32768.0
        segments = events_to_segments(self._events, samples.shape[0], self.sample_rate)
        return Utterance(samples, self.sample_rate, segments, f"espeak:{voice}", text)


def events_to_segments(events: Sequence[tuple[int, str]], n_samples: int, sample_rate: int) -> tuple[Segment, ...]:
    """Phoneme start events -> contiguous segments.

    Each phoneme lasts until the next event. Language-switch markers such as
    ``"(en)"`` are not phonemes and are dropped (the previous phoneme goes
    on). Zero-length segments are dropped. Audio before the first event is a
    pause.

    Args:
        events: (sample index, IPA string) in order; ``""`` is a pause.
    """
    kept = [(s, p) for s, p in events if not (p.startswith("(") and p.endswith(")"))]
    out: list[Segment] = []
    first = kept[0][0] if kept else n_samples
    if first > 0:
        out.append(Segment("", 0.0, first / sample_rate))
    for (start, phone), (stop, _) in zip(kept, kept[1:] + [(n_samples, "")]):
        if stop > start:
            out.append(Segment(phone.strip(), start / sample_rate, stop / sample_rate))
    return tuple(out)


# ---------------------------------------------------------------------------
# festival (optional)

# festival's radio/ARPAbet phones -> IPA (the viseme table speaks IPA).
ARPABET_IPA = {
    "aa": "ɑ", "ae": "æ", "ah": "ʌ", "ao": "ɔ", "aw": "aʊ", "ax": "ə", "ay": "aɪ", "b": "b", "ch": "tʃ",
    "d": "d", "dh": "ð", "eh": "ɛ", "er": "ɜ", "ey": "eɪ", "f": "f", "g": "g", "hh": "h", "ih": "ɪ",
    "iy": "i", "jh": "dʒ", "k": "k", "l": "l", "m": "m", "n": "n", "ng": "ŋ", "ow": "oʊ", "oy": "ɔɪ",
    "p": "p", "r": "ɹ", "s": "s", "sh": "ʃ", "t": "t", "th": "θ", "uh": "ʊ", "uw": "u", "v": "v",
    "w": "w", "y": "j", "z": "z", "zh": "ʒ", "pau": "", "h#": "", "brth": "",
}
FESTIVAL_VOICES = ("kal_diphone", "cmu_us_slt_arctic_hts")


def festival_say(text: str, voice: str, stretch: float = 1.0, timeout: float = 60.0) -> Utterance:
    """Synthesise with festival and read back its phone segments.

    Args:
        voice: a festival voice (``FESTIVAL_VOICES``).
        stretch: ``Duration_Stretch`` (>1 is slower).
    """
    safe = text.replace("\\", " ").replace('"', " ")
    with tempfile.TemporaryDirectory() as tmp:
        wav, segs = Path(tmp) / "u.wav", Path(tmp) / "u.segs"
        script = (
            f"(voice_{voice})\n(Parameter.set 'Duration_Stretch {stretch:.3f})\n"
            f'(set! utt (utt.synth (Utterance Text "{safe}")))\n'
            f'(utt.save.wave utt "{wav}" \'riff)\n(utt.save.segs utt "{segs}")\n'
        )
        subprocess.run(["festival", "--pipe"], input=script.encode(), capture_output=True, timeout=timeout, check=True)
        from scipy.io import wavfile

        rate, pcm = wavfile.read(wav)
        samples = pcm.astype(np.float32) / 32768.0
        if samples.ndim > 1:
            samples = samples.mean(axis=1)
        segments = parse_festival_segs(segs.read_text(), samples.shape[0] / rate)
    return Utterance(samples, int(rate), segments, f"festival:{voice}", text)


def parse_festival_segs(text: str, duration: float) -> tuple[Segment, ...]:
    """Parse ``utt.save.segs`` output (``end_time 100 phone`` lines after ``#``)."""
    body = text.split("#", 1)[1] if "#" in text else text
    out: list[Segment] = []
    start = 0.0
    for line in body.strip().splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        end = min(float(fields[0]), duration)
        if end > start:
            out.append(Segment(ARPABET_IPA.get(fields[2].lower(), "ə"), start, end))
            start = end
    if start < duration:
        out.append(Segment("", start, duration))
    return tuple(out)


# ---------------------------------------------------------------------------
# Text


_SUBJECTS = (
    "the old fisherman", "my neighbour", "a quiet student", "the tall woman", "our teacher", "the little boy",
    "her brother", "the young doctor", "a busy waiter", "the farmer", "his mother", "the pilot", "my friend Bob",
    "the baker", "a stranger", "the manager", "our puppy", "the zebra", "your cousin", "the shy violinist",
    "Peter", "Maria", "Jim and Sue", "the mayor", "nobody", "everyone", "the judge", "a wise owl", "the children",
)
_VERBS = (
    "bought", "found", "painted", "moved", "opened", "carried", "washed", "fixed", "played with", "showed me",
    "threw away", "looked at", "forgot", "remembered", "measured", "pushed", "pulled", "borrowed", "chose",
    "loved", "watched", "shared", "hid", "broke", "cooked", "described", "mentioned", "sold", "brought",
)
_ADJECTIVES = (
    "blue", "broken", "shiny", "heavy", "smooth", "yellow", "ancient", "huge", "tiny", "purple", "wooden",
    "beautiful", "muddy", "frozen", "cheap", "famous", "useful", "noisy", "quiet", "round", "square", "odd",
    "warm", "bright", "thick", "thin", "wet", "fresh", "orange", "empty",
)
_OBJECTS = (
    "boat", "window", "book", "moon", "umbrella", "bottle", "piano", "basket", "map", "mirror", "shoe",
    "apple", "blanket", "bridge", "cookie", "feather", "guitar", "jacket", "key", "lamp", "pumpkin", "rope",
    "spoon", "tooth", "wheel", "zoo ticket", "photo", "puzzle", "bubble", "vase", "pillow", "chair", "bowl",
)
_PLACES = (
    "in the garden", "at the market", "near the river", "under the bridge", "by the window", "on the beach",
    "in the kitchen", "at school", "behind the barn", "over the hill", "in the museum", "at the station",
    "through the woods", "on the boat", "in Boston", "beside the pool", "at the top of the tower",
)
_TIMES = (
    "yesterday", "this morning", "last week", "on Monday", "at noon", "every evening", "after lunch",
    "before the storm", "in nineteen ninety-nine", "two hours ago", "at seven thirty", "in the spring",
)
_INTERJECTIONS = ("Oh", "Well", "Hmm", "Wow", "Look", "Yes", "No", "Oops", "Please", "Okay", "Hey")
_QUESTION_STARTS = ("Why did", "Where did", "When did", "How did", "Did", "Who saw", "What if")
_NUMBERS = (
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "fifteen",
    "twenty", "forty-two", "a hundred", "a thousand", "zero", "ninety-nine",
)


def _article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def make_sentence(rng: np.random.Generator) -> str:
    """One random English sentence (statement, question, list, exclamation...)."""

    def pick(words):
        return words[int(rng.integers(len(words)))]

    kind = int(rng.integers(7))
    subject, verb = pick(_SUBJECTS), pick(_VERBS)
    thing = f"the {pick(_ADJECTIVES)} {pick(_OBJECTS)}"
    if kind == 0:
        text = f"{subject} {verb} {thing} {pick(_PLACES)} {pick(_TIMES)}."
    elif kind == 1:
        start = pick(_QUESTION_STARTS)
        text = f"{start} {subject} {verb} {thing}?" if start != "Who saw" else f"Who saw {subject} {pick(_PLACES)}?"
    elif kind == 2:
        text = f"{pick(_INTERJECTIONS)}, {subject} {verb} {pick(_NUMBERS)} {pick(_ADJECTIVES)} {pick(_OBJECTS)}s!"
    elif kind == 3:
        items = [_article(f"{pick(_ADJECTIVES)} {pick(_OBJECTS)}") for _ in range(int(rng.integers(2, 5)))]
        text = f"We need {', '.join(items[:-1])} and {items[-1]}."
    elif kind == 4:
        text = f"{pick(_TIMES).capitalize()}, {subject} said that {thing} was {pick(_ADJECTIVES)}."
    elif kind == 5:
        text = f"If {subject} {verb} {thing}, then {pick(_SUBJECTS)} will be {pick(_ADJECTIVES)}."
    else:
        text = f"{pick(_NUMBERS).capitalize()} {pick(_ADJECTIVES)} {pick(_OBJECTS)}s {pick(_PLACES)}, {pick(_TIMES)}."
    return text[0].upper() + text[1:]


def make_text(rng: np.random.Generator, max_sentences: int = 3) -> str:
    """One to ``max_sentences`` sentences (sentence ends give natural pauses)."""
    return " ".join(make_sentence(rng) for _ in range(int(rng.integers(1, max_sentences + 1))))


# ---------------------------------------------------------------------------
# Voices


ESPEAK_BASES = (
    "en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
    "en-us-nyc", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "hi", "ru",
)
ESPEAK_VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "Alex", "Andy", "Annie",
    "adam", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "ed", "edward", "john", "linda",
    "max", "michel", "miguel", "paul", "pedro", "rob", "robert", "steph", "travis", "victor", "klatt",
    "klatt2", "klatt3", "klatt4", "grandma", "grandpa", "croak", "Denis", "Hugo", "Marco", "Mike",
)
# Whole voices never used for training: any voice built on one of these
# accents or variants is validation-only (or unused when only one matches).
HELDOUT_BASES = ("en-gb-scotland", "es", "en-029")
HELDOUT_VARIANTS = ("f4", "m6", "Annie", "klatt3", "Hugo", "linda")


def espeak_voice(base: str, variant: str) -> str:
    return f"{base}+{variant}"


def voice_split(base: str, variant: str) -> str | None:
    """``"train"``, ``"val"`` (both held out) or None (one held out: unused)."""
    held = (base in HELDOUT_BASES) + (variant in HELDOUT_VARIANTS)
    return "train" if held == 0 else ("val" if held == 2 else None)


def random_prosody(rng: np.random.Generator) -> Prosody:
    return Prosody(
        rate=int(rng.integers(110, 270)),
        pitch=int(rng.integers(15, 90)),
        pitch_range=int(rng.integers(10, 100)),
        word_gap=int(rng.choice([0, 0, 0, 1, 2, 4])),
    )


# ---------------------------------------------------------------------------
# From an utterance to training frames


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random audio augmentation (all drawn per utterance).

    Attributes:
        speed: speed perturbation factor range (timing is rescaled with it).
        pad: leading/trailing silence range, seconds.
        level_db: peak level range, dBFS.
        noise_prob: chance of background noise (coloured, rumble or hum,
            drifting in level); ``snr_db`` its range below the speech.
        floor_db: a faint noise floor always added (real recordings have one).
        reverb_prob: chance of a synthetic room (exponential decay, RT60 range).
        filter_prob: chance of a random microphone-like band limit.
    """

    speed: tuple[float, float] = (0.9, 1.1)
    pad: tuple[float, float] = (0.1, 1.2)
    level_db: tuple[float, float] = (-30.0, -1.0)
    noise_prob: float = 0.7
    snr_db: tuple[float, float] = (8.0, 40.0)
    floor_db: tuple[float, float] = (-90.0, -60.0)
    reverb_prob: float = 0.3
    rt60: tuple[float, float] = (0.1, 0.5)
    filter_prob: float = 0.5


def resample_speed(samples: np.ndarray, rate_in: int, rate_out: int, speed: float) -> tuple[np.ndarray, float]:
    """Resample to ``rate_out`` and play ``speed`` times faster.

    Returns:
        (resampled (M,) float32, time scale: an input instant t maps to t * scale).
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(rate_out * 1000, int(round(rate_in * speed * 1000))).limit_denominator(2000)
    out = resample_poly(samples.astype(np.float64), ratio.numerator, ratio.denominator).astype(np.float32)
    return out, float(ratio) * rate_in / rate_out


def _coloured_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) unit-RMS noise, white, pink or brown (1/f^beta, beta in {0, 1, 2})."""
    beta = float(rng.choice([0.0, 1.0, 2.0]))
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    noise = np.fft.irfft(spectrum / f ** (beta / 2.0), n)
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12)


def _room_noise(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) unit-RMS background: coloured noise, low rumble (< 80..400 Hz) or
    mains hum (50/60 Hz and harmonics), with a slow random loudness drift, so
    the network learns that quiet low-frequency sound is not speech."""
    kind = int(rng.integers(3))
    if kind == 0:
        noise = _coloured_noise(n, rng)
    elif kind == 1:
        spectrum = np.fft.rfft(rng.standard_normal(n))
        spectrum[np.fft.rfftfreq(n, 1.0 / sample_rate) > rng.uniform(80.0, 400.0)] = 0.0
        noise = np.fft.irfft(spectrum, n)
    else:
        t = np.arange(n) / sample_rate
        mains = float(rng.choice([50.0, 60.0]))
        noise = sum(rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6.3)) for k in range(1, 6))
        noise = noise + 0.1 * _coloured_noise(n, rng)
    knots = rng.uniform(0.3, 1.0, size=max(2, int(n / sample_rate * 2) + 2))
    noise = noise * np.interp(np.linspace(0, len(knots) - 1, n), np.arange(len(knots)), knots)
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12)


def augment_audio(samples: np.ndarray, sample_rate: int, rng: np.random.Generator,
                  config: Augmentation = Augmentation()) -> np.ndarray:
    """Room, band limit, level and noise; the timing is unchanged.

    Args:
        samples: (N,) float32 clean speech with silence around it.
    Returns:
        (N,) float32 in [-1, 1].
    """
    from scipy.signal import butter, fftconvolve, sosfilt

    x = samples.astype(np.float64)
    n = x.shape[0]
    if rng.random() < config.reverb_prob:
        rt60 = rng.uniform(*config.rt60)
        length = int(rt60 * sample_rate)
        t = np.arange(length) / sample_rate
        ir = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)
        ir[0] = 0.0
        ir *= rng.uniform(0.1, 0.5) / max(float(np.sqrt((ir**2).sum())), 1e-12)
        ir[0] = 1.0
        x = fftconvolve(x, ir)[:n]
    if rng.random() < config.filter_prob:
        low = rng.uniform(60.0, 400.0)
        high = rng.uniform(3000.0, min(7800.0, sample_rate / 2 - 100))
        x = sosfilt(butter(2, [low, high], btype="bandpass", fs=sample_rate, output="sos"), x)
    peak = max(float(np.abs(x).max()), 1e-9)
    x *= 10 ** (rng.uniform(*config.level_db) / 20.0) / peak
    voiced = x[np.abs(x) > 1e-4]
    speech_rms = float(np.sqrt(np.mean(voiced**2))) if voiced.size else 1e-3
    if rng.random() < config.noise_prob:
        x += _room_noise(n, sample_rate, rng) * speech_rms * 10 ** (-rng.uniform(*config.snr_db) / 20.0)
    x += _coloured_noise(n, rng) * 10 ** (rng.uniform(*config.floor_db) / 20.0)
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def utterance_example(utt: Utterance, names: Sequence[str], fps: float, rng: np.random.Generator | None,
                      config: Augmentation = Augmentation()):
    """Frames of one utterance: MFCC windows, viseme targets, silence flags.

    With ``rng`` the audio is speed-perturbed, padded and augmented (timing
    follows); without it the audio is only resampled to the feature rate.

    Returns:
        ``dataset.Example``.
    """
    from ..audio.features import DEFAULT_CONFIG, feature_windows, frame_count, mfcc
    from ..audio.visemes import coefficient_track, silence_mask
    from .dataset import Example

    rate = DEFAULT_CONFIG.sample_rate
    speed = rng.uniform(*config.speed) if rng is not None else 1.0
    audio, scale = resample_speed(utt.samples, utt.sample_rate, rate, speed)
    lead = trail = 0.0
    if rng is not None:
        lead, trail = rng.uniform(*config.pad), rng.uniform(*config.pad)
    audio = np.concatenate([np.zeros(int(lead * rate), np.float32), audio, np.zeros(int(trail * rate), np.float32)])
    shift = int(lead * rate) / rate
    segments = [Segment(s.phoneme, s.start * scale + shift, s.end * scale + shift) for s in utt.segments]
    if rng is not None:
        audio = augment_audio(audio, rate, rng, config)
    n = frame_count(audio.shape[0] / rate, fps)
    windows = feature_windows(mfcc(audio, rate), n, fps)
    targets = coefficient_track(segments, n, fps, names)
    return Example(windows, targets, silence_mask(segments, n, fps), utt.voice)
