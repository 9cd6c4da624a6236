"""Headless curation and export: ``curate --reject/--merge`` then ``export --csv/--nwb``."""

from __future__ import annotations

import csv
import shutil
import sys

import numpy as np
import pytest

from caliali_tk.cli import main
from caliali_tk.demo.files import write_simulated
from caliali_tk.io.curation_file import load_curation
from caliali_tk.io.params import FileParams, save_params
from caliali_tk.io.results import load_results, results_path

SESSIONS = [120, 180]
FPS = 15.0


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """A two-session movie at 15 Hz and its extraction (done once)."""
    from caliali_tk.pipeline import extract
    folder = tmp_path_factory.mktemp("cli_curate")
    video = folder / "mouse.h5"
    write_simulated(video, 64, 64, sum(SESSIONS), n_neurons=9, gSig=2.5, fps=FPS, seed=11,
                    frames_per_session=SESSIONS)
    save_params(video, FileParams(fps=FPS))
    extract(video, use_cache=False)
    return folder


@pytest.fixture
def results(extracted, tmp_path):
    for name in ("mouse.h5", "mouse_cnmfe.h5"):
        shutil.copy(extracted / name, tmp_path / name)
    return tmp_path / "mouse_cnmfe.h5"


def read_csv(path):
    with open(path) as fh:
        rows = list(csv.reader(fh))
    return rows[0], np.array(rows[1:], float)


def test_curate_then_export_accepted_only(results, tmp_path, capsys):
    K = load_results(results).K
    assert K >= 6
    assert main(["curate", str(results), "--reject", "3,5", "--merge", "1+2"]) == 0
    out = capsys.readouterr().out
    assert f"merged 1+2 into neuron {K + 1}" in out
    assert f"{K - 1} neurons in the list, {K - 3} accepted" in out

    csv_path = tmp_path / "out_C.csv"
    assert main(["export", str(results), "--csv", str(csv_path), "--accepted-only"]) == 0
    kept = [n for n in range(3, K + 1) if n not in (3, 5)] + [K + 1]
    for kind in ("C", "C_raw", "S"):
        header, table = read_csv(tmp_path / f"out_{kind}.csv")
        assert header == ["time_s", "session", "session_time_s"] + [f"{kind}_{n}" for n in kept]
        assert table.shape == (sum(SESSIONS), 3 + len(kept))
    _, table = read_csv(csv_path)
    assert np.allclose(table[:, 0], np.arange(sum(SESSIONS)) / FPS, atol=1e-4)
    assert (table[:SESSIONS[0], 1] == 1).all() and (table[SESSIONS[0]:, 1] == 2).all()
    assert table[SESSIONS[0], 2] == 0 and np.isclose(table[-1, 2], (SESSIONS[1] - 1) / FPS,
                                                     atol=1e-4)
    res = load_results(results)
    assert np.allclose(table[:, 3], res.C[3], rtol=1e-4, atol=1e-4)   # neuron 4 is C_4
    with open(tmp_path / "out_neurons.csv") as fh:
        neurons = list(csv.reader(fh))
    assert neurons[0][:5] == ["number", "accepted", "row", "col", "snr"]
    assert [int(r[0]) for r in neurons[1:]] == kept and neurons[-1][-1] == "merge of 1+2"

    cur = load_curation(results)                                     # reopening: the same
    assert cur.numbers.tolist() == list(range(3, K + 1)) + [K + 1]
    assert [int(n) for n in cur.numbers[~cur.accepted]] == [3, 5]

    assert main(["curate", str(results), "--accept", "5"]) == 0      # taken back
    assert main(["export", str(results), "--csv", str(csv_path), "--accepted-only"]) == 0
    header, _ = read_csv(csv_path)
    assert "C_5" in header and "C_3" not in header
    assert main(["curate", str(results), "--undo", "2"]) == 0        # back to the start
    assert load_curation(results).numbers.tolist() == list(range(1, K + 1))


def test_nwb_reads_back_with_pynwb(results, tmp_path):
    import pynwb  # a test dependency (setup.cfg: test extra)
    assert main(["curate", str(results), "--reject", "2"]) == 0
    out = tmp_path / "mouse.nwb"
    assert main(["export", str(results), "--nwb", str(out)]) == 0
    res = load_results(results)
    with pynwb.NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        ophys = nwb.processing["ophys"]
        ps = ophys["ImageSegmentation"]["PlaneSegmentation"]
        assert len(ps) == res.K
        assert ps["image_mask"][0].shape == (res.H, res.W)
        assert np.allclose(ps["image_mask"][1], res.A[1])
        assert list(ps["accepted"][:]) == [1, 0] + [1] * (res.K - 2)
        fl = ophys["Fluorescence"]
        for name, ref in (("C_raw", res.C_raw), ("C", res.C)):
            series = fl[name]
            assert series.data.shape == (res.T, res.K) and series.rate == FPS
            assert np.allclose(series.data[:, 0], ref[0], rtol=1e-5, atol=1e-5)
        assert ophys["Deconvolved"]["S"].data.shape == (res.T, res.K)
        epochs = nwb.epochs.to_dataframe()
        assert list(epochs.start_time) == [0.0, SESSIONS[0] / FPS]


def test_nwb_without_pynwb_says_what_to_install(results, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynwb", None)     # import pynwb now fails
    assert main(["export", str(results), "--nwb", str(tmp_path / "x.nwb")]) == 1
    err = capsys.readouterr().err
    assert "pip install 'caliali-tk[nwb]'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.nwb").exists()


@pytest.mark.parametrize("argv, status, words", [
    (["curate", "{r}", "--reject", "99"], 1, "there is no neuron 99"),
    (["curate", "{r}", "--merge", "4"], 1, "needs two or more"),
    (["curate", "{r}", "--reject-below", "snr"], 2, "METRIC=VALUE"),
    (["export", "{r}"], 2, "--csv OUT.csv and / or --nwb"),
    (["export", "{missing}", "--csv", "x.csv"], 1, "results file not found"),
])
def test_bad_requests_are_one_line(results, tmp_path, capsys, argv, status, words):
    argv = [a.format(r=results, missing=tmp_path / "none_cnmfe.h5") for a in argv]
    before = results.read_bytes()
    assert main(argv) == status
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert results.read_bytes() == before                            # unchanged


def test_merge_needs_the_video(results, capsys):
    (results.parent / "mouse.h5").unlink()
    assert main(["curate", str(results), "--merge", "1+2"]) == 1
    assert "video mouse.h5 is not beside it" in capsys.readouterr().err
    assert results_path(results.parent / "mouse.h5") == results
