"""The curation model (numbers, states, undo) and its group in the results file."""

from __future__ import annotations

import dataclasses
import os

import h5py
import numpy as np
import pytest

from caliali_tk.core.component_stats import basic_quality, event_counts
from caliali_tk.io.curation import (Components, Curation, CurationError, parse_merges,
                                    parse_numbers)
from caliali_tk.io.curation_file import load_curation, save_curation
from caliali_tk.io.results import Result, load_results, write_results
from caliali_tk.io.video import from_display


def make_result(K=6, H=24, W=30, T=50, seed=0) -> Result:
    """A small result with distinct, non-square footprints (orientation shows)."""
    rng = np.random.default_rng(seed)
    A = np.zeros((K, H, W), np.float32)
    centers = np.zeros((K, 2), np.float32)
    for k in range(K):
        r, c = 3 + (k * 5) % (H - 6), 3 + (k * 7) % (W - 6)
        A[k, r - 2:r + 3, c - 1:c + 3] = rng.uniform(0.2, 1.0, (5, 4))
        A[k, r, c] = 1.0
        centers[k] = (r, c)
    C = np.maximum(rng.standard_normal((K, T)), 0).astype(np.float32) * (np.arange(K) + 1)[:, None]
    S = (C > 1.5).astype(np.float32)
    return Result(A=A, C=C, C_raw=C + 0.1, S=S, b0=np.ones((H, W), np.float32),
                  Cn=rng.uniform(0, 1, (H, W)).astype(np.float32),
                  PNR=rng.uniform(0, 9, (H, W)).astype(np.float32), centers=centers,
                  sn=np.full(K, 0.5, np.float32), params={"gSig": 2.5, "fps": 20.0},
                  attrs={"fps": 20.0, "source_file": "movie.h5"})


def made_component(res: Result, like: int) -> Components:
    k = slice(like, like + 1)
    return Components(res.A[k] * 0.5, res.C[k], res.C_raw[k], res.S[k], res.sn[k],
                      res.centers[k], ["test"])


def test_event_counts_and_basic_quality_against_a_loop():
    S = np.array([[0, 2, 3, 0, 1, 0, 0, 4], [1, 1, 1, 1, 0, 0, 0, 0], [0] * 8], float)
    counts = []
    for row in S:                                   # plain loop: rising edges of S > 0
        n, prev = 0, False
        for v in row:
            n += (v > 0) and not prev
            prev = v > 0
        counts.append(n)
    assert event_counts(S).tolist() == counts == [3, 1, 0]
    A = np.zeros((3, 4, 4))
    A[0, :2, :2] = 1
    A[1, 0, 0] = 0.3
    q = basic_quality(A, np.array([[0, 4.0], [1, 2], [0, 0]]), S[:, :2], np.array([2, 0.5, 0]))
    assert q["size"].tolist() == [4, 1, 0] and q["snr"].tolist() == [2, 4, 0]


def test_numbers_reject_accept_undo():
    res = make_result()
    cur = Curation(res)
    assert cur.numbers.tolist() == [1, 2, 3, 4, 5, 6] and cur.accepted.all()
    assert cur.set_accepted([2, 5], False) == 2
    assert cur.accepted.tolist() == [True, False, True, True, False, True]
    cur.set_accepted([5], True)
    low = cur.reject_below("snr", float(np.sort(cur.metric("snr"))[2]))
    assert len(low) == 1 and not cur.accepted[cur.position(low[0])]   # 2 was already out
    assert cur.undo()["op"] == "reject_below"
    assert cur.undo()["op"] == "accept"
    assert cur.accepted.tolist() == [True, False, True, True, False, True]
    with pytest.raises(CurationError, match="no neuron 9"):
        cur.set_accepted([9], False)
    with pytest.raises(CurationError, match="unknown quality metric"):
        cur.reject_below("brightness", 1)


def test_replace_gives_new_numbers_and_refits_keep_theirs():
    res = make_result()
    cur = Curation(res)
    (merged,) = cur.replace([2, 3], made_component(res, 1), {"op": "merge", "neurons": [2, 3]})
    assert merged == 7 and cur.numbers.tolist() == [1, 4, 5, 6, 7]
    with pytest.raises(CurationError, match="no longer in the list"):
        cur.position(2)
    new = made_component(res, 0).concat(made_component(res, 4))
    made = cur.replace([5], new, {"op": "add", "refits": {"5": 1}})
    assert made == [8] and cur.numbers.tolist() == [1, 4, 5, 6, 7, 8]   # 5 kept its place
    pid = cur.state.ids[cur.position(5)]
    assert np.allclose(cur.pool.A[pid], res.A[4] * 0.5)                 # refitted version
    cur.undo()
    assert np.allclose(cur.pool.A[cur.state.ids[cur.position(5)]], res.A[4])
    assert cur.quality["snr"].shape == (len(cur.pool),)


def test_parse_lists():
    assert parse_numbers("3,7, 9-11") == [3, 7, 9, 10, 11]
    assert parse_merges("4+5,8+9+10") == [[4, 5], [8, 9, 10]]
    for bad in ("3,x", "0", "2-a"):
        with pytest.raises(CurationError):
            parse_numbers(bad)
    with pytest.raises(CurationError, match="two or more"):
        parse_merges("4+4")


