"""Per-session baseline and drift of raw traces (issue 9 / issue 11 item 3)."""

import numpy as np
import pytest
from scipy import ndimage
from scipy.signal import lfilter

from caliali_tk.core import trace_baseline as tbm
from caliali_tk.core.binning import bin_time
from caliali_tk.core.trace_baseline import TraceBaseline, drift, remove_baseline


def _calcium(fps, T, rng, rate_hz=0.15, tau_d=0.6, tau_r=0.08):
    """AR(2) calcium with multi-frame rises at any frame rate, peak ~1 per spike."""
    d, r = np.exp(-1 / (tau_d * fps)), np.exp(-1 / (tau_r * fps))
    s = rng.poisson(rate_hz / fps, T) * rng.lognormal(0, 0.3, T)
    c = lfilter([1.0], [1.0, -(d + r), d * r], s)
    h = lfilter([1.0], [1.0, -(d + r), d * r], np.r_[1.0, np.zeros(400)])
    return c / h.max()


def _session_trace(fps, rng, seconds=(120, 90, 150), levels=(3.0, 7.0, 1.5), bleach=2.0):
    counts = [int(s * fps) for s in seconds]
    T = sum(counts)
    c = 4.0 * _calcium(fps, T, rng)
    base = np.concatenate([lv + bleach * np.exp(-np.arange(n) / (40 * fps))
                           for lv, n in zip(levels, counts)])
    starts = np.concatenate([[0], np.cumsum(counts)])
    return c, base, starts, counts


@pytest.mark.parametrize("fps", [5.0, 10.0, 20.0, 30.0])
def test_session_steps_and_bleaching_are_removed(fps):
    rng = np.random.default_rng(int(fps))
    c, base, starts, _ = _session_trace(fps, rng)
    sn = 0.3
    y = c + base + rng.normal(0, sn, c.size)
    out, levels = remove_baseline(y, starts, fps, 20.0)
    err = out - c
    # what is left of the baseline: small against the noise, and no steps
    assert abs(np.median(err)) < 0.5 * sn
    seg_means = [np.median(err[a:b]) for a, b in zip(starts[:-1], starts[1:])]
    assert np.ptp(seg_means) < 0.5 * sn
    assert np.corrcoef(out, c)[0, 1] > np.corrcoef(y, c)[0, 1] + 0.1
    true_levels = [base[a:b].mean() for a, b in zip(starts[:-1], starts[1:])]
    assert np.allclose(levels, true_levels, atol=0.5)


@pytest.mark.parametrize("fps", [10.0, 30.0])
def test_constant_baselines_without_detrending(fps):
    rng = np.random.default_rng(1)
    c, _, starts, counts = _session_trace(fps, rng, bleach=0.0)
    base = np.repeat([3.0, 7.0, 1.5], counts)
    y = c + base + rng.normal(0, 0.3, c.size)
    out, levels = remove_baseline(y, starts, fps, 0.0)
    assert np.allclose(levels, [3.0, 7.0, 1.5], atol=0.2)
    assert abs(np.median(out - c)) < 0.15


def test_drift_follows_slow_changes_not_transients():
    fps = 20.0
    rng = np.random.default_rng(4)
    T = int(300 * fps)
    c = 5.0 * _calcium(fps, T, rng, rate_hz=0.2)
    slow = 2.0 * np.sin(2 * np.pi * np.arange(T) / (200 * fps))
    y = c + slow + rng.normal(0, 0.2, T)
    est = drift(y, fps, 20.0)
    resid = est - slow
    assert np.std(resid - np.median(resid)) < 0.25  # follows the slow wave
    assert np.corrcoef(est, c)[0, 1] < 0.3  # does not follow the transients


def test_short_traces_and_the_callable():
    y = np.r_[np.zeros(30), np.ones(30)]
    assert np.all(drift(y, 10.0, 20.0) == 0)  # shorter than the window
    tb = TraceBaseline.of([30, 30], 10.0, 0.0)
    out, levels = tb(y + 2.0)
    assert tb.n_sessions == 2 and np.allclose(levels, [2.0, 3.0]) and np.allclose(out, 0)


def _drift_scipy(y, fps, window_s):
    """`drift` written with scipy.ndimage's filters (the plain reference)."""
    T = y.size
    w = int(round(window_s * fps))
    if w < 4 or T < w:
        return np.zeros(T)
    tb = max(1, (w // 2) // 20)
    x = bin_time(y, tb)
    wb = max(3, w // tb)
    med = ndimage.median_filter(x, size=max(3, wb // 2) | 1, mode="nearest")
    low = ndimage.minimum_filter1d(med, size=wb, mode="nearest")
    low = ndimage.maximum_filter1d(low, size=wb, mode="nearest")
    low = ndimage.uniform_filter1d(low, size=max(1, wb // 2), mode="nearest")
    centres = np.arange(x.size) * tb + (np.minimum(tb, T - np.arange(x.size) * tb) - 1) / 2
    return np.interp(np.arange(T), centres, low)


def _density_peak_numpy(y, sn, centre):
    """`_density_peak` with numpy's histogram and scipy's Gaussian filter."""
    width = 0.1 * sn
    lo, hi = centre - 6 * sn, centre + 4 * sn
    n_bins = int(np.ceil((hi - lo) / width))
    hist, edges = np.histogram(y, bins=n_bins, range=(lo, hi))
    dens = ndimage.gaussian_filter1d(hist.astype(np.float64), 5.0, mode="constant")
    i = int(np.argmax(dens))
    shift = 0.0
    if 0 < i < n_bins - 1:
        a, b, c = dens[i - 1], dens[i], dens[i + 1]
        den = a - 2 * b + c
        shift = 0.5 * (a - c) / den if den < 0 else 0.0
    return float(edges[i] + (0.5 + shift) * width)


@pytest.mark.parametrize("fps", [3.0, 5.0, 10.0, 20.0, 30.0])
@pytest.mark.parametrize("window_s", [7.0, 20.0, 60.0])
def test_drift_filters_match_scipy(fps, window_s):
    rng = np.random.default_rng(int(fps * window_s))
    for T in (50, 333, 2000, 4001):
        y = 4.0 * _calcium(fps, T, rng) + np.linspace(0, 3, T) + rng.normal(0, 0.3, T)
        np.testing.assert_allclose(drift(y, fps, window_s), _drift_scipy(y, fps, window_s),
                                   rtol=0, atol=1e-12)


def test_density_peak_matches_numpy_histogram():
    rng = np.random.default_rng(5)
    for _ in range(200):
        y = rng.normal(rng.uniform(-2, 2), 1.0, int(rng.integers(20, 3000)))
        y[: y.size // 5] += rng.exponential(3.0, y.size // 5)  # transients
        sn, centre = float(rng.uniform(0.5, 1.5)), float(np.median(y))
        assert tbm._density_peak(y, sn, centre) == pytest.approx(
            _density_peak_numpy(y, sn, centre), abs=1e-12)
