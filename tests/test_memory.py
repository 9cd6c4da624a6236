"""Memory accounting at any length (issue 9): the plan, the trace storage, K x T ops."""

import os

import numpy as np
import pytest
from scipy import sparse

from caliali_tk.core.binning import Bins
from caliali_tk.core.cnmfe import merging, update
from caliali_tk.pipeline import trace_ops as kt
from caliali_tk.pipeline.memory import (BIN_MAX_S, N_TRACE_ARRAYS, TRACE_SHARE, plan_memory,
                                        trace_allocator)

GIB = 2 ** 30


@pytest.mark.parametrize("budget", [0.5, 1.0, 2.0])
def test_a_thousand_neurons_and_100000_frames_fit_the_budget(budget):
    shape, T, K = (512, 512), 100_000, 1000
    plan = plan_memory(shape, T, budget, n_components=K)
    parts = plan.bytes_by_part(shape, K, T)
    # the K x T arrays alone would take 2.4 GB: they go to disk
    assert N_TRACE_ARRAYS * 4 * K * T > budget * GIB
    assert plan.traces_on_disk and parts["traces"] == 0
    in_memory = parts["chunk"] + parts["binned"] + parts["binned_ds"]
    assert in_memory <= budget * GIB
    assert plan.n_binned * plan.tb >= T and plan.chunk >= 1


def test_small_jobs_keep_their_traces_in_memory():
    plan = plan_memory((512, 512), 20_000, 1.0, n_components=300)
    parts = plan.bytes_by_part((512, 512), 300, 20_000)
    assert not plan.traces_on_disk
    assert parts["traces"] <= TRACE_SHARE * GIB
    assert sum(parts.values()) <= 1.0 * GIB


def test_plan_grows_linearly_with_frames():
    a = plan_memory((256, 256), 10_000, 1.0)
    b = plan_memory((256, 256), 100_000, 1.0)
    assert a.chunk == b.chunk  # the chunk does not depend on T
    assert abs(a.n_binned - b.n_binned) <= 0.05 * a.n_binned  # nor the binned copy's size


@pytest.mark.parametrize("fps", [5.0, 10.0, 30.0])
@pytest.mark.parametrize("T", [2_000, 20_000, 100_000])
def test_long_movies_keep_narrow_bins_spread_over_the_whole_movie(fps, T):
    """Bins stay at most BIN_MAX_S wide; a long movie keeps every stride-th
    of them, spread from the first frame to the last, within the budget."""
    plan = plan_memory((512, 512), T, 1.0, fps=fps)
    unbounded = plan_memory((512, 512), T, 1.0)
    bins = plan.bins(T)
    assert plan.tb <= max(1, round(BIN_MAX_S * fps))
    assert plan.n_binned == bins.n <= max(unbounded.n_binned, 50)
    stretches = bins.stretches()
    assert stretches[0][0] == 0 and stretches[-1][1] > T - 2 * plan.tb * plan.stride
    if unbounded.tb <= round(BIN_MAX_S * fps):  # short enough: as before, every frame binned
        assert plan.stride == 1 and plan.tb == unbounded.tb
    else:
        assert plan.stride > 1


def test_strided_bins_mean_matches_the_frames_they_hold():
    rng = np.random.default_rng(2)
    X = rng.random((3, 103))
    bins = Bins(103, 4, stride=3)
    want = np.stack([X[:, a:b].mean(axis=1) for a, b in bins.stretches()], 1)
    np.testing.assert_allclose(bins.mean(X, axis=1), want)
    sums, counts = np.zeros((bins.n, 3)), np.zeros(bins.n)
    for start in range(0, 103, 10):  # chunks that cut bins in two
        bins.add(sums, counts, X.T[start:start + 10], start)
    np.testing.assert_allclose(sums / counts[:, None], want.T)


def test_disk_traces_are_arrays_that_leave_no_file(tmp_path):
    alloc = trace_allocator(True, tmp_path)
    X = alloc((5, 1000))
    assert isinstance(X, np.memmap) and X.dtype == np.float32 and not X.any()
    X[2, 10] = 3.0
    assert X.sum() == 3.0
    assert os.listdir(tmp_path) == []  # unlinked as soon as it was made
    assert isinstance(trace_allocator(False)((2, 3)), np.ndarray)


@pytest.mark.parametrize("on_disk", [False, True])
def test_trace_ops_match_numpy(tmp_path, on_disk):
    rng = np.random.default_rng(0)
    alloc = trace_allocator(on_disk, tmp_path)
    C = alloc((150, 20_000))
    C[...] = rng.random((150, 20_000), dtype=np.float32)
    D = np.array(C) * 0.5 + rng.random(C.shape, dtype=np.float32)
    keep = rng.random(150) > 0.3
    np.testing.assert_array_equal(kt.take_rows(C, keep, alloc), np.asarray(C)[keep])
    assert kt.take_rows(C, np.ones(150, bool), alloc) is C
    np.testing.assert_allclose(kt.gram(C), np.asarray(C, np.float64) @ np.asarray(C, np.float64).T,
                               rtol=1e-10)
    ref = (np.asarray(C, np.float64) * D).sum(1) / (np.linalg.norm(np.asarray(C, np.float64), axis=1)
                                                   * np.linalg.norm(D.astype(np.float64), axis=1))
    np.testing.assert_allclose(kt.row_cosines(C, D), ref, rtol=1e-9)
    np.testing.assert_allclose(kt.row_sums(C), np.asarray(C, np.float64).sum(1), rtol=1e-9)
    C_bin = rng.random((7, 13)).astype(np.float32)
    np.testing.assert_array_equal(Bins(50, 4).spread(C_bin, 50, alloc),
                                  np.repeat(C_bin, 4, axis=1)[:, :50])
    spread = Bins(50, 2, stride=2).spread(C_bin, 50, alloc)  # every 2nd bin kept
    np.testing.assert_array_equal(spread, np.repeat(C_bin, 4, axis=1)[:, :50])


