"""The CNMF-E ring background model on a 2x down-sampled grid.

Each pixel's background fluctuation is a weighted sum of the residual
``Y - A C - b0`` on a ring of pixels around it. The ring lies outside the
neuron, so it sees background only; fitting the weights ``W`` by ridge
regression lets the model follow a background that is bright, smooth and
changes over time. ``W`` lives on a grid down-sampled by ``ds`` in both
directions, as in CNMF-E, which divides the cost by ``ds**4``.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy import sparse

from caliali_tk.core.binning import bin_time, n_bins


MAX_RING = 24  # ring pixels used per pixel; the background is smooth along it
MAX_FIT_FRAMES = 300  # frames (after binning) the weights are fitted on


def ring_offsets(radius: float, max_points: int = MAX_RING) -> np.ndarray:
    """Integer (drow, dcol) offsets at distance ``radius ± 0.5`` from the centre.

    A large ring is thinned to the ring pixel nearest in angle to each of
    ``max_points`` directions ``(k + 1/2) 2π / max_points`` (of two as near,
    the one nearer the radius): neighbouring ring pixels see nearly the same
    smooth background, so more of them add cost (quadratic) but little
    information. With ``max_points`` a multiple of 4 those directions, and
    so the ring, are unchanged by transposing or mirroring the frame: the
    background model does not depend on which way round a file stores its
    frames.

    Examples
    --------
    >>> len(ring_offsets(1.0))
    8
    >>> off = {tuple(o) for o in ring_offsets(9.0)}
    >>> off == {(c, r) for r, c in off} == {(-r, c) for r, c in off}
    True
    """
    r = max(1.0, float(radius))
    reach = int(np.ceil(r + 0.5))
    dr, dc = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    dist = np.hypot(dr, dc)
    keep = (dist >= r - 0.5) & (dist < r + 0.5)
    off = np.stack([dr[keep], dc[keep]], axis=1).astype(np.int64)
    angle = np.arctan2(off[:, 0], off[:, 1])
    order = np.argsort(angle, kind="stable")
    off, angle = off[order], angle[order]
    if len(off) > max_points:
        off = off[_nearest_to_aims(angle, np.abs(np.hypot(*off.T) - r), max_points)]
    return off


def _nearest_to_aims(angle, off_radius, n):
    """Indices of the points nearest in angle to each of n evenly spaced aims."""
    aims = (np.arange(n) + 0.5) * (2 * np.pi / n) - np.pi
    gap = np.abs(np.angle(np.exp(1j * (angle[None, :] - aims[:, None]))))
    picked = set()
    for row in gap:
        tied = np.flatnonzero(row <= row.min() + 1e-9)
        # atan(1/2) + atan(1/3) = 45°: exact ties occur; a transposed or
        # mirrored tie is broken the same way (a full tie keeps both)
        dev = off_radius[tied]
        picked.update(tied[dev <= dev.min() + 1e-9].tolist())
    return np.array(sorted(picked), np.int64)


def ds_shape(shape: tuple[int, int], ds: int) -> tuple[int, int]:
    """Shape of the down-sampled grid (a partial block at the edge counts)."""
    return (-(-shape[0] // ds), -(-shape[1] // ds))


def upsample_index(shape: tuple[int, int], ds: int) -> np.ndarray:
    """For every full-resolution pixel (flat index) its down-sampled pixel."""
    H, W = shape
    w = ds_shape(shape, ds)[1]
    rr, cc = np.mgrid[0:H, 0:W]
    return ((rr // ds) * w + cc // ds).ravel().astype(np.int64)


def fit_ring_weights(R: np.ndarray, shape_ds: tuple[int, int], radius_ds: float,
                     ridge: float = 1e-5) -> sparse.csr_matrix:
    """Fit the ring weights ``W`` by ridge regression, pixel by pixel.

    Parameters
    ----------
    R : ndarray (d, T)
        Background residual (``Y - A C - b0``) on the down-sampled grid,
        one row per pixel; any number of (possibly binned) frames.
    shape_ds : (h, w)
        Grid shape, ``d = h * w``.
    radius_ds : float
        Ring radius in down-sampled pixels.
    ridge : float
        Ridge term relative to the trace of each pixel's Gram matrix.

    Returns
    -------
    W : csr_matrix (d, d)
        Row ``i`` holds the weights of pixel ``i``'s ring.
    """
    h, w = shape_ds
    offsets = ring_offsets(radius_ds)
    tb = n_bins(R.shape[1], MAX_FIT_FRAMES)  # frames per bin: at most MAX_FIT_FRAMES bins
    R = np.ascontiguousarray(bin_time(np.asarray(R, np.float32), tb, axis=1), np.float32)
    n = len(offsets)
    cols = np.full((h * w, n), -1, np.int64)
    vals = np.zeros((h * w, n), np.float32)
    _fit_w(R, h, w, offsets, float(ridge), cols, vals)
    keep = cols >= 0
    rows = np.repeat(np.arange(h * w), n).reshape(h * w, n)
    return sparse.csr_matrix((vals[keep], (rows[keep], cols[keep])),
                             shape=(h * w, h * w))


@numba.njit(nogil=True, parallel=True, cache=True)
def _fit_w(R, h, w, offsets, ridge, cols, vals):
    T = R.shape[1]
    n_off = offsets.shape[0]
    for i in numba.prange(h * w):
        r, c = i // w, i % w
        idx = np.empty(n_off, np.int64)
        m = 0
        for k in range(n_off):
            rr, cc = r + offsets[k, 0], c + offsets[k, 1]
            if 0 <= rr < h and 0 <= cc < w:
                idx[m] = rr * w + cc
                m += 1
        if m == 0:
            continue
        X = np.empty((m, T), np.float64)
        for a in range(m):
            for t in range(T):
                X[a, t] = R[idx[a], t]
        G = X @ X.T
        tr = 0.0
        for a in range(m):
            tr += G[a, a]
        lam = ridge * tr + 1e-12
        for a in range(m):
            G[a, a] += lam
        y = R[i].astype(np.float64)
        rhs = X @ y
        sol = np.linalg.solve(G, rhs)
        for a in range(m):
            cols[i, a] = idx[a]
            vals[i, a] = sol[a]
