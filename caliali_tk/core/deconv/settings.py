"""How a trace is deconvolved: :class:`DeconvSettings` and its named presets.

One object carries every choice, so that every deconvolution of a trace in
the program goes through :func:`~caliali_tk.core.deconv.trace.deconvolve_trace`
with the same settings: the calcium model (AR(1), AR(2) or a choice per
neuron), the solver, the minimum spike size, the frame rate and the prior on
the decay time in seconds.

Presets (:data:`PRESETS`) name bundles of model, method and s_min:

- ``'caliali'``: CaliAli's final pass (``justdeconv(neuron, 'foopsi',
  'ar2', -5)``): AR(2), the L1 solver with lam = 0 and spikes of at least
  5 σ at the calcium peak;
- ``'legacy'``: caliali-tk before issue 11: AR(1) from the autocovariance of
  the raw trace with no bound from the frame rate, noise σ from the raw
  trace's spectrum, thresholded at 3 σ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Tuple

__all__ = ["DeconvSettings", "PRESETS", "MODELS", "METHODS", "AR_FITS",
           "DEFAULT_TAU_DECAY_RANGE"]

MODELS = ("auto", "ar1", "ar2")
METHODS = ("thresholded", "foopsi", "constrained")
#: ``'refined'``: kernel fitted on the trace with the spike support fixed and
#: the noise σ re-estimated from the residual; ``'autocov'``: Yule–Walker on
#: the raw trace and σ from its spectrum (the legacy estimate).
AR_FITS = ("refined", "autocov")
#: Prior bounds of the decay time constant, seconds (GCaMP6f–6s, jGCaMP7–8).
DEFAULT_TAU_DECAY_RANGE = (0.1, 5.0)

PRESETS = {
    "caliali": {"model": "ar2", "method": "foopsi", "s_min": -5.0, "lam": 0.0},
    "legacy": {"model": "ar1", "method": "thresholded", "s_min": -3.0, "lam": 0.0,
               "ar_fit": "autocov"},
}


@dataclass(frozen=True)
class DeconvSettings:
    """Everything that decides how one trace is deconvolved.

    Attributes
    ----------
    model : {'auto', 'ar1', 'ar2'}
        Calcium kernel: AR(1) (instant rise), AR(2) (rise and decay), or
        ``'auto'``: AR(2) for a neuron whose rise lowers the fit's residual by
        more than the price of one parameter (BIC), else AR(1).
    method : {'thresholded', 'foopsi', 'constrained'}
        Solver (see :func:`~caliali_tk.core.deconv.deconvolve`): lam = 0 with
        a minimum spike size; the given lam; or lam from the noise constraint
        ``‖y − b − c‖ = σ√T``.
    s_min : float
        Minimum spike size; negative: that many σ at the calcium peak.
    lam : float
        L1 penalty for ``'foopsi'``, in units of the trace's noise σ.
    fps : float
        Frame rate, Hz: converts the prior and the kernel to seconds.
    tau_decay_range : (float, float)
        Prior bounds of the decay time constant, seconds (at least half a
        frame whatever the bounds say).
    ar_fit : {'refined', 'autocov'}
        How the kernel and σ are estimated (see :data:`AR_FITS`).
    preset : str
        The preset these settings came from (``'none'``: chosen field by field).
    """

    model: str = "auto"
    method: str = "thresholded"
    s_min: float = -3.0
    lam: float = 0.0
    fps: float = 10.0
    tau_decay_range: Tuple[float, float] = field(default=DEFAULT_TAU_DECAY_RANGE)
    ar_fit: str = "refined"
    preset: str = "none"

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"deconvolution model must be one of {MODELS}, got {self.model!r}")
        if self.method not in METHODS:
            raise ValueError(f"deconvolution method must be one of {METHODS}, got {self.method!r}")
        if self.ar_fit not in AR_FITS:
            raise ValueError(f"ar_fit must be one of {AR_FITS}, got {self.ar_fit!r}")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be > 0, got {self.fps!r}")
        if not math.isfinite(self.s_min) or not (math.isfinite(self.lam) and self.lam >= 0):
            raise ValueError(f"s_min must be finite and lam >= 0, got {self.s_min!r}, {self.lam!r}")
        lo, hi = self.tau_decay_range
        if not (0 < lo <= hi and math.isfinite(hi)):
            raise ValueError(f"tau_decay_range must be 0 < min <= max, got {self.tau_decay_range!r}")
        if self.preset != "none" and self.preset not in PRESETS:
            raise ValueError(f"unknown deconvolution preset {self.preset!r}; "
                             f"choose from {('none',) + tuple(PRESETS)}")

    @property
    def order(self):
        """AR order for the kernel fit: 1, 2 or ``'auto'``."""
        return {"ar1": 1, "ar2": 2}.get(self.model, "auto")

    def with_preset(self, name: str) -> "DeconvSettings":
        """These settings with a preset's fields (``'none'``: unchanged).

        Examples
        --------
        >>> s = DeconvSettings(fps=20.0).with_preset("caliali")
        >>> s.model, s.method, s.s_min, s.fps
        ('ar2', 'foopsi', -5.0, 20.0)
        """
        if name == "none":
            return replace(self, preset="none")
        if name not in PRESETS:
            raise ValueError(f"unknown deconvolution preset {name!r}; "
                             f"choose from {('none',) + tuple(PRESETS)}")
        return replace(self, preset=name, **PRESETS[name])