def test_pair_correlations_match_corrcoef():
    rng = np.random.default_rng(1)
    C = rng.standard_normal((30, 500)).astype(np.float32)
    C[5] = C[3] * 2 + 0.1 * C[5]
    pairs = rng.random((30, 30)) < 0.3
    pairs |= pairs.T
    ref = np.corrcoef(C.astype(np.float64))
    got = merging.pair_correlations(C, pairs)
    np.fill_diagonal(pairs, False)
    np.testing.assert_allclose(got[pairs], ref[pairs], atol=1e-6)
    assert np.all(got[~pairs] == 0)


def test_temporal_update_on_disk_matches_memory(tmp_path):
    """Neighbours only and float32 storage give the dense float64 answer."""
    rng = np.random.default_rng(2)
    K, T, d = 12, 600, 400
    A = sparse.random(d, K, density=0.05, random_state=3, format="csc", dtype=np.float64)
    A.data[:] = rng.random(A.nnz) + 0.5
    C_true = np.maximum(rng.standard_normal((K, T)), 0) ** 3
    Y = A @ C_true + 0.05 * rng.standard_normal((d, T))
    AtY = (A.T @ Y).astype(np.float32)
    AtA = (A.T @ A).toarray()
    mem = update.temporal_update(AtY, AtA, np.zeros((K, T), np.float32))
    disk = update.temporal_update(AtY, AtA, np.zeros((K, T), np.float32),
                                  alloc=trace_allocator(True, tmp_path))
    assert isinstance(disk.C, np.memmap)
    np.testing.assert_allclose(np.asarray(disk.C), mem.C, atol=1e-5)
    # a numpy twin of the sweep with the full (dense) Gram row
    from caliali_tk.core.deconv import DeconvSettings, deconvolve_trace
    C = np.zeros((K, T))
    kernel = [(None, None)] * K  # found in the first sweep, kept, as the update does
    for _ in range(2):
        for k in range(K):
            raw = C[k] + (AtY[k] - AtA[k] @ C) / AtA[k, k]
            d = deconvolve_trace(raw, DeconvSettings(), *kernel[k])
            kernel[k] = (d.g, d.sn)
            C[k] = d.c
    np.testing.assert_allclose(mem.C, C, atol=1e-3 * np.abs(C).max())


@pytest.mark.parametrize("fps", [5.0, 10.0])
def test_strided_bins_find_the_neurons_of_the_full_binned_copy(tmp_path, fps):
    """A budget that leaves room for 50 binned frames of a 3,000-frame movie
    (bins of BIN_MAX_S, every 2nd or 4th kept) finds what the default
    budget finds."""
    from caliali_tk.demo.files import write_simulated
    from caliali_tk.demo.selftest import score_against_truth
    from caliali_tk.io.params import FileParams
    from caliali_tk.pipeline import extract

    path = tmp_path / "long.h5"
    truth = write_simulated(path, 64, 64, 3000, n_neurons=10, seed=4, fps=fps)
    tiny = 0.004
    plan = plan_memory((64, 64), 3000, tiny, fps=fps)
    assert plan.stride > 1 and plan.tb == round(BIN_MAX_S * fps)
    full = extract(path, FileParams(fps=fps), out_path=False)
    strided = extract(path, FileParams(fps=fps, max_memory_gb=tiny), out_path=False)
    s_full, s_strided = score_against_truth(full, truth), score_against_truth(strided, truth)
    assert s_strided["f1"] >= s_full["f1"] - 0.1 and s_strided["f1"] >= 0.9, (s_full, s_strided)
    assert s_strided["median_r"] >= s_full["median_r"] - 0.01


def test_program_entry_turns_off_numpys_huge_pages(monkeypatch):
    """core/scratch.py: NumPy's huge-page request makes first touches slow."""
    from caliali_tk.cli.main import run
    try:
        from numpy._core import multiarray
    except ImportError:
        from numpy.core import multiarray
    if not hasattr(multiarray, "_get_madvise_hugepage"):
        pytest.skip("this NumPy has no huge-page switch")
    before = multiarray._get_madvise_hugepage()
    try:
        multiarray._set_madvise_hugepage(True)
        monkeypatch.setattr("sys.argv", ["caliali-tk", "--version"])
        with pytest.raises(SystemExit) as done:
            run()
        assert done.value.code == 0
        assert multiarray._get_madvise_hugepage() is False
    finally:
        multiarray._set_madvise_hugepage(before)
