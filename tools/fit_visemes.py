"""Fit the viseme table, its coarticulation reach and the mouth's lead to
real talking mouths (``talking_head/train/viseme_fit.py``), and report the
mouth-opening agreement before and after.

Data: a folder like ``../shared/data/real_talking`` (``grid_s1/`` clips of one
speaker whose sentences are in the file names, ``grid_*.mpg`` of other
speakers, other talking videos). GRID clips get forced-aligned phones from
their transcript; other videos the phone loop (``audio/phonetic.py``).
Landmark tracks (``tools/track_videos.py``), phones and rig fits are cached
under ``--cache``. GRID s1 clips are split into fit and held-out clips by a
hash of the name; the reach and lead are chosen on the held-out s1 clips.

Usage::

    python -m tools.fit_visemes ../shared/data/real_talking --cache /tmp/visemes_fit \
        --out docs/visemes_fit [--exclude lieu_60s] [--write-table]
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from pathlib import Path

import numpy as np

from talking_head.audio import visemes as vm
from talking_head.train import viseme_fit as vf

FPS = 25.0
GRID_WORDS = {
    0: dict(b="bin", l="lay", p="place", s="set"),
    1: dict(b="blue", g="green", r="red", w="white"),
    2: dict(a="at", b="by", i="in", w="with"),
    4: dict(z="zero", **{str(i): w for i, w in enumerate("zero one two three four five six seven eight nine".split())}),
    5: dict(a="again", n="now", p="please", s="soon"),
}


def grid_transcript(stem: str) -> str:
    """``bbaf3s`` -> ``bin blue at f three soon`` (GRID file names encode the sentence)."""
    stem = stem.removeprefix("grid_")
    words = [GRID_WORDS[i][c] if i in GRID_WORDS else c for i, c in enumerate(stem[:6])]
    return " ".join(words)


def heldout(name: str, share: int = 7) -> bool:
    """Stable split: 1 of ``share`` GRID s1 clips is held out."""
    return zlib.crc32(name.encode()) % share == 0


def load_track(stem: str, dirs: list[Path], video: Path) -> dict:
    for d in dirs:
        f = d / f"{stem}.npz"
        if f.exists():
            with np.load(f) as z:
                return {k: z[k] for k in z.files}
    from tools.track_videos import track

    dirs[0].mkdir(parents=True, exist_ok=True)
    with np.load(track(video, dirs[0])) as z:
        return {k: z[k] for k in z.files}


def load_phones(stem: str, video: Path, cache: Path, transcript: str | None) -> tuple[vm.Segment, ...]:
    """Timed phones of a clip as the phonetic driver gets them
    (``phonetic.recognise``: forced alignment when a transcript is given, else
    the phone loop; phones capped, VAD pauses silent), cached as JSON."""
    kind = "align" if transcript else "loop"
    f = cache / f"phones_{kind}" / f"{stem}.json"
    if not f.exists():
        from talking_head.audio import phonetic
        from talking_head.audio.decode import decode_audio

        clip = decode_audio(video)
        track = phonetic.recognise(clip.samples, transcript)
        segs = phonetic.phones_to_segments(track.phones)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps({"mode": track.mode, "segments": [[s.phoneme, s.start, s.end] for s in segs]}))
    data = json.loads(f.read_text())
    return tuple(vm.Segment(p, float(s), float(e)) for p, s, e in data["segments"] if e > s)


def speaker_fits(tracks: dict[str, dict], sample: int = 1500, seed: int = 0) -> dict[str, np.ndarray]:
    """Rig coefficients of every frame of one speaker's clips with one neutral
    (estimated jointly on a sample of frames, ``rig.fit_with_neutral``)."""
    from talking_head.face.rig import fit_with_neutral, load_rig
    from talking_head.train.videos import fit_weights

    rig, weights = load_rig(), fit_weights()
    shapes = np.concatenate([t["shapes"] for t in tracks.values()]).astype(np.float64)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(shapes), size=min(sample, len(shapes)), replace=False))
    neutral, _ = fit_with_neutral(rig, shapes[rows], weights)
    return {k: rig.fit_sequence(t["shapes"].astype(np.float64), neutral, weights, 1e-3) for k, t in tracks.items()}


def make_clip(name: str, speaker: str, video: Path, track: dict, coeffs: np.ndarray,
              segments: tuple[vm.Segment, ...]) -> tuple[vf.Clip, np.ndarray]:
    """A ``viseme_fit.Clip`` at 25 fps output frames, and its deep-silence mask."""
    from talking_head.audio.decode import decode_audio
    from talking_head.audio.features import frame_count
    from talking_head.train.videos import loudness_silence, resample

    clip = decode_audio(video)
    n = frame_count(clip.duration, FPS)
    found = track["found"]
    times = track["times"][found]
    opening = resample(times, track["opening"][found].astype(np.float64), n, FPS)
    coeffs = resample(times, coeffs, n, FPS)
    silent = loudness_silence(clip.samples, clip.sample_rate, n, FPS)
    centres = (np.arange(n) + 0.5) / FPS
    return vf.Clip(name, speaker, segments, centres, coeffs, opening), silent


def evaluate(clips: list[tuple[vf.Clip, np.ndarray]], targets: np.ndarray, names, rho_b, rho_a, lead) -> dict:
    out = {}
    for clip, silent in clips:
        w = vf.frame_weights(clip.segments, clip.times, rho_b, rho_a, lead, FPS)
        ours = vf.rig_opening(vf.predict(w, targets, names), names)
        out[clip.name] = vf.sync_scores(clip.opening, ours, silent)
    return out


def summary(per: dict) -> dict:
    keys = ("r0", "r_best", "amplitude", "silent_closed")
    return {k: round(float(np.nanmean([v[k] for v in per.values() if k in v])), 3) for k in keys
            if any(k in v for v in per.values())}


def table_source(targets: np.ndarray, names: list[str]) -> str:
    """``_v(...)`` lines of the fitted table (for visemes.py)."""
    lines = []
    for m, key in enumerate(vm.VISEMES):
        vis = vm.VISEMES[key]
        parts = []
        closure = targets[m, -1]
        for table_name in vf.ALL_SHAPES + ("jawForward", "mouthRollUpper", "mouthShrugUpper", "mouthShrugLower"):
            col = vf.sided(table_name)[0]
            if col in names and targets[m, names.index(col)] >= 0.005:
                parts.append(f"{table_name}={targets[m, names.index(col)]:.2f}")
            if table_name == "jawOpen" and closure > 0:
                parts.append(f"closure={closure:.1f}")
        args = ", ".join([f'"{key}"', f"{vis.jaw_dominance:g}", f"{vis.lip_dominance:g}"] + parts)
        lines.append(f"        _v({args}),")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path, help="folder of real talking videos (grid_s1/ inside)")
    ap.add_argument("--cache", type=Path, required=True, help="tracks, phones and rig fits are kept here")
    ap.add_argument("--tracks", type=Path, nargs="*", default=[], help="more folders of cached tracks")
    ap.add_argument("--out", type=Path, required=True, help="report folder (fit.json, fit.png)")
    ap.add_argument("--exclude", nargs="*", default=["lieu_60s"], help="video stems used for evaluation only")
    ap.add_argument("--validation", nargs="*", default=["talk_a", "talk_b", "talk_c", "talk_d"],
                    help="video stems used for evaluation only")
    ap.add_argument("--fixed", type=float, nargs=3, metavar=("RHO_BEFORE", "RHO_AFTER", "LEAD"),
                    help="skip the search: fit the targets at this reach and lead")
    ap.add_argument("--all-shapes", action="store_true", help="fit rounding/spreading shapes too (viseme_fit.ALL_SHAPES)")
    ap.add_argument("--max-s1", type=int, default=0, help="at most this many GRID s1 clips (0: all tracked)")
    args = ap.parse_args(argv)
    started = time.time()
    names = list(vm.audio_driven_names(__import__("talking_head.face.rig", fromlist=["load_rig"]).load_rig().names))
    from talking_head.face.rig import load_rig

    rig = load_rig()
    cols = [rig.index(n) for n in names]
    track_dirs = [args.cache / "tracks"] + list(args.tracks)

    # --- GRID s1: one speaker, forced alignment from the file-name transcript
    s1_dir = args.data / "grid_s1"
    s1_videos = {p.stem: p for p in sorted(s1_dir.glob("*.mp4"))}
    tracked = [s for s in s1_videos if any((d / f"{s}.npz").exists() for d in track_dirs)]
    # One neutral for the speaker, from every tracked clip (cached).
    fits_file = args.cache / f"fits_grid_s1_{len(tracked)}.npz"
    if fits_file.exists():
        with np.load(fits_file) as z:
            s1_coeffs = {k: z[k] for k in z.files}
    else:
        s1_coeffs = speaker_fits({s: load_track(s, track_dirs, s1_videos[s]) for s in tracked})
        np.savez(fits_file, **s1_coeffs)
    # The clips used, in the seeded order of tools/track_videos.py (a prefix is a random subset).
    order = np.random.default_rng(0).permutation(len(s1_videos))
    stems = list(s1_videos)
    tracked = [stems[i] for i in order if stems[i] in s1_coeffs]
    if args.max_s1:
        tracked = tracked[: args.max_s1]
    s1_tracks = {s: load_track(s, track_dirs, s1_videos[s]) for s in tracked}
    print(f"grid_s1: {len(tracked)} clips fitted ({time.time() - started:.0f}s)", flush=True)

    fit_clips, s1_held = [], []
    for s in tracked:
        segs = load_phones(s, s1_videos[s], args.cache, grid_transcript(s))
        item = make_clip(s, "grid_s1", s1_videos[s], s1_tracks[s], s1_coeffs[s][:, cols], segs)
        (s1_held if heldout(s) else fit_clips).append(item)

    # --- other speakers: one clip each, its own neutral
    others: dict[str, list] = {"grid_other": [], "grid_other_loop": [], "broadcast": [], "validation": []}
    for video in sorted(args.data.iterdir()):
        if video.suffix.lower() not in (".mp4", ".mpg") or not video.is_file():
            continue
        stem = video.stem
        trk = load_track(stem, track_dirs, video)
        if trk["found"].sum() < 2:
            continue
        ff = args.cache / f"fits_{stem}.npz"
        if ff.exists():
            coeffs = np.load(ff)["coeffs"]
        else:
            coeffs = speaker_fits({stem: trk})[stem]
            np.savez(ff, coeffs=coeffs)
        if stem.startswith("grid_"):
            others["grid_other"].append(make_clip(stem, stem, video, trk, coeffs[:, cols],
                                                  load_phones(stem, video, args.cache, grid_transcript(stem))))
            others["grid_other_loop"].append(make_clip(stem, stem, video, trk, coeffs[:, cols],
                                                       load_phones(stem, video, args.cache, None)))
        else:
            group = "validation" if stem in args.validation or stem in args.exclude else "broadcast"
            others[group].append(make_clip(stem, stem, video, trk, coeffs[:, cols], load_phones(stem, video, args.cache, None)))
    print(f"{len(fit_clips)} fit clips, {len(s1_held)} held-out s1 clips ({time.time() - started:.0f}s)", flush=True)

    prior = vf.table_matrix(names)[1]
    sets = {"grid_s1_heldout": s1_held, **others}
    report: dict = {"fit_clips": len(fit_clips), "heldout_clips": len(s1_held),
                    "fit_frames": int(sum(len(c.times) for c, _ in fit_clips))}

    def score(targets, rb, ra, lead):
        return {k: evaluate(v, targets, names, rb, ra, lead) for k, v in sets.items() if v}

    before = score(prior, vm.RHO_BEFORE, vm.RHO_AFTER, vm.LEAD)
    report["before"] = {"rho_before": vm.RHO_BEFORE, "rho_after": vm.RHO_AFTER, "lead": vm.LEAD,
                        "summary": {k: summary(v) for k, v in before.items()}, "clips": before}
    # Rig fits of the real frames themselves: how well the rig explains the image opening.
    report["rig_fit_vs_image"] = {k: summary({c.name: vf.sync_scores(c.opening, vf.rig_opening(c.coeffs, names), s)
                                               for c, s in v}) for k, v in sets.items() if v}

    real_fit = np.concatenate([c.coeffs for c, _ in fit_clips])

    def fit_at(rb, ra, lead):
        w = np.concatenate([vf.frame_weights(c.segments, c.times, rb, ra, lead, FPS) for c, _ in fit_clips])
        return vf.fit_targets(w, real_fit, names, prior, fitted=vf.ALL_SHAPES if args.all_shapes else vf.FITTED)

    def heldout_r(targets, rb, ra, lead):
        return summary(evaluate(s1_held, targets, names, rb, ra, lead))["r0"]

    search = []
    rb, ra, lead = vm.RHO_BEFORE, vm.RHO_AFTER, 0.0
    for _ in range(0 if args.fixed else 2):  # coordinate search: lead, then the reach before, then after
        for lead_ in (0.0, 0.02, 0.04, 0.06, 0.08, 0.1):
            t = fit_at(rb, ra, lead_)
            search.append({"rho_before": rb, "rho_after": ra, "lead": lead_, "r0": heldout_r(t, rb, ra, lead_)})
        lead = max((s for s in search if s["rho_before"] == rb and s["rho_after"] == ra), key=lambda s: s["r0"])["lead"]
        for rb_ in (0.03, 0.05, 0.065, 0.08, 0.1, 0.13):
            t = fit_at(rb_, ra, lead)
            search.append({"rho_before": rb_, "rho_after": ra, "lead": lead, "r0": heldout_r(t, rb_, ra, lead)})
        rb = max((s for s in search if s["lead"] == lead and s["rho_after"] == ra), key=lambda s: s["r0"])["rho_before"]
        for ra_ in (0.02, 0.035, 0.045, 0.06, 0.08, 0.1):
            t = fit_at(rb, ra_, lead)
            search.append({"rho_before": rb, "rho_after": ra_, "lead": lead, "r0": heldout_r(t, rb, ra_, lead)})
        ra = max((s for s in search if s["lead"] == lead and s["rho_before"] == rb), key=lambda s: s["r0"])["rho_after"]
        print(f"search: rho_before {rb} rho_after {ra} lead {lead} ({time.time() - started:.0f}s)", flush=True)
    if args.fixed:
        rb, ra, lead = args.fixed
    best = fit_at(rb, ra, lead)
    after = score(best, rb, ra, lead)
    # The same reach and lead with the hand-set table: what the timing alone gives.
    timing_only = score(prior, rb, ra, lead)
    report["after"] = {"rho_before": rb, "rho_after": ra, "lead": lead,
                       "summary": {k: summary(v) for k, v in after.items()}, "clips": after}
    report["timing_only"] = {"summary": {k: summary(v) for k, v in timing_only.items()}}
    report["search"] = search
    keys = list(vm.VISEMES)
    report["fitted_shapes"] = list(vf.ALL_SHAPES if args.all_shapes else vf.FITTED)
    report["targets"] = {key: {n: round(float(best[m, names.index(vf.sided(n)[0])]), 3) for n in vf.ALL_SHAPES}
                         for m, key in enumerate(keys)}
    report["seconds"] = round(time.time() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fit.json").write_text(json.dumps(report, indent=1))
    (args.out / "table.txt").write_text(table_source(best, names) + f"\nRHO_BEFORE = {rb}\nRHO_AFTER = {ra}\nLEAD = {lead}\n")
    plot(report, args.out / "fit.png")
    for k in report["after"]["summary"]:
        print(f"{k:18s} before {report['before']['summary'][k]}  after {report['after']['summary'][k]}")
    return 0


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), dpi=100)
    after = report["after"]
    rows = [s for s in report["search"] if s["rho_before"] == after["rho_before"] and s["rho_after"] == after["rho_after"]]
    rows = sorted({s["lead"]: s for s in rows}.values(), key=lambda s: s["lead"])
    axes[0].plot([s["lead"] * 1000 for s in rows], [s["r0"] for s in rows], "o-")
    if not rows:
        axes[0].text(0.5, 0.5, "no search (--fixed)", ha="center", transform=axes[0].transAxes)
    axes[0].set_xlabel("mouth lead (ms)")
    axes[0].set_ylabel("held-out GRID s1 r (lag 0)")
    axes[0].grid(alpha=0.3)
    axes[0].set_title(f"reach before {after['rho_before']} s, after {after['rho_after']} s")
    sets = list(after["summary"])
    x = np.arange(len(sets))
    for i, (label, rep) in enumerate((("before", report["before"]), ("after", after))):
        axes[1].bar(x + (i - 0.5) * 0.4, [rep["summary"][s]["r_best"] for s in sets], 0.4, label=f"{label} r (best lag)")
    axes[1].set_xticks(x, sets, rotation=20, fontsize=8)
    axes[1].set_ylabel("r, mouth opening vs real")
    axes[1].legend()
    axes[1].grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
