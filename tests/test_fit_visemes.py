"""tools/fit_visemes.py helpers (the fit itself: tests/test_viseme_fit.py)."""

from __future__ import annotations

from tools.fit_visemes import grid_transcript, heldout, table_source
from talking_head.audio import visemes as vm
from talking_head.face.rig import load_rig
from talking_head.train import viseme_fit as vf


def test_grid_transcript_from_file_name():
    assert grid_transcript("bbaf3s") == "bin blue at f three soon"
    assert grid_transcript("grid_lwbsza") == "lay white by s zero again"


def test_heldout_split_is_stable_and_about_one_in_seven():
    names = [f"clip{i}" for i in range(700)]
    held = [n for n in names if heldout(n)]
    assert held == [n for n in names if heldout(n)]
    assert 60 < len(held) < 140


def test_table_source_round_trips_the_current_table():
    names = list(vm.audio_driven_names(load_rig().names))
    _, targets = vf.table_matrix(names)
    text = table_source(targets, names)
    assert text.count("_v(") == len(vm.VISEMES)
    pbm = next(line for line in text.splitlines() if '_v("PBM"' in line)
    assert "closure=1.0" in pbm and "jawOpen=" in pbm
