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
length and small; they and the density peak are numba loops (the
extraction takes every trace's baseline in every HALS sweep).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from caliali_tk.core.noise import trace_noise

__all__ = ["TraceBaseline", "remove_baseline", "drift"]

_BINS_PER_WINDOW = 20  # bins in the median window (the filters run on bin means)
_Q15 = 1.0364  # -Φ⁻¹(0.15): the 15th percentile of noise around a baseline, in σ
_DENSITY_SIGMA = 5.0  # bins of 0.1 σ: the sample density is smoothed by 0.5 σ


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
    constant level (zeros back). The filters run on bin means (see the
    module's "Cost"), with windows placed and edges extended as
    ``scipy.ndimage``'s (``mode="nearest"``).
    """
    y = np.ascontiguousarray(y, np.float64)
    T = y.size
    w = int(round(window_s * fps))
    if w < 4 or T < w:
        return np.zeros(T)
    tb = max(1, (w // 2) // _BINS_PER_WINDOW)
    wb = max(3, w // tb)
    return _drift(y, tb, max(3, wb // 2) | 1, wb, max(1, wb // 2))


@njit(nogil=True, cache=True)
def _drift(y, tb, med_size, low_size, smooth_size):
    """`drift` on bins of ``tb`` frames: median, minimum, maximum, mean filters."""
    T = y.shape[0]
    nb = (T + tb - 1) // tb
    x = np.empty(nb)
    for b in range(nb):
        a, e = b * tb, min(T, (b + 1) * tb)
        acc = 0.0
        for t in range(a, e):
            acc += y[t]
        x[b] = acc / (e - a)
    low = _running_median(x, med_size)
    low = _window_extreme(_window_extreme(low, low_size, True), low_size, False)
    smooth = np.empty(nb)
    for i in range(nb):
        acc = 0.0
        for j in range(smooth_size):
            acc += low[_nearest(i - smooth_size // 2 + j, nb)]
        smooth[i] = acc / smooth_size
    return _interp_centres(T, tb, smooth)


@njit(nogil=True, cache=True)
def _interp_centres(T, tb, values):
    """``np.interp`` of every frame between the bins' centres (frames ``T``)."""
    nb = values.shape[0]
    centres = np.empty(nb)
    for b in range(nb):
        centres[b] = b * tb + (min(tb, T - b * tb) - 1) / 2.0
    out = np.empty(T)
    j = 0
    for t in range(T):
        if t <= centres[0]:
            out[t] = values[0]
        elif t >= centres[nb - 1]:
            out[t] = values[nb - 1]
        else:
            while centres[j + 1] <= t:
                j += 1
            slope = (values[j + 1] - values[j]) / (centres[j + 1] - centres[j])
            out[t] = slope * (t - centres[j]) + values[j]
    return out


@njit(nogil=True, cache=True)
def _nearest(i, n):
    return min(max(i, 0), n - 1)


@njit(nogil=True, cache=True)
def _running_median(x, size):
    """Median over ``size`` (odd) samples around each, edges extended: a
    sorted window updated by one removal and one insertion per step."""
    n = x.shape[0]
    half = size // 2
    win = np.empty(size)
    for j in range(size):
        win[j] = x[_nearest(j - half, n)]
    win.sort()
    out = np.empty(n)
    out[0] = win[half]
    for i in range(1, n):
        old, new = x[_nearest(i - 1 - half, n)], x[_nearest(i + half, n)]
        k = np.searchsorted(win, old)
        while k < size - 1 and win[k] != old:
            k += 1
        # drop `old` at k, then slide `new` into its sorted place
        while k > 0 and win[k - 1] > new:
            win[k] = win[k - 1]
            k -= 1
        while k < size - 1 and win[k + 1] < new:
            win[k] = win[k + 1]
            k += 1
        win[k] = new
        out[i] = win[half]
    return out


@njit(nogil=True, cache=True)
def _window_extreme(x, size, minimum):
    """Running minimum (or maximum) over ``size`` samples, edges extended
    (window ``[i - size // 2, i - size // 2 + size)``, as scipy's)."""
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        a, b = max(i - size // 2, 0), min(i - size // 2 + size, n)
        v = x[a]
        for j in range(a + 1, b):
            v = min(v, x[j]) if minimum else max(v, x[j])
        out[i] = v
    return out


def _baseline_level(y: np.ndarray) -> float:
    """Baseline of a trace with positive transients.

    The most common value (the peak of the sample density, smoothed by half
    the noise σ): the samples between transients pile up around the
    baseline, however long the transients' tails. Never above the
    deconvolution's rule (the 15th percentile lifted by 1.036 σ) nor the
    median, which matter when the neuron is almost always active.
    """
    y = np.ascontiguousarray(y, np.float64)
    if y.size < 8:
        return float(np.median(y)) if y.size else 0.0
    return float(_level(y, trace_noise(y)))


@njit(nogil=True, cache=True)
def _level(y, sn):
    """`_baseline_level` given the trace's noise σ."""
    ys = np.sort(y)
    n = ys.shape[0]
    med = 0.5 * (ys[(n - 1) // 2] + ys[n // 2])
    pos = 0.15 * (n - 1)
    k = int(pos)
    q15 = ys[k] + (pos - k) * (ys[min(k + 1, n - 1)] - ys[k])
    rule = q15 + _Q15 * sn
    if not sn > 0:
        return min(rule, med)
    return min(_density_peak(y, sn, med), rule, med)


@njit(nogil=True, cache=True)
def _density_peak(y, sn, centre):
    """Peak of the sample density (Gaussian kernel 0.5 σ) near ``centre``.

    A histogram of bins of 0.1 σ from 6 σ below to 4 σ above, smoothed by
    a Gaussian of 5 bins (cut at 4 sd, zero outside); the peak is refined by
    the parabola through its bin and the two beside it.
    """
    width = 0.1 * sn
    lo, hi = centre - 6 * sn, centre + 4 * sn
    n_bins = int(np.ceil((hi - lo) / width))
    step = (hi - lo) / n_bins
    hist = np.zeros(n_bins)
    for v in y:
        if lo <= v <= hi:
            i = min(int((v - lo) * (n_bins / (hi - lo))), n_bins - 1)
            if v < lo + i * step:  # on the float edge: as numpy's histogram
                i -= 1
            elif i < n_bins - 1 and v >= lo + (i + 1) * step:
                i += 1
            hist[i] += 1.0
    radius = int(4.0 * _DENSITY_SIGMA + 0.5)
    kern = np.exp(-0.5 * (np.arange(-radius, radius + 1) / _DENSITY_SIGMA) ** 2)
    kern /= kern.sum()
    best, i_best = -1.0, 0
    dens = np.zeros(n_bins)
    for i in range(n_bins):
        acc = 0.0
        for j in range(-radius, radius + 1):
            if 0 <= i + j < n_bins:
                acc += kern[j + radius] * hist[i + j]
        dens[i] = acc
        if acc > best:
            best, i_best = acc, i
    shift = 0.0
    if 0 < i_best < n_bins - 1:  # parabola through the peak and its neighbours
        a, b, c = dens[i_best - 1], dens[i_best], dens[i_best + 1]
        den = a - 2 * b + c
        if den < 0:
            shift = 0.5 * (a - c) / den
    return lo + i_best * step + (0.5 + shift) * width
