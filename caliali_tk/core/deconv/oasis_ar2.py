"""OASIS for AR(2) calcium: greedy pooling, then the exact active-set pass.

Part of :mod:`caliali_tk.core.deconv` (the model, the problem (P) and what is
exact are described there). The greedy pass (:func:`_ar2_pools`) is linear in
T and gives a feasible start; for ``s_min = 0`` the active-set pass of
:mod:`caliali_tk.core.deconv.active_set` then makes it exact, for
``s_min > 0`` the pool values are refitted on the greedy spike times.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .ar import impulse_response  # noqa: F401  (used by the oasis_ar2 example)
from .active_set import _active_set, _kkt_tolerances, _refit_support, _spikes
from .oasis_ar1 import _as_float_trace, _check_g, _lam_shift, _sq_dist

__all__ = ["oasis_ar2"]


# --------------------------------------------------------------------------
# numba kernels: impulse-response tables, greedy pooling
# --------------------------------------------------------------------------

@njit(nogil=True, cache=True)
def _ar2_tables(g1, g2, T):
    """``hh[k + 1] = h_k`` (k = −1 … T−1), ``H00[l] = Σ_{k<l} h_k²``,
    ``H01[l] = Σ_{k<l} h_k h_{k−1}`` (l = 0 … T)."""
    hh = np.zeros(T + 2)
    H00 = np.zeros(T + 1)
    H01 = np.zeros(T + 1)
    hh[1] = 1.0
    for k in range(1, T + 1):
        hh[k + 1] = g1 * hh[k] + (g2 * hh[k - 1] if k >= 2 else 0.0)
    for l in range(1, T + 1):
        H00[l] = H00[l - 1] + hh[l] * hh[l]
        H01[l] = H01[l - 1] + hh[l] * hh[l - 1]
    return hh, H00, H01


@njit(nogil=True, cache=True)
def _ar2_pools(yt, g1, g2, s_min, hh, H00, H01, c, s):
    """Greedy pooling for AR(2) on shifted data ``yt``.

    ``hh[k + 1] = h_k`` (``h_{−1} = 0``), ``H00[l] = Σ_{k<l} h_k²``,
    ``H01[l] = Σ_{k<l} h_k h_{k−1}``. Pool i starts at t_i with the values
    ``c_{t_i−1}, c_{t_i−2}`` of the pool before it fixed (``m1``, ``m2``), and
    inside it ``c_{t_i+k} = v h_k + g2 m1 h_{k−1}``. Its value v is the
    least-squares fit of its own data given m1; its spike is
    ``v − g1 m1 − g2 m2``. Merging uses ``h_{a+b} = h_a h_b + g2 h_{a−1} h_{b−1}``
    to update ``Y0 = Σ h_k yt``, ``Y1 = Σ h_{k−1} yt`` in O(1).
    """
    T = yt.shape[0]
    start = np.empty(T + 1, np.int64)
    length = np.empty(T + 1, np.int64)
    Y0 = np.empty(T + 1)
    Y1 = np.empty(T + 1)
    m1 = np.empty(T + 1)
    m2 = np.empty(T + 1)
    val = np.empty(T + 1)
    start[0] = 0
    length[0] = 0
    Y0[0] = 0.0
    Y1[0] = 0.0
    m1[0] = 0.0
    m2[0] = 0.0
    val[0] = 0.0
    n = 1
    for t in range(T):
        i = n - 1
        L = length[i]
        # last two values of the top pool (c at offsets L-1 and L-2)
        if L >= 1:
            a1 = val[i] * hh[L] + g2 * m1[i] * hh[L - 1]
        else:
            a1 = m1[i]
        if L >= 2:
            a2 = val[i] * hh[L - 1] + g2 * m1[i] * hh[L - 2]
        elif L == 1:
            a2 = m1[i]
        else:
            a2 = m2[i]
        start[n] = t
        length[n] = 1
        Y0[n] = yt[t]
        Y1[n] = 0.0
        m1[n] = a1
        m2[n] = a2
        val[n] = yt[t]
        n += 1
        while n > 1:
            i = n - 1
            if val[i] - g1 * m1[i] - g2 * m2[i] >= s_min:
                break
            j = i - 1
            la = length[j]
            if j > 0:
                y0i = Y0[i]
                Y0[j] += hh[la + 1] * y0i + g2 * hh[la] * Y1[i]
                Y1[j] += hh[la] * y0i + g2 * hh[la - 1] * Y1[i]
            length[j] = la + length[i]
            n -= 1
            if j > 0:
                L = length[j]
                val[j] = (Y0[j] - g2 * m1[j] * H01[L]) / H00[L]
    for i in range(n):
        t0 = start[i]
        for k in range(length[i]):
            c[t0 + k] = val[i] * hh[k + 1] + g2 * m1[i] * hh[k]
            s[t0 + k] = 0.0
        if i > 0:
            s[t0] = val[i] - g1 * m1[i] - g2 * m2[i]
    return n


@njit(nogil=True, cache=True)
def _ar2_greedy(yt, g1, g2, s_min, hh, H00, H01, c, s):
    """Greedy pooling into c and s; with ``s_min > 0`` refitted on its spike times."""
    _ar2_pools(yt, g1, g2, s_min, hh, H00, H01, c, s)
    if s_min > 0.0:
        _refit_support(yt, g1, g2, s_min, c, s)


# --------------------------------------------------------------------------
# solver
# --------------------------------------------------------------------------

def oasis_ar2(y, g1, g2, lam=0.0, s_min=0.0, exact=True):
    """OASIS for AR(2) calcium: greedy pooling, then an exact active-set pass.

    Minimises ``½‖y − c‖² + lam·Σ s_t`` with
    ``s_t = c_t − g1 c_{t−1} − g2 c_{t−2}`` (zero state before the trace,
    i.e. ``c = K s``) and ``s_t ≥ 0``; with ``s_min > 0`` every spike is either
    0 or ≥ ``s_min``.

    Parameters
    ----------
    y : array_like (T,)
        Trace, baseline already removed.
    g1, g2 : float
        AR coefficients; for a positive kernel the roots of
        ``z² = g1 z + g2`` should be real and in [0, 1) (see
        :func:`~caliali_tk.core.deconv.ar.estimate_ar`). Unstable kernels are refused.
    lam : float
        L1 penalty on the spikes (≥ 0).
    s_min : float
        Minimum spike size (≥ 0).
    exact : bool
        For ``s_min = 0``, polish the greedy solution to the exact optimum
        (default). ``False`` returns the greedy pooling (the paper's
        approximate AR(2) pass) as is.

    Returns
    -------
    c, s : ndarray float64 (T,)
        Calcium and spikes (``s = G c``), both ≥ 0.

    Notes
    -----
    Greedy pass: inside a pool the calcium is ``v h_k`` plus the free decay of
    the previous pool's last values; each pool's v is its own least-squares
    fit given the previous pool, and a pool whose spike is below ``s_min``
    (0 by default) is merged into the previous one. This is linear in T but not
    optimal for AR(2), because v also shapes the next pool. With
    ``s_min = 0`` (and ``exact``) block principal pivoting then solves the
    convex problem exactly (KKT conditions met to a relative 1e-12; looser,
    scaled with the conditioning, for time constants of hundreds of frames),
    each step being one pentadiagonal solve; should it not converge within
    ``100 + T/10`` steps, the greedy solution is returned. With ``s_min > 0``
    the pool values are refitted by least squares on the greedy spike times
    when all spikes stay ≥ s_min.

    Examples
    --------
    >>> h = impulse_response([1.5, -0.56], 8)
    >>> c, s = oasis_ar2(np.r_[0.0, h[:7]], 1.5, -0.56)
    >>> np.round(s, 6).tolist()
    [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    y = _as_float_trace(y)
    g1, g2 = float(g1), float(g2)
    _check_g(g1, g2)
    lam, s_min = float(lam), float(s_min)
    if lam < 0 or s_min < 0:
        raise ValueError("lam and s_min must be non-negative")
    c, s, _ = _oasis_ar2(y, g1, g2, lam, s_min, exact)
    return c, s


def _oasis_ar2(y, g1, g2, lam, s_min, exact=True, free=None):
    """:func:`oasis_ar2` on checked input; ``free`` (bool (T,)) warm-starts the
    exact pass at that spike support instead of the greedy one. Returns
    ``(c, s, support)``."""
    T = y.size
    c = np.zeros_like(y)
    s = np.zeros_like(y)
    if T == 0:
        return c, s, np.zeros(0, np.bool_)
    yt = _lam_shift(y, g1, g2, lam)
    hh, H00, H01 = _ar2_tables(g1, g2, T)
    if s_min == 0.0 and exact:
        tol_s, tol_mu, max_iter = _kkt_tolerances(yt, g1, g2, hh)
        if free is not None and free.shape == (T,):
            free = free.copy()
            if _active_set(yt, g1, g2, c, free, tol_s, tol_mu, max_iter) <= max_iter:
                _spikes(c, g1, g2, s)
                return np.maximum(c, 0.0), np.maximum(s, 0.0), free
        _ar2_pools(yt, g1, g2, 0.0, hh, H00, H01, c, s)
        c_greedy = c.copy()
        free = s > 0
        if (_active_set(yt, g1, g2, c, free, tol_s, tol_mu, max_iter) > max_iter
                or _sq_dist(yt, c) > _sq_dist(yt, c_greedy)):
            # not converged (or, with the loose tolerances of a very slow
            # kernel, no better): the greedy solution stays
            c = c_greedy
            free = s > 0
        _spikes(c, g1, g2, s)
    else:
        _ar2_greedy(yt, g1, g2, s_min, hh, H00, H01, c, s)
        free = s > 0
    return np.maximum(c, 0.0), np.maximum(s, 0.0), free
