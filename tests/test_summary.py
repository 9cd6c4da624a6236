"""Noise estimate and the streaming summary pass against the numpy reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caliali_tk.core.filters import centered_gaussian_kernel
from caliali_tk.core.noise import pixel_noise, welch_window
from caliali_tk.core.noise_pass import NoisePass, baseline_frames, noise_frame_plan
from caliali_tk.core.summary import SummaryImages, SummaryPass, summary_images
from reference_summary import reference_summary


def _blob_movie(T=500, H=33, W=41, n_cells=6, seed=0):
    """Noise on a bright uneven background plus a few Gaussian cells firing."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W]
    Y = 300 + 50 * np.sin(yy / 9.0) * np.cos(xx / 13.0) + 5 * rng.standard_normal((T, H, W))
    for _ in range(n_cells):
        r, c = rng.uniform(3, H - 3), rng.uniform(3, W - 3)
        spikes = (rng.random(T) < 0.02) * rng.uniform(20, 60, T)
        trace = np.convolve(spikes, np.exp(-np.arange(40) / 8.0))[:T]
        Y += trace[:, None, None] * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * 2.5**2))
    return Y.astype(np.float32)


def _compare(s: SummaryImages, ref: dict):
    assert np.abs(s.Cn - ref["Cn"]).max() < 1e-4
    assert np.abs(s.PNR - ref["PNR"]).max() < 1e-4 * max(1.0, np.abs(ref["PNR"]).max())
    assert np.allclose(s.sn, ref["sn"], rtol=1e-4)
    assert np.abs(s.baseline - ref["baseline"]).max() < 1e-4 * max(1.0, np.abs(ref["baseline"]).max())


# ---------------------------------------------------------------- noise ---

def test_white_noise_sigma_recovered_within_5_percent():
    rng = np.random.default_rng(1)
    sig = rng.uniform(0.5, 20.0, size=(8, 8))
    Y = (sig * rng.standard_normal((10000, 8, 8))).astype(np.float32)
    assert np.abs(pixel_noise(Y, axis=0) / sig - 1).max() < 0.05  # every pixel
    # the streaming pass reads ~1000 of the frames: every pixel within ~3 sd
    npass = NoisePass((8, 8), 10000, 2.5, spatial_filter=False)
    for s in range(0, 10000, 500):
        npass.add(Y[s:s + 500], s)
    res = npass.finish()
    assert abs(np.median(res.sn / sig) - 1) < 0.02
    assert np.abs(res.sn / sig - 1).max() < 0.12


def test_white_noise_through_filter():
    rng = np.random.default_rng(2)
    Y = (3.0 * rng.standard_normal((1500, 40, 40))).astype(np.float32) + 100
    res = summary_images(Y, 2.5)
    gain = np.sqrt((centered_gaussian_kernel(2.5) ** 2).sum())
    interior = res.sn[6:-6, 6:-6]
    assert abs(np.median(interior) / (3.0 * gain) - 1) < 0.05


def test_pixel_noise_scalar_and_axis():
    rng = np.random.default_rng(3)
    x = 2.0 * rng.standard_normal((3, 4000))
    sn = pixel_noise(x)
    assert sn.shape == (3,) and np.allclose(sn, 2.0, rtol=0.05)
    assert isinstance(pixel_noise(x[0]), float)
    assert np.allclose(pixel_noise(x.T, axis=0), sn)
    with pytest.raises(ValueError):
        pixel_noise(np.zeros(5))


def test_slow_signal_does_not_leak_into_band():
    """Smooth signals 100x the noise (drift, slow waves, bumps) leave σ alone."""
    t = np.arange(3000)
    slow = (100 * np.sin(2 * np.pi * t / 200.0) + 0.05 * t
            + 100 * np.exp(-(((t % 300) - 150) / 10.0) ** 2))
    x = slow + np.random.default_rng(4).standard_normal(3000)
    assert abs(pixel_noise(x) - 1.0) < 0.05


def test_window_is_periodic_tukey():
    from scipy.signal.windows import tukey
    for L in (8, 37, 128, 256):
        assert np.allclose(welch_window(L), tukey(L, 0.25, sym=False))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(8, 100000))
def test_noise_frame_plan(n):
    plan = noise_frame_plan(n)
    assert plan[0][0] >= 0 and plan[-1][1] <= n
    for (a, b), (c, d) in zip(plan, plan[1:]):
        assert a < b <= c < d
    total = sum(b - a for a, b in plan)
    assert total == n if n <= 1024 else total == 1024
    if n > 1024:
        assert plan[0][0] == 0 and plan[-1][1] == n
    assert 1 <= baseline_frames(plan).size <= 64


def test_noise_pass_ignores_frames_outside_plan_and_chunking():
    Y = _blob_movie(T=1400, H=12, W=14)
    a = NoisePass((12, 14), 1400, 2.5)
    for s in range(0, 1400, 97):  # everything, odd chunks
        a.add(Y[s:s + 97], s)
    b = NoisePass((12, 14), 1400, 2.5)
    for b0, b1 in b.plan:  # only the plan, one frame at a time
        for t in range(b0, b1):
            b.add(Y[t], t)
    ra, rb = a.finish(), b.finish()
    assert ra.n_segments == rb.n_segments == 8
    assert np.array_equal(ra.sn, rb.sn) and np.array_equal(ra.baseline, rb.baseline)


