"""Operations on K x T trace arrays that make no K x T temporary.

The trace arrays may be file-backed (:func:`caliali_tk.pipeline.memory.trace_allocator`);
numpy's one-liners (``C[keep]``, ``np.repeat``, ``C @ C.T`` in float64,
``(C1 * C2).sum(1)``) would each build a full copy in memory. These work a
block of rows or frames at a time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["take_rows", "gram", "row_sums", "row_cosines", "scale_rows",
           "normalize_inplace", "ROW_BLOCK"]

ROW_BLOCK = 64  # rows per block
FRAME_BLOCK = 8192  # frames per block


def take_rows(X: np.ndarray, keep: np.ndarray, alloc) -> np.ndarray:
    """``X[keep]`` (boolean or index) in a new array from ``alloc``; ``X`` if all kept."""
    idx = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep)
    if len(idx) == X.shape[0] and np.array_equal(idx, np.arange(X.shape[0])):
        return X
    out = alloc((len(idx),) + X.shape[1:])
    for a in range(0, len(idx), ROW_BLOCK):
        out[a:a + ROW_BLOCK] = X[idx[a:a + ROW_BLOCK]]
    return out


def gram(C: np.ndarray) -> np.ndarray:
    """``C C^T`` in float64, a block of frames at a time."""
    K, T = C.shape
    out = np.zeros((K, K))
    for a in range(0, T, FRAME_BLOCK):
        blk = np.asarray(C[:, a:a + FRAME_BLOCK], np.float64)
        out += blk @ blk.T
    return out


def row_sums(C: np.ndarray) -> np.ndarray:
    """Sum of every row in float64."""
    out = np.zeros(C.shape[0])
    for a in range(0, C.shape[0], ROW_BLOCK):
        out[a:a + ROW_BLOCK] = C[a:a + ROW_BLOCK].sum(axis=1, dtype=np.float64)
    return out


def row_cosines(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of ``X`` with the same row of ``Y``."""
    out = np.zeros(X.shape[0])
    for a in range(0, X.shape[0], ROW_BLOCK):
        x = np.asarray(X[a:a + ROW_BLOCK], np.float64)
        y = np.asarray(Y[a:a + ROW_BLOCK], np.float64)
        num = (x * y).sum(axis=1)
        out[a:a + ROW_BLOCK] = num / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1) + 1e-12)
    return out


def scale_rows(X: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """``X *= factors[:, None]`` in place, a block of rows at a time; returns X."""
    for a in range(0, X.shape[0], ROW_BLOCK):
        X[a:a + ROW_BLOCK] *= np.asarray(factors[a:a + ROW_BLOCK], X.dtype)[:, None]
    return X


def normalize_inplace(A, C: np.ndarray):
    """:func:`caliali_tk.core.cnmfe.update.normalize` with ``C`` scaled in place."""
    from scipy import sparse

    peaks = np.asarray(A.max(axis=0).todense()).ravel().astype(np.float32)
    peaks[peaks <= 0] = 1.0
    A = sparse.csc_matrix(A @ sparse.diags(1.0 / peaks).astype(np.float32), dtype=np.float32)
    return A, scale_rows(C, peaks)
