"""Per-session baseline and drift of raw traces (issue 9 / issue 11 item 3)."""

import numpy as np
import pytest
from scipy.signal import lfilter

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
