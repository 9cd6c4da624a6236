"""Numba kernels for the streaming products and the spatial HALS sweep.

A footprint matrix is kept as CSC arrays (``indptr``, ``indices``, ``data``)
of shape (pixels, K), pixels flattened row-major in display orientation.
Every kernel is a plain loop over entries and frames, ``nogil`` so that the
GUI thread keeps running while a worker thread is inside one.
"""

from __future__ import annotations

import numba
import numpy as np

from caliali_tk.core.threads import run_blocks


def accumulate_AtY(indptr, indices, data, Y, out, t0):
    """``out[k, t0 + t] = sum_i A[i, k] Y[t, i]`` for a chunk ``Y`` (n, d).

    Eight frames at a time: each footprint entry is read once for the eight
    and feeds eight independent float64 sums, which keeps the loads of Y
    in flight (2.7x faster than frame by frame on 256 x 256 x 85 chunks
    with 200 footprints, ``benchmarks/bench_stages.py``); blocks of frames
    on every core.
    """
    run_blocks(lambda a, b: _AtY(indptr, indices, data, Y[a:b], out, t0 + a),
               Y.shape[0], min_block=8)


def accumulate_YCt(indptr, indices, Y, C, t0, out):
    """``out[j] += sum_t Y[t, indices[j]] C[k, t0 + t]`` on a sparsity pattern.

    ``(indptr, indices)`` is the pattern (search areas) in CSC form; entry
    ``j`` of column ``k`` receives the product of its pixel with trace ``k``.
    Eight frames at a time, each entry's eight samples against the trace's
    eight values: only the pattern's pixels are read (a pixel-major copy of
    the whole chunk cost twice as much, measured on 256 x 256 x 85 chunks
    with patterns of 0.4 to 6 times the frame's pixels); blocks of
    components run on every core.
    """
    run_blocks(lambda a, b: _YCt(indptr[a:b + 1], indices, Y, C[a:b], t0, out),
               len(indptr) - 1, min_block=8, weights=np.diff(indptr))


@numba.njit(nogil=True, cache=True)  # no fastmath: its vectorised gathers are slower here
def _AtY(indptr, indices, data, Y, out, t0):  # pragma: no cover - numba
    K = indptr.shape[0] - 1
    n = Y.shape[0]
    for a in range(0, n - 7, 8):
        for k in range(K):
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
            for j in range(indptr[k], indptr[k + 1]):
                p, v = indices[j], data[j]
                s0 += v * Y[a, p]
                s1 += v * Y[a + 1, p]
                s2 += v * Y[a + 2, p]
                s3 += v * Y[a + 3, p]
                s4 += v * Y[a + 4, p]
                s5 += v * Y[a + 5, p]
                s6 += v * Y[a + 6, p]
                s7 += v * Y[a + 7, p]
            o = out[k]
            o[t0 + a], o[t0 + a + 1], o[t0 + a + 2], o[t0 + a + 3] = s0, s1, s2, s3
            o[t0 + a + 4], o[t0 + a + 5], o[t0 + a + 6], o[t0 + a + 7] = s4, s5, s6, s7
    for t in range(n - n % 8, n):
        for k in range(K):
            s = 0.0
            for j in range(indptr[k], indptr[k + 1]):
                s += data[j] * Y[t, indices[j]]
            out[k, t0 + t] = s


@numba.njit(nogil=True, cache=True, fastmath=True)  # a reordered sum vectorises
def _YCt(indptr, indices, Y, C, t0, out):  # pragma: no cover - numba
    K = indptr.shape[0] - 1
    n = Y.shape[0]
    for k in range(K):
        for a in range(0, n - 7, 8):
            c0, c1, c2, c3 = C[k, t0 + a], C[k, t0 + a + 1], C[k, t0 + a + 2], C[k, t0 + a + 3]
            c4, c5, c6, c7 = (C[k, t0 + a + 4], C[k, t0 + a + 5], C[k, t0 + a + 6],
                              C[k, t0 + a + 7])
            for j in range(indptr[k], indptr[k + 1]):
                p = indices[j]
                out[j] += (Y[a, p] * c0 + Y[a + 1, p] * c1 + Y[a + 2, p] * c2
                           + Y[a + 3, p] * c3 + Y[a + 4, p] * c4 + Y[a + 5, p] * c5
                           + Y[a + 6, p] * c6 + Y[a + 7, p] * c7)
        for a in range(n - n % 8, n):
            c = C[k, t0 + a]
            for j in range(indptr[k], indptr[k + 1]):
                out[j] += Y[a, indices[j]] * c


@numba.njit(nogil=True, cache=True)
def hals_spatial(indptr, indices, P, CCt, val, by_pixel_ptr, by_pixel, n_sweeps):
    """Gauss-Seidel HALS on footprints restricted to a sparsity pattern.

    ``val`` (entries of the pattern) is updated in place:
    ``a_k <- max(0, a_k + (P_k - A CCt[:, k]) / CCt[k, k])``.
    ``by_pixel_ptr`` / ``by_pixel`` list, per pixel, the entries at that
    pixel, so that ``(A CCt[:, k])_i`` needs no dense A. Entry ``j`` belongs
    to column ``comp[j]``, found from ``indptr``.
    """
    K = indptr.shape[0] - 1
    comp = np.empty(indices.shape[0], np.int64)
    for k in range(K):
        for j in range(indptr[k], indptr[k + 1]):
            comp[j] = k
    for _ in range(n_sweeps):
        for k in range(K):
            ckk = CCt[k, k]
            if ckk <= 0:
                continue
            for j in range(indptr[k], indptr[k + 1]):
                p = indices[j]
                s = 0.0
                for q in range(by_pixel_ptr[p], by_pixel_ptr[p + 1]):
                    e = by_pixel[q]
                    s += CCt[comp[e], k] * val[e]
                v = val[j] + (P[j] - s) / ckk
                val[j] = v if v > 0 else 0.0


def entries_by_pixel(indices: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Group the entries of a CSC pattern by pixel: ``(ptr (d+1,), entries)``."""
    order = np.argsort(indices, kind="stable").astype(np.int64)
    counts = np.bincount(indices, minlength=d)
    ptr = np.zeros(d + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr, order
