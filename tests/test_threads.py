"""Blocks of work on every core: the blocks cover the range once, errors surface,
nested calls run serially, the threaded kernels match their serial twins, and
tasks run in dependency order give the plain loop's result."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from caliali_tk.core import threads
from caliali_tk.core.threads import block_bounds, run_blocks, run_in_order


@pytest.mark.parametrize("n,k", [(1, 2), (7, 2), (100, 3), (5, 8)])
def test_blocks_cover_the_range_once(n, k):
    b = block_bounds(n, k)
    assert b[0] == 0 and b[-1] == n and np.all(np.diff(b) >= 1)


def test_weighted_blocks_balance_the_weight():
    w = np.r_[np.full(10, 100.0), np.ones(90)]
    b = block_bounds(100, 2, weights=w)
    first = w[:b[1]].sum()
    assert b[1] < 10  # equal counts would cut at 50
    assert first - 100 <= w.sum() / 2 <= first + 100  # within one item of the half


def test_run_blocks_writes_every_item_once_in_two_threads(monkeypatch):
    monkeypatch.setattr(threads, "n_threads", lambda: 2)
    out = np.zeros(1000, int)
    seen = set()

    def fn(a, b):
        seen.add(threading.get_ident())
        out[a:b] += 1

    run_blocks(fn, 1000, min_block=10)
    assert np.all(out == 1)
    assert len(seen) == 2


def test_nested_call_runs_serially_and_errors_surface(monkeypatch):
    monkeypatch.setattr(threads, "n_threads", lambda: 2)
    out = np.zeros(100, int)

    def inner(a, b):
        out[a:b] += 1

    run_blocks(lambda a, b: run_blocks(inner, 100), 4)  # 2 outer blocks, each all 100
    assert np.all(out == 2)

    def bad(a, b):
        if a > 0:
            raise ValueError("block failed")

    with pytest.raises(ValueError, match="block failed"):
        run_blocks(bad, 10)


def test_threaded_kernels_match_numpy(monkeypatch):
    """Swap, filter, temporal median and the products split into blocks agree
    with plain numpy (the single-thread path is what the other tests use)."""
    from scipy import ndimage, sparse

    from caliali_tk.core.cnmfe.kernels import accumulate_AtY, accumulate_YCt
    from caliali_tk.core.filters import CenteredGaussianFilter, centered_gaussian_kernel
    from caliali_tk.core.layout import swap_axes_float32
    from caliali_tk.core.noise import temporal_median

    monkeypatch.setattr(threads, "n_threads", lambda: 3)
    rng = np.random.default_rng(0)
    Y = rng.random((37, 40, 30)).astype(np.float32)
    assert np.array_equal(swap_axes_float32(Y), Y.transpose(0, 2, 1))
    ref = np.stack([ndimage.correlate(f.astype(np.float64), centered_gaussian_kernel(2.0),
                                      mode="nearest") for f in Y])
    assert np.allclose(CenteredGaussianFilter(2.0)(Y), ref, atol=1e-5)
    big = rng.random((9, 64, 64)).astype(np.float32)
    assert np.array_equal(temporal_median(big), np.median(big, axis=0))
    A = sparse.random(40 * 30, 50, density=0.02, format="csc", random_state=1, dtype=np.float32)
    flat = Y.reshape(37, -1)
    out = np.zeros((50, 40), np.float32)
    accumulate_AtY(A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, flat, out, 2)
    assert np.allclose(out[:, 2:39], (A.T @ flat.T), atol=1e-4)
    C = rng.random((50, 37)).astype(np.float32)
    P = np.zeros(A.nnz)
    accumulate_YCt(A.indptr.astype(np.int64), A.indices.astype(np.int64), flat, C, 0, P)
    comp = np.repeat(np.arange(50), np.diff(A.indptr))
    assert np.allclose(P, np.einsum("tj,jt->j", flat[:, A.indices], C[comp]), rtol=1e-4)


def test_summary_images_do_not_depend_on_the_number_of_threads(monkeypatch):
    """Row blocks of the Cn / PNR sums run side by side: same images as one thread."""
    from caliali_tk.core.summary import summary_images

    rng = np.random.default_rng(0)
    Y = rng.standard_normal((200, 61, 45)).astype(np.float32) + 10
    monkeypatch.setattr(threads, "n_threads", lambda: 1)
    one = summary_images(Y, 2.5)
    monkeypatch.setattr(threads, "n_threads", lambda: 3)
    three = summary_images(Y, 2.5)
    np.testing.assert_array_equal(one.Cn, three.Cn)
    np.testing.assert_array_equal(one.PNR, three.PNR)


def _neighbours(n, seed):
    """A random symmetric overlap graph (each task with itself), as lists."""
    rng = np.random.default_rng(seed)
    M = rng.random((n, n)) < 3.0 / n
    M = M | M.T | np.eye(n, dtype=bool)
    return [np.flatnonzero(M[k]) for k in range(n)]


def _gauss_seidel(n, near, run):
    """x[k] from its neighbours' current values (a HALS-like sweep), twice."""
    x = np.linspace(1.0, 2.0, n)

    def task(k):
        if k % 7 == 0:  # let the other thread get ahead
            threading.Event().wait(0.001)
        x[k] = np.sin(x[k]) + 0.3 * np.sum(np.cos(x[near[k]]))

    for _ in range(2):
        run(task)
    return x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_run_in_order_gives_the_loop_result_to_the_bit(monkeypatch, seed):
    monkeypatch.setattr(threads, "n_threads", lambda: 2)
    near = _neighbours(60, seed)
    loop = _gauss_seidel(60, near, lambda task: [task(k) for k in range(60)])
    seen = set()

    def ordered(task):
        run_in_order(lambda k: (seen.add(threading.get_ident()), task(k)), 60, near)

    assert np.array_equal(_gauss_seidel(60, near, ordered), loop)
    assert len(seen) == 2  # both threads took tasks


