"""The streaming noise pass: σ and baseline of every pixel of a movie on disk.

The first of the summary images' two passes (:mod:`caliali_tk.core.summary`).
Only a few blocks of frames spread over the movie are needed
(:func:`noise_frame_plan`, ~1000 frames), which keeps the pass short. σ is
:func:`caliali_tk.core.noise.pixel_noise`'s Welch estimate of the spatially
filtered frames; the baseline is the exact temporal median of at most
``N_BASELINE`` (64) frames evenly spaced through the planned frames
(:func:`baseline_frames`): a median of 64 samples is within ~0.16 σ of the
true one, and a per-segment median of every frame would cost more than the
rest of the pass. Memory is one segment plus the baseline frames,
``(L + 64) × H × W`` float32.

Also here: :class:`DiffNoise`, σ from successive differences streamed over
the frames the extraction bins (the spatial update's pixel noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numba import njit

from .filters import make_spatial_filter
from .noise import SEG_LEN, WelchBand, segment_length, temporal_median
from .threads import run_blocks

__all__ = ["noise_frame_plan", "baseline_frames", "NoisePass", "NoiseResult", "N_BASELINE",
           "SessionNoisePass", "session_frame_plan", "DiffNoise"]

#: Frames whose temporal median is the baseline.
N_BASELINE = 64
_SUB_BATCH = 32  # frames filtered at a time (bounds memory)


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
    L = segment_length(n_frames, seg_len)
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


@dataclass
class NoiseResult:
    """Output of :class:`NoisePass` (input of the summary pass).

    Attributes
    ----------
    sn : ndarray float32 (H, W)
        Noise σ per pixel of the (filtered) movie (the median over sessions
        for a :class:`SessionNoisePass`).
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
    session_sn, session_baseline : ndarray float32 (n_sessions, H, W) or None
        σ and baseline of every session (:class:`SessionNoisePass` only).
    starts : ndarray int (n_sessions + 1,) or None
        First frame of every session, then the movie's length.
    """

    sn: np.ndarray
    baseline: np.ndarray
    gSig: float
    spatial_filter: bool
    n_segments: int
    plan: list
    session_sn: np.ndarray | None = None
    session_baseline: np.ndarray | None = None
    starts: np.ndarray | None = None

    @property
    def n_sessions(self) -> int:
        """Sessions with their own σ and baseline (1 unless made by SessionNoisePass)."""
        return 1 if self.starts is None else len(self.starts) - 1


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
        self.L = segment_length(self.n_frames, seg_len)
        self.plan = list(plan) if plan is not None else noise_frame_plan(self.n_frames, seg_len)
        self._filter = make_spatial_filter(self.shape, self.gSig, self.spatial_filter)
        self._band = WelchBand(self.L)
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
                    self._band.add_power(self._seg.reshape(self.L, -1), self._power.reshape(-1))
                    self._n_seg += 1
                    self._fill = 0

    def finish(self) -> NoiseResult:
        """σ and baseline from the frames seen so far."""
        if self._n_seg == 0 or not self._base_seen.any():
            raise RuntimeError("NoisePass.finish: no complete segment was added; "
                               "feed the frames of NoisePass.plan first")
        sn = np.sqrt(self._power / self._n_seg).astype(np.float32)
        base = temporal_median(self._base[self._base_seen])
        return NoiseResult(sn=sn, baseline=base, gSig=self.gSig,
                           spatial_filter=self.spatial_filter, n_segments=self._n_seg,
                           plan=list(self.plan))


def session_frame_plan(counts, seg_len: int = SEG_LEN, n_blocks: int = 4,
                       block_frames: int = 256) -> list[list[tuple[int, int]]]:
    """:func:`noise_frame_plan` inside every session, in absolute frame numbers.

    Each session gets ``max(2, ceil(n_blocks / n_sessions))`` blocks, so every
    session is sampled (at its start and its end at least), and one session
    gets exactly :func:`noise_frame_plan`'s blocks.
    """
    counts = [int(c) for c in counts]
    per = max(2, -(-int(n_blocks) // len(counts))) if len(counts) > 1 else int(n_blocks)
    plans, first = [], 0
    for n in counts:
        plans.append([(first + a, first + b) for a, b in
                      noise_frame_plan(n, seg_len, per, block_frames)])
        first += n
    return plans


class SessionNoisePass:
    """:class:`NoisePass` per session: σ and baseline of every session.

    Sessions recorded on different days differ in brightness; one baseline
    and one σ for the whole movie would make a brighter day look like a
    transient in PNR and Cn. Same interface as :class:`NoisePass`.

    Parameters
    ----------
    shape : (int, int)
    counts : sequence of int
        Frames per session (sum = movie length).
    gSig, spatial_filter, seg_len
        As :class:`NoisePass`.
    """

    def __init__(self, shape, counts, gSig: float, spatial_filter: bool = True,
                 seg_len: int = SEG_LEN):
        counts = [int(c) for c in counts]
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._args = (shape, gSig, spatial_filter, seg_len)
        self._counts, self._plans = counts, session_frame_plan(counts, seg_len)
        self._passes = [None] * len(counts)
        self._parts = [None] * len(counts)
        self.plan = [b for p in self._plans for b in p]

    def add(self, frames: np.ndarray, start: int) -> None:
        """Use raw frames ``start .. start + len(frames)`` (those in the plans).

        Chunks come in increasing frame order; a session's buffers exist
        only while its frames arrive (one session's worth of memory).
        """
        frames = np.asarray(frames)
        if frames.ndim == 2:
            frames = frames[None]
        stop = start + frames.shape[0]
        for s in range(len(self._counts)):
            a, b = max(start, self.starts[s]), min(stop, self.starts[s + 1])
            if a >= b:
                continue
            for done in range(s):  # earlier sessions are over: keep their results only
                self._close(done)
            if self._passes[s] is None and self._parts[s] is None:
                shape, gSig, filt, seg_len = self._args
                self._passes[s] = NoisePass(shape, self._counts[s], gSig, filt, seg_len,
                                            plan=self._plans[s])
            if self._passes[s] is not None:
                self._passes[s].add(frames[a - start:b - start], int(a))

    def _close(self, s: int) -> None:
        if self._passes[s] is not None:
            self._parts[s] = self._passes[s].finish()
            self._passes[s] = None

    def finish(self) -> NoiseResult:
        """Per-session σ and baseline; ``sn`` the median σ over sessions."""
        for s in range(len(self._counts)):
            self._close(s)
        if any(p is None for p in self._parts):
            raise RuntimeError("SessionNoisePass.finish: a session got no frames; "
                               "feed the frames of SessionNoisePass.plan first")
        parts = self._parts
        sn = _pooled_noise(np.stack([r.sn for r in parts]))
        base = np.stack([r.baseline for r in parts])
        first = parts[0]
        return NoiseResult(sn=np.median(sn, axis=0).astype(np.float32), baseline=base[0],
                           gSig=first.gSig, spatial_filter=first.spatial_filter,
                           n_segments=sum(r.n_segments for r in parts),
                           plan=list(self.plan), session_sn=sn, session_baseline=base,
                           starts=self.starts)


def _pooled_noise(sn: np.ndarray) -> np.ndarray:
    """Per-session σ maps as one shared map times a factor per session.

    A day's gain scales its noise everywhere alike, so the map's shape is
    estimated from all sessions (a short session alone gives a noisy σ,
    and a noisy 3σ threshold makes a noisy Cn) and only its level per
    session: ``σ_s = c_s · median_s(σ_s / c_s)``, ``c_s`` the median ratio
    of session ``s``'s map to the sessions' median map.
    """
    ref = np.median(sn, axis=0)
    ok = ref > 0
    if not ok.any():
        return sn
    c = np.array([np.median(s[ok] / ref[ok]) for s in sn])
    c = np.where(c > 0, c, 1.0)
    shared = np.median(sn / c[:, None, None], axis=0)
    return (c[:, None, None] * shared[None]).astype(np.float32)


class DiffNoise:
    """Noise sd per pixel from successive differences, fed chunk by chunk.

    ``σ² = mean((y_t − y_{t−1})²) / 2`` over the whole movie: white noise
    doubles in a difference while slow calcium and background cancel, so
    one pass over the frames (in order) is enough.
    """

    def __init__(self, shape):
        self._sum = np.zeros(shape)
        self._last = None
        self._n = 0

    def restart(self) -> None:
        """The next frames do not follow the last ones (a gap in time)."""
        self._last = None

    def add(self, frames: np.ndarray) -> None:
        """Use the next frames ``(n, ...)`` of the movie."""
        flat = np.ascontiguousarray(frames, np.float32).reshape(len(frames), -1)
        if not len(flat):
            return
        last = flat[0] if self._last is None else self._last
        total = self._sum.reshape(-1)
        run_blocks(lambda a, b: _add_squared_steps(flat[:, a:b], last[a:b], total[a:b]),
                   flat.shape[1], min_block=4096)
        self._n += len(flat) - (self._last is None)
        self._last = flat[-1].copy()

    def finish(self) -> np.ndarray:
        """σ per pixel, float32, the frame's shape."""
        return np.sqrt(self._sum / max(1, self._n) / 2).astype(np.float32)


@njit(nogil=True, cache=True)
def _add_squared_steps(frames, last, total):  # pragma: no cover - numba
    """``total += sum_t (frames[t] - frames[t-1])**2``, frame -1 being ``last``."""
    n, d = frames.shape
    for p in range(d):
        step = np.float64(frames[0, p]) - last[p]
        total[p] += step * step
    for t in range(1, n):  # frame by frame: rows stay contiguous
        for p in range(d):
            step = np.float64(frames[t, p]) - frames[t - 1, p]
            total[p] += step * step
