"""OASIS for AR(1) calcium, and the trace helpers both orders share.

Part of :mod:`caliali_tk.core.deconv` (the model, the problem (P) and what is
exact are described there). :func:`oasis_ar1` pools adjacent violators in one
linear pass on the data shifted by the L1 term (:func:`_lam_shift`); it is
the exact optimum of (P) for ``s_min = 0`` and greedy for ``s_min > 0``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .ar import ar_roots

__all__ = ["oasis_ar1"]


# --------------------------------------------------------------------------
# helpers shared with AR(2): shifted data, distance, input checks
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
def _sq_dist(a, b):
    acc = 0.0
    for t in range(a.shape[0]):
        r = a[t] - b[t]
        acc += r * r
    return acc


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


# --------------------------------------------------------------------------
# AR(1): pool adjacent violators
# --------------------------------------------------------------------------

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
        _ar1_solve(_lam_shift(y, g, 0.0, lam), g, s_min, c, s)
    return c, s


@njit(nogil=True, cache=True)
def _ar1_solve(yt, g, s_min, c, s):
    """:func:`oasis_ar1` on shifted data ``yt`` into c and s (s ≥ 0).

    With ``s_min > 0`` the start of the trace is tried under both rules of
    ``_ar1_pools`` and the better fit is kept.
    """
    _ar1_pools(yt, g, s_min, False, c, s)
    if s_min > 0.0:
        c2 = np.empty_like(c)
        s2 = np.empty_like(s)
        _ar1_pools(yt, g, s_min, True, c2, s2)
        if _sq_dist(yt, c2) < _sq_dist(yt, c):
            c[:] = c2
            s[:] = s2
    for t in range(s.shape[0]):
        s[t] = max(s[t], 0.0)
