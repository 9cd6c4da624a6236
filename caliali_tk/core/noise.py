"""Noise σ of pixels and of traces, and the temporal median baseline.

Calcium transients are slow, so the upper part of the temporal spectrum
(0.25–0.5 of the sampling rate) holds mostly noise; for white noise of std σ
the one-sided power spectral density (PSD) is flat at 2σ², so
``σ = sqrt(band PSD / 2)``. Two estimators read it off, one for each use:

- :func:`pixel_noise` (and its streaming form,
  :class:`caliali_tk.core.noise_pass.NoisePass`): the movie's pixels, Welch
  segments of ``SEG_LEN`` frames from a few blocks of the movie. Each
  segment: mean removed, periodic Tukey window ``w`` (cosine tapers over
  1/8 of the segment at each end, which keep the strong slow calcium power
  from leaking into the band: < 1e-6 of it at 0.25, for ~10 % of the data's
  statistical weight, so segments need not overlap), the band's DFT bins as
  one float32 matrix product (:class:`WelchBand`), ``P_k = 2 |X_k|² / Σ w²``
  averaged (plain mean) over bins ``ceil(L/4) <= k <= L // 2`` and segments.
- :func:`trace_noise` / :func:`trace_noise_rows`: one periodogram of each
  whole component trace (C_raw), band averaged by the mean of the log
  (robust to a few large bins), as CNMF-E's ``GetSn`` does.

Also here: :func:`robust_noise` (σ from the samples below the median, used
by the initialisation on a binned movie) and
:func:`temporal_median`, the one per-pixel median over time (numba
quickselect, numpy's rule).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from caliali_tk.core.threads import run_blocks

__all__ = ["pixel_noise", "trace_noise", "trace_noise_rows", "robust_noise",
           "median_inplace", "temporal_median", "welch_window", "WelchBand", "segment_length",
           "SEG_LEN", "TAPER"]

#: Welch segment length in frames.
SEG_LEN = 128
#: Fraction of a segment inside the window's two cosine tapers (Tukey alpha).
TAPER = 0.25
_GEMM_COLS = 1 << 16  # pixels per matrix product (bounds the temporaries)
_BLOCK_ELEMS = 1 << 22  # elements per FFT block in trace_noise_rows


# ------------------------------------------------------------ pixels (Welch) ---


def segment_length(n_frames: int, seg_len: int = SEG_LEN) -> int:
    """Welch segment length for a movie of ``n_frames`` (at most ``seg_len``)."""
    if n_frames < 8:
        raise ValueError(f"the noise estimate needs at least 8 frames, got {n_frames}")
    return int(min(seg_len, n_frames))


def welch_window(L: int) -> np.ndarray:
    """Periodic Tukey window of length L with ``TAPER`` of it in cosine tapers.

    Equals ``scipy.signal.windows.tukey(L, TAPER, sym=False)``.
    """
    n = np.arange(L, dtype=np.float64)
    m = TAPER * L / 2.0  # taper length in samples, each side
    w = np.ones(L)
    rise = n < m
    w[rise] = 0.5 * (1.0 - np.cos(np.pi * n[rise] / m))
    fall = n > L - m
    w[fall] = 0.5 * (1.0 - np.cos(np.pi * (L - n[fall]) / m))
    return w


def _band(L: int) -> slice:
    return slice(-(-L // 4), L // 2 + 1)


class WelchBand:
    """The noise band of Welch segments of length ``L``: adds their power.

    The band's DFT bins are one float32 matrix product per block of pixels
    (BLAS), cheaper than a full FFT plus the transpose it would need.
    """

    def __init__(self, L: int):
        self.L = int(L)
        self.M = _band_matrix(self.L).astype(np.float32)
        self.n_band = _band(self.L).stop - _band(self.L).start
        self.wsum2 = float(np.sum(welch_window(self.L) ** 2))

    def add_power(self, seg: np.ndarray, acc: np.ndarray) -> None:
        """acc += mean band ``|X_k|² / Σw²`` of a segment (L, N) float32 (σ² for white noise)."""
        N = seg.shape[1]
        scale = 1.0 / (self.n_band * self.wsum2)
        for c0 in range(0, N, _GEMM_COLS):
            P = self.M @ seg[:, c0 : c0 + _GEMM_COLS]
            _add_sum_squares(P, scale, acc[c0 : c0 + _GEMM_COLS])


def _band_matrix(L: int) -> np.ndarray:
    """Rows: window · cos and window · sin of each band frequency, mean-free.

    ``M @ x`` gives the real and imaginary parts of the band's DFT bins of
    the windowed segment ``x``; taking each row's mean out makes it blind to
    the segment's mean, as subtracting the mean first would.
    """
    k = np.arange(_band(L).start, _band(L).stop)
    t = np.arange(L)
    w = welch_window(L)
    phase = 2.0 * np.pi * np.outer(k, t) / L
    M = np.vstack([np.cos(phase) * w, np.sin(phase) * w])
    M = M[np.abs(M).max(axis=1) > 1e-9]  # sin rows of bins 0 and L/2 are empty
    return M - M.mean(axis=1, keepdims=True)


@njit(nogil=True, cache=True)
def _add_sum_squares(P, scale, acc):  # pragma: no cover - numba
    """acc[j] += scale · Σ_r P[r, j]²."""
    R, N = P.shape
    for r in range(R):
        for j in range(N):
            acc[j] += scale * np.float64(P[r, j]) ** 2


def pixel_noise(traces: np.ndarray, seg_len: int = SEG_LEN, axis: int = -1):
    """Noise σ of traces from the upper band of their Welch PSD.

    Parameters
    ----------
    traces : ndarray
        One trace or many; time along ``axis``.
    seg_len : int
        Welch segment length (a shorter trace is one segment of its length).
    axis : int
        Time axis.

    Returns
    -------
    sn : ndarray float64 (shape of ``traces`` without ``axis``), or a float
        for a 1-D trace.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> round(float(pixel_noise(2.0 * rng.standard_normal(20000))), 1)
    2.0
    """
    x = np.moveaxis(np.asarray(traces, dtype=np.float32), axis, 0)
    T, rest = x.shape[0], x.shape[1:]
    x = x.reshape(T, -1)
    L = segment_length(T, seg_len)
    band = WelchBand(L)
    acc = np.zeros(x.shape[1])
    n = T // L
    for s in range(0, n * L, L):
        band.add_power(x[s : s + L], acc)
    sn = np.sqrt(acc / n).reshape(rest)
    return float(sn) if sn.ndim == 0 else sn

# ----------------------------------------------------- traces (periodogram) ---


def trace_noise_rows(Y, fs_band=(0.25, 0.5), method="logmexp"):
    """Noise σ of many traces from their periodogram's upper band.

    Each row is mean-subtracted and its one-sided periodogram
    ``P_k = 2 |X_k|² / T`` (sampling rate 1) is taken at the frequencies
    ``fs_band[0] <= f_k <= fs_band[1]`` (the DC and Nyquist bins excluded),
    so that white noise of standard deviation σ gives ``E[P_k] = 2σ²``; then
    ``σ = sqrt(PSD / 2)`` with the band PSD averaged by ``method``.

    Parameters
    ----------
    Y : array_like (K, T) or (T,)
        Traces, time along the last axis.
    fs_band : (float, float)
        Band as fractions of the sampling rate, within [0, 0.5].
    method : {'logmexp', 'mean', 'median'}
        ``'mean'``: arithmetic mean (unbiased, sensitive to a few large
        bins); ``'logmexp'``: exponential of the mean log, times
        ``exp(γ_Euler)``; ``'median'``: median divided by ``ln 2``. The two
        factors make the robust averages unbiased for Gaussian white noise
        (each bin is then ``σ²·χ²₂``).

    Returns
    -------
    sn : ndarray float64 (K,)
        One σ per row (a 1-D input is one row: shape (1,)).

    Notes
    -----
    Traces with 2 or 3 samples have no bin in the default band; for them
    ``σ = sqrt(mean(diff(y)²) / 2)``. A single sample gives 0, and so does a
    constant trace.

    The calcium signal's own power in the band adds to the noise: σ comes out
    a few percent high on active traces (about 4 % for a 20-frame decay, one
    spike per 100 frames at a peak of 5σ; about 8 % at one per 50 frames),
    less for kernels with a rise time (AR(2)), whose spectrum falls faster.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> np.round(trace_noise_rows(rng.normal(0, [[1.0], [3.0]], (2, 5000))), 1)
    array([1., 3.])
    """
    Y = np.atleast_2d(np.asarray(Y, dtype=np.float64))
    if Y.ndim != 2:
        raise ValueError(f"trace_noise_rows expects (K, T) traces, got shape {Y.shape}")
    if method not in ("logmexp", "mean", "median"):
        raise ValueError(f"unknown PSD averaging method {method!r}")
    K, T = Y.shape
    out = np.zeros(K, dtype=np.float64)
    if T < 2 or K == 0:
        return out
    band = _periodogram_band(T, float(fs_band[0]), float(fs_band[1]))
    if band is None:
        d = np.diff(Y, axis=1)
        return np.sqrt(np.mean(d * d, axis=1) / 2.0)
    rows = max(1, _BLOCK_ELEMS // T)
    for r0 in range(0, K, rows):
        x = Y[r0:r0 + rows]
        x = x - x.mean(axis=1, keepdims=True)
        X = np.fft.rfft(x, axis=1)[:, band]
        P = (2.0 / T) * (X.real ** 2 + X.imag ** 2)
        if method == "mean":
            psd = P.mean(axis=1)
        elif method == "median":
            psd = np.median(P, axis=1) / np.log(2.0)
        else:
            top = P.max(axis=1, keepdims=True)
            floor = np.where(top > 0, top * 1e-30, 1.0)
            psd = np.exp(np.mean(np.log(np.maximum(P, floor)), axis=1) + np.euler_gamma)
            psd[top[:, 0] <= 0] = 0.0
        out[r0:r0 + rows] = np.sqrt(psd / 2.0)
    return out


def trace_noise(y, fs_band=(0.25, 0.5), method="logmexp"):
    """Noise σ of one trace from its periodogram's upper band.

    See :func:`trace_noise_rows` for the estimator.

    Parameters
    ----------
    y : array_like (T,)
        The trace.
    fs_band : (float, float)
        Band as fractions of the sampling rate.
    method : {'logmexp', 'mean', 'median'}
        How the band is averaged.

    Returns
    -------
    float
        σ (0 for a constant trace).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> round(trace_noise(0.5 * rng.standard_normal(20000)), 2)
    0.5
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    return float(trace_noise_rows(y[None, :], fs_band, method)[0])