def test_noise_pass_needs_a_segment():
    p = NoisePass((4, 4), 500, 2.5)
    with pytest.raises(RuntimeError):
        p.finish()
    with pytest.raises(ValueError):
        NoisePass((4, 4), 7, 2.5)


# -------------------------------------------------------------- summary ---

@pytest.mark.parametrize("spatial_filter", [True, False])
@pytest.mark.parametrize("T", [90, 700, 2100])
def test_streaming_matches_reference_on_random_movie(spatial_filter, T):
    Y = _blob_movie(T=T, seed=T)
    s = summary_images(Y, 2.5, spatial_filter=spatial_filter, chunk_frames=64)
    ref = reference_summary(Y, 2.5, spatial_filter=spatial_filter)
    _compare(s, ref)
    assert s.Cn.max() > 0.5 and s.n_frames == T


def test_streaming_matches_reference_on_simulated_movie():
    from caliali_tk.demo.simulate import simulate
    Y, _ = simulate(64, 64, 600, n_neurons=12, seed=5)
    s = summary_images(Y, 2.5, chunk_frames=100)
    _compare(s, reference_summary(Y, 2.5))
    assert s.PNR.max() > 8


@settings(max_examples=12, deadline=None)
@given(chunk=st.integers(1, 400))
def test_result_does_not_depend_on_chunk_size(chunk):
    Y = _MOVIE
    s = summary_images(Y, 2.5, chunk_frames=chunk)
    for name in ("Cn", "PNR", "sn", "baseline"):
        assert np.allclose(getattr(s, name), getattr(_BASE, name), rtol=1e-6, atol=1e-6), name


_MOVIE = _blob_movie(T=400, H=20, W=24, seed=9)
_BASE = summary_images(_MOVIE, 2.5, chunk_frames=400)


def test_frame_order_does_not_matter_in_summary_pass():
    Y = _MOVIE
    npass = NoisePass(Y.shape[1:], Y.shape[0], 2.5)
    npass.add(Y, 0)
    noise = npass.finish()
    a, b = SummaryPass(noise), SummaryPass(noise)
    a.add(Y)
    for t in np.random.default_rng(0).permutation(Y.shape[0]):
        b.add(Y[t])
    sa, sb = a.finish(), b.finish()
    assert np.allclose(sa.Cn, sb.Cn, atol=1e-9) and np.array_equal(sa.PNR, sb.PNR)


def test_zero_variance_pixels_get_zero():
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((300, 10, 12)).astype(np.float32)
    Y[:, :, :4] = 7.0  # constant: sigma 0, nothing above threshold
    s = summary_images(Y, 2.5, spatial_filter=False)
    assert np.all(s.Cn[:, :4] == 0) and np.all(s.PNR[:, :4] == 0)
    assert np.all(np.isfinite(s.Cn)) and np.all(np.isfinite(s.PNR))
    assert s.Cn.dtype == np.float32 and s.PNR.dtype == np.float32


def test_empty_summary_pass_raises():
    npass = NoisePass((5, 5), 64, 2.5)
    npass.add(np.random.default_rng(0).random((64, 5, 5)), 0)
    with pytest.raises(RuntimeError):
        SummaryPass(npass.finish()).finish()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 70), seed=st.integers(0, 2**16), ties=st.booleans())
def test_numba_temporal_median_is_numpys(n, seed, ties):
    from caliali_tk.core.noise import _temporal_median
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5, 7)).astype(np.float32)
    if ties:
        x = np.round(x * 2).astype(np.float32)
    out = np.empty((5, 7), np.float32)
    _temporal_median(x, out)
    assert np.allclose(out, np.median(x, axis=0), rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "uint16", "float64"])
@pytest.mark.parametrize("max_frames", [None, 7])
def test_temporal_median_of_wide_frames_and_every_nth_frame(dtype, max_frames):
    """Rows wider than the kernel's column block, float32 frames taken as a
    strided view (no copy), other types converted: numpy's median each time."""
    from caliali_tk.core.noise import _MEDIAN_COLS, temporal_median
    rng = np.random.default_rng(1)
    x = (rng.random((30, 3, 2 * _MEDIAN_COLS + 37)) * 50).astype(dtype)
    got = temporal_median(x, max_frames)
    step = 1 if max_frames is None else -(-30 // max_frames)
    assert got.dtype == np.result_type(x.dtype, np.float32)
    np.testing.assert_array_equal(got, np.median(x[::step], axis=0).astype(got.dtype))


def test_transposed_movie_gives_transposed_images_and_uint16_is_fine():
    """Callers may feed frames in the file's stored layout (and dtype)."""
    Y = np.clip(_MOVIE, 0, None).round().astype(np.uint16)
    a = summary_images(Y, 2.5, chunk_frames=64)
    b = summary_images(np.ascontiguousarray(Y.transpose(0, 2, 1)), 2.5, chunk_frames=64)
    c = summary_images(Y.astype(np.float32), 2.5, chunk_frames=64)
    for name in ("Cn", "PNR", "sn", "baseline"):
        assert np.allclose(getattr(a, name), getattr(b, name).T, rtol=1e-5, atol=1e-5), name
        assert np.array_equal(getattr(a, name), getattr(c, name)), name
