"""deconvolve: noise, AR coefficients, baseline and lam around the OASIS solvers.

:func:`deconvolve` is CNMF-E's ``deconvolveCa`` for one trace: it estimates
the noise σ (:func:`~caliali_tk.core.noise.trace_noise`) and the AR coefficients
(:func:`~caliali_tk.core.deconv.ar.estimate_ar`) when they are not given, converts
a minimum spike size in noise units, and finds the baseline and, for the
noise-constrained variant, lam with a safeguarded root finder, each evaluation
one pass of :func:`~caliali_tk.core.deconv.oasis_ar1.oasis_ar1` or
:func:`~caliali_tk.core.deconv.oasis_ar2.oasis_ar2` (:mod:`.root`). With a
minimum spike size, the usual case, the whole baseline search runs in numba
(:func:`_thresholded_b_root`). Re-exported by :mod:`caliali_tk.core.deconv`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from caliali_tk.core.noise import trace_noise

from .ar import estimate_ar, impulse_response
from .oasis_ar1 import _ar1_solve, _check_g, _lam_shift, oasis_ar1
from .oasis_ar2 import _ar2_greedy, _ar2_tables, _oasis_ar2
from .root import X, root_decreasing, root_start, root_step

__all__ = ["deconvolve", "Deconv"]


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
        Noise σ; :func:`~caliali_tk.core.noise.trace_noise` of ``y`` (band ``fs_band``) by default.
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
    sn = _noise_level(y, sn, fs_band)
    g = _ar_coefficients(y, p, g, sn)
    g1 = float(g[0])
    g2 = float(g[1]) if g.size == 2 else 0.0
    hmax = float(np.max(impulse_response([g1, g2], 2000)))
    s_min = float(s_min)
    if s_min < 0:
        s_min = -s_min * sn / hmax
    lam = float(lam) if method == "foopsi" else 0.0
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    b_fixed = 0.0 if b is None else float(b)
    if T == 0:
        e = np.zeros(0)
        return Deconv(e, e.copy(), b_fixed, g, sn, lam, s_min)
    if optimize_b and float(y.max() - y.min()) == 0.0:
        z = np.zeros(T)
        return Deconv(z, z.copy(), float(y[0]), g, sn, lam, s_min)
    b_start = _baseline_init(y, sn) if optimize_b and b is None else b_fixed
    fit = _BaselineFit(y, g1, g2, sn, s_min, hmax, optimize_b, b_start)
    if method == "constrained":
        lam = _noise_constrained_lam(fit)
    b_out, c, s = fit.fit(lam)
    c = np.maximum(np.nan_to_num(c), 0.0)
    s = np.maximum(np.nan_to_num(s), 0.0)
    return Deconv(c, s, float(b_out), g, sn, float(lam), float(s_min))


def _noise_level(y, sn, fs_band) -> float:
    """The given noise σ, checked, or the trace's own (:func:`trace_noise`)."""
    if sn is None:
        sn = trace_noise(y, fs_band) if y.size else 0.0
    sn = float(sn)
    if not np.isfinite(sn) or sn < 0:
        raise ValueError(f"noise level must be finite and >= 0, got {sn}")
    return sn


def _ar_coefficients(y, p, g, sn) -> np.ndarray:
    """The given AR coefficients, checked, or :func:`estimate_ar` of the trace."""
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
    return g


@njit(nogil=True, cache=True)
def _thresholded(z, g1, g2, lam, s_min, hh, H00, H01, c, s):
    """OASIS with spikes of at least ``s_min`` (> 0) on z into c, s (both ≥ 0).

    AR(1) when ``g2 == 0`` (the tables are then unused), else AR(2) with
    the tables of ``_ar2_tables``.
    """
    yt = _lam_shift(z, g1, g2, lam)
    if g2 == 0.0:
        _ar1_solve(yt, g1, s_min, c, s)
        return
    _ar2_greedy(yt, g1, g2, s_min, hh, H00, H01, c, s)
    for t in range(c.shape[0]):
        c[t] = max(c[t], 0.0)
        s[t] = max(s[t], 0.0)


@njit(nogil=True, cache=True)
def _thresholded_b_root(y, g1, g2, lam, s_min, hh, H00, H01, st, c, s):
    """The baseline b with ``mean(y − b − c) = 0`` for `_thresholded` fits.

    The search of :mod:`.root` from the state ``st``, every solve in numba;
    returns b and leaves that b's fit in c and s.
    """
    T = y.shape[0]
    z = np.empty(T)
    b_solved = np.nan
    done = False
    while not done:
        b_solved = st[X]
        for t in range(T):
            z[t] = y[t] - b_solved
        _thresholded(z, g1, g2, lam, s_min, hh, H00, H01, c, s)
        acc = 0.0
        for t in range(T):
            acc += z[t] - c[t]
        done = root_step(st, acc / T)
    b = st[X]
    if b != b_solved:  # the search ended on an earlier end of its bracket
        for t in range(T):
            z[t] = y[t] - b
        _thresholded(z, g1, g2, lam, s_min, hh, H00, H01, c, s)
    return b


