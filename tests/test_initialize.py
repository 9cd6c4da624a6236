"""Greedy initialisation against the simulator's ground truth."""

import numpy as np

from caliali_tk.core.cnmfe.footprints import centers_of
from caliali_tk.core.cnmfe.initialize import greedy_init
from caliali_tk.core.noise import robust_noise, temporal_median
from caliali_tk.core.filters import centered_gaussian_kernel, make_spatial_filter
from caliali_tk.core.seeds import find_seeds
from caliali_tk.core.summary import summary_images
from caliali_tk.demo.simulate import simulate


def _init(Y, gSig=2.5, seeds=None):
    s = summary_images(Y, gSig)
    if seeds is None:
        found = find_seeds(s.Cn, s.PNR, 0.6, 5.0, gSig)
        seeds = np.stack([found.rows, found.cols], 1)
    Yf = make_spatial_filter(Y.shape[1:], gSig)(Y)
    Yf -= temporal_median(Yf, 400)[None]
    return greedy_init(Y.copy(), Yf, seeds, 11, centered_gaussian_kernel(gSig), 5), seeds


def test_each_neuron_found_once_near_its_centre():
    Y, truth = simulate(80, 80, 600, n_neurons=15, seed=4)
    init, seeds = _init(Y)
    found = centers_of(init.A, (80, 80))
    d = np.hypot(*(truth.centers[:, None] - found[None]).transpose(2, 0, 1))
    assert (d.min(axis=1) <= 2).mean() >= 0.9  # recall
    assert (d.min(axis=0) <= 3).mean() >= 0.9  # precision
    # peeling: no neuron twice
    assert init.A.shape[1] <= truth.K + 1
    # traces follow the true calcium
    match = d.argmin(axis=0)
    r = [np.corrcoef(truth.C[m], init.C[k])[0, 1] for k, m in enumerate(match)]
    assert np.median(r) > 0.8


def test_duplicate_seed_on_one_neuron_is_skipped():
    Y, truth = simulate(48, 48, 400, n_neurons=1, seed=2)
    r, c = np.round(truth.centers[0]).astype(int)
    init, _ = _init(Y, seeds=np.array([[r, c], [r, c + 1], [r + 1, c]]))
    assert init.A.shape[1] == 1


def test_robust_noise_ignores_transients():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 3)).astype(np.float32)
    x[::50, 1] += 30.0  # sparse large transients
    sn = robust_noise(x)
    np.testing.assert_allclose(sn, 1.0, rtol=0.1)


def test_footprint_least_squares_match_lstsq_and_survive_a_flat_trace():
    from caliali_tk.core.cnmfe.initialize import _least_squares

    rng = np.random.default_rng(0)
    X = np.stack([rng.standard_normal(300), rng.standard_normal(300), np.ones(300)], 1)
    B = rng.standard_normal((300, 40)).astype(np.float32)
    np.testing.assert_allclose(_least_squares(X, B), np.linalg.lstsq(X, B, rcond=None)[0],
                               atol=1e-8)
    flat = np.stack([np.zeros(300), np.ones(300)], 1)  # a trace with no variation
    coef = _least_squares(flat, B)
    assert np.all(np.isfinite(coef))
    np.testing.assert_allclose(coef[1], B.mean(axis=0), atol=1e-5)


def test_seeds_side_by_side_give_the_one_thread_result(monkeypatch):
    """Seeds far apart are initialised in parallel; the result is the loop's, to the bit."""
    from caliali_tk.core import threads

    Y, _ = simulate(64, 96, 300, n_neurons=14, gSig=2.5, seed=6)
    out = {}
    for n in (1, 2):
        monkeypatch.setattr(threads, "n_threads", lambda n=n: n)
        out[n], seeds = _init(Y)
    assert len(seeds) >= 10
    assert (out[1].A != out[2].A).nnz == 0
    assert np.array_equal(out[1].C, out[2].C)
