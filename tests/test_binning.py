"""Time binning against a plain loop."""

import numpy as np
import pytest

from caliali_tk.core.binning import add_to_bins, bin_time, n_bins


def _loop_bins(x, tb):
    return np.array([x[i:i + tb].mean() for i in range(0, len(x), tb)])


@pytest.mark.parametrize("T,tb", [(10, 1), (10, 3), (12, 4), (7, 10)])
def test_bin_time_matches_a_loop_last_bin_partial(T, tb):
    x = np.random.default_rng(T * tb).standard_normal((3, T))
    got = bin_time(x, tb, axis=1)
    assert got.shape == (3, n_bins(T, tb))
    for row, ref in zip(got, x):
        np.testing.assert_allclose(row, _loop_bins(ref, tb))
    np.testing.assert_allclose(bin_time(x.T, tb, axis=0), got.T)


def test_streamed_bins_equal_bins_of_the_whole():
    rng = np.random.default_rng(1)
    Y = rng.standard_normal((23, 4, 5))
    tb = 4
    sums = np.zeros((n_bins(23, tb), 4, 5))
    counts = np.zeros(len(sums))
    for start in range(0, 23, 7):  # chunks that straddle bins
        add_to_bins(sums, counts, Y[start:start + 7], start, tb)
    np.testing.assert_allclose(sums / counts[:, None, None], bin_time(Y, tb, axis=0))
