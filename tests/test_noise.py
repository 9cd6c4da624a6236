"""The streamed noise estimators and the temporal median against plain numpy."""

import numpy as np

from caliali_tk.core.noise import temporal_median
from caliali_tk.core.noise_pass import DiffNoise


def test_diff_noise_streamed_equals_whole_movie():
    rng = np.random.default_rng(0)
    sigma = rng.uniform(0.5, 2.0, (4, 6))
    Y = 50.0 + np.cumsum(0.01 * rng.standard_normal((900, 4, 6)), axis=0)  # slow drift
    Y += sigma * rng.standard_normal(Y.shape)
    est = DiffNoise((4, 6))
    for start in range(0, 900, 128):
        est.add(Y[start:start + 128])
    ref = np.sqrt(np.mean(np.diff(Y, axis=0) ** 2, axis=0) / 2)
    np.testing.assert_allclose(est.finish(), ref, rtol=1e-5)
    assert np.abs(est.finish() / sigma - 1).max() < 0.12


def test_temporal_median_subsamples_evenly():
    rng = np.random.default_rng(1)
    Y = rng.standard_normal((1000, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(temporal_median(Y, 400), np.median(Y[::3], axis=0), atol=1e-6)
    np.testing.assert_allclose(temporal_median(Y), np.median(Y, axis=0), atol=1e-6)
    assert temporal_median(Y[:, 0, :]).shape == (4,)


def test_diff_noise_in_chunks_and_stretches_matches_numpy():
    """Chunks of any size give numpy's mean squared step; after restart() the
    step across the gap is left out (the strided bins of a long movie)."""
    rng = np.random.default_rng(3)
    Y = (rng.standard_normal((300, 9, 7)) * 2 + 5).astype(np.float32)
    est = DiffNoise((9, 7))
    for a in range(0, 120, 37):
        est.add(Y[a:min(a + 37, 120)])
    est.restart()
    for a in range(200, 300, 51):
        est.add(Y[a:a + 51])
    steps = np.concatenate([np.diff(Y[:120].astype(np.float64), axis=0),
                            np.diff(Y[200:].astype(np.float64), axis=0)])
    np.testing.assert_allclose(est.finish(), np.sqrt((steps ** 2).mean(axis=0) / 2), rtol=1e-6)
