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

The package's modules:

- :mod:`.ar`: AR coefficients from the autocovariance (:func:`estimate_ar`),
  impulse responses and AR roots;
- :mod:`.oasis_ar1`: :func:`oasis_ar1` and the trace helpers both orders
  share;
- :mod:`.oasis_ar2`: :func:`oasis_ar2`, the greedy AR(2) pooling;
- :mod:`.active_set`: the exact active-set pass and :func:`objective`;
- :mod:`.deconvolve`: :func:`deconvolve` and :class:`Deconv`;
- :mod:`.root`: the safeguarded root finder of the baseline (and lam)
  search, one evaluation at a time, so that numba and Python share it;
- :mod:`.kernel`: kernels in seconds (:func:`ar_from_taus`,
  :func:`kernel_taus`) and the kernel fit with the spike support fixed;
- :mod:`.settings`: :class:`DeconvSettings` and the named presets;
- :mod:`.trace`: :func:`deconvolve_trace`, the one entry point the
  pipeline uses (noise and kernel refined on the trace, then the solver).

The noise σ of a trace is :func:`caliali_tk.core.noise.trace_noise`.
"""

from __future__ import annotations

from .active_set import objective
from .ar import ar_roots, estimate_ar, impulse_response, trim_ar
from .deconvolve import Deconv, deconvolve
from .oasis_ar1 import oasis_ar1
from .kernel import ar_from_taus, fit_kernel, kernel_taus, support_rss
from .oasis_ar2 import oasis_ar2
from .settings import PRESETS, DeconvSettings
from .trace import deconvolve_trace, estimate_kernel, kernel_noise

__all__ = ["oasis_ar1", "oasis_ar2", "deconvolve", "Deconv", "objective",
           "estimate_ar", "impulse_response", "ar_roots", "ar_from_taus",
           "kernel_taus", "support_rss", "fit_kernel", "DeconvSettings", "PRESETS",
           "deconvolve_trace", "estimate_kernel", "kernel_noise", "trim_ar"]
