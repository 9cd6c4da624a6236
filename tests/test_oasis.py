"""OASIS deconvolution, AR estimation and trace noise (caliali_tk.core.deconv, core.noise).

The references here are independent of the module: the kernel matrix comes
from scipy.signal.lfilter, the convex problem is solved by scipy's NNLS on
the kernel matrix, the non-convex minimum-spike-size problem by exhaustive
search over spike supports.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls
from scipy.signal import lfilter

from caliali_tk.core.deconv import Deconv, deconvolve, oasis_ar1, oasis_ar2
from caliali_tk.core.deconv.active_set import _ls_on_support, _spikes
from caliali_tk.core.deconv.ar import ar_roots, estimate_ar, impulse_response
from caliali_tk.core.deconv.deconvolve import _kt
from caliali_tk.core.deconv.oasis_ar1 import _lam_shift
from caliali_tk.core.noise import trace_noise, trace_noise_rows

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- references

def kernel(g, T):
    """Impulse response by scipy (independent of impulse_response)."""
    g = list(g) + [0.0] * (2 - len(g))
    e = np.zeros(T)
    e[0] = 1.0
    return lfilter([1.0], [1.0, -g[0], -g[1]], e)


def kernel_matrix(g, T):
    h = kernel(g, T)
    K = np.zeros((T, T))
    for j in range(T):
        K[j:, j] = h[:T - j]
    return K


def spikes_of(c, g):
    g = list(g) + [0.0] * (2 - len(g))
    return lfilter([1.0, -g[0], -g[1]], [1.0], c)


def obj(y, c, g, lam):
    return 0.5 * float(np.sum((y - c) ** 2)) + lam * float(np.sum(spikes_of(c, g)))


def brute_force(y, g, lam):
    """min ½‖y − K s‖² + lam·1ᵀs, s ≥ 0, by NNLS on the kernel matrix.

    The linear term is folded into the target: ½‖y − z − K s‖² differs from
    the objective by a constant when Kᵀz = lam·1.
    """
    T = y.size
    K = kernel_matrix(g, T)
    z = np.linalg.solve(K.T, lam * np.ones(T))
    s, _ = nnls(K, y - z, maxiter=100 * T)
    return K @ s, s


def fit_on_support(y, K, S, s_min, lam):
    """min ½‖y − K_S s‖² + lam·Σs with s ≥ s_min on the support S (NNLS)."""
    T = y.size
    s = np.zeros(T)
    if len(S) == 0:
        return s
    KS = K[:, S]
    z = np.linalg.lstsq(KS.T, lam * np.ones(len(S)), rcond=None)[0]
    u, _ = nnls(KS, y - z - KS @ np.full(len(S), s_min), maxiter=100 * T)
    s[S] = s_min + u
    return s


def exhaustive_smin(y, g, s_min, lam):
    """Global optimum over all spike supports (every spike 0 or ≥ s_min)."""
    T = y.size
    K = kernel_matrix(g, T)
    best = np.inf
    for mask in itertools.product([False, True], repeat=T):
        S = np.flatnonzero(mask)
        s = fit_on_support(y, K, S, s_min, lam)
        best = min(best, obj(y, K @ s, g, lam))
    return best


def threshold_refit(y, g, s_min, lam):
    """A simple greedy alternative: exact s_min = 0 solution, drop the spikes
    below s_min, refit the rest with s ≥ s_min."""
    T = y.size
    K = kernel_matrix(g, T)
    _, s0 = brute_force(y, g, lam)
    S = np.flatnonzero(s0 >= s_min)
    s = fit_on_support(y, K, S, s_min, lam)
    return obj(y, K @ s, g, lam)


def simulate(T, g, snr, rate=0.01, b=1.0, sigma=0.2, seed=0, amp_jitter=0.2):
    """Poisson spikes through an AR kernel plus Gaussian noise.

    ``snr`` is the peak of one spike's transient over sigma; ``rate`` spikes
    per frame (0.01: 0.1 Hz at 10 fps).
    """
    rng = np.random.default_rng(seed)
    hmax = kernel(g, 500).max()
    amp = snr * sigma / hmax
    n = rng.poisson(rate, T).astype(float)
    s = n * amp * rng.uniform(1 - amp_jitter, 1 + amp_jitter, T)
    g2 = list(g) + [0.0] * (2 - len(g))
    c = lfilter([1.0], [1.0, -g2[0], -g2[1]], s)
    y = b + c + sigma * rng.standard_normal(T)
    return y, c, s


# ---------------------------------------------------------------- strategies

@st.composite
def traces(draw, min_T=20, max_T=60):
    T = draw(st.integers(min_T, max_T))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["spiky", "noise", "wild"]))
    if kind == "spiky":
        y = (rng.random(T) < 0.2) * rng.uniform(1, 4, T)
        y = lfilter([1.0], [1.0, -0.8], y) + 0.3 * rng.standard_normal(T)
    elif kind == "noise":
        y = rng.standard_normal(T)
    else:
        y = rng.standard_normal(T) * 10.0 ** rng.uniform(-3, 3) + rng.uniform(-2, 2)
    return y


ar1_g = st.floats(0.05, 0.99)
lams = st.one_of(st.just(0.0), st.floats(0.0, 3.0))


@st.composite
def ar2_g(draw):
    d = draw(st.floats(0.2, 0.998))
    kind = draw(st.sampled_from(["distinct", "close", "double"]))
    if kind == "distinct":
        r = draw(st.floats(0.0, 0.95)) * d
    elif kind == "close":
        r = d * draw(st.floats(0.9, 0.999))
    else:
        r = d
    return (d + r, -d * r)


def assert_matches_bruteforce(y, g, lam, c):
    cb, _ = brute_force(y, g, lam)
    fb, fo = obj(y, cb, g, lam), obj(y, c, g, lam)
    scale = max(1.0, float(np.max(np.abs(y))))
    assert fo <= fb + 1e-6 * max(abs(fb), 1e-9 * scale ** 2), (fo, fb)
    assert fo >= fb - 1e-6 * max(abs(fb), 1e-9 * scale ** 2), (fo, fb)  # brute force is the optimum
    assert np.max(np.abs(c - cb)) <= 1e-4 * scale


# ---------------------------------------------------------------- exactness

@SETTINGS
@given(traces(), ar1_g, lams)
def test_ar1_matches_bruteforce(y, g, lam):
    c, s = oasis_ar1(y, g, lam)
    assert c.dtype == np.float64 and c.shape == y.shape == s.shape
    assert np.all(c >= 0) and np.all(s >= 0)
    np.testing.assert_allclose(spikes_of(c, [g]), s, atol=1e-9 * max(1.0, np.abs(y).max()))
    assert_matches_bruteforce(y, [g], lam, c)


@SETTINGS
@given(traces(), ar2_g(), lams)
def test_ar2_matches_bruteforce(y, g, lam):
    c, s = oasis_ar2(y, g[0], g[1], lam)
    assert np.all(c >= 0) and np.all(s >= 0)
    assert_matches_bruteforce(y, g, lam, c)


@SETTINGS
@given(traces(), ar2_g(), lams)
def test_ar2_greedy_pass_is_feasible_and_not_better(y, g, lam):
    cg, sg = oasis_ar2(y, g[0], g[1], lam, exact=False)
    ce, _ = oasis_ar2(y, g[0], g[1], lam)
    scale = max(1.0, float(np.abs(y).max()))
    assert np.all(spikes_of(cg, g) >= -1e-9 * scale * 10)
    assert obj(y, cg, g, lam) >= obj(y, ce, g, lam) - 1e-9 * scale ** 2


@SETTINGS
@given(traces(), ar1_g, lams)
def test_ar2_with_g2_zero_is_ar1(y, g, lam):
    c1, s1 = oasis_ar1(y, g, lam)
    c2, s2 = oasis_ar2(y, g, 0.0, lam)
    scale = max(1.0, float(np.abs(y).max()))
    np.testing.assert_allclose(c2, c1, atol=1e-8 * scale)


def test_ar1_kkt_long_trace():
    """T = 2000: check optimality by the KKT conditions instead of NNLS."""
    y, _, _ = simulate(2000, [0.95], snr=4, b=0.0, seed=3)
    g, lam = 0.95, 0.4
    c, s = oasis_ar1(y, g, lam)
    T = y.size
    # gradient w.r.t. s of ½‖y − Ks‖² + lam·1ᵀs is lam − Kᵀ(y − c)
    grad = lam - lfilter([1.0], [1.0, -g], (y - c)[::-1])[::-1]
    tol = 1e-8 * T
    assert np.all(grad >= -tol)
    assert np.all(np.abs(grad[s > 1e-9]) <= tol)


def test_ar2_kkt_long_trace():
    d, r = 0.95, 0.6
    g = [d + r, -d * r]
    y, _, _ = simulate(2000, g, snr=4, b=0.0, seed=4)
    lam = 0.2
    c, s = oasis_ar2(y, g[0], g[1], lam)
    grad = lam - lfilter([1.0], [1.0, -g[0], -g[1]], (y - c)[::-1])[::-1]
    tol = 1e-7 * y.size
    assert np.all(grad >= -tol)
    assert np.all(np.abs(grad[s > 1e-9]) <= tol)


def test_known_answer_ar1():
    y = np.array([0, 0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125])
    c, s = oasis_ar1(y, 0.5)
    np.testing.assert_allclose(s[:6], [0, 0, 1, 0, 0, 0], atol=1e-12)
    # lam shifts the data: a single isolated spike shrinks by lam·(1 − g)/Σg^2k
    c, s = oasis_ar1(np.array([2.0]), 0.5, lam=0.5)
    np.testing.assert_allclose(c, [1.5])


# ---------------------------------------------------------------- s_min

@SETTINGS
@given(traces(10, 60), ar1_g, st.floats(0.05, 3.0), lams)
def test_ar1_smin_spikes_and_no_worse_than_threshold_refit(y, g, s_min, lam):
    c, s = oasis_ar1(y, g, lam, s_min)
    scale = max(1.0, float(np.abs(y).max()))
    assert np.all(c >= 0)
    nz = s[s > 1e-12 * scale]
    assert np.all(nz >= s_min - 1e-9 * scale)
    np.testing.assert_allclose(spikes_of(c, [g]), s, atol=1e-9 * scale)
    assert obj(y, c, [g], lam) <= threshold_refit(y, [g], s_min, lam) * (1 + 1e-9) + 1e-12


@SETTINGS
@given(traces(10, 60), ar2_g(), st.floats(0.05, 3.0))
def test_ar2_smin_spikes(y, g, s_min):
    c, s = oasis_ar2(y, g[0], g[1], 0.0, s_min)
    scale = max(1.0, float(np.abs(y).max()))
    assert np.all(c >= 0)
    assert np.all(s[s > 1e-12 * scale] >= s_min - 1e-9 * scale)
    np.testing.assert_allclose(spikes_of(c, g), s, atol=1e-8 * scale)


def test_ar1_smin_first_pool():
    """A first value below s_min is lifted to s_min only if the next spike
    stays ≥ s_min; otherwise it is zeroed."""
    c, s = oasis_ar1(np.array([0.8, 1.45]), 0.5, 0.0, 1.0)
    np.testing.assert_allclose(c, [0.0, 1.45])
    c, s = oasis_ar1(np.array([0.8, 1.7]), 0.5, 0.0, 1.0)
    np.testing.assert_allclose(c, [1.0, 1.7])
    np.testing.assert_allclose(s, [1.0, 1.2])


def test_ar1_smin_against_exhaustive():
    """T = 10: greedy is never below the global optimum (sanity of both), is
    optimal on clean traces, and within a modest factor on noisy ones."""
    rng = np.random.default_rng(0)
    g = 0.8
    gaps = []
    for trial in range(12):
        clean = trial < 6
        T = 10
        s_true = np.zeros(T)
        s_true[rng.choice(np.arange(1, T), 2, replace=False)] = rng.uniform(2.0, 3.0, 2)
        sigma = 0.02 if clean else 0.3
        y = lfilter([1.0], [1.0, -g], s_true) + sigma * rng.standard_normal(T)
        s_min = 1.0
        c, s = oasis_ar1(y, g, 0.0, s_min)
        fo = obj(y, c, [g], 0.0)
        fe = exhaustive_smin(y, [g], s_min, 0.0)
        assert fo >= fe - 1e-9
        if clean:
            assert fo <= fe * (1 + 1e-6) + 1e-12
            assert set(np.flatnonzero(s > 0)) == set(np.flatnonzero(s_true > 0))
        gaps.append(fo / fe)
    assert np.median(gaps) < 1.5


def test_smin_removes_small_noise_spikes():
    y, _, s_true = simulate(3000, [0.9], snr=6, b=0.0, seed=5)
    _, s0 = oasis_ar1(y, 0.9)
    _, s1 = oasis_ar1(y, 0.9, 0.0, 0.6)
    assert (s1 > 0).sum() < 0.5 * (s0 > 0).sum()
    assert np.all(s1[s1 > 0] >= 0.6 - 1e-9)


# ---------------------------------------------------------------- noise and AR

@pytest.mark.parametrize("method", ["logmexp", "mean", "median"])
@pytest.mark.parametrize("sigma", [0.1, 2.0])
def test_trace_noise_white(method, sigma):
    rng = np.random.default_rng(1)
    sn = trace_noise_rows(sigma * rng.standard_normal((50, 3000)), method=method)
    assert abs(np.mean(sn) / sigma - 1) < 0.03
    assert np.all(np.abs(sn / sigma - 1) < 0.1)


@pytest.mark.parametrize("g", [[0.95], [0.9], [0.8], [1.55, -0.57]])
def test_trace_noise_on_calcium(g):
    # the calcium's own power in the band biases σ up a little (a few % here)
    for seed in range(6):
        y, _, _ = simulate(3000, g, snr=5, seed=seed)
        assert abs(trace_noise(y) / 0.2 - 1) < 0.1


def test_trace_noise_rows_matches_single():
    rng = np.random.default_rng(2)
    Y = rng.standard_normal((7, 501)) * np.arange(1, 8)[:, None]
    np.testing.assert_allclose(trace_noise_rows(Y), [trace_noise(y) for y in Y], rtol=1e-12)
    assert trace_noise(np.full(100, 3.0)) == 0.0
    assert trace_noise(np.zeros(1)) == 0.0
    for T in range(2, 12):
        assert np.isfinite(trace_noise(rng.standard_normal(T)))


@pytest.mark.parametrize("g,tol", [(0.8, 0.05), (0.9, 0.02), (0.95, 0.02), (0.98, 0.01)])
def test_estimate_ar1_recovers_g(g, tol):
    # an overestimated noise (calcium power in the PSD band) biases g upwards,
    # most for fast decays
    est = [estimate_ar(simulate(5000, [g], snr=5, rate=0.03, seed=s)[0], 1)[0] for s in range(4)]
    assert abs(np.mean(est) - g) < tol
    assert all(0 < e < 1 for e in est)


@pytest.mark.parametrize("d,r", [(0.95, 0.6), (0.97, 0.8), (0.9, 0.5)])
def test_estimate_ar2_recovers_roots(d, r):
    g = [d + r, -d * r]
    roots = []
    for s in range(4):
        y = simulate(10000, g, snr=5, rate=0.03, seed=s)[0]
        e = estimate_ar(y, 2)
        rt = ar_roots(e)
        assert np.all(rt.imag == 0) and 0 < rt.real[1] <= rt.real[0] < 1
        roots.append(rt.real)
    dm, rm = np.mean(roots, axis=0)
    assert abs(dm - d) < 0.02
    assert abs(rm - r) < 0.12


@SETTINGS
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 400), st.sampled_from([1, 2]))
def test_estimate_ar_always_valid(seed, T, p):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(T) * 10.0 ** rng.uniform(-3, 3)
    if rng.random() < 0.5:
        y = lfilter([1.0], [1.0, -rng.uniform(-0.9, 0.99)], y)
    g = estimate_ar(y, p)
    assert g.shape == (p,) and np.all(np.isfinite(g))
    rt = ar_roots(g)
    assert np.all(np.abs(rt.imag) < 1e-12)
    assert rt.real[0] > 0 and rt.real[0] < 1 and rt.real[1 if p == 2 else 0] >= 0
    assert np.all(impulse_response(g, 300) >= 0)


def test_impulse_response_matches_lfilter():
    for g in ([0.9], [1.5, -0.56], [1.8, -0.81]):
        np.testing.assert_allclose(impulse_response(g, 200), kernel(g, 200), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- deconvolve

def spike_recall(s_est, s_true, tol=1):
    det = np.flatnonzero(s_est > 0)
    true = np.flatnonzero(s_true > 0)
    if det.size == 0:
        return 0.0
    return float(np.mean([np.min(np.abs(det - t)) <= tol for t in true]))


def spike_precision(s_est, s_true, tol=1):
    """Share of the detected spike mass within tol frames of a true spike."""
    near = np.zeros(s_true.size, bool)
    for t in np.flatnonzero(s_true > 0):
        near[max(t - tol, 0):t + tol + 1] = True
    return float(s_est[near].sum() / max(s_est.sum(), 1e-300))


@pytest.mark.parametrize("g", [[0.95], [0.9], [1.6, -0.63]])
@pytest.mark.parametrize("method,kw", [("thresholded", {"s_min": -3}),
                                       ("constrained", {}),
                                       ("foopsi", {"lam": 1.0})])
def test_deconvolve_ground_truth(g, method, kw):
    p = len(g)
    for seed in range(2):
        y, c_true, s_true = simulate(3000, g, snr=5, b=1.0, seed=seed)
        out = deconvolve(y, p=p, method=method, **kw)
        assert isinstance(out, Deconv)
        assert out.g.shape == (p,)
        assert abs(out.sn / 0.2 - 1) < 0.1
        assert np.corrcoef(out.c, c_true)[0, 1] > 0.9
        # an estimated AR(2) rise is uncertain (~30 spikes here), which can
        # shift a spike by a frame or two; within ±2 frames all are found
        assert spike_recall(out.s, s_true) > (0.85 if p == 1 else 0.7)
        assert spike_recall(out.s, s_true, tol=2) > 0.9
        # foopsi's fixed small lam lets c take a little of the baseline
        assert abs(out.b - 1.0) < (0.15 if method == "foopsi" else 0.1)
        if method == "thresholded":
            assert spike_precision(out.s, s_true) > (0.9 if p == 1 else 0.7)
            assert np.all(out.s[out.s > 0] >= out.s_min - 1e-9)


@pytest.mark.parametrize("g", [[0.95], [1.6, -0.63]])
def test_deconvolve_true_parameters_thresholded(g):
    y, c_true, s_true = simulate(3000, g, snr=5, b=-2.0, seed=7)
    out = deconvolve(y, g=g, sn=0.2, s_min=-3)
    assert out.s_min == pytest.approx(0.6 / impulse_response(g, 100).max())
    assert abs(out.b + 2.0) < 0.05
    assert np.corrcoef(out.c, c_true)[0, 1] > 0.95
    assert spike_recall(out.s, s_true) > 0.9
    assert spike_precision(out.s, s_true) > 0.9


def test_deconvolve_constrained_meets_noise():
    y, c_true, _ = simulate(3000, [0.95], snr=5, b=0.5, seed=8)
    out = deconvolve(y, method="constrained")
    rss = np.sum((y - out.b - out.c) ** 2)
    assert rss == pytest.approx(out.sn ** 2 * y.size, rel=2e-3)
    assert out.lam > 0


def test_deconvolve_pure_noise_constrained_is_flat():
    rng = np.random.default_rng(9)
    y = 3.0 + 0.5 * rng.standard_normal(2000)
    out = deconvolve(y, method="constrained", g=[0.9])
    assert np.max(out.c) < 0.5
    assert out.b == pytest.approx(3.0, abs=0.05)


def test_deconvolve_fixed_baseline():
    y, c_true, _ = simulate(2000, [0.9], snr=5, b=0.0, seed=10)
    out = deconvolve(y + 5.0, g=[0.9], optimize_b=False, b=5.0, s_min=-3)
    assert out.b == 5.0
    assert np.corrcoef(out.c, c_true)[0, 1] > 0.9


def check_output(out, T, p):
    assert out.c.shape == (T,) and out.s.shape == (T,)
    assert out.c.dtype == np.float64 and out.s.dtype == np.float64
    assert np.all(np.isfinite(out.c)) and np.all(np.isfinite(out.s))
    assert np.all(out.c >= 0) and np.all(out.s >= 0)
    assert np.isfinite(out.b) and np.isfinite(out.sn) and np.isfinite(out.lam)
    assert out.g.shape == (p,) and np.all(np.isfinite(out.g))


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("method", ["thresholded", "foopsi", "constrained"])
@pytest.mark.parametrize("s_min", [0.0, -3.0])
def test_deconvolve_edge_cases(p, method, s_min):
    rng = np.random.default_rng(11)
    kw = dict(p=p, method=method, s_min=s_min, lam=0.5)
    for T in range(0, 10):
        y = rng.standard_normal(T)
        check_output(deconvolve(y, **kw), T, p)
        check_output(deconvolve(np.zeros(T), **kw), T, p)
        check_output(deconvolve(np.full(T, 7.0), **kw), T, p)
    for y in (np.zeros(500), np.full(500, -3.0)):
        out = deconvolve(y, **kw)
        check_output(out, 500, p)
        assert np.all(out.c == 0) and out.b == y[0]
    y = 1e6 + simulate(500, [0.9] if p == 1 else [1.5, -0.56], snr=5, seed=1)[0]
    check_output(deconvolve(y, **kw), 500, p)
    y = simulate(500, [0.9], snr=5, seed=2)[0]
    y[[3, 100, 499]] = [np.nan, np.inf, -np.inf]
    check_output(deconvolve(y, **kw), 500, p)
    y = np.zeros(300)
    y[150] = 10.0  # a single outlier
    check_output(deconvolve(y, **kw), 300, p)


def test_input_validation():
    with pytest.raises(ValueError):
        oasis_ar1(np.ones(5), 1.5)
    with pytest.raises(ValueError):
        oasis_ar1(np.ones(5), 0.5, lam=-1)
    with pytest.raises(ValueError):
        oasis_ar1(np.array([1.0, np.nan]), 0.5)
    with pytest.raises(ValueError):
        oasis_ar2(np.ones(5), 2.5, -0.5)  # unstable
    with pytest.raises(ValueError):
        deconvolve(np.ones(5), method="nope")
    with pytest.raises(ValueError):
        estimate_ar(np.ones(5), 3)


# ---------------------------------------------------------------- numba kernels vs numpy twins

def test_kernels_match_numpy_twins():
    rng = np.random.default_rng(12)
    T = 40
    y = rng.standard_normal(T)
    for g in ([0.9, 0.0], [1.5, -0.56]):
        K = kernel_matrix(g, T)
        G = np.linalg.inv(K)
        lam = 0.7
        np.testing.assert_allclose(_lam_shift(y, g[0], g[1], lam),
                                   y - lam * G.T @ np.ones(T), atol=1e-12)
        np.testing.assert_allclose(_kt(y, g[0], g[1]), K.T @ y, atol=1e-10)
        out = np.empty(T)
        _spikes(y, g[0], g[1], out)
        np.testing.assert_allclose(out, G @ y, atol=1e-12)
        # least squares with spikes only on a support: dense KKT solve
        active = rng.random(T) < 0.3
        z, mu = np.empty(T), np.empty(T)
        work = [np.empty(T) for _ in range(4)]
        _ls_on_support(y, g[0], g[1], active, z, mu, np.empty(T, np.int64), *work)
        KS = K[:, active]
        s_ref = np.linalg.lstsq(KS, y, rcond=None)[0]
        np.testing.assert_allclose(z, KS @ s_ref, atol=1e-9)
        np.testing.assert_allclose(mu[~active], -(K.T @ (y - z))[~active], atol=1e-9)
