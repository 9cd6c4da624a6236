"""OASIS deconvolution of calcium traces (AR(1) and AR(2)).

Model (Friedrich, Zhou & Paninski 2017, "Fast online deconvolution of
calcium imaging data"): ``y_t = b + c_t + noise`` with the calcium an AR(p)
process driven by non-negative spikes,

    s_t = c_t − g_1 c_{t−1} − g_2 c_{t−2} ≥ 0,   c_{−1} = c_{−2} = 0,

i.e. ``c = K s`` with K the lower-triangular Toeplitz matrix of the impulse
response. The solvers minimise

    ½ ‖y − c‖² + lam · Σ_t s_t                                   (P)

over c, with either ``s_t ≥ 0`` (convex) or, when ``s_min > 0``, every spike
either 0 or at least ``s_min`` (the "hard threshold" variant, non-convex).

What is exact and what is not:

- :func:`oasis_ar1`, ``s_min = 0``: exact optimum of (P) in one linear pass
  (pool adjacent violators; the L1 term only shifts the data, because
  ``Σ s_t`` is linear in c).
- :func:`oasis_ar2`, ``s_min = 0``: exact optimum of (P). A linear greedy
  pooling pass (each pool's value fitted given the end of the pool before
  it, as in the paper's AR(2) version) gives a feasible start; an active-set
  pass (block principal pivoting) on the same problem then makes it exact:
  KKT conditions met to a relative 1e-12 (each step one pentadiagonal solve,
  O(T); 2–30 steps for T = 3000). For very slow kernels (time constants of
  hundreds of frames) the dual solve is ill-conditioned, the tolerance is
  loosened accordingly, and if the iteration cap is hit the greedy solution
  is returned.
- ``s_min > 0`` (both orders): greedy. Adjacent pools are merged while the
  spike between them is below ``s_min``; for AR(1) the pool values are then
  the least-squares optimum for the chosen spike times, for AR(2) they are
  refitted on the chosen times when that keeps every spike ≥ s_min. The
  spike times are not guaranteed globally optimal (the tests compare with an
  exhaustive search on short traces: optimal on clean traces, and never worse
  than thresholding the exact s_min = 0 solution and refitting).

:func:`deconvolve` wraps both with the estimation of the noise (PSD), the
AR coefficients (autocovariance), the baseline and, for the noise-constrained
variant, lam.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .ar import ar_roots, estimate_ar, impulse_response, noise_psd, noise_psd_rows

__all__ = ["oasis_ar1", "oasis_ar2", "deconvolve", "Deconv", "objective",
           "noise_psd", "noise_psd_rows", "estimate_ar", "impulse_response"]


# --------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------

@njit(nogil=True, cache=True)
def _lam_shift(y, g1, g2, lam):
    """``y − lam · Gᵀ1``: Σ s_t = (Gᵀ1)ᵀ c, so the L1 term shifts the data."""
    T = y.shape[0]
    out = np.empty(T)
    for t in range(T):
        w = 1.0
        if t + 1 < T:
            w -= g1
        if t + 2 < T:
            w -= g2
        out[t] = y[t] - lam * w
    return out


@njit(nogil=True, cache=True)
def _ar1_pools(yt, g, s_min, free_first, c, s):
    """Pool adjacent violators for AR(1) on shifted data ``yt``.

    Pool i covers ``[start, start + len)`` with ``c = v g^k`` inside; its
    least-squares value is ``v = Σ yt g^k / Σ g^2k``. A pool whose spike
    over its predecessor is below ``s_min`` merges into it. Pool 0 is a zero
    pool (value fixed at 0, c_{−1} = 0). With ``free_first`` the first real
    pool merges into it only when its value is negative, and afterwards, if
    its value is below ``s_min``, it becomes 0 or ``s_min``, whichever fits
    better (``s_min`` only if the next spike stays ≥ ``s_min``); otherwise it
    merges like any other pool. (For ``s_min = 0`` both are the same.) Fills
    c and s; returns the pool count.
    """
    T = yt.shape[0]
    start = np.empty(T + 1, np.int64)
    length = np.empty(T + 1, np.int64)
    num = np.empty(T + 1)   # Σ yt_{start+k} g^k
    den = np.empty(T + 1)   # Σ g^{2k}
    gl = np.empty(T + 1)    # g^len
    val = np.empty(T + 1)
    start[0] = 0
    length[0] = 0
    num[0] = 0.0
    den[0] = 1.0
    gl[0] = 1.0
    val[0] = 0.0
    n = 1
    for t in range(T):
        start[n] = t
        length[n] = 1
        num[n] = yt[t]
        den[n] = 1.0
        gl[n] = g
        val[n] = yt[t]
        n += 1
        while n > 1:
            i = n - 1
            j = i - 1
            if val[i] >= gl[j] * val[j] + (0.0 if (j == 0 and free_first) else s_min):
                break
            # merge pool i into pool j
            num[j] += gl[j] * num[i]
            den[j] += gl[j] * gl[j] * den[i]
            gl[j] *= gl[i]
            length[j] += length[i]
            n -= 1
            if j > 0:
                val[j] = num[j] / den[j]
    if n > 1 and val[1] < s_min:
        ok = n == 2 or val[2] >= gl[1] * s_min + s_min
        if ok and s_min * den[1] < 2.0 * num[1]:
            val[1] = s_min
        else:
            val[1] = 0.0
    for i in range(n):
        v = val[i]
        t0 = start[i]
        for k in range(length[i]):
            c[t0 + k] = v
            s[t0 + k] = 0.0
            v *= g
        if i > 0:
            s[t0] = val[i] - (c[t0 - 1] * g if t0 > 0 else 0.0)
    return n


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
def _spikes(c, g1, g2, out):
    """``out = G c``: s_t = c_t − g1 c_{t−1} − g2 c_{t−2} (zero state before 0)."""
    T = c.shape[0]
    for t in range(T):
        v = c[t]
        if t >= 1:
            v -= g1 * c[t - 1]
        if t >= 2:
            v -= g2 * c[t - 2]
        out[t] = v


@njit(nogil=True, cache=True)
def _ls_on_support(yt, g1, g2, active, z, mu, idx, d, l1, l2, rhs):
    """Least squares with spikes allowed only where ``active``.

    Minimises ``½‖yt − z‖²`` subject to ``(G z)_t = 0`` for every inactive t.
    Stationarity gives ``z = yt + G_Nᵀ μ_N`` with ``(G_N G_Nᵀ) μ_N = −G_N yt``;
    ``G_N G_Nᵀ`` is a principal submatrix of the pentadiagonal ``G Gᵀ``, so it
    is pentadiagonal too and solved by a banded LDLᵀ in O(T). ``mu`` (zero
    where active) are the multipliers of the constraints ``s_t ≥ 0``.
    """
    T = yt.shape[0]
    m = 0
    for t in range(T):
        mu[t] = 0.0
        if not active[t]:
            idx[m] = t
            m += 1
    for a in range(m):
        t = idx[a]
        diag = 1.0
        if t >= 1:
            diag += g1 * g1
        if t >= 2:
            diag += g2 * g2
        e1 = 0.0
        e2 = 0.0
        if a >= 1:
            gap = t - idx[a - 1]
            if gap == 1:
                e1 = -g1 + (g1 * g2 if t >= 2 else 0.0)
            elif gap == 2:
                e1 = -g2
        if a >= 2 and t - idx[a - 2] == 2:
            e2 = -g2
        # banded LDL^T, row a
        lv2 = 0.0
        if a >= 2:
            lv2 = e2 / d[a - 2]
        lv1 = 0.0
        if a >= 1:
            lv1 = e1
            if a >= 2:
                lv1 -= lv2 * l1[a - 1] * d[a - 2]
            lv1 /= d[a - 1]
        dv = diag
        if a >= 1:
            dv -= lv1 * lv1 * d[a - 1]
        if a >= 2:
            dv -= lv2 * lv2 * d[a - 2]
        d[a] = dv
        l1[a] = lv1
        l2[a] = lv2
        # right-hand side -(G yt)_t, forward substitution on the fly
        r = yt[t]
        if t >= 1:
            r -= g1 * yt[t - 1]
        if t >= 2:
            r -= g2 * yt[t - 2]
        r = -r
        if a >= 1:
            r -= lv1 * rhs[a - 1]
        if a >= 2:
            r -= lv2 * rhs[a - 2]
        rhs[a] = r
    for a in range(m - 1, -1, -1):
        x = rhs[a] / d[a]
        if a + 1 < m:
            x -= l1[a + 1] * rhs[a + 1]
        if a + 2 < m:
            x -= l2[a + 2] * rhs[a + 2]
        rhs[a] = x
        mu[idx[a]] = x
    for t in range(T):
        v = yt[t] + mu[t]
        if t + 1 < T:
            v -= g1 * mu[t + 1]
        if t + 2 < T:
            v -= g2 * mu[t + 2]
        z[t] = v


@njit(nogil=True, cache=True)
def _sq_dist(a, b):
    acc = 0.0
    for t in range(a.shape[0]):
        r = a[t] - b[t]
        acc += r * r
    return acc


@njit(nogil=True, cache=True)
def _active_set(yt, g1, g2, c, free, tol_s, tol_mu, max_iter):
    """Exact ``min ½‖yt − c‖²`` s.t. ``G c ≥ 0``, warm-started at support ``free``.

    Block principal pivoting (Júdice & Pires; Kim & Park's NNLS variant) in the
    spike variables: solve the least squares with spikes free on the support
    F and zero elsewhere; a spike < 0 on F or a multiplier < 0 off F is
    infeasible; swap all infeasible times while their number drops (with 3
    extra chances), else swap only the last one (the backup rule, which
    guarantees termination). Stops at the KKT point: spikes ≥ −tol_s on F,
    multipliers ≥ −tol_mu off F. On success overwrites c and leaves the final
    support in ``free``; returns the number of solves (``max_iter + 1`` if it
    did not converge, c then unchanged).
    """
    T = yt.shape[0]
    z = np.empty(T)
    mu = np.empty(T)
    sz = np.empty(T)
    idx = np.empty(T, np.int64)
    d = np.empty(T)
    l1 = np.empty(T)
    l2 = np.empty(T)
    rhs = np.empty(T)
    n_inf_best = T + 1
    chances = 3
    for it in range(max_iter):
        _ls_on_support(yt, g1, g2, free, z, mu, idx, d, l1, l2, rhs)
        _spikes(z, g1, g2, sz)
        n_inf = 0
        last = -1
        for t in range(T):
            if (free[t] and sz[t] < -tol_s) or (not free[t] and mu[t] < -tol_mu):
                n_inf += 1
                last = t
        if n_inf == 0:
            for t in range(T):
                c[t] = z[t]
            return it + 1
        if n_inf < n_inf_best:
            n_inf_best = n_inf
            chances = 3
            swap_all = True
        elif chances > 0:
            chances -= 1
            swap_all = True
        else:
            swap_all = False
        if swap_all:
            for t in range(T):
                if free[t]:
                    if sz[t] < -tol_s:
                        free[t] = False
                elif mu[t] < -tol_mu:
                    free[t] = True
        else:
            free[last] = not free[last]
    return max_iter + 1


# --------------------------------------------------------------------------
# public solvers
# --------------------------------------------------------------------------

def _as_float_trace(y):
    y = np.ascontiguousarray(np.asarray(y, dtype=np.float64).ravel())
    if not np.all(np.isfinite(y)):
        raise ValueError("the trace contains NaN or infinite values")
    return y


def _check_g(g1, g2):
    if not (np.isfinite(g1) and np.isfinite(g2)):
        raise ValueError(f"AR coefficients must be finite, got ({g1}, {g2})")
    if np.any(np.abs(ar_roots([g1, g2])) > 1.0 + 1e-9):
        raise ValueError(f"AR({g1}, {g2}) is unstable (a root outside the unit circle)")


def oasis_ar1(y, g, lam=0.0, s_min=0.0):
    """OASIS for AR(1) calcium: pool adjacent violators in one linear pass.

    Minimises ``½‖y − c‖² + lam·Σ s_t`` with ``s_t = c_t − g c_{t−1}``
    (``s_0 = c_0``) and ``s_t ≥ 0``; with ``s_min > 0`` every spike is either
    0 or ≥ ``s_min``.

    Parameters
    ----------
    y : array_like (T,)
        Trace, baseline already removed.
    g : float
        AR coefficient, ``0 ≤ g ≤ 1``.
    lam : float
        L1 penalty on the spikes (≥ 0).
    s_min : float
        Minimum spike size (≥ 0).

    Returns
    -------
    c : ndarray float64 (T,)
        Denoised calcium, ≥ 0.
    s : ndarray float64 (T,)
        Spikes, ``s_t = c_t − g c_{t−1}``, ≥ 0 (≥ s_min where non-zero,
        except round-off).

    Notes
    -----
    Exact for ``s_min = 0``: the penalty is linear in c, so it shifts the data
    (``y_t − lam(1 − g)``, last sample ``y_T − lam``), and in the variables
    ``u_t = c_t / g^t`` the problem is a weighted isotonic regression with a
    lower bound, solved exactly by pooling. For ``s_min > 0`` pools merge while
    the jump between them is below ``s_min`` (greedy, the paper's
    hard-threshold variant; values are the least-squares optimum for the
    resulting spike times). Two passes that differ only in how the first pool
    is treated (see ``_ar1_pools``) are run and the better fit is kept.

    Examples
    --------
    >>> c, s = oasis_ar1([0, 0, 1.0, 0.5, 0.25, 0.125], 0.5)
    >>> np.round(s, 6).tolist()
    [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    """
    y = _as_float_trace(y)
    g = float(g)
    if not (0.0 <= g <= 1.0):
        raise ValueError(f"AR(1) coefficient must be in [0, 1], got {g}")
    lam, s_min = float(lam), float(s_min)
    if lam < 0 or s_min < 0:
        raise ValueError("lam and s_min must be non-negative")
    c = np.zeros_like(y)
    s = np.zeros_like(y)
    if y.size:
        yt = _lam_shift(y, g, 0.0, lam)
        _ar1_pools(yt, g, s_min, False, c, s)
        if s_min > 0.0:
            # the start of the trace: try the other rule, keep the better fit
            c2 = np.zeros_like(y)
            s2 = np.zeros_like(y)
            _ar1_pools(yt, g, s_min, True, c2, s2)
            if _sq_dist(yt, c2) < _sq_dist(yt, c):
                c, s = c2, s2
    return c, np.maximum(s, 0.0)


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
        :func:`~caliali_tk.core.ar.estimate_ar`). Unstable kernels are refused.
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


def _kkt_tolerances(yt, g1, g2, hh):
    """Tolerances and iteration cap of the exact pass.

    The multipliers come from a solve with ``G_N G_Nᵀ``, whose condition
    number is at most ``κ(G)²``, ``κ(G) ≤ ‖G‖·‖K‖ ≤ (1 + |g1| + |g2|)·Σ_k |h_k|``
    (h over the trace length); the relative tolerance grows with it (1e-12 for
    ordinary kernels, looser for time constants of hundreds of frames).
    """
    ymax = float(np.max(np.abs(yt))) + 1e-300
    hsum = float(np.sum(np.abs(hh)))
    kappa = (1.0 + abs(g1) + abs(g2)) * hsum
    rel = min(max(1e-12, 1e-15 * kappa * kappa), 1e-4)
    tol_s = rel * ymax
    tol_mu = 10.0 * rel * ymax * hsum
    return tol_s, tol_mu, 100 + yt.size // 10


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
        _ar2_pools(yt, g1, g2, s_min, hh, H00, H01, c, s)
        if s_min > 0.0:
            _refit_support(yt, g1, g2, s_min, c, s)
        free = s > 0
    return np.maximum(c, 0.0), np.maximum(s, 0.0), free


def _refit_support(yt, g1, g2, s_min, c, s):
    """Least squares on the greedy spike times, kept if every spike ≥ s_min."""
    T = yt.size
    active = s > 0
    z = np.empty(T)
    mu = np.empty(T)
    work = [np.empty(T) for _ in range(4)]
    _ls_on_support(yt, g1, g2, active, z, mu, np.empty(T, np.int64), *work)
    sz = np.empty(T)
    _spikes(z, g1, g2, sz)
    if np.all(sz[active] >= s_min) and _sq_dist(yt, z) <= _sq_dist(yt, c):
        sz[~active] = 0.0
        c[:] = z
        s[:] = sz


def objective(y, c, g, lam=0.0):
    """Value of ``½‖y − c‖² + lam·Σ s_t`` with ``s = G c`` (for tests, tuning).

    Parameters
    ----------
    y, c : array_like (T,)
        Data (baseline removed) and calcium.
    g : array_like (p,)
        AR coefficients.
    lam : float
        L1 penalty.

    Returns
    -------
    float
    """
    y = np.asarray(y, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    g = np.atleast_1d(np.asarray(g, dtype=np.float64))
    s = np.empty_like(c)
    _spikes(c, float(g[0]), float(g[1]) if g.size > 1 else 0.0, s)
    return 0.5 * float(np.sum((y - c) ** 2)) + lam * float(np.sum(s))


# --------------------------------------------------------------------------
# deconvolve: noise, AR coefficients, baseline and lam around the solvers
# --------------------------------------------------------------------------

@njit(nogil=True, cache=True)
def _kt(v, g1, g2):
    """``Kᵀ v``: q_t = v_t + g1 q_{t+1} + g2 q_{t+2} (backward filter)."""
    T = v.shape[0]
    q = np.empty(T)
    for t in range(T - 1, -1, -1):
        x = v[t]
        if t + 1 < T:
            x += g1 * q[t + 1]
        if t + 2 < T:
            x += g2 * q[t + 2]
        q[t] = x
    return q


@dataclass
class Deconv:
    """Result of :func:`deconvolve`.

    Attributes
    ----------
    c : ndarray float64 (T,)
        Denoised calcium without the baseline, ≥ 0 (``y ≈ b + c``).
    s : ndarray float64 (T,)
        Spikes, ``s_t = c_t − Σ g_i c_{t−i}``, ≥ 0.
    b : float
        Baseline.
    g : ndarray float64 (p,)
        AR coefficients used.
    sn : float
        Noise σ used.
    lam : float
        L1 penalty used (found, for ``method='constrained'``).
    s_min : float
        Minimum spike size used, in the units of ``s`` (0: none).
    """

    c: np.ndarray
    s: np.ndarray
    b: float
    g: np.ndarray
    sn: float
    lam: float
    s_min: float


def _baseline_init(y, sn):
    """Baseline guess: 15th percentile lifted by the noise (1.036 σ), ≤ median."""
    return float(min(np.percentile(y, 15) + 1.0364 * sn, np.median(y)))


def _root_decreasing(f, x0, lo, hi, xtol, ftol, step0=None, max_eval=60):
    """Root of a non-increasing ``f`` on [lo, hi], starting at x0.

    First a step of ``step0`` (default ``|f(x0)|``, exact when the slope is
    −1, as it is for the baseline when c does not move) towards the root,
    then secant extrapolation (steps at most 4× the last) until the sign
    changes, then the Illinois variant of regula falsi. Returns lo / hi when
    f keeps its sign up to the bound.
    """
    xp, fp = x0, f(x0)
    n = 1
    if abs(fp) <= ftol:
        return x0
    a = fa = bb = fb = None
    if fp > 0:
        a, fa = xp, fp
    else:
        bb, fb = xp, fp
    step = abs(fp) if step0 is None else float(step0)
    x = min(max(xp + (step if fp > 0 else -step), lo), hi)
    while a is None or bb is None:
        fx = f(x)
        n += 1
        if abs(fx) <= ftol:
            return x
        if fx > 0:
            a, fa = x, fx
        else:
            bb, fb = x, fx
        if a is not None and bb is not None:
            break
        if x <= lo or x >= hi or n >= max_eval:
            return x
        last = abs(x - xp)
        slope = (fx - fp) / (x - xp) if x != xp else 0.0
        if slope < 0:
            dx = -fx / slope
            dx = np.sign(dx) * min(max(abs(dx), xtol), 4.0 * last)
        else:
            dx = (2.0 * last) if fx > 0 else (-2.0 * last)
        xp, fp = x, fx
        x = min(max(x + dx, lo), hi)
    side = 0
    x = a
    while n < max_eval and abs(bb - a) > xtol:
        x = bb - fb * (bb - a) / (fb - fa)
        if not (min(a, bb) < x < max(a, bb)):
            x = 0.5 * (a + bb)
        fx = f(x)
        n += 1
        if abs(fx) <= ftol:
            break
        if fx > 0:
            a, fa = x, fx
            if side == 1:
                fb *= 0.5
            side = 1
        else:
            bb, fb = x, fx
            if side == -1:
                fa *= 0.5
            side = -1
    return x


def _clean_trace(y):
    y = np.array(y, dtype=np.float64).ravel()
    bad = ~np.isfinite(y)
    if bad.any():
        y[bad] = np.median(y[~bad]) if (~bad).any() else 0.0
    return y


def deconvolve(y, p=1, g=None, sn=None, s_min=0.0, optimize_b=True,
               method="thresholded", lam=0.0, b=None, fs_band=(0.25, 0.5)):
    """Denoise and deconvolve one calcium trace (CNMF-E's ``deconvolveCa``).

    Solves ``min ½‖y − b − c‖² + lam·Σ s_t`` over the calcium c (AR(p),
    spikes ``s ≥ 0``) and, with ``optimize_b``, the baseline b, by
    :func:`oasis_ar1` / :func:`oasis_ar2`.

    Parameters
    ----------
    y : array_like (T,)
        Raw trace (``C_raw``). Non-finite samples are replaced by the median
        of the others.
    p : {1, 2}
        AR order (ignored when ``g`` is given: ``p = len(g)``).
    g : array_like (p,), optional
        AR coefficients; :func:`estimate_ar` of ``y`` by default.
    sn : float, optional
        Noise σ; :func:`noise_psd` of ``y`` (band ``fs_band``) by default.
    s_min : float
        Minimum spike size. ``> 0``: in the units of ``s``; ``< 0``: in noise
        units, ``|s_min|·sn`` measured at the peak of the calcium response
        (a spike must raise c by at least ``|s_min|`` σ; for AR(1) that is
        ``s ≥ |s_min|·sn``, for AR(2) ``s ≥ |s_min|·sn / max h``). CNMF-E's
        ``smin = -5`` is ``s_min=-5``. ``0``: none.
    optimize_b : bool
        Estimate the baseline jointly; otherwise ``b`` (default 0) is fixed.
    method : {'thresholded', 'foopsi', 'constrained'}
        ``'thresholded'``: ``lam = 0`` and the minimum spike size ``s_min``;
        ``'foopsi'``: the given ``lam`` (and ``s_min`` if set);
        ``'constrained'``: ``lam`` chosen so that ``‖y − b − c‖² = sn²·T``
        (the noise constraint; ``s_min`` applies too).
    lam : float
        L1 penalty for ``'foopsi'``.
    b : float, optional
        The baseline when ``optimize_b`` is False (default 0); the starting
        guess when it is True.
    fs_band : (float, float)
        Band of the noise estimate.

    Returns
    -------
    Deconv
        ``c, s, b, g, sn, lam, s_min`` (see :class:`Deconv`).

    Notes
    -----
    Baseline: with ``lam > 0`` or ``s_min > 0`` the optimal b for the spikes
    found satisfies ``mean(y − b − c) = 0``; it is found by a safeguarded
    regula falsi on that mean residual (each evaluation one OASIS pass; for
    ``lam > 0, s_min = 0`` the joint problem is convex and this is its exact
    optimum). With ``lam = 0`` and ``s_min = 0`` the joint problem has no
    useful optimum (c absorbs any offset), and b is the robust guess: 15th
    percentile plus 1.036 σ, at most the median. ``'constrained'``: lam by the
    same root finder between 0 and the smallest lam giving c = 0 (a trace
    whose variance is within the noise gets c = 0).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = (rng.random(2000) < 0.02) * 1.0
    >>> c = np.zeros(2000)
    >>> for t in range(1, 2000):
    ...     c[t] = 0.95 * c[t - 1] + s[t]
    >>> out = deconvolve(3.0 + c + 0.1 * rng.standard_normal(2000), s_min=-4)
    >>> bool(np.corrcoef(out.c, c)[0, 1] > 0.95), round(out.b, 1)
    (True, 3.0)
    """
    if method not in ("thresholded", "foopsi", "constrained"):
        raise ValueError(f"unknown deconvolution method {method!r}")
    y = _clean_trace(y)
    T = y.size
    if sn is None:
        sn = noise_psd(y, fs_band) if T else 0.0
    sn = float(sn)
    if not np.isfinite(sn) or sn < 0:
        raise ValueError(f"noise level must be finite and >= 0, got {sn}")
    if g is None:
        g = estimate_ar(y, p, sn)
    g = np.atleast_1d(np.asarray(g, dtype=np.float64)).copy()
    if g.size not in (1, 2):
        raise ValueError(f"AR coefficients must have 1 or 2 entries, got {g.size}")
    g1 = float(g[0])
    g2 = float(g[1]) if g.size == 2 else 0.0
    _check_g(g1, g2)
    if g2 == 0.0 and not (0.0 <= g1 <= 1.0):
        raise ValueError(f"AR(1) coefficient must be in [0, 1], got {g1}")
    s_min = float(s_min)
    hmax = float(np.max(impulse_response([g1, g2], 2000)))
    if s_min < 0:
        s_min = -s_min * sn / hmax
    lam = float(lam) if method == "foopsi" else 0.0
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    b_fixed = 0.0 if b is None else float(b)
    if T == 0:
        e = np.zeros(0)
        return Deconv(e, e.copy(), b_fixed, g, sn, lam, s_min)

    warm = {}

    def solve(z, lam_, s_min_):
        if g2 == 0.0:
            return oasis_ar1(z, g1, lam_, s_min_)
        c_, s_, warm[s_min_] = _oasis_ar2(z, g1, g2, lam_, s_min_, True, warm.get(s_min_))
        return c_, s_

    ptp = float(y.max() - y.min())
    if optimize_b and ptp == 0.0:
        z = np.zeros(T)
        return Deconv(z, z.copy(), float(y[0]), g, sn, lam, s_min)

    scale = sn + 1e-3 * ptp + 1e-300
    b_lo, b_hi = float(y.min()) - ptp - 10.0 * sn, float(y.max())
    if optimize_b and b is None:
        b_fixed = _baseline_init(y, sn)
    state = {"b": b_fixed, "b0": None}

    last = {}

    def b_root(lam_, s_min_, ftol):
        def mean_res(bv):
            c_, s_ = solve(y - bv, lam_, s_min_)
            last.update(key=(bv, lam_, s_min_), c=c_, s=s_)
            return float(np.mean(y - bv - c_))
        return _root_decreasing(mean_res, state["b"], b_lo, b_hi, 1e-10 * scale, ftol)

    def fit_b(lam_, ftol=1e-8 * scale):
        """Baseline for this lam (updates state['b']); returns (b, c, s)."""
        if optimize_b and (lam_ > 0 or s_min > 0):
            state["b"] = b_root(lam_, s_min, ftol)
        elif optimize_b:
            # lam = 0 and no minimum spike size: c would absorb any offset;
            # take b from the hard-threshold fit with 3 sigma spikes instead
            if state["b0"] is None:
                state["b0"] = b_root(0.0, 3.0 * sn / hmax, ftol) if sn > 0 else state["b"]
            state["b"] = state["b0"]
        if last.get("key") == (state["b"], lam_, s_min):
            return state["b"], last["c"], last["s"]
        c_, s_ = solve(y - state["b"], lam_, s_min)
        return state["b"], c_, s_

    if method == "constrained":
        target = sn * sn * T
        base = y - (y.mean() if optimize_b else b_fixed)
        lam_max = max(float(np.max(_kt(base, g1, g2))), 0.0)
        if lam_max > 0.0 and target > 0.0 and float(np.sum(base ** 2)) > target:
            def slack(u):
                bv, c_, _ = fit_b(float(np.exp(u)), 1e-4 * scale)
                return target - float(np.sum((y - bv - c_) ** 2))

            # first guess: lam at which the kernel-filtered noise, of std
            # sn·‖h‖, is one sigma; then search in log lam
            lam0 = sn * float(np.sqrt(np.sum(impulse_response([g1, g2], min(T, 5000)) ** 2)))
            u_lo, u_hi = np.log(lam_max) - 18.0, np.log(lam_max)
            u = _root_decreasing(slack, min(max(np.log(lam0), u_lo), u_hi), u_lo, u_hi,
                                 1e-6, 1e-3 * target, step0=np.log(4.0))
            lam = float(np.exp(u))
        elif lam_max > 0.0 and target > 0.0:
            # the trace is within the noise: no calcium at all
            lam = lam_max
            state["b"] = float(y.mean()) if optimize_b else b_fixed
            optimize_b = False
            b_fixed = state["b"]
    b_out, c, s = fit_b(lam)
    c = np.maximum(np.nan_to_num(c), 0.0)
    s = np.maximum(np.nan_to_num(s), 0.0)
    return Deconv(c, s, float(b_out), g, sn, float(lam), float(s_min))
