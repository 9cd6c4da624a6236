"""deconvolve_trace: the one way the program deconvolves a trace.

:func:`deconvolve_trace` takes a raw trace and a
:class:`~caliali_tk.core.deconv.settings.DeconvSettings`; it estimates the
noise σ and the kernel unless they are given (:func:`estimate_kernel`), then
solves with the settings' method (:func:`~caliali_tk.core.deconv.deconvolve`).

Why the kernel is estimated this way (measured on simulated movies with
known truth, see ``benchmarks/bench_traces.py`` and the README):

- σ from the raw trace's spectrum (0.25–0.5 of the sampling rate) is too
  large at low frame rates, where calcium has power in that band too (×2.9
  at 5 Hz, ×1.4 at 10 Hz for a 0.5 s decay); the spectrum of the residual of
  a first fit is not (within 5 %).
- the autocovariance decay is too slow when spikes come in bursts (1.1 s
  found for 0.5 s); the fit with the spike support fixed
  (:func:`~caliali_tk.core.deconv.kernel.fit_kernel`) finds it within 10 %,
  and the rise too.
"""

from __future__ import annotations

import numpy as np

from caliali_tk.core.noise import trace_noise

from .ar import estimate_ar
from .deconvolve import Deconv, _clean_trace, deconvolve
from .kernel import ar_from_taus, decay_bounds, fit_kernel, kernel_taus
from .settings import DeconvSettings

__all__ = ["deconvolve_trace", "estimate_kernel", "kernel_noise", "SUPPORT_S_MIN", "N_REFINE"]

#: Minimum spike size (σ at the peak) of the fits that find the spike support.
SUPPORT_S_MIN = -3.0
#: Rounds of "find the support, fit the kernel" (it usually settles in 2).
N_REFINE = 3
#: Longer traces have their kernel and σ estimated on their most active
#: window of this many frames (the final solve is on the whole trace).
KERNEL_MAX_FRAMES = 5000
_SETTLED = 0.02  # relative change of the time constants that ends the rounds


def deconvolve_trace(y, settings: DeconvSettings, g=None, sn=None, b=None) -> Deconv:
    """Denoise and deconvolve one trace as ``settings`` say.

    Parameters
    ----------
    y : array_like (T,)
        Raw trace (any baseline).
    settings : DeconvSettings
        ``settings.lam`` (for ``'foopsi'``) is in units of the noise σ.
    g : array_like (p,), optional
        AR coefficients to use as they are (e.g. from an earlier sweep over
        the same neuron); estimated by default.
    sn : float, optional
        Noise σ to use as it is; estimated by default.
    b : float, optional
        Where the baseline search starts (e.g. the baseline an earlier
        sweep found for the same neuron: the search then ends in a step or
        two instead of four or five solves).

    Returns
    -------
    Deconv
        ``c, s, b, g, sn, lam, s_min``.

    Examples
    --------
    >>> from caliali_tk.core.deconv import impulse_response
    >>> rng = np.random.default_rng(0)
    >>> g_true = ar_from_taus(0.5, 0.05, 20.0)
    >>> s = (rng.random(4000) < 0.02) * rng.uniform(1, 2, 4000)
    >>> c = np.convolve(s, impulse_response(g_true, 200))[:4000]
    >>> out = deconvolve_trace(c + 0.05 * rng.standard_normal(4000),
    ...                        DeconvSettings(model="ar2", fps=20.0))
    >>> [round(t, 2) for t in kernel_taus(out.g, 20.0)]
    [0.5, 0.05]
    """
    y = _clean_trace(y)
    if settings.ar_fit == "refined" and g is None:
        g, sn = estimate_kernel(_active_window(y, KERNEL_MAX_FRAMES), settings, sn)
    if sn is None:
        sn = trace_noise(y) if y.size else 0.0
    # p only matters when g is still None: the autocovariance fit of deconvolve
    p = 2 if settings.model == "ar2" else 1
    return deconvolve(y, p=p, g=g, sn=sn, s_min=settings.s_min,
                      method=settings.method, lam=settings.lam * sn, b=b)


