"""Per-pixel noise level and baseline, estimated from the power spectrum.

Calcium transients are slow, so the upper half of the temporal spectrum
(0.25–0.5 of the sampling rate) holds mostly noise. The noise σ of a trace is
read off its power spectral density (PSD) there: for white noise of std σ the
one-sided PSD is flat at 2σ², so ``σ = sqrt(mean band PSD / 2)``.

Estimator (Welch), shared by :func:`psd_noise` and :class:`NoisePass`:

- segments of ``L = min(seg_len, n)`` consecutive frames, back to back from
  the start of each planned block (frames after the block's last whole
  segment are not used);
- each segment: subtract its mean, multiply by a periodic Tukey window ``w``
  (cosine tapers over 1/8 of the segment at each end), DFT (only the band's
  bins, as one float32 matrix product: no transpose of the frames needed),
  periodogram ``P_k = 2 |X_k|² / Σ w²`` (white noise gives 2σ² at every k ≠ 0, Nyquist
  included). The tapers keep the strong, slow calcium power from leaking into
  the band (leakage < 1e-6 of it at 0.25) while losing only ~10 % of the data's
  statistical weight, so segments need not overlap (half the work of
  50 %-overlapped Hann segments for the same precision);
- band: bins ``ceil(L / 4) <= k <= L // 2``; the *mean* of ``P_k`` over the
  band and over all segments (plain mean, no log, so no bias correction);
- baseline: the exact temporal median of at most ``N_BASELINE`` (64) frames
  evenly spaced through the planned frames (:func:`baseline_frames`); a
  median of 64 samples is within ~0.16 σ of the true one, and a per-segment
  median of every frame would cost more than the rest of the pass.

Only a few blocks of frames spread over the movie are needed
(:func:`noise_frame_plan`, ~1000 frames), which keeps the first pass short;
memory is one segment plus the baseline frames, ``(L + 64) × H × W`` float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .filters import make_spatial_filter

__all__ = ["noise_frame_plan", "baseline_frames", "psd_noise", "NoisePass", "NoiseResult",
           "welch_window", "SEG_LEN", "N_BASELINE"]

#: Welch segment length in frames.
SEG_LEN = 128
#: Frames whose temporal median is the baseline.
N_BASELINE = 64
#: Fraction of a segment inside the window's two cosine tapers (Tukey alpha).
TAPER = 0.25
_GEMM_COLS = 1 << 16  # pixels per matrix product (bounds the temporaries)
_SUB_BATCH = 32  # frames filtered at a time (bounds memory)


def _seg_len(n_frames: int, seg_len: int) -> int:
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


@njit(nogil=True, cache=True)
def _median_inplace(a):  # pragma: no cover - numba
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


@njit(nogil=True, cache=True)
def _temporal_median(frames, out):  # pragma: no cover - numba
    """out[i, j] = median over t of frames[t, i, j] (numpy's rule)."""
    n, H, W = frames.shape
    tmp = np.empty((n, W), dtype=frames.dtype)
    scratch = np.empty(n, dtype=frames.dtype)
    for i in range(H):
        tmp[:, :] = frames[:, i, :]
        for j in range(W):
            for t in range(n):
                scratch[t] = tmp[t, j]
            out[i, j] = _median_inplace(scratch)


@njit(nogil=True, cache=True)
def _add_sum_squares(P, scale, acc):  # pragma: no cover - numba
    """acc[j] += scale · Σ_r P[r, j]²."""
    R, N = P.shape
    for r in range(R):
        for j in range(N):
            acc[j] += scale * np.float64(P[r, j]) ** 2


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


def _segment_power(seg: np.ndarray, M32: np.ndarray, n_band: int, wsum2: float,
                   acc: np.ndarray) -> None:
    """acc += mean band ``|X_k|² / Σw²`` of a segment (L, N) float32 (σ² for white noise).

    The band's DFT bins are one float32 matrix product per block of pixels
    (BLAS), cheaper than a full FFT plus the transpose it would need.
    """
    N = seg.shape[1]
    scale = 1.0 / (n_band * wsum2)
    for c0 in range(0, N, _GEMM_COLS):
        P = M32 @ seg[:, c0 : c0 + _GEMM_COLS]
        _add_sum_squares(P, scale, acc[c0 : c0 + _GEMM_COLS])


def noise_frame_plan(n_frames: int, seg_len: int = SEG_LEN, n_blocks: int = 4,
                     block_frames: int = 256) -> list[tuple[int, int]]:
    """Frames the noise pass needs, as ``[(start, stop), ...]`` blocks.

    Parameters
    ----------
    n_frames : int
        Length of the movie.
    seg_len : int
        Welch segment length.
    n_blocks, block_frames : int
        Number and length of blocks, spread evenly from the first to the last
        frame. With the defaults 4 × 256 frames (8 segments of 128) are read.
        A movie no longer than ``n_blocks * block_frames`` is used whole:
        ``[(0, n_frames)]``.

    Returns
    -------
    list of (int, int)
        Sorted, non-overlapping half-open frame ranges.

    Examples
    --------
    >>> noise_frame_plan(1000)
    [(0, 1000)]
    >>> noise_frame_plan(10000)[:2]
    [(0, 256), (3248, 3504)]
    """
    n_frames = int(n_frames)
    L = _seg_len(n_frames, seg_len)
    block_frames = max(int(block_frames), L)
    if n_frames <= n_blocks * block_frames or n_blocks < 2:
        return [(0, n_frames)]
    starts = np.round(np.linspace(0, n_frames - block_frames, n_blocks)).astype(int)
    return [(int(s), int(s) + block_frames) for s in starts]


def baseline_frames(plan, n_baseline: int = N_BASELINE) -> np.ndarray:
    """Indices of the frames whose temporal median is the baseline.

    Every ``step``-th frame of the planned frames taken in order,
    ``step = ceil(n_planned / n_baseline)``, so at most ``n_baseline``.
    """
    idx = np.concatenate([np.arange(b0, b1) for b0, b1 in plan])
    step = max(1, -(-idx.size // int(n_baseline)))
    return idx[::step]


def psd_noise(traces: np.ndarray, seg_len: int = SEG_LEN, axis: int = -1):
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
    >>> round(float(psd_noise(2.0 * rng.standard_normal(20000))), 1)
    2.0
    """
    x = np.moveaxis(np.asarray(traces, dtype=np.float32), axis, 0)
    T, rest = x.shape[0], x.shape[1:]
    x = x.reshape(T, -1)
    L = _seg_len(T, seg_len)
    M = _band_matrix(L)
    n_band = _band(L).stop - _band(L).start
    wsum2 = float(np.sum(welch_window(L) ** 2))
    acc = np.zeros(x.shape[1])
    n = T // L
    for s in range(0, n * L, L):
        _segment_power(x[s : s + L], M.astype(np.float32), n_band, wsum2, acc)
    sn = np.sqrt(acc / n).reshape(rest)
    return float(sn) if sn.ndim == 0 else sn


@dataclass
class NoiseResult:
    """Output of :class:`NoisePass` (input of the summary pass).

    Attributes
    ----------
    sn : ndarray float32 (H, W)
        Noise σ per pixel of the (filtered) movie.
    baseline : ndarray float32 (H, W)
        Temporal median of the frames :func:`baseline_frames` picks.
    gSig : float
        Filter width used.
    spatial_filter : bool
        Whether frames were high-pass filtered.
    n_segments : int
        Welch segments averaged.
    plan : list of (int, int)
        Frame blocks used.
    """

    sn: np.ndarray
    baseline: np.ndarray
    gSig: float
    spatial_filter: bool
    n_segments: int
    plan: list


class NoisePass:
    """Streaming noise/baseline estimate: feed raw chunks, get σ and baseline.

    Parameters
    ----------
    shape : (int, int)
        Frame shape (H, W).
    n_frames : int
        Movie length (fixes the plan and the segment length).
    gSig : float
        Width of the centred Gaussian high-pass filter.
    spatial_filter : bool
        Filter frames first (as the summary pass will).
    seg_len : int
        Welch segment length.
    plan : list of (int, int), optional
        Frame blocks to use (default :func:`noise_frame_plan`).

    Notes
    -----
    ``add(frames, start)`` accepts any chunks in increasing frame order; only
    frames inside the plan are filtered and used, so feeding every chunk or
    only the planned ranges gives the same result.
    """

    def __init__(self, shape, n_frames: int, gSig: float, spatial_filter: bool = True,
                 seg_len: int = SEG_LEN, plan=None):
        self.shape = (int(shape[0]), int(shape[1]))
        self.n_frames = int(n_frames)
        self.gSig = float(gSig)
        self.spatial_filter = bool(spatial_filter)
        self.L = _seg_len(self.n_frames, seg_len)
        self.plan = list(plan) if plan is not None else noise_frame_plan(self.n_frames, seg_len)
        self._filter = make_spatial_filter(self.shape, self.gSig, self.spatial_filter)
        self._M = _band_matrix(self.L).astype(np.float32)
        self._n_band = _band(self.L).stop - _band(self.L).start
        self._wsum2 = float(np.sum(welch_window(self.L) ** 2))
        self._seg = np.empty((self.L,) + self.shape, dtype=np.float32)
        self._fill = 0  # frames in the current segment
        self._next = -1  # frame index expected next
        self._power = np.zeros(self.shape)
        self._n_seg = 0
        self._base_idx = {int(t): i for i, t in enumerate(baseline_frames(self.plan))}
        self._base = np.empty((len(self._base_idx),) + self.shape, dtype=np.float32)
        self._base_seen = np.zeros(len(self._base_idx), dtype=bool)

    def add(self, frames: np.ndarray, start: int) -> None:
        """Use raw frames ``start .. start + len(frames)`` (those in the plan)."""
        frames = np.asarray(frames)
        if frames.ndim == 2:
            frames = frames[None]
        stop = start + frames.shape[0]
        for b0, b1 in self.plan:
            t, end = max(b0, start), min(b1, stop)
            while t < end:
                if t != self._next or t == b0:  # a gap or a new block: new segment
                    self._fill = 0
                if (t - b0) % self.L != self._fill:  # joined mid-segment: skip to the next
                    self._fill = 0
                    t += self.L - (t - b0) % self.L
                    self._next = t
                    continue
                n = min(end - t, self.L - self._fill, _SUB_BATCH)
                dst = self._seg[self._fill : self._fill + n]
                self._filter(frames[t - start : t - start + n], out=dst)  # straight in place
                for k in range(n):
                    slot = self._base_idx.get(t + k)
                    if slot is not None:
                        self._base[slot] = dst[k]
                        self._base_seen[slot] = True
                self._fill += n
                t += n
                self._next = t
                if self._fill == self.L:
                    _segment_power(self._seg.reshape(self.L, -1), self._M, self._n_band,
                                   self._wsum2, self._power.reshape(-1))
                    self._n_seg += 1
                    self._fill = 0

    def finish(self) -> NoiseResult:
        """σ and baseline from the frames seen so far."""
        if self._n_seg == 0 or not self._base_seen.any():
            raise RuntimeError("NoisePass.finish: no complete segment was added; "
                               "feed the frames of NoisePass.plan first")
        sn = np.sqrt(self._power / self._n_seg).astype(np.float32)
        base = np.empty(self.shape, dtype=np.float32)
        _temporal_median(self._base[self._base_seen], base)
        return NoiseResult(sn=sn, baseline=base, gSig=self.gSig,
                           spatial_filter=self.spatial_filter, n_segments=self._n_seg,
                           plan=list(self.plan))
