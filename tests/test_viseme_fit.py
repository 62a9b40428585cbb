"""Fitting the viseme table to (here: synthetic) real mouths."""

from __future__ import annotations

import numpy as np

from talking_head.audio import visemes as vm
from talking_head.face.rig import load_rig
from talking_head.train import viseme_fit as vf

NAMES = list(vm.audio_driven_names(load_rig().names))


def sentence(rng: np.random.Generator, phones=("p", "ɑ", "m", "u", "s", "i", "t", "oʊ", "w", "æ", "f", "ɪ", "l")):
    segs, t = [vm.Segment("", 0.0, 0.3)], 0.3
    for _ in range(14):
        d = float(rng.uniform(0.06, 0.2))
        segs.append(vm.Segment(str(rng.choice(phones)), t, t + d))
        t += d
    segs.append(vm.Segment("", t, t + 0.4))
    return segs, t + 0.4


def test_blend_weights_sum_to_one_and_reproduce_coarticulate():
    segs, end = sentence(np.random.default_rng(0))
    times = np.linspace(0, end, 80)
    w = vm.blend_weights(segs, times)
    assert w.shape == (80, len(vm.VISEMES), 3)
    assert np.allclose(w.sum(axis=1), 1.0)
    _, targets = vf.table_matrix(NAMES)
    assert np.allclose(vf.predict(w, targets, NAMES), vm.coarticulate(segs, times, NAMES))


def test_frame_weights_match_coefficient_track_with_lead():
    segs, end = sentence(np.random.default_rng(1))
    n = int(end * 25)
    centres = (np.arange(n) + 0.5) / 25
    _, targets = vf.table_matrix(NAMES)
    ours = vf.predict(vf.frame_weights(segs, centres, vm.RHO_BEFORE, vm.RHO_AFTER, 0.08), targets, NAMES)
    assert np.allclose(ours, vm.coefficient_track(segs, n, 25.0, NAMES, lead=0.08), atol=1e-5)


def test_fit_recovers_known_targets():
    # "Real" mouths made by a table whose jawOpen/pucker differ from the prior: the fit finds them.
    rng = np.random.default_rng(2)
    keys, prior = vf.table_matrix(NAMES)
    truth = prior.copy()
    jaw, pucker = NAMES.index("jawOpen"), NAMES.index("mouthPucker")
    truth[keys.index("AA"), jaw] = 0.9
    truth[keys.index("UW"), pucker] = 0.4
    truth[keys.index("IH"), jaw] = 0.05
    weights, real = [], []
    for _ in range(30):
        segs, end = sentence(rng)
        centres = (np.arange(int(end * 25)) + 0.5) / 25
        w = vf.frame_weights(segs, centres, 0.05, 0.04, 0.0)
        weights.append(w)
        real.append(vf.predict(w, truth, NAMES))
    fitted = vf.fit_targets(np.concatenate(weights), np.concatenate(real), NAMES, prior, pull=1e-4,
                            fitted=vf.ALL_SHAPES)
    assert abs(fitted[keys.index("AA"), jaw] - 0.9) < 0.03
    assert abs(fitted[keys.index("UW"), pucker] - 0.4) < 0.03
    assert abs(fitted[keys.index("IH"), jaw] - 0.05) < 0.03
    assert (fitted[keys.index("sil"), :-1] == 0).all()  # silence stays closed
    assert ((fitted >= 0) & (fitted <= 1)).all()


def test_bilabials_stay_sealed_and_unfitted_shapes_keep_the_prior():
    rng = np.random.default_rng(4)
    keys, prior = vf.table_matrix(NAMES)
    truth = prior.copy()
    up = NAMES.index("mouthUpperUp")
    truth[:, up] = 0.3  # every viseme lifts the upper lip, bilabials too
    truth[keys.index("sil"), up] = 0.0
    weights, real = [], []
    for _ in range(20):
        segs, end = sentence(rng)
        w = vf.frame_weights(segs, (np.arange(int(end * 25)) + 0.5) / 25, 0.05, 0.04, 0.0)
        weights.append(w)
        real.append(vf.predict(w, truth, NAMES))
    fitted = vf.fit_targets(np.concatenate(weights), np.concatenate(real), NAMES, prior)
    assert fitted[keys.index("PBM"), up] == 0.0
    assert abs(fitted[keys.index("AA"), up] - 0.3) < 0.05
    pucker = NAMES.index("mouthPucker")
    assert np.array_equal(fitted[:, pucker], prior[:, pucker])  # rounding is not in FITTED


def test_rig_opening_grows_with_jaw_and_is_zero_at_rest():
    coeffs = np.zeros((3, len(NAMES)))
    coeffs[1, NAMES.index("jawOpen")] = 0.3
    coeffs[2, NAMES.index("jawOpen")] = 0.6
    gap = vf.rig_opening(coeffs, NAMES)
    assert abs(gap[0]) < 1e-9 and 0 < gap[1] < gap[2] < 1


def test_sync_scores():
    t = np.arange(200)
    real = np.maximum(np.sin(t / 5.0), 0)
    silent = real == 0
    late = np.roll(real, 2) * 0.5  # half as wide, two frames late
    s = vf.sync_scores(real, late, silent)
    assert s["lag"] == 2 and s["r_best"] > 0.99 and s["r0"] < s["r_best"]
    assert abs(s["amplitude"] - 0.5) < 0.01
    assert 0.0 <= s["silent_closed"] <= 1.0
    assert vf.sync_scores(real, real, silent)["silent_closed"] == 1.0
