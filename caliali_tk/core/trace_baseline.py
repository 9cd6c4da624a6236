"""Per-session baseline and slow drift of a raw trace, removed before deconvolution.

The deconvolution (:func:`caliali_tk.core.deconv.deconvolve`) fits one
constant baseline per trace. A concatenation of sessions has one baseline
per day, and within a day the baseline drifts (bleaching, slow focus or
neuropil changes); left in, a higher day is read as a long transient and
a drift as spikes. As CaliAli's ``detrend_Ca_traces`` does, the drift of
each session is a local minimum of the median-filtered trace; here the
windows are in seconds (so any frame rate gets the same time scale), the
minimum is smoothed so it has no corners, and each session's residual
level is then set to zero with the deconvolution's own robust baseline
rule (the 15th percentile lifted by the noise), so every session has the
same baseline, 0.

Cost: the filters run on the trace averaged over bins of about a
twentieth of the median window, so the work per trace is linear in its
length and small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from caliali_tk.core.binning import bin_time
from caliali_tk.core.noise import trace_noise

__all__ = ["TraceBaseline", "remove_baseline", "drift"]

_BINS_PER_WINDOW = 20  # bins in the median window (the filters run on bin means)
_Q15 = 1.0364  # -Φ⁻¹(0.15): the 15th percentile of noise around a baseline, in σ


@dataclass(frozen=True)
class TraceBaseline:
    """How to take the baseline out of a raw trace.

    Parameters
    ----------
    starts : tuple of int
        First frame of every session and the trace length last (n + 1).
    fps : float
        Frame rate, Hz.
    detrend_s : float
        Window of the local minimum, seconds (the median window is half of
        it); 0 keeps one constant baseline per session.
    """

    starts: tuple
    fps: float
    detrend_s: float = 20.0

    @classmethod
    def of(cls, counts, fps: float, detrend_s: float) -> "TraceBaseline":
        """From frames per session."""
        return cls(tuple(int(x) for x in np.concatenate([[0], np.cumsum(counts)])),
                   float(fps), float(detrend_s))

    @property
    def n_sessions(self) -> int:
        return len(self.starts) - 1

    def __call__(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(raw - baseline, level of each session)``; see :func:`remove_baseline`."""
        return remove_baseline(raw, self.starts, self.fps, self.detrend_s)


def remove_baseline(raw: np.ndarray, starts, fps: float, detrend_s: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """A raw trace with each session's baseline (and drift) subtracted.

    Parameters
    ----------
    raw : ndarray (T,)
    starts : sequence of int (n + 1,)
        Session starts, then T.
    fps : float
        Frame rate, Hz.
    detrend_s : float
        Window of the drift's local minimum in seconds; 0: a constant per
        session.

    Returns
    -------
    out : ndarray float64 (T,)
        The trace with baseline 0 in every session.
    levels : ndarray float64 (n,)
        The mean baseline removed from each session.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.full(400, 10.0), np.full(400, 25.0)] + rng.normal(0, 1, 800)
    >>> out, levels = remove_baseline(y, [0, 400, 800], 10.0, 0.0)
    >>> np.round(levels).tolist(), bool(abs(out.mean()) < 0.2)
    ([10.0, 25.0], True)
    """
    raw = np.asarray(raw, np.float64)
    out = np.empty_like(raw)
    levels = np.zeros(len(starts) - 1)
    for s, (a, b) in enumerate(zip(starts[:-1], starts[1:])):
        seg = raw[a:b]
        trend = drift(seg, fps, detrend_s) if detrend_s > 0 else 0.0
        rest = seg - trend
        level = _baseline_level(rest)
        out[a:b] = rest - level
        levels[s] = level + float(np.mean(trend))
    return out, levels


def drift(y: np.ndarray, fps: float, window_s: float) -> np.ndarray:
    """Slow baseline of ``y``: the smoothed local minimum of its running median.

    The median over ``window_s / 2`` seconds ignores transients shorter than
    that; its local minimum over ``window_s`` seconds (CaliAli's erosion)
    stays below longer bursts, and the maximum of that minimum over the
    same window (together a morphological opening) follows a sloping
    baseline without the minimum's lag; a running mean over ``window_s / 2``
    seconds smooths the corners. A trace shorter than the window gets its
    constant level (zeros back).
    """
    y = np.asarray(y, np.float64)
    T = y.size
    w = int(round(window_s * fps))
    if w < 4 or T < w:
        return np.zeros(T)
    tb = max(1, (w // 2) // _BINS_PER_WINDOW)
    x = bin_time(y, tb)
    wb = max(3, w // tb)
    med = ndimage.median_filter(x, size=max(3, wb // 2) | 1, mode="nearest")
    low = ndimage.minimum_filter1d(med, size=wb, mode="nearest")
    low = ndimage.maximum_filter1d(low, size=wb, mode="nearest")  # an opening: no lag on slopes
    low = ndimage.uniform_filter1d(low, size=max(1, wb // 2), mode="nearest")
    centres = (np.arange(x.size) * tb + (np.minimum(tb, T - np.arange(x.size) * tb) - 1) / 2)
    return np.interp(np.arange(T), centres, low)


def _baseline_level(y: np.ndarray) -> float:
    """Baseline of a trace with positive transients.

    The most common value (the peak of the sample density, smoothed by half
    the noise σ): the samples between transients pile up around the
    baseline, however long the transients' tails. Never above the
    deconvolution's rule (the 15th percentile lifted by 1.036 σ) nor the
    median, which matter when the neuron is almost always active.
    """
    if y.size < 8:
        return float(np.median(y)) if y.size else 0.0
    sn = trace_noise(y)
    med = float(np.median(y))
    rule = float(np.percentile(y, 15) + _Q15 * sn)
    if not sn > 0:
        return min(rule, med)
    return min(_density_peak(y, sn, med), rule, med)


def _density_peak(y, sn, centre) -> float:
    """Peak of the sample density (Gaussian kernel 0.5 σ) near ``centre``."""
    width = 0.1 * sn
    lo, hi = centre - 6 * sn, centre + 4 * sn
    n_bins = int(np.ceil((hi - lo) / width))
    hist, edges = np.histogram(y, bins=n_bins, range=(lo, hi))
    dens = ndimage.gaussian_filter1d(hist.astype(np.float64), 5.0, mode="constant")
    i = int(np.argmax(dens))
    if 0 < i < n_bins - 1:  # parabola through the peak and its neighbours
        a, b, c = dens[i - 1], dens[i], dens[i + 1]
        den = a - 2 * b + c
        shift = 0.5 * (a - c) / den if den < 0 else 0.0
    else:
        shift = 0.0
    return float(edges[i] + (0.5 + shift) * width)