def estimate_kernel(y, settings: DeconvSettings, sn=None):
    """AR coefficients and noise σ of a trace, refined on the trace itself.

    Start: σ from the trace's spectrum, the AR(1) autocovariance decay
    clipped to the prior. Then up to :data:`N_REFINE` rounds: deconvolve
    (thresholded at :data:`SUPPORT_S_MIN` σ), re-estimate σ from the
    residual's spectrum (unless ``sn`` is given), and fit the kernel with
    the spike support of that deconvolution fixed
    (:func:`~caliali_tk.core.deconv.kernel.fit_kernel`).

    Parameters
    ----------
    y : ndarray float64 (T,)
        Finite samples.
    settings : DeconvSettings
    sn : float, optional
        Noise σ, used as it is.

    Returns
    -------
    g : ndarray (1,) or (2,)
    sn : float
    """
    fps = settings.fps
    fixed_sn = sn is not None
    sn = float(sn) if fixed_sn else (trace_noise(y) if y.size else 0.0)
    lo, hi = decay_bounds(fps, settings.tau_decay_range)
    tau_d = _clip(kernel_taus(estimate_ar(y, 1, sn), fps)[0], lo, hi)
    tau_r = 0.0
    if y.size < 8 or float(np.ptp(y)) == 0.0:
        return ar_from_taus(tau_d, 0.0, fps), sn
    fitted = False
    for _ in range(N_REFINE):
        d, residual_sn = _support_fit(y, ar_from_taus(tau_d, tau_r, fps), sn)
        if not fixed_sn:
            sn = residual_sn
        free = d.s > 0
        if not free.any():
            break
        new_d, new_r = fit_kernel(y, free, fps, settings.order, (lo, hi), sn,
                                  start=(tau_d, tau_r) if fitted else None)
        fitted = True
        settled = (abs(new_d - tau_d) <= _SETTLED * tau_d
                   and abs(new_r - tau_r) <= _SETTLED * max(tau_r, new_r, 1e-12))
        tau_d, tau_r = new_d, new_r
        if settled:
            break
    return ar_from_taus(tau_d, tau_r, fps), sn


def kernel_noise(y, g) -> float:
    """Noise σ of a trace whose kernel ``g`` is already known.

    As each round of :func:`estimate_kernel` takes it: the spectrum of the
    residual of one fit (thresholded at :data:`SUPPORT_S_MIN` σ) on the
    trace's most active window, not the raw trace's spectrum (too large at
    low frame rates). The extraction's later rounds keep a neuron's kernel
    and take only σ anew, since its footprint, and so its scale, changed.
    """
    y = _active_window(_clean_trace(y), KERNEL_MAX_FRAMES)
    sn = trace_noise(y) if y.size else 0.0
    if y.size < 8 or float(np.ptp(y)) == 0.0:
        return sn
    return _support_fit(y, np.asarray(g, np.float64), sn)[1]


def _support_fit(y, g, sn):
    """The fit that finds the spike support (thresholded at :data:`SUPPORT_S_MIN`
    σ) and the σ of its residual's spectrum: ``(Deconv, σ)``."""
    d = deconvolve(y, g=g, sn=sn, s_min=SUPPORT_S_MIN)
    return d, max(trace_noise(y - d.b - d.c), 1e-3 * sn)


def _active_window(y, n):
    """The ``n`` consecutive samples of y with the largest variance (all of a short y)."""
    if y.size <= n:
        return y
    c1 = np.concatenate([[0.0], np.cumsum(y - y.mean())])
    c2 = np.concatenate([[0.0], np.cumsum((y - y.mean()) ** 2)])
    s1, s2 = c1[n:] - c1[:-n], c2[n:] - c2[:-n]
    start = int(np.argmax(s2 - s1 * s1 / n))
    return y[start:start + n]


def _clip(tau, lo, hi):
    return float(min(max(tau, lo), hi)) if np.isfinite(tau) else float(np.sqrt(lo * hi))
