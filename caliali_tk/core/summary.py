"""Summary images: local correlation (Cn) and peak-to-noise ratio (PNR).

These two images are what the user looks at to choose ``min_corr`` and
``min_pnr``. Definitions (CNMF-E, Zhou et al. 2018), with ``x`` a pixel's
trace after the spatial high-pass filter minus its baseline, and ``σ`` its
noise level (both from :mod:`caliali_tk.core.noise`):

- ``PNR = max_t x(t) / σ`` over *all* frames; no temporal smoothing (as
  CNMF-E); 0 where σ = 0.
- ``Cn``: ``z = x`` where ``x >= 3σ``, else 0; the Pearson correlation over
  time of ``z`` with each of the 8 neighbours (those inside the frame), Cn is
  their mean. A pixel whose ``z`` has zero variance correlates 0.

Two streaming passes over the movie: :class:`~caliali_tk.core.noise_pass.NoisePass`
on a few blocks of frames, then :class:`SummaryPass` on every frame once.
A movie of several sessions (days that differ in brightness) has a baseline
and a σ per session (:class:`~caliali_tk.core.noise_pass.SessionNoisePass`,
every session sampled); each frame is then taken in its own session's noise
units, ``x = (f - baseline_s) / σ_s``, before the running sums, so a
brighter day is not a transient. With one session this is the same Cn (a
correlation does not change when a pixel is scaled) and the same PNR.
The second pass keeps only running sums in float64 — Σz, Σz² and Σz·z' for
the 4 neighbour directions right, down, down-right, down-left — and the
running max of x, so memory is O(H·W) beyond the caller's chunk and the
result does not depend on chunking or frame order.

Frames may be any real dtype (raw uint16 chunks are fine: the filter reads
them directly). The images are transposition-equivariant (symmetric kernel,
8-neighbourhood, per-pixel σ), so a caller may feed frames in the file's
stored layout and transpose the four final images instead of every frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
from numba import njit

from caliali_tk.core.threads import run_blocks

from .filters import make_spatial_filter
from .noise import SEG_LEN
from .noise_pass import NoisePass, NoiseResult, SessionNoisePass

__all__ = ["SummaryImages", "SummaryPass", "summary_images", "THRESHOLD_SIGMA"]

#: Samples below this many σ are zeroed before the local correlation.
THRESHOLD_SIGMA = 3.0
_ROW_BLOCK = 8  # rows whose running sums stay in cache while frames stream
_SUB_BATCH = 32  # frames filtered at a time


@dataclass
class SummaryImages:
    """The summary images of one movie and the settings that made them.

    Attributes
    ----------
    Cn : ndarray float32 (H, W)
        Local correlation image, in [-1, 1].
    PNR : ndarray float32 (H, W)
        Peak-to-noise ratio image.
    sn : ndarray float32 (H, W)
        Noise σ of the (filtered) movie.
    baseline : ndarray float32 (H, W)
        Per-pixel baseline subtracted before PNR/Cn.
    gSig : float
        Filter width.
    spatial_filter : bool
        Whether the high-pass filter was applied.
    n_frames : int
        Frames summarised.
    line_noise : dict or None
        Stripes found and removed first (``rows``, ``cols``, ``row_ratio``,
        ``col_ratio``; see :mod:`caliali_tk.core.stripes`), None if not measured.
    lines : LineNoise or None
        The same stripes as the object the extraction's reader removes
        (with its baseline image), so that they are measured once.
    """

    Cn: np.ndarray
    PNR: np.ndarray
    sn: np.ndarray
    baseline: np.ndarray
    gSig: float
    spatial_filter: bool
    n_frames: int
    line_noise: Optional[dict] = None  # issue 10
    lines: Optional[object] = None

    def transposed(self) -> "SummaryImages":
        """The same images for the transposed movie (``lines`` and
        ``line_noise`` describe the displayed movie, and stay as they are)."""
        return replace(self, **{k: np.ascontiguousarray(getattr(self, k).T)
                                for k in ("Cn", "PNR", "sn", "baseline")})


@njit(nogil=True, cache=True)
def _accumulate(frames, base, thr, sx, sxx, sr, sd, sdr, sdl, mx, lo, hi):  # pragma: no cover
    """Add a chunk of filtered frames to the running sums of rows ``lo <= i < hi``.

    Rows are taken in blocks of ``_ROW_BLOCK`` whose sums stay in cache while
    every frame of the chunk streams past; a zero sample adds nothing. A
    block writes only its own rows (it reads the row below), so blocks can
    run side by side when ``lo`` is a multiple of ``_ROW_BLOCK``.
    """
    n, H, W = frames.shape
    cur = np.empty(W)
    nxt = np.empty(W)
    for r0 in range(lo, hi, _ROW_BLOCK):
        r1 = min(r0 + _ROW_BLOCK, H)
        for t in range(n):
            f, b, th, mxr = frames[t, r0], base[r0], thr[r0], mx[r0]
            for j in range(W):
                x = np.float64(f[j]) - b[j]
                mxr[j] = max(mxr[j], x)
                cur[j] = x if x >= th[j] else 0.0
            for i in range(r0, r1):
                down = i + 1 < H
                if down:
                    f, b, th, mxr = frames[t, i + 1], base[i + 1], thr[i + 1], mx[i + 1]
                    own = i + 1 < r1  # row i+1 belongs to this block: track its max
                    for j in range(W):
                        x = np.float64(f[j]) - b[j]
                        if own:
                            mxr[j] = max(mxr[j], x)
                        nxt[j] = x if x >= th[j] else 0.0
                a_x, a_xx, a_r = sx[i], sxx[i], sr[i]
                a_d, a_dr, a_dl = sd[i], sdr[i], sdl[i]
                for j in range(W):
                    z = cur[j]
                    if z == 0.0:
                        continue
                    a_x[j] += z
                    a_xx[j] += z * z
                    if j + 1 < W:
                        a_r[j] += z * cur[j + 1]
                    if down:
                        a_d[j] += z * nxt[j]
                        if j + 1 < W:
                            a_dr[j] += z * nxt[j + 1]
                        if j > 0:
                            a_dl[j] += z * nxt[j - 1]
                cur, nxt = nxt, cur


def _correlation_image(n, sx, sxx, pairs) -> np.ndarray:
    """Cn from running sums; ``pairs`` maps (dr, dc) -> Σ z(p)·z(p + (dr, dc))."""
    H, W = sx.shape
    mean = sx / n
    var = sxx / n - mean**2
    ok = var > 1e-12 * (sxx / n) + 1e-300
    sd = np.where(ok, np.sqrt(np.where(ok, var, 1.0)), 0.0)
    total = np.zeros((H, W))
    count = np.zeros((H, W))
    for (dr, dc), s in pairs.items():
        # pixel p = (i, j) and its neighbour q = (i + dr, j + dc), both inside
        i0, i1 = 0, H - dr
        j0, j1 = max(0, -dc), W - max(0, dc)
        p = (slice(i0, i1), slice(j0, j1))
        q = (slice(i0 + dr, i1 + dr), slice(j0 + dc, j1 + dc))
        cov = s[p] / n - mean[p] * mean[q]
        den = sd[p] * sd[q]
        r = np.where(den > 0, cov / np.where(den > 0, den, 1.0), 0.0)
        for a in (p, q):  # the pair counts for both pixels
            total[a] += r
            count[a] += 1.0
    return (total / np.maximum(count, 1.0)).astype(np.float32)


class SummaryPass:
    """Second streaming pass: running sums for Cn and the running max for PNR.

    Parameters
    ----------
    noise : NoiseResult
        From :class:`NoisePass` over the same movie (gives σ, baseline, gSig
        and whether to filter).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.standard_normal((300, 32, 32)).astype(np.float32)
    >>> npass = NoisePass((32, 32), 300, gSig=2.5)
    >>> npass.add(Y, 0)
    >>> spass = SummaryPass(npass.finish())
    >>> for s in range(0, 300, 100):
    ...     spass.add(Y[s:s + 100])
    >>> spass.finish().Cn.shape
    (32, 32)
    """

    def __init__(self, noise: NoiseResult):
        self.noise = noise
        shape = noise.sn.shape
        self._filter = make_spatial_filter(shape, noise.gSig, noise.spatial_filter)
        self._base = noise.baseline.astype(np.float64)
        self._thr = THRESHOLD_SIGMA * noise.sn.astype(np.float64)
        self._sums = [np.zeros(shape) for _ in range(6)]
        self._max = np.full(shape, -np.inf)
        self._buf = None
        self.n_frames = 0
        self._sessions = noise.n_sessions > 1
        if self._sessions:  # frames in noise units of their session: no steps
            self._base = np.zeros(shape)
            self._thr = np.full(shape, THRESHOLD_SIGMA)
            sn = noise.session_sn.astype(np.float64)
            self._inv_sn = np.where(sn > 0, 1.0 / np.where(sn > 0, sn, 1.0), 0.0).astype(np.float32)

    def add(self, frames: np.ndarray, start: int | None = None) -> None:
        """Add raw frames (n, H, W) or (H, W), any order, each frame once.

        ``start`` (the first frame's index) is needed when the noise pass
        had several sessions.
        """
        frames = np.asarray(frames)
        if frames.ndim == 2:
            frames = frames[None]
        n = frames.shape[0]
        if self._sessions and start is None:
            raise ValueError("SummaryPass.add: start is needed for a movie of several sessions")
        if self._buf is None:
            self._buf = np.empty((_SUB_BATCH,) + frames.shape[1:], dtype=np.float32)
        for s in range(0, n, _SUB_BATCH):  # filter a few frames at a time: bounded memory
            m = min(_SUB_BATCH, n - s)
            filtered = self._filter(frames[s : s + m], out=self._buf[:m])
            if self._sessions:
                self._to_noise_units(filtered, start + s)
            H = filtered.shape[1]
            run_blocks(lambda a, b: _accumulate(filtered, self._base, self._thr, *self._sums,
                                                self._max, a * _ROW_BLOCK,
                                                min(H, b * _ROW_BLOCK)),
                       -(-H // _ROW_BLOCK))
        self.n_frames += n

    def _to_noise_units(self, filtered, first) -> None:
        """``(x - baseline_s) / σ_s`` in place, ``s`` each frame's session."""
        starts = self.noise.starts
        sess = np.searchsorted(starts[1:], first + np.arange(len(filtered)), side="right")
        base = self.noise.session_baseline
        for i, s in enumerate(sess):
            filtered[i] -= base[s]
            filtered[i] *= self._inv_sn[s]

    def finish(self) -> SummaryImages:
        """Cn and PNR from everything added."""
        if self.n_frames == 0:
            raise RuntimeError("SummaryPass.finish: no frames were added")
        sx, sxx, sr, sd, sdr, sdl = self._sums
        pairs = {(0, 1): sr, (1, 0): sd, (1, 1): sdr, (1, -1): sdl}
        Cn = _correlation_image(self.n_frames, sx, sxx, pairs)
        sn = np.ones_like(self._max) if self._sessions else self.noise.sn.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            PNR = np.where(sn > 0, self._max / np.where(sn > 0, sn, 1.0), 0.0)
        return SummaryImages(Cn=Cn, PNR=PNR.astype(np.float32), sn=self.noise.sn,
                             baseline=self.noise.baseline, gSig=self.noise.gSig,
                             spatial_filter=self.noise.spatial_filter, n_frames=self.n_frames)


def summary_images(movie: np.ndarray, gSig: float, spatial_filter: bool = True,
                   chunk_frames: int = 200, seg_len: int = SEG_LEN,
                   plan=None, sessions=None) -> SummaryImages:
    """Cn and PNR of an in-memory movie, through the streaming passes.

    Parameters
    ----------
    movie : ndarray (T, H, W)
        Frames in display orientation, any real dtype.
    gSig : float
        Expected soma width (sd of the Gaussian filter), pixels.
    spatial_filter : bool
        Apply the centred Gaussian high-pass first (CNMF-E default).
    chunk_frames : int
        Frames per chunk (the result does not depend on it).
    seg_len : int
        Welch segment length of the noise estimate.
    plan : list of (int, int), optional
        Frames for the noise estimate (default :func:`~caliali_tk.core.noise_pass.noise_frame_plan`).
    sessions : sequence of int, optional
        Frames per session; with several, each session has its own baseline
        and σ (:class:`~caliali_tk.core.noise_pass.SessionNoisePass`).

    Returns
    -------
    SummaryImages

    Examples
    --------
    >>> Y = np.random.default_rng(0).standard_normal((200, 40, 40))
    >>> s = summary_images(Y, gSig=2.5)
    >>> s.Cn.shape, s.PNR.dtype
    ((40, 40), dtype('float32'))
    """
    movie = np.asarray(movie)
    T = movie.shape[0]
    chunk_frames = max(1, int(chunk_frames))
    if sessions is not None and len(sessions) > 1:
        npass = SessionNoisePass(movie.shape[1:], sessions, gSig, spatial_filter, seg_len)
    else:
        npass = NoisePass(movie.shape[1:], T, gSig, spatial_filter, seg_len=seg_len, plan=plan)
    for b0, b1 in npass.plan:
        for s in range(b0, b1, chunk_frames):
            npass.add(movie[s : min(s + chunk_frames, b1)], s)
    spass = SummaryPass(npass.finish())
    for s in range(0, T, chunk_frames):
        spass.add(movie[s : s + chunk_frames], s)
    return spass.finish()
