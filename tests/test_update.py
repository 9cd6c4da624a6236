"""Merging, clean-up and the temporal update on small hand-made cases."""

import numpy as np
import pytest
from scipy import sparse

from caliali_tk.core.cnmfe import footprints as fp
from caliali_tk.core.cnmfe import merging, update
from caliali_tk.core.deconv import DeconvSettings


def _blob(shape, center, sd=2.0):
    rr, cc = np.mgrid[0:shape[0], 0:shape[1]]
    a = np.exp(-0.5 * ((rr - center[0]) ** 2 + (cc - center[1]) ** 2) / sd ** 2)
    a[a < 0.05] = 0
    return a.ravel()


def _spikes(rng, T, rate=0.05):
    s = (rng.random(T) < rate) * rng.uniform(1, 2, T)
    return np.convolve(s, 0.9 ** np.arange(40))[:T]


def test_two_halves_of_one_neuron_merge_distinct_neurons_do_not():
    rng = np.random.default_rng(0)
    shape, T = (30, 30), 500
    a = _blob(shape, (10, 10))
    left, right = a.copy(), a.copy()
    cols = np.arange(a.size) % 30
    left[cols > 10], right[cols <= 10] = 0, 0
    c = _spikes(rng, T)
    other = _blob(shape, (22, 22))
    c_other = _spikes(rng, T)
    A = sparse.csc_matrix(np.stack([left, right, other], 1).astype(np.float32))
    C = np.stack([c + 0.01 * rng.standard_normal(T), c, c_other]).astype(np.float32)
    assert merging.merge_components(A, C, 0.65)[0].shape[1] == 3  # no shape: overlap only
    A2, C2, groups = merging.merge_components(A, C, 0.65, shape=shape)
    assert A2.shape[1] == 2 and len(groups) == 1 and sorted(groups[0]) == [0, 1]
    # the merged footprint covers the whole neuron, its product matches
    merged = int(np.argmin(np.hypot(*(fp.centers_of(A2, shape) - [10, 10]).T)))
    recon = np.outer(A2[:, merged].toarray().ravel(), C2[merged])
    truth = np.outer(left, C[0]) + np.outer(right, C[1])
    assert np.linalg.norm(recon - truth) / np.linalg.norm(truth) < 0.05


def test_correlated_but_apart_neurons_are_not_merged():
    rng = np.random.default_rng(1)
    shape, T = (30, 30), 400
    c = _spikes(rng, T)
    A = sparse.csc_matrix(np.stack([_blob(shape, (8, 8)), _blob(shape, (22, 22))], 1)
                          .astype(np.float32))
    A2, *_ = merging.merge_components(A, np.stack([c, c]).astype(np.float32), 0.65,
                                     shape=shape)
    assert A2.shape[1] == 2


def test_clean_keeps_the_piece_with_the_peak_above_the_floor():
    shape = (12, 12)
    img = np.zeros(shape, np.float32)
    img[2:5, 2:5] = [[0.2, 0.5, 0.2], [0.5, 1.0, 0.5], [0.2, 0.5, 0.2]]
    img[9, 9] = 0.8  # a separate speck
    A = sparse.csc_matrix(img.reshape(-1, 1))
    out = fp.clean_footprints(A, shape, np.array([0.3])).toarray().reshape(shape)
    assert out[9, 9] == 0 and out[3, 3] == 1.0
    assert np.count_nonzero(out) == 5  # the cross above 0.3


def test_search_area_is_the_dilated_support_within_the_limit():
    shape = (20, 20)
    img = np.zeros(shape, np.float32)
    img[10, 10] = 1.0
    pattern = fp.search_areas(sparse.csc_matrix(img.reshape(-1, 1)), shape, 2.0, 5)
    rows, cols = np.divmod(pattern.indices, 20)
    assert np.all(np.hypot(rows - 10, cols - 10) <= 2.0 + 1e-9)
    assert len(rows) == 13  # a radius-2 disc


def test_temporal_update_recovers_traces_of_overlapping_neurons():
    rng = np.random.default_rng(2)
    shape, T = (20, 20), 800
    A = np.stack([_blob(shape, (9, 8)), _blob(shape, (9, 12))], 1)
    C = np.stack([_spikes(rng, T), _spikes(rng, T)]) * 10
    Y = A @ C + 0.3 * rng.standard_normal((A.shape[0], T))
    As = sparse.csc_matrix(A.astype(np.float32))
    traces = update.temporal_update((As.T @ Y).astype(np.float32), (As.T @ As).toarray(),
                                    np.ones_like(C),
                                    DeconvSettings(model="ar1", s_min=-3))
    for k in range(2):
        assert np.corrcoef(traces.C[k], C[k])[0, 1] > 0.95
        assert np.all(traces.S[k] >= 0)


@pytest.mark.parametrize("fps", [5.0, 20.0])
def test_temporal_update_keeps_known_kernels_and_fits_unknown_ones(fps):
    """A row of ``kernels`` is used as it is (σ anew); a NaN row is fitted."""
    rng = np.random.default_rng(4)
    shape, T = (20, 20), int(120 * fps)
    A = np.stack([_blob(shape, (5, 5)), _blob(shape, (14, 14))], 1)
    C = np.stack([_spikes(rng, T), _spikes(rng, T)]) * 10
    Y = A @ C + 0.3 * rng.standard_normal((A.shape[0], T))
    As = sparse.csc_matrix(A.astype(np.float32))
    AtY, AtA = (As.T @ Y).astype(np.float32), (As.T @ As).toarray()
    settings = DeconvSettings(model="ar1", fps=fps)
    fitted = update.temporal_update(AtY, AtA, np.ones_like(C), settings)
    known = np.array([[0.8 * fitted.g[0, 0], 0.0], [np.nan, np.nan]])
    kept = update.temporal_update(AtY, AtA, np.ones_like(C), settings, kernels=known)
    assert kept.g[0, 0] == pytest.approx(known[0, 0]) and kept.g[0, 1] == 0.0
    assert kept.g[1] == pytest.approx(fitted.g[1])            # fitted as without kernels
    again = update.temporal_update(AtY, AtA, np.ones_like(C), settings, kernels=fitted.g)
    assert np.allclose(again.g, fitted.g)
    assert again.sn == pytest.approx(fitted.sn, rel=0.1)        # σ from the data, as before
    assert np.corrcoef(again.C[0], C[0])[0, 1] > 0.95
