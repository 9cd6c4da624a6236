"""Calcium kernels in seconds, and their fit to a trace with the spike times fixed.

The autocovariance (Yule–Walker) estimate of :func:`~.ar.estimate_ar` is
biased whenever spikes are not white: bursts of firing lengthen the
autocorrelation, so the decay it finds is too slow (about 2× for a 0.5 s
indicator firing in bursts), and an AR(1) fit to data with a rise of a
frame or two is slower still. :func:`fit_kernel` estimates the kernel on the
trace itself instead: given where the spikes are (the support of a first
deconvolution), the best calcium for a kernel g is the least-squares fit to
the trace among all traces that follow the AR dynamics exactly outside the
support; its residual sum of squares, :func:`support_rss`, is minimised over
the decay and rise times (bounded searches in log time), and the support is
found again with the new kernel, a few times. Fixing the support is what
keeps the fit honest: with free spikes a faster kernel always fits better,
because it can follow the noise.

The decay time is bounded by a prior in seconds (``tau_decay_range``) and
by the frame rate (at least half a frame), the rise time by half the decay.
:func:`ar_from_taus` and :func:`kernel_taus` convert between AR coefficients
and time constants.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .ar import ar_roots

__all__ = ["ar_from_taus", "kernel_taus", "support_rss", "fit_kernel",
           "decay_bounds", "MIN_DECAY_FRAMES"]

#: The decay time constant is at least this many frames, whatever the prior.
MIN_DECAY_FRAMES = 0.5
#: The rise time constant is at most this fraction of the decay's.
MAX_RISE_FRACTION = 0.5
#: Shortest rise time constant searched, in frames (its root is e^-20 ≈ 0).
MIN_RISE_FRAMES = 0.05
_LOG_TOL = 0.02  # tolerance of the searches in log time (2 %)
_MAX_SWEEPS = 4  # rounds of the (decay, rise) coordinate search
_NEAR = np.log(1.4)  # half-width (log time) of a search near an earlier fit
_GOLDEN = 0.5 * (3.0 - np.sqrt(5.0))  # golden-section fraction of the searches
_SQRT_EPS = float(np.sqrt(np.finfo(np.float64).eps))
_MAX_EVAL = 500  # evaluations of one search, at most


def ar_from_taus(tau_decay, tau_rise, fps):
    """AR coefficients of a kernel with these time constants (seconds).

    ``tau_rise = 0`` gives AR(1), ``g = [d]``; otherwise AR(2), ``g = [d + r,
    −d·r]`` with roots ``d = exp(−1/(tau_decay·fps))`` and ``r =
    exp(−1/(tau_rise·fps))``.

    Examples
    --------
    >>> ar_from_taus(1.0, 0.0, 10.0).round(4)
    array([0.9048])
    >>> ar_from_taus(1.0, 0.1, 10.0).round(4)
    array([ 1.2727, -0.3329])
    """
    d = float(np.exp(-1.0 / (float(tau_decay) * fps)))
    if tau_rise <= 0:
        return np.array([d])
    r = float(np.exp(-1.0 / (float(tau_rise) * fps)))
    return np.array([d + r, -d * r])


def kernel_taus(g, fps):
    """Decay and rise time constants (seconds) of AR coefficients.

    The inverse of :func:`ar_from_taus` for kernels with real roots in
    (0, 1); the rise time is 0 for AR(1) (or a non-positive rise root) and
    complex roots are described by their modulus. NaN for a non-decaying or
    empty kernel.

    Examples
    --------
    >>> [round(t, 2) for t in kernel_taus([1.2727, -0.3329], 10.0)]
    [1.0, 0.1]
    """
    g = np.atleast_1d(np.asarray(g, dtype=np.float64))
    if g.size == 0 or not np.all(np.isfinite(g)) or g[0] <= 0:
        return float("nan"), float("nan")
    roots = ar_roots(g if g.size == 1 or g[1] != 0 else g[:1])
    d = abs(roots[0]) if abs(roots[0].imag) > 0 else roots[0].real
    r = (abs(roots[1]) if abs(roots[1].imag) > 0 else roots[1].real) if roots.size > 1 else 0.0
    tau = (lambda z: -1.0 / (fps * np.log(z)) if 0 < z < 1 else (0.0 if z <= 0 else np.nan))
    return float(tau(d)), float(tau(r))


def decay_bounds(fps, tau_decay_range):
    """The allowed decay times (s): the prior, at least MIN_DECAY_FRAMES frames."""
    lo, hi = (float(v) for v in tau_decay_range)
    lo = max(lo, MIN_DECAY_FRAMES / fps)
    return lo, max(hi, lo)


@njit(nogil=True, cache=True)
def _support_rss(y, g1, g2, p, free):
    """Residual of the best ``b + c`` with c AR outside ``free`` (see support_rss).

    ``D Dᵀ`` over the kept rows is banded (bandwidth p in the index of the
    kept rows); its LDLᵀ factor and the solves with it run in one sweep
    that keeps only the last two rows (one division per row, no arrays).
    """
    T = y.shape[0]
    c1, c2 = -g1, -g2
    w = 1.0 + c1 + c2  # the AR difference operator applied to a constant
    diag = 1.0 + c1 * c1 + c2 * c2
    e1 = c1 + c1 * c2  # D Dᵀ between kept rows one frame apart
    e2 = c2  # ... and two frames apart
    t1 = t2 = -8  # the two kept rows before: frame, d, 1/d, L⁻¹Dy, L⁻¹D1
    d1 = d2 = r1 = r2 = 1.0
    u1 = u2 = v1 = v2 = 0.0
    l1_prev = 0.0
    a11 = a12 = a22 = 0.0
    n = 0
    for t in range(p, T):
        if free[t]:
            continue
        dy = y[t] + c1 * y[t - 1] + (c2 * y[t - 2] if p == 2 else 0.0)
        gap = t - t1
        m1 = e1 if gap == 1 else (e2 if gap == 2 else 0.0)
        m2 = e2 if t - t2 == 2 else 0.0
        l2 = m2 * r2
        l1 = (m1 - l2 * l1_prev * d2) * r1
        d = max(diag - l1 * l1 * d1 - l2 * l2 * d2, 1e-300)
        u = dy - l1 * u1 - l2 * u2
        v = w - l1 * v1 - l2 * v2
        r = 1.0 / d
        a11 += u * u * r
        a12 += u * v * r
        a22 += v * v * r
        t2, d2, r2, u2, v2 = t1, d1, r1, u1, v1
        t1, d1, r1, u1, v1 = t, d, r, u, v
        l1_prev = l1
        n += 1
    if n == 0:
        return 0.0, float(np.mean(y))
    if a22 <= 1e-12 * max(n, 1):
        return a11, 0.0
    return max(a11 - a12 * a12 / a22, 0.0), a12 / a22


def support_rss(y, g, free):
    """Least-squares fit of ``b + c`` to y, c following the AR kernel off ``free``.

    The calcium may jump (take any spike, of either sign) at the frames
    where ``free`` is True and at the first p frames; everywhere else
    ``c_t = g_1 c_{t−1} + g_2 c_{t−2}``. The constraints ``D c = 0`` make the
    residual ``min ‖y − b − c‖² = (Dy − b D1)ᵀ (D Dᵀ)⁻¹ (Dy − b D1)`` over
    the kept rows of the AR difference operator D, a banded system solved in
    O(T); b is optimal too.

    Parameters
    ----------
    y : array_like (T,)
        The trace.
    g : array_like (p,)
        AR coefficients, p = 1 or 2.
    free : array_like of bool (T,)
        The spike support.

    Returns
    -------
    rss : float
        The residual sum of squares.
    b : float
        The baseline of that fit.
    """
    y = np.ascontiguousarray(np.asarray(y, dtype=np.float64).ravel())
    free = np.ascontiguousarray(np.asarray(free, dtype=np.bool_).ravel())
    g = np.atleast_1d(np.asarray(g, dtype=np.float64))
    g1 = float(g[0])
    g2 = float(g[1]) if g.size > 1 else 0.0
    p = 2 if g2 != 0.0 else 1
    if y.size != free.size:
        raise ValueError(f"trace has {y.size} frames, support {free.size}")
    rss, b = _support_rss(y, g1, g2, p, free)
    return float(rss), float(b)


def fit_kernel(y, free, fps, order, tau_decay_range, sn=0.0, start=None):
    """Decay (and rise) time of the kernel that best fits y given the spike support.

    Minimises :func:`support_rss` over log decay time (bounded by
    :func:`decay_bounds`); for ``order`` 2 or ``'auto'`` also over log rise
    time (between MIN_RISE_FRAMES frames and MAX_RISE_FRACTION of the
    decay), by coordinate descent. ``'auto'`` keeps the rise only when it
    lowers the residual by more than ``sn² · log T`` (the Bayesian
    information criterion's price of one parameter).

    Parameters
    ----------
    y : ndarray (T,)
    free : ndarray of bool (T,)
        Frames where the calcium may jump (spikes).
    fps : float
    order : {1, 2, 'auto'}
    tau_decay_range : (float, float)
        Prior bounds of the decay time, seconds.
    sn : float
        Noise σ (only for ``'auto'``).
    start : (float, float), optional
        Decay and rise times (s) of an earlier fit: each search then starts
        in a bracket of ±40 % around them (widened to the bounds when the
        minimum lies on its edge).

    Returns
    -------
    tau_decay, tau_rise : float
        Seconds; ``tau_rise = 0`` means AR(1).
    """
    d_lo, d_hi = (np.log(v) for v in decay_bounds(fps, tau_decay_range))
    r_min = np.log(MIN_RISE_FRAMES / fps)
    y = np.ascontiguousarray(np.asarray(y, dtype=np.float64).ravel())
    free = np.ascontiguousarray(np.asarray(free, dtype=np.bool_).ravel())
    fps = float(fps)

    def decay(v, near):
        return _search(y, free, fps, False, -np.inf if v is None else v, d_lo, d_hi, near)

    def rise(u, near):
        r_hi = u + np.log(MAX_RISE_FRACTION)
        return _search(y, free, fps, True, u, r_min, r_hi, near) if r_hi > r_min else None

    near_d = np.log(start[0]) if start is not None and start[0] > 0 else None
    near_r = np.log(start[1]) if start is not None and start[1] > 0 else None
    u1, rss1 = decay(None, near_d)
    if order == 1:
        return float(np.exp(u1)), 0.0
    # coordinate descent in (log decay, log rise): the two trade off (a
    # slower decay imitates a rise), so alternate until both settle
    u, v, rss2 = (near_d if near_d is not None else u1), near_r, np.inf
    for _ in range(_MAX_SWEEPS):
        found = rise(u, v)
        if found is None:
            break
        new_v = found[0]
        new_u, rss2 = decay(new_v, u)
        settled = v is not None and max(abs(new_u - u), abs(new_v - v)) <= _LOG_TOL
        u, v = new_u, new_v
        if settled:
            break
    penalty = sn * sn * np.log(max(y.size, 2)) if order == "auto" else 0.0
    if v is not None and rss2 < rss1 - penalty:
        return float(np.exp(u)), float(np.exp(v))
    return float(np.exp(u1)), 0.0


def _search(y, free, fps, vary_rise, other, lo, hi, near=None):
    """Bounded minimum of the support rss in one log time on [lo, hi]: ``(x, rss)``.

    ``vary_rise``: x is the log rise time and ``other`` the log decay time;
    else x is the log decay time and ``other`` the log rise time (−inf: no
    rise, AR(1)). With ``near``, first a search within ±40 % of it, kept
    unless its minimum lies on an inner edge of that bracket.
    """
    if near is not None:
        a, b = max(lo, near - _NEAR), min(hi, near + _NEAR)
        if b - a > 2 * _LOG_TOL:
            x, f = _min_rss(y, free, fps, vary_rise, other, a, b, _LOG_TOL)
            inner_edge = ((x - a < 2 * _LOG_TOL and a > lo)
                          or (b - x < 2 * _LOG_TOL and b < hi))
            if not inner_edge:
                return float(x), float(f)
    x, f = _min_rss(y, free, fps, vary_rise, other, lo, hi, _LOG_TOL)
    return float(x), float(f)


@njit(nogil=True, cache=True)
def _rss_at(y, free, fps, vary_rise, other, x):
    """Support rss of the kernel with one log time x and the other fixed (see _search)."""
    u, v = (other, x) if vary_rise else (x, other)
    d = np.exp(-1.0 / (np.exp(u) * fps))
    if v == -np.inf:
        return _support_rss(y, d, 0.0, 1, free)[0]
    r = np.exp(-1.0 / (np.exp(v) * fps))
    g2 = -d * r
    return _support_rss(y, d + r, g2, 2 if g2 != 0.0 else 1, free)[0]


@njit(nogil=True, cache=True)
def _min_rss(y, free, fps, vary_rise, other, lo, hi, xatol):
    """Brent's bounded minimisation of `_rss_at` over x in [lo, hi]: ``(x, rss)``.

    Golden-section steps, replaced by the vertex of the parabola through
    the three best points whenever that falls inside the bracket and moves
    less than half the step before last; ends when the bracket is within
    ``xatol`` (plus a relative machine-precision term) around the best x.
    """
    a, b = lo, hi
    x = w = v = a + _GOLDEN * (b - a)
    fx = fw = fv = _rss_at(y, free, fps, vary_rise, other, x)
    d = e = 0.0
    for _ in range(_MAX_EVAL):
        m = 0.5 * (a + b)
        tol1 = _SQRT_EPS * abs(x) + xatol / 3.0
        tol2 = 2.0 * tol1
        if abs(x - m) <= tol2 - 0.5 * (b - a):
            break
        golden = True
        if abs(e) > tol1:
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = 2.0 * (q - r)
            if q > 0.0:
                p = -p
            q = abs(q)
            e_before, e = e, d
            if abs(p) < abs(0.5 * q * e_before) and q * (a - x) < p < q * (b - x):
                d = p / q
                if (x + d) - a < tol2 or b - (x + d) < tol2:
                    d = tol1 if m >= x else -tol1
                golden = False
        if golden:
            e = (b - x) if x < m else (a - x)
            d = _GOLDEN * e
        u = x + (d if abs(d) >= tol1 else (tol1 if d >= 0.0 else -tol1))
        fu = _rss_at(y, free, fps, vary_rise, other, u)
        if fu <= fx:
            if u < x:
                b = x
            else:
                a = x
            v, fv, w, fw, x, fx = w, fw, x, fx, u, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
    return x, fx
