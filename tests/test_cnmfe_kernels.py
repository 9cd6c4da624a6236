"""The CNMF-E numba kernels against plain numpy twins."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import sparse

from caliali_tk.core.cnmfe import ring
from caliali_tk.core.cnmfe.kernels import (accumulate_AtY, accumulate_YCt,
                                           entries_by_pixel, hals_spatial)
from caliali_tk.core.binning import bin_time, n_bins
from caliali_tk.core.cnmfe.background import Background, block_mean_operator


def _random_A(rng, d, K, density=0.1):
    A = sparse.random(d, K, density=density, random_state=rng.integers(1 << 30),
                      format="csc", dtype=np.float32)
    A.sort_indices()
    return A


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), K=st.integers(0, 6), n=st.integers(1, 27))
def test_AtY_matches_dense(seed, K, n):  # blocks of eight frames and the rest
    rng = np.random.default_rng(seed)
    d, T = 50, 30
    A = _random_A(rng, d, K)
    Y = rng.standard_normal((n, d)).astype(np.float32)
    out = np.zeros((K, T), np.float32)
    accumulate_AtY(A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, Y, out, 3)
    expect = A.toarray().T @ Y.T
    np.testing.assert_allclose(out[:, 3:3 + n], expect, rtol=1e-5, atol=1e-5)
    assert not out[:, :3].any()


@pytest.mark.parametrize("chunk", [1, 7, 8, 13, 30])  # the kernel takes 8 frames at a time
def test_YCt_on_pattern_matches_dense(chunk):
    rng = np.random.default_rng(1)
    d, K, T = 60, 5, 30
    pattern = _random_A(rng, d, K, 0.3)
    Y = rng.standard_normal((T, d)).astype(np.float32)
    C = rng.standard_normal((K, T))
    out = np.zeros(pattern.nnz)
    for t0 in range(0, T, chunk):  # chunks add up to the whole product
        accumulate_YCt(pattern.indptr.astype(np.int64), pattern.indices.astype(np.int64),
                       Y[t0:t0 + chunk], C, t0, out)
    full = Y.T @ C.T
    rows = pattern.indices
    cols = np.repeat(np.arange(K), np.diff(pattern.indptr))
    np.testing.assert_allclose(out, full[rows, cols], rtol=1e-5, atol=1e-4)


def _hals_reference(A, P_dense, CCt, mask, sweeps):
    """Textbook HALS on dense arrays, updates confined to ``mask``."""
    A = A.copy()
    for _ in range(sweeps):
        for k in range(A.shape[1]):
            new = A[:, k] + (P_dense[:, k] - A @ CCt[:, k]) / CCt[k, k]
            A[:, k] = np.where(mask[:, k], np.maximum(new, 0), 0)
    return A


def test_hals_spatial_matches_dense_reference():
    rng = np.random.default_rng(2)
    d, K, T = 40, 4, 200
    pattern = _random_A(rng, d, K, 0.5)
    mask = pattern.toarray() > 0
    A0 = np.where(mask, rng.random((d, K)), 0)
    C = np.abs(rng.standard_normal((K, T)))
    Y = A0 @ C + 0.1 * rng.standard_normal((d, T))
    P_dense = Y @ C.T
    CCt = C @ C.T
    start = np.where(mask, 0.5, 0.0)
    rows, cols = pattern.indices, np.repeat(np.arange(K), np.diff(pattern.indptr))
    val = start[rows, cols].astype(np.float64)
    ptr, order = entries_by_pixel(pattern.indices.astype(np.int64), d)
    hals_spatial(pattern.indptr.astype(np.int64), pattern.indices.astype(np.int64),
                 P_dense[rows, cols], CCt, val, ptr, order, 3)
    ref = _hals_reference(start, P_dense, CCt, mask, 3)
    np.testing.assert_allclose(val, ref[rows, cols], rtol=1e-8, atol=1e-8)
    # and it moved towards the truth
    assert np.abs(val - A0[rows, cols]).mean() < np.abs(0.5 - A0[rows, cols]).mean()


def test_ring_offsets_are_a_ring():
    off = ring.ring_offsets(5.0)
    dist = np.hypot(*off.T)
    assert np.all(np.abs(dist - 5.0) < 0.5 + 1e-9)
    assert len(off) == ring.MAX_RING  # thinned
    assert len(ring.ring_offsets(1.0)) == 8


def _fit_reference(R, shape, radius, ridge):
    h, w = shape
    off = ring.ring_offsets(radius)
    R = bin_time(R, n_bins(R.shape[1], ring.MAX_FIT_FRAMES), axis=1).astype(np.float64)
    W = np.zeros((h * w, h * w))
    for i in range(h * w):
        r, c = divmod(i, w)
        idx = [(r + a) * w + c + b for a, b in off if 0 <= r + a < h and 0 <= c + b < w]
        X = R[idx].T
        G = X.T @ X
        G += (ridge * np.trace(G) + 1e-12) * np.eye(len(idx))
        W[i, idx] = np.linalg.solve(G, X.T @ R[i])
    return W


def test_ring_fit_matches_numpy_reference_and_predicts_smooth_background():
    rng = np.random.default_rng(3)
    h, w, T = 14, 15, 400
    yy, xx = np.mgrid[0:h, 0:w]
    # background: a few smooth spatial modes with random time courses
    modes = np.stack([np.ones((h, w)), yy / h, xx / w, np.cos(yy / 4.0)]).reshape(4, -1)
    R = (modes.T @ rng.standard_normal((4, T))).astype(np.float32)
    R += 0.01 * rng.standard_normal(R.shape).astype(np.float32)
    W = ring.fit_ring_weights(R, (h, w), 3.0, ridge=1e-5)
    ref = _fit_reference(R, (h, w), 3.0, 1e-5)
    np.testing.assert_allclose(W.toarray(), ref, rtol=1e-3, atol=1e-3)
    pred = W @ R
    rel = np.linalg.norm(pred - R) / np.linalg.norm(R)
    assert rel < 0.05


def test_background_remove_matches_numpy():
    rng = np.random.default_rng(4)
    shape = (9, 11)
    d = shape[0] * shape[1]
    D, up = block_mean_operator(shape, 2)
    d_ds = D.shape[0]
    W = sparse.random(d_ds, d_ds, density=0.2, random_state=5, format="csr", dtype=np.float32)
    A = _random_A(rng, d, 3, 0.2)
    A_ds = sparse.csc_matrix(D @ A)
    bg = Background(b0=rng.random(d).astype(np.float32),
                    b0_ds=rng.random(d_ds).astype(np.float32), W=W, D=D, up=up)
    Y = rng.random((6, d)).astype(np.float32)
    C = rng.random((3, 6)).astype(np.float32)
    got = bg.remove(Y, A_ds, C)
    fl = (D @ Y.T).T - bg.b0_ds - (A_ds @ C).T
    expect = Y - bg.b0 - (W @ fl.T).T[:, up]
    np.testing.assert_allclose(got, expect, rtol=1e-4, atol=1e-5)
    # D really averages 2x2 blocks (edge blocks average what they have)
    img = np.arange(d, dtype=np.float32).reshape(shape)
    ds = (D @ img.ravel()).reshape(ring.ds_shape(shape, 2))
    assert ds[0, 0] == pytest.approx(img[:2, :2].mean())
    assert ds[-1, -1] == pytest.approx(img[8:, 10:].mean())


def _model(rng, shape, K, density, W=None):
    """A background model on ``shape`` (random W unless given) and K footprints."""
    d = shape[0] * shape[1]
    D, up = block_mean_operator(shape, 2)
    if W is None:
        W = sparse.random(D.shape[0], D.shape[0], density=0.2, random_state=7,
                          format="csr", dtype=np.float32)
    A = _random_A(rng, d, K, density)
    bg = Background(b0=rng.random(d).astype(np.float32),
                    b0_ds=rng.random(D.shape[0]).astype(np.float32), W=W, D=D, up=up)
    return A, sparse.csc_matrix(D @ A), bg


def test_background_enters_the_products_through_its_down_sampled_fluctuation():
    """What the passes compute equals A^T (Y - B) and (Y - B) C^T with full B."""
    rng = np.random.default_rng(6)
    A, A_ds, bg = _model(rng, (10, 12), 4, 0.2)
    Y = rng.random((8, A.shape[0])).astype(np.float32)
    C = rng.random((4, 8)).astype(np.float32)
    F = bg.fluctuation(Y, A_ds, C)
    up = bg.up
    A_up = sparse.csc_matrix(sparse.diags(np.bincount(up).astype(np.float32)) @ A_ds)
    AtYb = A.T @ Y.T - A_up.T @ F.T - (A.T @ bg.b0)[:, None]
    full = bg.remove(Y, A_ds, C)
    np.testing.assert_allclose(AtYb, A.T @ full.T, rtol=1e-4, atol=1e-4)
    YbCt = Y.T @ C.T - F[:, up].T @ C.T - bg.b0[:, None] * C.sum(axis=1)[None]
    np.testing.assert_allclose(YbCt, full.T @ C.T, rtol=1e-4, atol=1e-4)


def test_ring_fluctuation_on_a_real_grid_whole_and_on_some_rows():
    """A fitted ring W (borders cut the rings): the kernel equals
    W @ (D Y - D A C - b0_ds), and with ``W_rows`` the same rows of it
    (the rounds' passes need the background under the footprints only)."""
    rng = np.random.default_rng(8)
    shape = (37, 29)
    D, _ = block_mean_operator(shape, 2)
    R = rng.standard_normal((D.shape[0], 120)).astype(np.float32)
    W = ring.fit_ring_weights(R, ring.ds_shape(shape, 2), 4.0)
    A, A_ds, bg = _model(rng, shape, 5, 0.05, W)
    Y = rng.random((9, A.shape[0])).astype(np.float32)
    C = rng.random((5, 9)).astype(np.float32)
    fl = (D @ Y.T).T - bg.b0_ds - (A_ds @ C).T
    full = (W @ fl.T).T
    np.testing.assert_allclose(bg.fluctuation(Y, A_ds, C), full, rtol=1e-4, atol=1e-5)
    rows = np.flatnonzero(rng.random(W.shape[0]) < 0.3)
    np.testing.assert_allclose(bg.fluctuation(Y, A_ds, C, W[rows]), full[:, rows],
                               rtol=1e-4, atol=1e-5)