class _BaselineFit:
    """One trace's OASIS fits with the baseline b found for each lam.

    Keeps what repeated fits share: the AR(2) active set of the last solve
    (a warm start), the baseline found so far (the next root search starts
    there), and the last solution (the final fit at the same b, lam and
    s_min is not recomputed).
    """

    def __init__(self, y, g1, g2, sn, s_min, hmax, optimize_b, b_start):
        self.y, self.g1, self.g2, self.sn = y, g1, g2, sn
        self.s_min, self.hmax, self.optimize_b = s_min, hmax, optimize_b
        ptp = float(y.max() - y.min())
        self.scale = sn + 1e-3 * ptp + 1e-300
        self.b_lo, self.b_hi = float(y.min()) - ptp - 10.0 * sn, float(y.max())
        self.b = b_start
        self._b_thresholded = None  # b of the 3-sigma fit, used when lam = s_min = 0
        self._warm = {}
        self._last = None  # (key, c, s)
        T = y.size if g2 != 0.0 else 0  # AR(1) needs no tables
        self._tables = _ar2_tables(g1, g2, T)

    def solve(self, z, lam, s_min):
        """OASIS on ``z`` (the trace minus a baseline): ``(c, s)``."""
        if s_min > 0.0:
            c, s = np.empty_like(z), np.empty_like(z)
            _thresholded(z, self.g1, self.g2, lam, s_min, *self._tables, c, s)
            return c, s
        if self.g2 == 0.0:
            return oasis_ar1(z, self.g1, lam, s_min)
        c, s, self._warm[s_min] = _oasis_ar2(z, self.g1, self.g2, lam, s_min, True,
                                             self._warm.get(s_min))
        return c, s

    def _mean_residual(self, b, lam, s_min):
        c, s = self.solve(self.y - b, lam, s_min)
        self._last = ((b, lam, s_min), c, s)
        return float(np.mean(self.y - b - c))

    def _b_root(self, lam, s_min, ftol):
        bracket = (self.b, self.b_lo, self.b_hi, 1e-10 * self.scale, ftol)
        if s_min > 0.0:  # every solve in numba
            c, s = np.empty_like(self.y), np.empty_like(self.y)
            b = _thresholded_b_root(self.y, self.g1, self.g2, lam, s_min, *self._tables,
                                    root_start(*bracket), c, s)
            self._last = ((b, lam, s_min), c, s)
            return b
        return root_decreasing(lambda b: self._mean_residual(b, lam, s_min), *bracket)

    def fit(self, lam, ftol=None):
        """Baseline for this lam (kept as the next start), then ``(b, c, s)``."""
        ftol = 1e-8 * self.scale if ftol is None else ftol
        if self.optimize_b and (lam > 0 or self.s_min > 0):
            self.b = self._b_root(lam, self.s_min, ftol)
        elif self.optimize_b:
            # lam = 0 and no minimum spike size: c would absorb any offset;
            # take b from the hard-threshold fit with 3 sigma spikes instead
            if self._b_thresholded is None:
                self._b_thresholded = (self._b_root(0.0, 3.0 * self.sn / self.hmax, ftol)
                                       if self.sn > 0 else self.b)
            self.b = self._b_thresholded
        if self._last is not None and self._last[0] == (self.b, lam, self.s_min):
            return self.b, self._last[1], self._last[2]
        c, s = self.solve(self.y - self.b, lam, self.s_min)
        return self.b, c, s

    def fix_baseline(self, b):
        """Stop estimating the baseline: b from now on."""
        self.b, self.optimize_b = float(b), False


def _noise_constrained_lam(fit: _BaselineFit) -> float:
    """lam at which ``‖y − b − c‖² = sn²·T`` (0 when the constraint cannot bind).

    Searched in log lam between 0 and the smallest lam giving c = 0; a
    trace whose variance is within the noise gets that lam (c = 0) and its
    mean as the baseline.
    """
    y, sn = fit.y, fit.sn
    T = y.size
    target = sn * sn * T
    base = y - (y.mean() if fit.optimize_b else fit.b)
    lam_max = max(float(np.max(_kt(base, fit.g1, fit.g2))), 0.0)
    if not (lam_max > 0.0 and target > 0.0):
        return 0.0
    if float(np.sum(base ** 2)) <= target:
        # the trace is within the noise: no calcium at all
        fit.fix_baseline(float(y.mean()) if fit.optimize_b else fit.b)
        return lam_max

    def slack(u):
        bv, c, _ = fit.fit(float(np.exp(u)), 1e-4 * fit.scale)
        return target - float(np.sum((y - bv - c) ** 2))

    # first guess: lam at which the kernel-filtered noise, of std sn·‖h‖, is
    # one sigma; then search in log lam
    lam0 = sn * float(np.sqrt(np.sum(impulse_response([fit.g1, fit.g2], min(T, 5000)) ** 2)))
    u_lo, u_hi = np.log(lam_max) - 18.0, np.log(lam_max)
    u = root_decreasing(slack, min(max(np.log(lam0), u_lo), u_hi), u_lo, u_hi,
                         1e-6, 1e-3 * target, step0=np.log(4.0))
    return float(np.exp(u))
