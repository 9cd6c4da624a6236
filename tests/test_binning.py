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


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("tb", [2, 3, 7, 8, 13])
def test_short_bins_are_numpys_means_to_the_bit(dtype, tb):
    """Bins of fewer than 8 samples are added slice by slice (faster): the
    same sums as numpy's own mean, so the ring fit does not move."""
    x = (np.random.default_rng(tb).random((5, 9 * tb + 2)) * 1000).astype(dtype)
    whole = 9 * tb
    expect = np.concatenate([x[:, :whole].reshape(5, 9, tb).mean(axis=-1),
                             x[:, whole:].mean(axis=-1, keepdims=True)], axis=1)
    got = bin_time(x, tb, axis=1)
    assert got.dtype == expect.dtype
    np.testing.assert_array_equal(got, expect)
