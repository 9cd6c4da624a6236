"""Autoregressive (AR) calcium kernels of single traces.

The calcium model of OASIS / CNMF-E is an AR(p) process driven by
non-negative spikes, ``c_t = g_1 c_{t-1} + ... + g_p c_{t-p} + s_t``, observed
as ``y_t = b + c_t + noise``. :func:`estimate_ar` estimates the AR
coefficients from the trace's autocovariance (Yule–Walker with the noise
variance removed from lag 0), clipped so that the impulse response is
positive and decaying; :func:`impulse_response` and :func:`ar_roots`
describe a kernel. The trace's other nuisance parameter, its noise σ, is
:func:`caliali_tk.core.noise.trace_noise`; the deconvolution itself is in
:mod:`caliali_tk.core.deconv`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from caliali_tk.core.noise import trace_noise

__all__ = ["estimate_ar", "impulse_response", "ar_roots", "trim_ar", "MIN_ROOT", "MAX_ROOT"]

#: Smallest AR root (decay factor per frame) :func:`estimate_ar` returns.
MIN_ROOT = 0.01
#: Largest AR root :func:`estimate_ar` returns (time constant ≈ 1000 frames).
MAX_ROOT = 0.999
#: Decay time constant (frames) used when a trace carries no information.
_FALLBACK_TAU = 10.0


def trim_ar(g) -> np.ndarray:
    """AR coefficients without a trailing zero (an AR(1) kernel stored as (g, 0)).

    >>> trim_ar([0.9, 0.0]).tolist(), trim_ar([1.5, -0.56]).tolist()
    ([0.9], [1.5, -0.56])
    """
    g = np.asarray(g, np.float64)
    return g[:1] if g.size > 1 and g[1] == 0 else g


def impulse_response(g, n):
    """First ``n`` samples of the calcium response to one unit spike.

    ``h_0 = 1`` and ``h_k = g_1 h_{k-1} + g_2 h_{k-2}``; with real roots
    ``d > r`` of ``z² = g_1 z + g_2``, ``h_k = (d^{k+1} − r^{k+1}) / (d − r)``.

    Parameters
    ----------
    g : array_like (p,)
        AR coefficients, p = 1 or 2.
    n : int
        Number of samples.

    Returns
    -------
    h : ndarray float64 (n,)

    Examples
    --------
    >>> impulse_response([0.5], 4)
    array([1.   , 0.5  , 0.25 , 0.125])
    """
    g = np.atleast_1d(np.asarray(g, dtype=np.float64))
    g1 = float(g[0]) if g.size > 0 else 0.0
    g2 = float(g[1]) if g.size > 1 else 0.0
    return _impulse(g1, g2, max(int(n), 0))


@njit(nogil=True, cache=True)
def _impulse(g1, g2, n):
    h = np.zeros(n)
    a = 1.0  # h_k
    b = 0.0  # h_{k-1}
    for k in range(n):
        h[k] = a
        nxt = g1 * a + g2 * b
        b = a
        a = nxt
    return h


def ar_roots(g):
    """Roots of the AR characteristic polynomial ``z^p = g_1 z^{p-1} + ...``.

    Parameters
    ----------
    g : array_like (p,)
        AR coefficients, p = 1 or 2.

    Returns
    -------
    ndarray complex128 (p,)
        Sorted by decreasing real part (the decay root first).
    """
    g = np.atleast_1d(np.asarray(g, dtype=np.float64))
    if g.size == 1:
        return np.array([g[0]], dtype=np.complex128)
    disc = complex(g[0] * g[0] + 4.0 * g[1])
    sq = np.sqrt(disc)
    return np.array([(g[0] + sq) / 2.0, (g[0] - sq) / 2.0], dtype=np.complex128)


def _autocov(y, max_lag):
    """Biased autocovariance ``(1/T) Σ y_t y_{t+k}`` of a centred trace."""
    T = y.size
    return np.array([np.dot(y[:T - k], y[k:]) / T if k < T else 0.0
                     for k in range(max_lag + 1)])


def _clip_ar1(g):
    if not np.isfinite(g):
        return float(np.exp(-1.0 / _FALLBACK_TAU))
    return float(min(max(g, MIN_ROOT), MAX_ROOT))


def _valid_ar2(g1, g2, fallback_g):
    """Map a fitted AR(2) onto one with real roots in [MIN_ROOT, MAX_ROOT] or 0."""
    if not (np.isfinite(g1) and np.isfinite(g2)):
        return np.array([fallback_g, 0.0])
    disc = g1 * g1 + 4.0 * g2
    if disc < 0:
        # complex roots: the nearest valid kernel is a double root of the same
        # modulus (two equal time constants)
        rho = min(max(np.sqrt(-g2), MIN_ROOT), MAX_ROOT)
        return np.array([2.0 * rho, -rho * rho])
    sq = np.sqrt(disc)
    d, r = (g1 + sq) / 2.0, (g1 - sq) / 2.0
    if d < MIN_ROOT:
        return np.array([fallback_g, 0.0])
    d = min(d, MAX_ROOT)
    if r < MIN_ROOT:
        # a negative (or vanishing) rise root makes the kernel oscillate:
        # fall back to AR(1) with the decay root (g2 = 0)
        return np.array([d, 0.0])
    r = min(r, d)
    return np.array([d + r, -d * r])


def estimate_ar(y, p=1, sn=None, lags=5):
    """AR coefficients of a calcium trace from its autocovariance.

    Solves in the least-squares sense the Yule–Walker equations
    ``γ(k) = Σ_i g_i γ(|k − i|)`` for ``k = 1 … p + lags``, where γ is the
    trace's autocovariance with the white-noise variance ``sn²`` taken off
    ``γ(0)`` (noise adds to lag 0 only). The result is then made valid:
    the roots must be real, in ``[MIN_ROOT, MAX_ROOT]``, so that the impulse
    response is positive and decays.

    Parameters
    ----------
    y : array_like (T,)
        The trace (any baseline; it is centred here).
    p : {1, 2}
        Order of the AR process.
    sn : float, optional
        Noise σ; :func:`~caliali_tk.core.noise.trace_noise` of ``y`` by default.
    lags : int
        Number of lags beyond ``p`` used in the fit (clipped to the length).

    Returns
    -------
    g : ndarray float64 (p,)
        For p = 1, ``0 < g < 1``. For p = 2, ``(g1, g2) = (d + r, −d·r)`` with
        decay root d and rise root r, ``0 < r ≤ d < 1``; a fit with complex
        roots becomes the double root of the same modulus, a fit with a
        non-positive rise root becomes ``(d, 0)`` (AR(1) kernel written as
        AR(2)).

    Notes
    -----
    A trace too short or too flat to carry information (fewer than p + 2
    samples, zero variance, or a variance at or below ``sn²``) returns the
    kernel of a 10-frame decay time constant (with a 1-frame rise for p = 2).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> s = rng.random(20000) < 0.05
    >>> c = np.zeros(20000)
    >>> for t in range(1, 20000):
    ...     c[t] = 0.9 * c[t - 1] + s[t]
    >>> g = estimate_ar(c + 0.2 * rng.standard_normal(20000), p=1)
    >>> bool(abs(g[0] - 0.9) < 0.02)
    True
    """
    if p not in (1, 2):
        raise ValueError(f"AR order p must be 1 or 2, got {p!r}")
    y = np.asarray(y, dtype=np.float64).ravel()
    y = y[np.isfinite(y)]
    gd = float(np.exp(-1.0 / _FALLBACK_TAU))
    fallback = np.array([gd]) if p == 1 else np.array([gd + np.exp(-1.0), -gd * np.exp(-1.0)])
    T = y.size
    if T < p + 2:
        return fallback
    if sn is None:
        sn = trace_noise(y)
    sn = float(sn) if np.isfinite(sn) else 0.0
    y = y - y.mean()
    n_lag = int(min(p + max(int(lags), 0), T - 1))
    n_lag = max(n_lag, p)
    acov = _autocov(y, n_lag)
    if acov[0] <= 0:
        return fallback
    acov[0] -= sn * sn
    if acov[0] <= 1e-12 * (acov[0] + sn * sn):
        return fallback
    k = np.arange(1, n_lag + 1)
    A = np.stack([acov[np.abs(k - i)] for i in range(1, p + 1)], axis=1)
    rhs = acov[1:n_lag + 1]
    g, *_ = np.linalg.lstsq(A, rhs, rcond=None)
    if p == 1:
        return np.array([_clip_ar1(g[0])])
    # the AR(1) fit of the same autocovariance is the fallback kernel
    g_ar1 = _clip_ar1(np.dot(acov[1:], acov[:-1]) / np.dot(acov[:-1], acov[:-1]))
    return _valid_ar2(float(g[0]), float(g[1]), g_ar1)
