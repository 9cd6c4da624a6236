"""The exact pass of OASIS AR(2): block principal pivoting on the spikes.

Part of :mod:`caliali_tk.core.deconv`. With ``G`` the banded matrix taking the
calcium to its spikes (``s = G c``), :func:`_active_set` solves
``min ½‖yt − c‖²`` s.t. ``G c ≥ 0`` exactly, each step a least squares with
spikes free only on a support (:func:`_ls_on_support`, one pentadiagonal
solve, O(T)). Also here: the tolerances of that pass, the least-squares refit
of the ``s_min > 0`` greedy solution, and :func:`objective`, the value of (P).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .oasis_ar1 import _sq_dist

__all__ = ["objective"]


# --------------------------------------------------------------------------
# numba kernels (one file: _active_set and _refit_support call the others)
# --------------------------------------------------------------------------

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


@njit(nogil=True, cache=True)
def _refit_support(yt, g1, g2, s_min, c, s):
    """Least squares on the greedy spike times, kept if every spike ≥ s_min."""
    T = yt.shape[0]
    active = s > 0
    z = np.empty(T)
    mu = np.empty(T)
    _ls_on_support(yt, g1, g2, active, z, mu, np.empty(T, np.int64), np.empty(T),
                   np.empty(T), np.empty(T), np.empty(T))
    sz = np.empty(T)
    _spikes(z, g1, g2, sz)
    for t in range(T):
        if active[t] and sz[t] < s_min:
            return
    if _sq_dist(yt, z) <= _sq_dist(yt, c):
        for t in range(T):
            c[t] = z[t]
            s[t] = sz[t] if active[t] else 0.0


# --------------------------------------------------------------------------
# around the kernels
# --------------------------------------------------------------------------

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