def test_run_in_order_raises_the_first_error_and_starts_no_more(monkeypatch):
    monkeypatch.setattr(threads, "n_threads", lambda: 2)
    done = []

    def task(k):
        if k == 3:
            raise ValueError("task 3 failed")
        done.append(k)

    chain = [[max(k - 1, 0)] for k in range(20)]  # each after the one before
    with pytest.raises(ValueError, match="task 3 failed"):
        run_in_order(task, 20, chain)
    assert sorted(done) == [0, 1, 2]


def test_temporal_update_is_the_same_on_one_and_two_threads(monkeypatch):
    from caliali_tk.core.cnmfe.update import temporal_update
    from caliali_tk.core.deconv import DeconvSettings

    rng = np.random.default_rng(4)
    K, T = 12, 600
    spikes = (rng.random((K, T)) < 0.02) * rng.uniform(2, 4, (K, T))
    C_true = np.array([np.convolve(s, 0.9 ** np.arange(60))[:T] for s in spikes])
    AtA = np.eye(K) + 0.2 * (np.abs(np.subtract.outer(np.arange(K), np.arange(K))) == 1)
    AtY = (AtA @ C_true + 0.2 * rng.standard_normal((K, T))).astype(np.float32)
    C0 = np.maximum(AtY, 0).astype(np.float32)
    out = {}
    for n in (1, 2):
        monkeypatch.setattr(threads, "n_threads", lambda n=n: n)
        out[n] = temporal_update(AtY, AtA, C0, DeconvSettings(fps=10.0))
    for name in ("C", "C_raw", "S", "sn", "g"):
        assert np.array_equal(getattr(out[1], name), getattr(out[2], name)), name
    assert np.corrcoef(out[2].C.ravel(), C_true.ravel())[0, 1] > 0.9


def test_scratch_is_reused_by_name_and_apart_per_thread():
    from caliali_tk.core.scratch import scratch

    a = scratch("t", (4, 5))
    b = scratch("t", (2, 3))
    assert np.shares_memory(a, b) and b.shape == (2, 3) and b.flags.c_contiguous
    assert not np.shares_memory(a, scratch("other", (4, 5)))
    big = scratch("t", (10, 10))  # grown: a new buffer
    assert big.shape == (10, 10) and not np.shares_memory(a, big)
    box = {}
    th = threading.Thread(target=lambda: box.update(x=scratch("t", (10, 10))))
    th.start()
    th.join()
    assert not np.shares_memory(box["x"], big)
