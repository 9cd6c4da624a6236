"""Centred Gaussian kernel and the FFT spatial filter."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from caliali_tk.core.filters import (CenteredGaussianFilter, SpatialFilter,
                                     centered_gaussian_kernel, default_gSiz,
                                     make_spatial_filter, spatial_filter)


@pytest.mark.parametrize("gSig, size", [(0.5, 3), (1.0, 5), (2.5, 11), (3.0, 13), (4.0, 17)])
def test_default_size_is_smallest_odd_at_least_4_gsig(gSig, size):
    assert default_gSiz(gSig) == size
    assert centered_gaussian_kernel(gSig).shape == (size, size)


@pytest.mark.parametrize("gSig", [0.7, 1.0, 2.5, 3.3, 5.0])
def test_kernel_sums_to_zero_is_symmetric_disc(gSig):
    k = centered_gaussian_kernel(gSig)
    n = k.shape[0]
    assert abs(k.sum()) < 1e-12
    assert np.allclose(k, k[::-1, :]) and np.allclose(k, k.T)
    support = k != 0
    c = n // 2
    yy, xx = np.mgrid[:n, :n]
    d2 = (yy - c) ** 2 + (xx - c) ** 2
    # a disc: everything closer to the centre than a support pixel is support
    assert d2[support].max() < d2[~support].min()
    # the outer edge's largest value (middle of a side) is kept, the corners are not
    assert support[0, c] and not support[0, 0]
    # inside: the Gaussian minus a constant
    g = np.exp(-d2 / (2 * gSig**2))
    slope = np.polyfit(g[support], k[support], 1)
    assert np.allclose(np.polyval(slope, g[support]), k[support], atol=1e-12)
    assert slope[0] > 0


def test_explicit_gsiz_and_bad_values():
    assert centered_gaussian_kernel(2.5, 7).shape == (7, 7)
    with pytest.raises(ValueError):
        centered_gaussian_kernel(2.5, 8)
    with pytest.raises(ValueError):
        centered_gaussian_kernel(0.0)


def _reference(frames, kernel):
    return np.stack([ndimage.correlate(f.astype(np.float64), kernel, mode="nearest")
                     for f in frames])


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), n=st.integers(1, 20),
       gSig=st.sampled_from([0.8, 1.5, 2.5, 4.0]), seed=st.integers(0, 2**16))
def test_filter_matches_ndimage_correlate_nearest(h, w, n, gSig, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    frames = (500 + 200 * np.sin(yy / 7.0 + xx / 11.0)
              + 20 * rng.standard_normal((n, h, w))).astype(np.float32)
    k = centered_gaussian_kernel(gSig)
    ref = _reference(frames, k)
    out = spatial_filter(frames, k)  # FFT, any kernel
    assert out.dtype == np.float32 and out.shape == frames.shape
    assert np.abs(out - ref).max() < 1e-5 * np.abs(frames).max()
    direct = CenteredGaussianFilter(gSig)(frames)  # numba, the passes' filter
    assert direct.dtype == np.float32 and direct.shape == frames.shape
    assert np.abs(direct - ref).max() < 1e-7 * np.abs(frames).max() + 1e-6 * np.abs(ref).max()


def test_filter_is_correlation_for_asymmetric_kernel():
    rng = np.random.default_rng(0)
    frames = rng.standard_normal((3, 30, 23)).astype(np.float32)
    k = rng.standard_normal((5, 3))
    out = spatial_filter(frames, k)
    ref = _reference(frames, k)
    assert np.abs(out - ref).max() < 1e-5


@pytest.mark.parametrize("gSiz", [None, 5, 7, 15])
def test_direct_filter_with_explicit_size(gSiz):
    rng = np.random.default_rng(1)
    frames = rng.standard_normal((2, 25, 19)) * 10 + 100
    k = centered_gaussian_kernel(2.5, gSiz)
    out = make_spatial_filter((25, 19), 2.5, gSiz=gSiz)(frames)
    assert np.abs(out - _reference(frames, k)).max() < 1e-5


def test_constant_frames_filter_to_zero_and_single_frame():
    f = make_spatial_filter((20, 30), 2.5)
    out = f(np.full((20, 30), 1234.0))
    assert out.shape == (20, 30) and np.abs(out).max() < 1e-6
    assert f(np.zeros((0, 20, 30))).shape == (0, 20, 30)


def test_disabled_filter_only_casts_and_out_argument():
    f = make_spatial_filter((4, 5), 2.5, enabled=False)
    x = np.arange(40, dtype=np.uint16).reshape(2, 4, 5)
    assert f(x).dtype == np.float32 and np.array_equal(f(x), x)
    buf = np.empty((2, 4, 5), np.float32)
    assert f(x, out=buf) is buf
    assert SpatialFilter((4, 5), centered_gaussian_kernel(1.0))(x, out=buf) is buf
    assert CenteredGaussianFilter(1.0)(x, out=buf) is buf


def test_wrong_shape_raises():
    with pytest.raises(ValueError):
        SpatialFilter((10, 10), centered_gaussian_kernel(1.0))(np.zeros((2, 10, 11)))