@lru_cache(maxsize=64)
def _periodogram_band(T: int, lo: float, hi: float):
    """The periodogram bins of `trace_noise_rows`' band as a slice (None: no bin).

    Cached: the deconvolution asks for the σ of every trace many times.
    """
    if T < 2:
        return None
    freqs = np.fft.rfftfreq(T)
    idx = np.flatnonzero((freqs >= lo) & (freqs <= hi) & (freqs > 0) & (freqs < 0.5))
    return slice(int(idx[0]), int(idx[-1]) + 1) if idx.size else None

# -------------------------------------------------------- baseline, robust ---


def temporal_median(Y: np.ndarray, max_frames: int | None = None) -> np.ndarray:
    """Per-pixel median over time (axis 0), numpy's rule.

    Parameters
    ----------
    Y : ndarray (T, ...)
        Frames.
    max_frames : int, optional
        Use at most this many frames, evenly spaced (every
        ``ceil(T / max_frames)``-th): a baseline needs no more, and a full
        median over a long movie costs seconds.

    Returns
    -------
    ndarray, the shape of one frame (float32 for float32 or integer input).
    """
    Y = np.asarray(Y)
    step = 1 if max_frames is None else max(1, -(-Y.shape[0] // int(max_frames)))
    frames = Y[::step]  # a view: the kernel copies a few columns at a time
    kind = np.result_type(Y.dtype, np.float32)
    if frames.dtype != kind or not Y.flags.c_contiguous:  # else each frame is one run
        frames = np.ascontiguousarray(frames, dtype=kind)
    flat = frames.reshape(frames.shape[0], 1, -1)
    out = np.empty(flat.shape[1:], frames.dtype)
    run_blocks(lambda a, b: _temporal_median(flat[:, :, a:b], out[:, a:b]), flat.shape[2],
               min_block=1024)
    return out.reshape(Y.shape[1:])


def robust_noise(Y: np.ndarray, median: np.ndarray | float | None = None) -> np.ndarray:
    """Noise sd per pixel from the samples below the temporal median.

    Positive transients do not inflate it, which a plain sd would.
    ``Y`` is ``(T, ...)``; returns the trailing shape. Pixels are taken a
    block at a time, so the temporaries stay small (a fraction of ``Y``).
    ``median``: the temporal median when it is known (0 for frames it was
    taken out of); by default ``temporal_median(Y, 400)``.
    """
    med = temporal_median(Y, 400) if median is None else np.broadcast_to(
        np.asarray(median, np.float32), Y.shape[1:])
    flat = Y.reshape(Y.shape[0], -1)
    out = np.empty(flat.shape[1], np.float32)
    step = max(1, (1 << 22) // max(1, Y.shape[0]))  # ~4 M samples per block
    for a in range(0, flat.shape[1], step):
        x = flat[:, a:a + step] - med.reshape(-1)[a:a + step]
        neg = np.minimum(x, 0.0)
        count = np.maximum((x < 0).sum(axis=0), 1)
        out[a:a + step] = np.sqrt((neg ** 2).sum(axis=0) / count)
    return out.reshape(Y.shape[1:]) + np.float32(1e-6)


@njit(nogil=True, cache=True)
def median_inplace(a):  # pragma: no cover - numba
    """Median of a 1-D float array (scrambles it): quickselect, numpy's rule."""
    n = a.size
    k = n // 2
    lo, hi = 0, n - 1
    while lo < hi:  # Hoare quickselect: a[k] becomes the k-th smallest
        pivot = a[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    upper = a[k]
    if n % 2 == 1:
        return np.float64(upper)
    lower = a[0]
    for m in range(1, k):
        if a[m] > lower:
            lower = a[m]
    return 0.5 * (np.float64(lower) + np.float64(upper))


_MEDIAN_COLS = 256  # pixels whose time series are copied out together


@njit(nogil=True, cache=True)
def _temporal_median(frames, out):  # pragma: no cover - numba
    """out[i, j] = median over t of frames[t, i, j] (numpy's rule).

    ``_MEDIAN_COLS`` pixels at a time are copied out of every frame (a
    contiguous run each): the copy stays in cache, and the temporaries stay
    small however many pixels a call is given.
    """
    n, H, W = frames.shape
    tmp = np.empty((n, min(W, _MEDIAN_COLS)), dtype=frames.dtype)
    scratch = np.empty(n, dtype=frames.dtype)
    for i in range(H):
        for j0 in range(0, W, _MEDIAN_COLS):
            m = min(W, j0 + _MEDIAN_COLS) - j0
            tmp[:, :m] = frames[:, i, j0:j0 + m]
            for j in range(m):
                for t in range(n):
                    scratch[t] = tmp[t, j]
                out[i, j0 + j] = median_inplace(scratch)
