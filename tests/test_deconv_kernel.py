"""Kernel estimation and deconvolve_trace: numpy twins and simulated truth.

The traces are simulated at 5–30 Hz with rises of several frames, bursty
firing (the case where the autocovariance decay is too slow), model
mismatch (AR(2) data fitted as AR(1) and the reverse) and bleaching.
"""

import numpy as np
import pytest
from scipy.linalg import toeplitz
from scipy.ndimage import gaussian_filter1d

from caliali_tk.core.deconv import (DeconvSettings, ar_from_taus, deconvolve_trace,
                                    estimate_ar, estimate_kernel, fit_kernel,
                                    impulse_response, kernel_taus, support_rss)
from caliali_tk.core.deconv.kernel import decay_bounds
from caliali_tk.core.noise import trace_noise


def pearson(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def bursty_spikes(rng, T, fps, rate_burst=8.0, p_on=0.01, p_off=0.1):
    """Spikes from a two-state (quiet / burst) chain stepped per frame."""
    on = np.zeros(T, bool)
    state = False
    for t in range(T):
        state = (rng.random() >= p_off * 20 / fps) if state else (rng.random() < p_on * 20 / fps)
        on[t] = state
    return rng.poisson(np.where(on, rate_burst / fps, 0.02 / fps)) * rng.uniform(0.7, 1.3, T)


def calcium(s, tau_d, tau_r, fps):
    h = impulse_response(ar_from_taus(tau_d, tau_r, fps), int(10 * tau_d * fps) + 10)
    return np.convolve(s, h / h.max())[:len(s)]


# --------------------------------------------------------------- numpy twins

def support_rss_numpy(y, g, free):
    """Least squares with the calcium a sum of kernels started at the free
    frames and the first p frames, plus a baseline."""
    T = len(y)
    p = len(g) if len(g) == 1 or g[1] != 0 else 1
    h = impulse_response(g, T)
    K = toeplitz(h, np.zeros(T))
    cols = np.flatnonzero(np.asarray(free) | (np.arange(T) < p))
    X = np.column_stack([K[:, cols], np.ones(T)])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return float(np.sum((y - X @ coef) ** 2)), float(coef[-1])


@pytest.mark.parametrize("g", [[0.9], [0.5], [1.3, -0.4], [1.6, -0.63], [0.95, 0.0]])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_support_rss_matches_numpy(g, seed):
    rng = np.random.default_rng(seed)
    T = 120
    y = rng.standard_normal(T).cumsum() * 0.3 + 2.0
    free = rng.random(T) < 0.15
    rss, b = support_rss(y, g, free)
    rss_np, b_np = support_rss_numpy(y, np.asarray(g, float), free)
    assert rss == pytest.approx(rss_np, rel=1e-7, abs=1e-9)
    assert b == pytest.approx(b_np, rel=1e-6, abs=1e-6)


def test_support_rss_is_zero_when_everything_is_free():
    y = np.random.default_rng(3).standard_normal(50)
    assert support_rss(y, [0.9], np.ones(50, bool))[0] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("fps", [5.0, 10.0, 20.0, 30.0])
@pytest.mark.parametrize("tau_d, tau_r", [(0.5, 0.0), (0.5, 0.05), (1.2, 0.1), (2.0, 0.3)])
def test_taus_round_trip_and_match_the_impulse_response(fps, tau_d, tau_r):
    g = ar_from_taus(tau_d, tau_r, fps)
    assert kernel_taus(g, fps) == pytest.approx((tau_d, tau_r), rel=1e-9)
    t = np.arange(200)
    d = np.exp(-1 / (tau_d * fps))
    if tau_r == 0:
        twin = d ** t
    else:
        r = np.exp(-1 / (tau_r * fps))
        twin = (d ** (t + 1) - r ** (t + 1)) / (d - r)
    np.testing.assert_allclose(impulse_response(g, 200), twin, rtol=1e-9, atol=1e-12)


def test_decay_bounds_respect_the_frame_rate():
    assert decay_bounds(20.0, (0.1, 5.0)) == (0.1, 5.0)
    assert decay_bounds(2.0, (0.1, 5.0)) == (0.25, 5.0)  # at least half a frame


# ------------------------------------------------------ kernels from traces

@pytest.mark.parametrize("fps", [10.0, 20.0, 30.0])
@pytest.mark.parametrize("tau_d, tau_r", [(0.5, 0.05), (0.8, 0.12)])
def test_kernel_found_on_bursty_traces_with_multi_frame_rises(fps, tau_d, tau_r):
    rng = np.random.default_rng(int(fps))
    T = int(200 * fps)
    c = calcium(bursty_spikes(rng, T, fps), tau_d, tau_r, fps)
    y = 5.0 + c + 0.1 * rng.standard_normal(T)
    g, sn = estimate_kernel(y, DeconvSettings(model="ar2", fps=fps))
    found_d, found_r = kernel_taus(g, fps)
    assert found_d == pytest.approx(tau_d, rel=0.12)
    assert found_r == pytest.approx(tau_r, rel=0.3)
    assert sn == pytest.approx(0.1, rel=0.1)
    # the autocovariance of the same trace is misled by the bursts
    yw_d = kernel_taus(estimate_ar(y, 1), fps)[0]
    assert yw_d > 1.3 * tau_d


@pytest.mark.parametrize("fps", [5.0, 10.0])
def test_noise_is_read_from_the_residual_at_low_frame_rates(fps):
    rng = np.random.default_rng(5)
    T = int(300 * fps)
    c = calcium((rng.random(T) < 0.4 / fps) * 1.0, 0.5, 0.0, fps)
    y = c + 0.05 * rng.standard_normal(T)
    assert trace_noise(y) > 1.3 * 0.05  # calcium leaks into the band
    _, sn = estimate_kernel(y, DeconvSettings(fps=fps))
    assert sn == pytest.approx(0.05, rel=0.1)


def test_auto_chooses_the_order_the_data_has():
    rng = np.random.default_rng(11)
    fps, T = 20.0, 4000
    s = (rng.random(T) < 0.02) * rng.uniform(0.5, 1.5, T)
    noise = 0.05 * rng.standard_normal(T)
    auto = DeconvSettings(model="auto", fps=fps)
    g1, _ = estimate_kernel(calcium(s, 0.6, 0.0, fps) + noise, auto)
    g2, _ = estimate_kernel(calcium(s, 0.6, 0.1, fps) + noise, auto)
    assert g1.size == 1 and g2.size == 2
    assert kernel_taus(g2, fps)[1] == pytest.approx(0.1, rel=0.2)


# ------------------------------------------- denoised C against the truth

def _score(y, truth, settings):
    d = deconvolve_trace(y, settings)
    return pearson(d.c, truth), pearson(y, truth), d


@pytest.mark.parametrize("fps", [10.0, 20.0, 30.0])
@pytest.mark.parametrize("model", ["ar1", "ar2", "auto"])
def test_c_beats_c_raw_with_multi_frame_rises(fps, model):
    """AR(2) data (rise 2–3 frames at 20–30 Hz), fitted by every model."""
    rng = np.random.default_rng(int(fps) + 1)
    T = int(150 * fps)
    truth = calcium(bursty_spikes(rng, T, fps), 0.5, 0.1, fps)
    y = 3.0 + truth + 0.15 * rng.standard_normal(T)
    r_c, r_raw, _ = _score(y, truth, DeconvSettings(model=model, fps=fps))
    assert r_c >= r_raw
    assert r_c > 0.98


@pytest.mark.parametrize("fps", [10.0, 20.0, 30.0])
def test_ar1_data_fitted_as_ar2(fps):
    rng = np.random.default_rng(int(fps) + 2)
    T = int(150 * fps)
    truth = calcium((rng.random(T) < 0.5 / fps) * rng.uniform(0.5, 1.5, T), 0.7, 0.0, fps)
    y = truth + 0.1 * rng.standard_normal(T)
    r_c, r_raw, d = _score(y, truth, DeconvSettings(model="ar2", fps=fps))
    assert r_c >= r_raw and r_c > 0.98
    tau_d, tau_r = kernel_taus(d.g, fps)
    assert tau_d == pytest.approx(0.7, rel=0.15)
    assert tau_r < 0.5 / fps  # the rise it finds is below half a frame


@pytest.mark.parametrize("fps", [10.0, 20.0, 30.0])
@pytest.mark.parametrize("method", ["thresholded", "constrained", "foopsi"])
def test_bleaching_traces(fps, method):
    """Events shrink to 40 % over the recording and the baseline falls by a
    third of an event: C still follows the (bleached) truth better than C_raw."""
    rng = np.random.default_rng(int(fps) + 3)
    T = int(200 * fps)
    t = np.arange(T) / T
    bleach = np.exp(np.log(0.4) * t)
    truth = calcium((rng.random(T) < 0.3 / fps) * rng.uniform(0.7, 1.3, T), 0.6, 0.08,
                    fps) * bleach
    y = 10.0 - 0.3 * t + truth + 0.1 * rng.standard_normal(T)
    settings = DeconvSettings(fps=fps, method=method, lam=0.5 if method == "foopsi" else 0.0)
    r_c, r_raw, _ = _score(y, truth, settings)
    assert r_c >= r_raw - 0.002
    assert r_c > 0.94


def test_smoothed_spikes_find_the_true_ones():
    rng = np.random.default_rng(8)
    fps, T = 20.0, 3000
    s = (rng.random(T) < 0.3 / fps) * rng.uniform(0.7, 1.3, T)
    y = calcium(s, 0.5, 0.05, fps) + 0.1 * rng.standard_normal(T)
    d = deconvolve_trace(y, DeconvSettings(model="ar2", fps=fps))
    assert pearson(gaussian_filter1d(d.s, 2), gaussian_filter1d(s, 2)) > 0.9


def test_given_kernel_and_noise_are_used_as_they_are():
    rng = np.random.default_rng(9)
    y = calcium((rng.random(1000) < 0.03) * 1.0, 0.5, 0.0, 10.0) + 0.1 * rng.standard_normal(1000)
    d = deconvolve_trace(y, DeconvSettings(fps=10.0), g=[0.8], sn=0.2)
    assert list(d.g) == [0.8] and d.sn == 0.2


def test_flat_and_tiny_traces_do_not_fail():
    settings = DeconvSettings(fps=10.0)
    for y in (np.zeros(100), np.ones(5), np.zeros(0), np.r_[np.zeros(50), np.nan, np.ones(49)]):
        d = deconvolve_trace(y, settings)
        assert np.all(np.isfinite(d.c)) and np.all(d.s >= 0)


# ------------------------------------------------------------- settings

def test_presets_and_validation():
    s = DeconvSettings(fps=15.0).with_preset("caliali")
    assert (s.model, s.method, s.s_min, s.preset, s.fps) == ("ar2", "foopsi", -5.0, "caliali", 15.0)
    legacy = DeconvSettings().with_preset("legacy")
    assert legacy.ar_fit == "autocov" and legacy.model == "ar1"
    for bad in (dict(model="ar3"), dict(method="x"), dict(fps=0.0), dict(lam=-1.0),
                dict(tau_decay_range=(2.0, 1.0)), dict(preset="caiman")):
        with pytest.raises(ValueError):
            DeconvSettings(**bad)
    with pytest.raises(ValueError):
        DeconvSettings().with_preset("caiman")


def test_fit_kernel_stays_inside_the_prior():
    rng = np.random.default_rng(10)
    fps, T = 20.0, 2000
    s = (rng.random(T) < 0.02) * 1.0
    y = calcium(s, 8.0, 0.0, fps) + 0.05 * rng.standard_normal(T)  # slower than the prior
    tau_d, _ = fit_kernel(y, s > 0, fps, 1, (0.1, 3.0))
    assert 2.9 <= tau_d <= 3.0


def test_active_window_is_the_most_variable_one():
    from caliali_tk.core.deconv.trace import _active_window

    rng = np.random.default_rng(12)
    y = rng.standard_normal(300)
    y[200:240] += 5 * rng.standard_normal(40)
    w = _active_window(y, 50)
    twin = max(range(251), key=lambda a: np.var(y[a:a + 50]))
    np.testing.assert_array_equal(w, y[twin:twin + 50])
    assert _active_window(y, 400) is y


def test_long_traces_fit_their_kernel_on_a_window(monkeypatch):
    from caliali_tk.core.deconv import trace

    rng = np.random.default_rng(13)
    fps, T = 20.0, 6000
    truth = calcium((rng.random(T) < 0.3 / fps) * rng.uniform(0.7, 1.3, T), 0.5, 0.05, fps)
    y = truth + 0.1 * rng.standard_normal(T)
    settings = DeconvSettings(model="ar2", fps=fps)
    whole = deconvolve_trace(y, settings)
    monkeypatch.setattr(trace, "KERNEL_MAX_FRAMES", 2000)
    windowed = deconvolve_trace(y, settings)
    assert windowed.c.size == T
    assert kernel_taus(windowed.g, fps) == pytest.approx(kernel_taus(whole.g, fps), rel=0.1)
    assert pearson(windowed.c, truth) > 0.99


def test_given_kernel_without_noise_and_the_legacy_fit():
    rng = np.random.default_rng(14)
    y = calcium((rng.random(2000) < 0.03) * 1.0, 0.5, 0.0, 10.0) + 0.1 * rng.standard_normal(2000)
    d = deconvolve_trace(y, DeconvSettings(fps=10.0, method="foopsi", lam=1.0), g=[0.8])
    assert d.sn == pytest.approx(trace_noise(y)) and d.lam == pytest.approx(d.sn)
    legacy = deconvolve_trace(y, DeconvSettings(fps=10.0).with_preset("legacy"))
    np.testing.assert_allclose(legacy.g, estimate_ar(y, 1, trace_noise(y)))


@pytest.mark.parametrize("fps", [5.0, 10.0, 30.0])
def test_noise_of_a_trace_with_a_known_kernel(fps):
    """kernel_noise (a later round: kernel kept, σ anew) reads σ from the
    residual as estimate_kernel does, not from the raw spectrum."""
    from caliali_tk.core.deconv import kernel_noise

    rng = np.random.default_rng(11)
    T = int(300 * fps)
    c = calcium((rng.random(T) < 0.4 / fps) * 1.0, 0.5, 0.0, fps)
    y = 3.0 * c + 0.15 * rng.standard_normal(T) + 2.0  # another scale and a baseline
    g, _ = estimate_kernel(y, DeconvSettings(fps=fps))
    assert kernel_noise(y, g) == pytest.approx(0.15, rel=0.1)
    assert kernel_noise(np.full(50, 1.0), g) == 0.0


def test_root_finder_finds_roots_and_stops_at_the_bounds():
    from caliali_tk.core.deconv.root import root_decreasing

    assert root_decreasing(lambda x: 3.0 - x, 0.0, -10, 10, 1e-12, 1e-12) == pytest.approx(3.0)
    assert root_decreasing(lambda x: 2.0 - x ** 3, 0.0, -5, 5, 1e-12, 1e-12) == pytest.approx(
        2.0 ** (1 / 3), abs=1e-9)
    assert root_decreasing(lambda x: 1.0 - x, 0.0, -1, 0.5, 1e-12, 1e-12) == 0.5  # no root inside
    assert root_decreasing(lambda x: np.tanh(4 - x), 10.0, 0, 20, 1e-12, 1e-12, step0=0.5) == \
        pytest.approx(4.0, abs=1e-9)


@pytest.mark.parametrize("g", [[0.9], [1.5, -0.56]])
@pytest.mark.parametrize("s_min", [0.5, 1.5])
def test_numba_baseline_search_matches_the_python_driver(g, s_min):
    from caliali_tk.core.deconv.deconvolve import _BaselineFit
    from caliali_tk.core.deconv.root import root_decreasing

    rng = np.random.default_rng(7)
    s = (rng.random(1500) < 0.03) * rng.uniform(1, 3, 1500)
    y = 2.0 + np.convolve(s, impulse_response(g, 300))[:1500] + 0.2 * rng.standard_normal(1500)
    g1, g2 = g[0], (g[1] if len(g) > 1 else 0.0)
    hmax = float(impulse_response(g, 300).max())
    fits = [_BaselineFit(y, g1, g2, 0.2, s_min, hmax, True, 1.5) for _ in range(2)]
    b_numba = fits[0]._b_root(0.0, s_min, 1e-8 * fits[0].scale)
    f = fits[1]
    b_python = root_decreasing(lambda b: f._mean_residual(b, 0.0, s_min), f.b, f.b_lo, f.b_hi,
                               1e-10 * f.scale, 1e-8 * f.scale)
    assert b_numba == pytest.approx(b_python, abs=1e-9)
    c, _ = fits[0].solve(y - b_numba, 0.0, s_min)
    assert abs(np.mean(y - b_numba - c)) < 1e-6
