"""Component quality: shape metrics, events, rejection, and the spatial
consistency pass against a plain numpy twin."""

import numpy as np
from scipy import sparse

from caliali_tk.core.cnmfe import footprints as fp
from caliali_tk.core.cnmfe.quality import (ConsistencyPass, active_frames,
                                           component_quality, count_events, reject,
                                           shape_metrics)

SHAPE = (40, 40)


def blob(center, sd=(2.5, 2.5), theta=0.0, cut=0.05):
    rr, cc = np.mgrid[0:SHAPE[0], 0:SHAPE[1]].astype(float)
    dr, dc = rr - center[0], cc - center[1]
    u = np.cos(theta) * dr + np.sin(theta) * dc
    v = -np.sin(theta) * dr + np.cos(theta) * dc
    a = np.exp(-0.5 * ((u / sd[0]) ** 2 + (v / sd[1]) ** 2))
    a[a < cut] = 0
    return a.ravel()


def as_A(*cols):
    return sparse.csc_matrix(np.stack(cols, axis=1).astype(np.float32))


def test_shape_metrics_of_a_disc_and_a_streak():
    A = as_A(blob((20, 20)), blob((20, 20), sd=(0.7, 8.0), cut=0.2))
    size, compact, elong = shape_metrics(A, SHAPE, gSig=2.5)
    assert 0.8 < size[0] < 1.05 and elong[0] < 1.05 and compact[0] > 0.95
    assert elong[1] > 4 and compact[1] < compact[0]


def test_events_count_rises_through_3_sn():
    C = np.zeros((2, 100))
    C[0, 10:15] = 5.0
    C[0, 50:52] = 4.0
    C[0, 80] = 2.0  # below 3 sn
    assert list(count_events(C, np.array([1.0, 1.0]))) == [2, 0]


def test_active_frames_share_of_peak():
    W = active_frames(np.array([[0, 1, 2, 4, 0.0], [0, 0, 0, 0, 0]]))
    assert W.tolist() == [[0, 0, 1, 1, 0], [0, 0, 0, 0, 0]]


def test_reject_names_the_first_failed_test():
    q = {"snr": np.array([10, 2, 10, 10.0]), "spatial_corr": np.array([0.9, 0.9, 0.1, 0.9]),
         "size": np.ones(4), "compactness": np.ones(4), "elongation": np.array([1, 1, 1, 9.0]),
         "n_events": np.array([3, 0, 3, 3.0])}
    limits = dict(min_pixels=5, min_snr=5, min_spatial_corr=0.5, min_size=0.3, max_size=3,
                  min_compactness=0.5, max_elongation=3, min_events=1)
    keep, why = reject(q, np.array([20, 20, 20, 20]), limits)
    assert keep.tolist() == [True, False, False, False]
    assert why == ["", "low snr", "low spatial_corr", "elongated"]


def consistency_twin(Y, A, C_sel, C_final, B):
    """Per component: corr over its area of a_k with sum over active frames of
    (Y - B - others)."""
    W = active_frames(C_sel)
    area = fp.search_areas(A, SHAPE, 2.0, max(SHAPE))
    Ad = A.toarray()
    out = []
    for k in range(A.shape[1]):
        others = Ad @ C_final - np.outer(Ad[:, k], C_final[k])
        R = (Y.T - B.T - others) @ W[k]
        idx = area.indices[area.indptr[k]:area.indptr[k + 1]]
        out.append(np.corrcoef(R[idx], Ad[idx, k])[0, 1])
    return np.array(out)


def test_consistency_pass_matches_the_twin_and_tells_cell_from_noise():
    rng = np.random.default_rng(0)
    T = 400
    A = as_A(blob((12, 12)), blob((16, 15)), blob((28, 28)))
    C = np.zeros((3, T))
    for k in range(2):  # two real cells that fire
        spikes = (rng.random(T) < 0.03) * rng.uniform(5, 10, T)
        C[k] = np.convolve(spikes, 0.8 ** np.arange(20))[:T]
    C[2] = np.maximum(rng.standard_normal(T), 0)  # a "component" that is noise
    b0 = 3.0 * np.ones(SHAPE[0] * SHAPE[1])
    Y = (A.toarray()[:, :2] @ C[:2]).T + b0 + rng.standard_normal((T, b0.size))
    Y = Y.astype(np.float32)
    up = np.zeros(b0.size, np.int64)  # a background fluctuation of zero
    cp = ConsistencyPass(A, C, SHAPE, up)
    for s in range(0, T, 150):
        cp.add(s, Y[s:s + 150], np.zeros((len(Y[s:s + 150]), 1), np.float32))
    got = cp.finish(C, b0)
    want = consistency_twin(Y, A, C, C, np.tile(b0, (T, 1)))
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert got[0] > 0.9 and got[1] > 0.9 and got[2] < 0.5


def test_component_quality_has_every_metric():
    A = as_A(blob((20, 20)))
    C = np.zeros((1, 50))
    C[0, 10:20] = 10
    q = component_quality(A, C, C + 0.1, np.array([1.0]), np.array([0.95]), SHAPE, 2.5)
    assert set(q) == {"snr", "spatial_corr", "size", "compactness", "elongation", "n_events"}
    assert all(v.dtype == np.float32 and v.shape == (1,) for v in q.values())
    assert q["snr"][0] > 9 and q["n_events"][0] == 1


def test_consistency_sums_are_the_active_frame_sums():
    """P (frames) and PF (fluctuation) summed over each component's active frames."""
    from scipy import sparse as sp

    from caliali_tk.core.cnmfe.quality import ConsistencyPass, active_frames

    rng = np.random.default_rng(3)
    shape, K, T = (20, 24), 4, 50
    d = shape[0] * shape[1]
    cols = [rng.choice(d, 30, replace=False) for _ in range(K)]
    A = sp.csc_matrix((rng.random(K * 30), (np.concatenate(cols), np.repeat(np.arange(K), 30))),
                      shape=(d, K))
    C = np.maximum(rng.standard_normal((K, T)), 0) ** 3
    up = np.arange(d) // 4
    Y = rng.standard_normal((T, d)).astype(np.float32)
    F = rng.standard_normal((T, up.max() + 1)).astype(np.float32)
    cp = ConsistencyPass(A, C, shape, up)
    for t0 in range(0, T, 13):
        cp.add(t0, Y[t0:t0 + 13], F[t0:t0 + 13])
    Wt = active_frames(C)
    comp = np.repeat(np.arange(K), np.diff(cp.indptr))
    expect_P = (Wt @ Y.astype(np.float64))[comp, cp.rows]
    expect_PF = (Wt @ F.astype(np.float64))[comp, up[cp.rows]]
    np.testing.assert_allclose(cp.P, expect_P, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(cp.PF, expect_PF, rtol=1e-10, atol=1e-9)
