"""Footprint bookkeeping: search areas, clean-up, centres, conversions.

Footprints ``A`` are ``scipy.sparse.csc_matrix`` (pixels x K), pixels
flattened row-major in display orientation, float32.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, sparse


def disc(radius: float) -> np.ndarray:
    """Boolean disc structuring element of the given radius."""
    r = int(np.ceil(radius))
    rr, cc = np.mgrid[-r:r + 1, -r:r + 1]
    return rr ** 2 + cc ** 2 <= radius ** 2 + 1e-9


def search_areas(A: sparse.csc_matrix, shape: tuple[int, int], dilate: float,
                 limit: int) -> sparse.csc_matrix:
    """Where each footprint may grow: its support dilated by ``dilate`` px.

    The area is also kept within ``limit`` px (a box) of the footprint's
    peak, so that a footprint cannot drift away over the rounds.
    Returns a boolean pattern with the same layout as ``A``.
    """
    H, W = shape
    se = disc(dilate)
    pad = int(np.ceil(dilate))
    cols = []
    for k in range(A.shape[1]):
        idx, vals = _column(A, k)
        if len(idx) == 0:
            cols.append(idx)
            continue
        rows, cc = np.divmod(idx, W)
        pr, pc = rows[np.argmax(vals)], cc[np.argmax(vals)]
        r0, r1 = max(0, rows.min() - pad, pr - limit), min(H, rows.max() + pad + 1, pr + limit + 1)
        c0, c1 = max(0, cc.min() - pad, pc - limit), min(W, cc.max() + pad + 1, pc + limit + 1)
        img = np.zeros((r1 - r0, c1 - c0), bool)
        ok = (rows >= r0) & (rows < r1) & (cc >= c0) & (cc < c1)
        img[rows[ok] - r0, cc[ok] - c0] = True
        img = ndimage.binary_dilation(img, structure=se)
        ar, ac = np.nonzero(img)
        cols.append(np.sort((ar + r0) * W + ac + c0))
    return _pattern(cols, H * W)


def clean_footprints(A: sparse.csc_matrix, shape: tuple[int, int],
                     thresh: np.ndarray) -> sparse.csc_matrix:
    """Zero values below ``thresh[k]`` and keep the part connected to the peak.

    The noise floor of a HALS footprint estimate is ``sigma_i / ||c_k||``;
    pixels below a few times that are noise, and pieces that do not touch
    the soma belong to something else.
    """
    H, W = shape
    cols, vals = [], []
    for k in range(A.shape[1]):
        idx, v = _column(A, k)
        keep = v > thresh[k]
        idx, v = idx[keep], v[keep]
        if len(idx):
            idx, v = _largest_piece(idx, v, W)
        cols.append(idx)
        vals.append(v)
    return from_columns(cols, vals, H * W)


def _largest_piece(idx, v, W):
    """Entries connected (8-neighbours) to the peak of the footprint."""
    rows, cc = np.divmod(idx, W)
    r0, c0 = rows.min(), cc.min()
    img = np.zeros((rows.max() - r0 + 1, cc.max() - c0 + 1), bool)
    img[rows - r0, cc - c0] = True
    labels, _ = ndimage.label(img, structure=np.ones((3, 3)))
    peak = np.argmax(v)
    keep = labels[rows - r0, cc - c0] == labels[rows[peak] - r0, cc[peak] - c0]
    return idx[keep], v[keep]


def centers_of(A: sparse.csc_matrix, shape: tuple[int, int]) -> np.ndarray:
    """Weighted centroid (row, col) of each footprint."""
    H, W = shape
    out = np.full((A.shape[1], 2), np.nan)
    for k in range(A.shape[1]):
        idx, v = _column(A, k)
        if v.sum() > 0:
            rows, cc = np.divmod(idx, W)
            out[k] = (rows @ v / v.sum(), cc @ v / v.sum())
    return out


def to_dense(A: sparse.csc_matrix, shape: tuple[int, int]) -> np.ndarray:
    """``(K, H, W)`` float32 array of footprints, as the results file holds."""
    K = A.shape[1]
    out = np.zeros((K, shape[0] * shape[1]), np.float32)
    for k in range(K):
        idx, v = _column(A, k)
        out[k, idx] = v
    return out.reshape(K, *shape)


def from_columns(cols, vals, d: int) -> sparse.csc_matrix:
    """Build a csc (d x K) matrix from per-column indices and values."""
    if not cols:
        return sparse.csc_matrix((d, 0), dtype=np.float32)
    indptr = np.zeros(len(cols) + 1, np.int64)
    np.cumsum([len(c) for c in cols], out=indptr[1:])
    idx = np.concatenate(cols).astype(np.int64)
    data = np.concatenate(vals).astype(np.float32)
    return sparse.csc_matrix((data, idx, indptr), shape=(d, len(cols)))


def _pattern(cols, d):
    return from_columns(cols, [np.ones(len(c), np.float32) for c in cols], d)


def _column(A, k):
    s, e = A.indptr[k], A.indptr[k + 1]
    return A.indices[s:e].astype(np.int64), A.data[s:e]


def on_pattern(A: sparse.csc_matrix, pattern: sparse.csc_matrix) -> np.ndarray:
    """Values of ``A`` at the entries of ``pattern`` (0 where A has none)."""
    out = np.zeros(pattern.nnz, np.float32)
    for k in range(A.shape[1]):
        idx, v = _column(A, k)
        s, e = pattern.indptr[k], pattern.indptr[k + 1]
        pos = np.searchsorted(pattern.indices[s:e], idx)
        ok = (pos < e - s)
        ok[ok] = pattern.indices[s:e][pos[ok]] == idx[ok]
        out[s + pos[ok]] = v[ok]
    return out
