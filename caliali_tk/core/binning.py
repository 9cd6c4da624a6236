"""Averaging in time over consecutive bins of frames.

The initialisation and the background fit work on a copy of the movie
averaged over bins of ``tb`` frames (footprints need the spatial detail, not
every frame); the traces they are compared with are binned the same way.
Bin ``b`` holds frames ``b·tb … (b+1)·tb − 1``; the last bin may hold fewer
frames and is their mean.
"""

from __future__ import annotations

import numpy as np

__all__ = ["n_bins", "bin_time", "add_to_bins"]


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
    parts = [X[..., :whole].reshape(X.shape[:-1] + (T // tb, tb)).mean(axis=-1)]
    if whole < T:
        parts.append(X[..., whole:].mean(axis=-1, keepdims=True))
    return np.moveaxis(np.concatenate(parts, axis=-1), -1, axis)


def add_to_bins(sums: np.ndarray, counts: np.ndarray, frames: np.ndarray,
                start: int, tb: int) -> None:
    """Add a chunk of frames (axis 0) starting at frame ``start`` to its bins.

    ``sums`` (n_bins, ...) and ``counts`` (n_bins,) accumulate; the binned
    movie is ``sums / counts`` once every chunk was added.
    """
    idx = (start + np.arange(len(frames))) // int(tb)
    for b in np.unique(idx):
        sel = idx == b
        sums[b] += frames[sel].sum(axis=0)
        counts[b] += sel.sum()