def test_saved_curation_reads_back_and_leaves_the_extraction_as_it_was(tmp_path):
    res = make_result()
    path = write_results(tmp_path / "m_cnmfe.h5", res)
    with h5py.File(path, "r") as f:
        before = {n: f[n][()] for n in f}
        attrs = dict(f.attrs)
    cur = load_curation(path)
    cur.set_accepted([1, 6], False)
    cur.replace([2, 3], made_component(res, 1), {"op": "merge", "neurons": [2, 3],
                                                   "text": "merged 2+3"})
    save_curation(path, cur)
    size = os.path.getsize(path)
    for _ in range(3):
        save_curation(path, cur)                    # no growth from rewriting
    assert os.path.getsize(path) <= size * 1.02
    assert [p.name for p in tmp_path.iterdir()] == ["m_cnmfe.h5"]   # no temporary left

    with h5py.File(path, "r") as f:
        for n, v in before.items():
            assert np.array_equal(f[n][()], v), n
        assert {k: str(v) for k, v in f.attrs.items()} == {k: str(v) for k, v in attrs.items()}
        g = f["curation"]
        assert g["numbers"][()].tolist() == [1, 4, 5, 6, 7]
        assert g["accepted"][()].tolist() == [0, 1, 1, 0, 1]
        assert [m.decode() for m in g["merges"][()]] == ["2+3 -> 7"]
        # made components are stored like the root A (MATLAB layout)
        assert np.allclose(g["components/A"][0], from_display(res.A[1] * 0.5))
    again = load_curation(path)
    assert again.numbers.tolist() == [1, 4, 5, 6, 7]
    assert again.accepted.tolist() == [False, True, True, False, True]
    assert np.allclose(again.pool.A[again.state.ids[-1]], res.A[1] * 0.5)
    assert again.undo()["op"] == "merge" and again.numbers.tolist() == list(range(1, 7))
    assert load_results(path).K == res.K            # the extraction is what it was


def test_rejected_and_quality_groups_of_the_quality_filter(tmp_path):
    """Issue 10's layout: /quality per metric, /rejected with its own quality."""
    res = make_result(K=4)
    path = write_results(tmp_path / "q_cnmfe.h5", res)
    rej = make_result(K=2, seed=5)
    with h5py.File(path, "a") as f:
        q = f.create_group("quality")
        q["snr"] = np.array([9, 8, 7, 6], np.float32)
        q["spatial_corr"] = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
        g = f.create_group("rejected")
        g["A"] = from_display(rej.A)
        for n in ("C", "C_raw", "S", "centers", "sn"):
            g[n] = getattr(rej, n)
        g["reason"] = np.array(["snr below 3", "too small"], dtype=object)
        g.create_group("quality")["snr"] = np.array([1, 2], np.float32)
    cur = load_curation(path)
    assert cur.numbers.tolist() == [1, 2, 3, 4, 5, 6]
    assert cur.accepted.tolist() == [True] * 4 + [False] * 2
    assert cur.metric("snr").tolist() == [9, 8, 7, 6, 1, 2]
    assert np.allclose(cur.metric("spatial_corr")[:4], [0.9, 0.8, 0.7, 0.6])
    assert np.isnan(cur.metric("spatial_corr")[4:]).all()
    assert np.allclose(cur.pool.A[4], rej.A[0]) and cur.pool.origin[5] == "rejected: too small"
    cur.set_accepted([5], True)                     # taken back
    save_curation(path, cur)
    assert load_curation(path).accepted.tolist() == [True] * 5 + [False]


def test_older_results_without_residual_images_or_curation_still_load(tmp_path):
    res = make_result()
    path = write_results(tmp_path / "old_cnmfe.h5", res)
    loaded = load_results(path)
    assert loaded.Cn_residual is None and loaded.PNR_residual is None
    assert load_curation(path).numbers.tolist() == list(range(1, 7))
    res2 = dataclasses.replace(res, Cn_residual=res.Cn * 0.5, PNR_residual=res.PNR * 0.5)
    loaded2 = load_results(write_results(tmp_path / "new_cnmfe.h5", res2))
    assert np.allclose(loaded2.PNR_residual, res.PNR * 0.5)
    with h5py.File(tmp_path / "new_cnmfe.h5", "r") as f:
        assert f["PNR_residual"].shape == (res.W, res.H)   # stored like the other images


def test_made_components_follow_a_python_layout_file(tmp_path):
    res = make_result()
    res.attrs["file_layout"] = "python"             # (T, H, W) input: stored as (K, H, W)
    path = write_results(tmp_path / "p_cnmfe.h5", res)
    cur = load_curation(path)
    cur.replace([2, 3], made_component(res, 1), {"op": "merge", "neurons": [2, 3]})
    save_curation(path, cur)
    with h5py.File(path, "r") as f:
        assert f["A"].shape == (6, 24, 30)
        assert np.allclose(f["curation/components/A"][0], res.A[1] * 0.5)
    again = load_curation(path)
    assert np.allclose(again.pool.A[again.state.ids[-1]], res.A[1] * 0.5)


def test_a_result_without_neurons_exports_csv_and_refuses_nwb(tmp_path, capsys):
    from caliali_tk.cli import main
    path = write_results(tmp_path / "e_cnmfe.h5", make_result(K=0))
    assert main(["export", str(path), "--csv", str(tmp_path / "e_C.csv")]) == 0
    lines = (tmp_path / "e_C.csv").read_text().splitlines()
    assert lines[0] == "time_s,session,session_time_s" and len(lines) == 51
    assert main(["export", str(path), "--nwb", str(tmp_path / "e.nwb")]) == 1
    assert "no neurons to export" in capsys.readouterr().err
    assert not (tmp_path / "e.nwb").exists()
