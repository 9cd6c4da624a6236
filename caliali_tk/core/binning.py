"""Averaging in time over consecutive bins of frames.

The initialisation and the background fit work on a copy of the movie
averaged over bins of ``tb`` frames (footprints need the spatial detail, not
every frame); the traces they are compared with are binned the same way.
Bin ``b`` holds frames ``b·tb … (b+1)·tb − 1``; the last bin may hold fewer
frames and is their mean.

A long movie would need bins so wide that a transient is averaged away and
neighbouring cells firing seconds apart land in the same bin. `Bins` then
keeps bins of a bounded width and only every ``stride``-th of them, spread
evenly over the whole movie (every session included).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["n_bins", "bin_time", "add_to_bins", "Bins"]


def n_bins(n_frames: int, tb: int) -> int:
    """Number of bins of ``tb`` frames (the last one possibly partial)."""
    return -(-int(n_frames) // int(tb))


def bin_time(X: np.ndarray, tb: int, axis: int = -1) -> np.ndarray:
    """Mean of ``X`` over consecutive bins of ``tb`` samples along ``axis``.

    Examples
    --------
    >>> bin_time(np.arange(5.0), 2).tolist()
    [0.5, 2.5, 4.0]
    """
    X = np.moveaxis(np.asarray(X), axis, -1)
    tb = int(tb)
    T = X.shape[-1]
    if tb <= 1:
        return np.moveaxis(X.copy(), -1, axis)
    whole = (T // tb) * tb
    parts = [_bin_means(X[..., :whole].reshape(X.shape[:-1] + (T // tb, tb)))]
    if whole < T:
        parts.append(X[..., whole:].mean(axis=-1, keepdims=True))
    return np.moveaxis(np.concatenate(parts, axis=-1), -1, axis)


def _bin_means(V: np.ndarray) -> np.ndarray:
    """``V.mean(axis=-1)``; a short last axis is added up slice by slice.

    NumPy's reduction over an axis of 2-7 samples spends most of its time on
    loop set-up (the ring fit bins 16384 x 600 into pairs: 80 ms, 11 ms
    here); below 8 numpy adds in order too, so the sums, and the means, are
    the same to the bit.
    """
    n = V.shape[-1]
    if n >= 8 or V.dtype.kind != "f":
        return V.mean(axis=-1)
    acc = V[..., 0].copy()
    for k in range(1, n):
        acc += V[..., k]
    acc /= V.dtype.type(n)
    return acc


def add_to_bins(sums: np.ndarray, counts: np.ndarray, frames: np.ndarray,
                start: int, tb: int) -> None:
    """Add a chunk of frames (axis 0) starting at frame ``start`` to its bins.

    ``sums`` (n_bins, ...) and ``counts`` (n_bins,) accumulate; the binned
    movie is ``sums / counts`` once every chunk was added.
    """
    _add_kept_bins(sums, counts, frames, start, tb, 1)


@dataclass(frozen=True)
class Bins:
    """The binned copy of a movie: bins of ``tb`` frames, every ``stride``-th kept.

    Kept bin ``j`` is bin ``j·stride`` (frames ``j·stride·tb`` to
    ``j·stride·tb + tb − 1``); with ``stride`` 1 every frame is in a bin.

    Examples
    --------
    >>> b = Bins(T=10, tb=2, stride=2)
    >>> b.n, b.stretches()
    (3, [(0, 2), (4, 6), (8, 10)])
    >>> b.mean(np.arange(10.0)).tolist()
    [0.5, 4.5, 8.5]
    >>> b.spread(np.array([[1.0, 2.0, 3.0]]), 10).tolist()
    [[1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0]]
    """

    T: int
    tb: int
    stride: int = 1

    @property
    def n(self) -> int:
        """Number of kept bins."""
        return -(-n_bins(self.T, self.tb) // self.stride)

    def stretches(self) -> list:
        """``(first, stop)`` frames of every kept bin (all frames for stride 1)."""
        if self.stride == 1:
            return [(0, int(self.T))]
        step = self.stride * self.tb
        return [(a, min(a + self.tb, self.T)) for a in range(0, self.T, step)]

    def add(self, sums: np.ndarray, counts: np.ndarray, frames: np.ndarray, start: int) -> None:
        """Add frames (axis 0) from frame ``start``; frames outside kept bins are ignored."""
        _add_kept_bins(sums, counts, frames, start, self.tb, self.stride)

    def mean(self, X: np.ndarray, axis: int = -1) -> np.ndarray:
        """``X`` (T samples along ``axis``) averaged over the kept bins."""
        out = bin_time(X, self.tb, axis)
        if self.stride == 1:
            return out
        return np.take(out, np.arange(0, out.shape[axis], self.stride), axis=axis)

    def spread(self, C_bin: np.ndarray, T: int | None = None, alloc=None) -> np.ndarray:
        """Binned traces (K, n) back to (K, T): each kept bin's value held until the next."""
        T = self.T if T is None else int(T)
        alloc = alloc or (lambda shape: np.zeros(shape, np.float32))
        out = alloc((C_bin.shape[0], T))
        width = self.tb * self.stride
        for a in range(0, C_bin.shape[0], 256):
            out[a:a + 256] = np.repeat(C_bin[a:a + 256], width, axis=1)[:, :T]
        return out


def _add_kept_bins(sums, counts, frames, start, tb, stride):
    """Frames from ``start`` into bins of ``tb``; bin ``b`` is kept (as ``b // stride``)
    when ``b`` is a multiple of ``stride``."""
    idx = (start + np.arange(len(frames))) // int(tb)
    for b in np.unique(idx[idx % stride == 0]):
        a, e = np.searchsorted(idx, b), np.searchsorted(idx, b, side="right")  # a run
        sums[b // stride] += frames[a:e].sum(axis=0)
        counts[b // stride] += e - a
