"""What each speech driver does with languages other than English (coefficient level).

For every audio file and driver: the share of silent frames (silero VAD on the
audio) in which the mouth is closed (rig inner-lip gap under 1 mm), and how
varied the mouth is during speech: std over time of the opening (cm), of the
width-making shapes (smile + stretch) and of the rounding shapes (pucker +
funnel), and how many viseme classes the phonetic driver used. English has
pocketsphinx's model; other languages get its English phone loop (or
AudioNet's learnt mapping). Synthetic voices (espeak-ng) are a weak test:
real recorded speech is what counts.

    python -m tools.language_report AUDIO... [--espeak de fr cmn ru ja] --out docs/bench/languages.md
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np

SENTENCES = {
    "en": "Good morning, how are you today? I hope the weather stays fine.",
    "de": "Guten Morgen, wie geht es Ihnen heute? Ich hoffe, das Wetter bleibt schön.",
    "fr": "Bonjour, comment allez-vous aujourd'hui? J'espère que le temps restera beau.",
    "cmn": "你好，今天你好吗？我希望天气一直很好。",
    "ru": "Здравствуйте, как у вас дела сегодня? Надеюсь, погода останется хорошей.",
    "ja": "こんにちは、今日はお元気ですか。天気が良いままだといいですね。",
    "es": "Buenos días, ¿cómo está usted hoy? Espero que el tiempo siga siendo bueno.",
}


def espeak(language: str, folder: Path) -> Path | None:
    """A sentence spoken by espeak-ng (1 s of silence around it), or None without espeak-ng."""
    out = folder / f"espeak_{language}.wav"
    try:
        subprocess.run(["espeak-ng", "-v", language, "-w", str(out), SENTENCES[language]], check=True,
                       capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    return out


def measure(path: Path, drivers: list[str]) -> list[dict]:
    from talking_head.audio.decode import AudioClip, decode_audio
    from talking_head.audio.features import frame_count
    from talking_head.audio.vad import speech_mask
    from talking_head.config import GenerationConfig
    from talking_head.drivers import DriveRequest, make_driver
    from talking_head.face.rig import audio_driven, closed_mouth, inner_lip_gap, load_rig
    from talking_head.face.topology import load_topology
    from talking_head.pipeline import TalkingHeadPipeline

    clip = decode_audio(path)
    pad = np.zeros(clip.sample_rate, np.float32)  # a second of silence on both sides
    clip = AudioClip(np.concatenate([pad, clip.samples, pad]), clip.sample_rate, clip.source)
    rig, neutral = load_rig(), closed_mouth(load_topology())
    frames = frame_count(clip.duration, 25.0)
    speech = speech_mask(clip.samples, frames, 25.0)
    request = DriveRequest(clip, frames, 25.0, tuple(rig.names), audio_driven(rig.names), np.zeros(len(rig.names)))
    models = TalkingHeadPipeline(GenerationConfig())
    rows = []
    for name in drivers:
        out = make_driver(name, models, GenerationConfig(driver=name)).drive(request, lambda f: None)
        coeffs = out.coeffs
        gap = np.array([inner_lip_gap(rig.apply(neutral, row)) for row in coeffs]) - inner_lip_gap(neutral)
        col = lambda *names: coeffs[:, [rig.index(n) for n in names]].sum(axis=1)  # noqa: E731
        talking = speech if speech.any() else np.ones(frames, bool)
        visemes = len({p.label for p in out.phones if p.label != "SIL"}) if out.phones else None
        rows.append({
            "audio": path.name, "driver": name,
            "silent_closed": float((gap[~speech] < 0.1).mean()) if (~speech).any() else float("nan"),
            "opening_std_cm": float(gap[talking].std()),
            "width_std": float(col("mouthSmile_L", "mouthSmile_R", "mouthStretch_L", "mouthStretch_R")[talking].std()),
            "rounding_std": float(col("mouthPucker", "mouthFunnel")[talking].std()),
            "phone_classes": visemes, "notes": list(out.notes),
        })
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", nargs="*", type=Path, help="recorded speech files (label: the file name)")
    parser.add_argument("--espeak", nargs="*", default=[], help="espeak-ng languages to synthesise (en de fr es ru cmn ja)")
    parser.add_argument("--drivers", nargs="+", default=["phonetic", "audionet", "loudness"])
    parser.add_argument("--out", type=Path, help="write the table (Markdown) here")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = list(args.audio) + [p for p in (espeak(lang, Path(tmp)) for lang in args.espeak) if p is not None]
        for path in paths:
            rows += measure(path, args.drivers)
    lines = ["| audio | driver | silent frames closed | opening std (cm) | width std | rounding std | phone classes |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['audio']} | {r['driver']} | {r['silent_closed']:.2f} | {r['opening_std_cm']:.3f} | "
                     f"{r['width_std']:.3f} | {r['rounding_std']:.3f} | {r['phone_classes'] or '-'} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
