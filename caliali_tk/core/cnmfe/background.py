"""The ring background model: fitting it, and its fluctuation chunk by chunk."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy import sparse

from caliali_tk.core.cnmfe import ring


@dataclass
class Background:
    """``B(t) = b0 + up(W (D Y(t) - D A C(t) - b0_ds))``.

    ``D`` averages 2x2 (``ds`` x ``ds``) blocks, ``up`` copies a block value
    back to its pixels, ``b0`` is the full-resolution constant background.
    """

    b0: np.ndarray  # (d,)
    b0_ds: np.ndarray  # (d_ds,)
    W: sparse.csr_matrix  # (d_ds, d_ds)
    D: sparse.csr_matrix  # (d_ds, d)
    up: np.ndarray  # (d,) index of each pixel's block

    def fluctuation(self, Y: np.ndarray, A_ds: sparse.csc_matrix, C: np.ndarray,
                    W_rows: sparse.csr_matrix | None = None,
                    out: np.ndarray | None = None) -> np.ndarray:
        """``W (D Y - D A C - b0_ds)`` for a chunk: the background minus b0.

        ``Y`` is ``(n, d)``, ``C`` is ``(K, n)``; the result ``(n, d_ds)`` is
        on the down-sampled grid. Pixel ``p`` of the full background is
        ``b0[p] + result[:, up[p]]``; the passes use that without ever
        building full-resolution background frames. With ``W_rows`` (some
        rows of ``W``, e.g. ``W[rows]``) only those grid pixels are made,
        ``(n, len(rows))``: a temporal pass needs the background under the
        footprints only. ``out`` (float32, that shape) receives the result.
        """
        W = self.W if W_rows is None else W_rows
        if out is None:
            out = np.empty((Y.shape[0], W.shape[0]), np.float32)
        inv = (1.0 / np.bincount(self.up)).astype(np.float32)
        _fluctuation(np.ascontiguousarray(Y, np.float32), self.up, inv, self.b0_ds,
                     A_ds.indptr.astype(np.int64), A_ds.indices.astype(np.int64),
                     A_ds.data.astype(np.float32), np.ascontiguousarray(C, np.float32),
                     W.indptr.astype(np.int64), W.indices.astype(np.int64),
                     W.data.astype(np.float32), out)
        return out

    def remove(self, Y: np.ndarray, A_ds: sparse.csc_matrix, C: np.ndarray) -> np.ndarray:
        """``Y - B`` for a chunk ``Y (n, d)`` with traces ``C (K, n)``."""
        return Y - self.b0[None, :] - self.fluctuation(Y, A_ds, C)[:, self.up]


_FRAME_BLOCK = 16  # frames that share one read of W (its index arrays dominate the traffic)


@numba.njit(nogil=True, parallel=True, cache=True)
def _fluctuation(Y, up, inv_count, b0_ds, Ap, Ai, Ax, C, Wp, Wi, Wx, out):
    """Blocks of frames: block means, minus neurons and b0_ds, through W.

    The residual of a block is kept pixel-major (``fl[pixel, frame]``), so
    each weight of W is read once per block and applied to the block's
    frames in one contiguous run.
    """
    n, d = Y.shape
    d_ds = b0_ds.shape[0]
    n_out = Wp.shape[0] - 1
    K = Ap.shape[0] - 1
    n_blocks = (n + _FRAME_BLOCK - 1) // _FRAME_BLOCK
    for blk in numba.prange(n_blocks):
        t0 = blk * _FRAME_BLOCK
        m = min(_FRAME_BLOCK, n - t0)
        fl = np.zeros((d_ds, _FRAME_BLOCK), np.float32)
        for tt in range(m):
            t = t0 + tt
            for p in range(d):
                fl[up[p], tt] += Y[t, p]
        for i in range(d_ds):
            for tt in range(m):
                fl[i, tt] = fl[i, tt] * inv_count[i] - b0_ds[i]
        for k in range(K):
            for j in range(Ap[k], Ap[k + 1]):
                a, row = Ax[j], Ai[j]
                for tt in range(m):
                    fl[row, tt] -= a * C[k, t0 + tt]
        acc = np.empty(_FRAME_BLOCK, np.float32)
        for i in range(n_out):
            acc[:] = 0.0
            for j in range(Wp[i], Wp[i + 1]):
                w, col = Wx[j], Wi[j]
                for tt in range(_FRAME_BLOCK):
                    acc[tt] += w * fl[col, tt]
            for tt in range(m):
                out[t0 + tt, i] = acc[tt]


def block_mean_operator(shape: tuple[int, int], ds: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The ``ds`` x ``ds`` block-mean matrix ``D`` (d_ds x d) and the up index."""
    H, W = shape
    up = ring.upsample_index(shape, ds)
    counts = np.bincount(up)
    D = sparse.csr_matrix((1.0 / counts[up], (up, np.arange(H * W))),
                          shape=(len(counts), H * W), dtype=np.float32)
    return D, up


def fit_background(Yds_bin: np.ndarray, A_ds: sparse.csc_matrix, C_bin: np.ndarray,
                   b0: np.ndarray, D: sparse.csr_matrix, up: np.ndarray,
                   shape_ds: tuple[int, int], radius_ds: float) -> Background:
    """Fit ``b0_ds`` and the ring weights on the binned, down-sampled movie.

    Parameters
    ----------
    Yds_bin : ndarray (d_ds, Tb)
        Movie binned in time and down-sampled in space, pixel-major.
    A_ds : csc (d_ds, K)
        Footprints down-sampled the same way (``D A``).
    C_bin : ndarray (K, Tb)
        Traces binned the same way.
    b0 : ndarray (d,)
        Full-resolution constant background.
    """
    R = Yds_bin - (A_ds @ C_bin if A_ds.shape[1] else 0.0)
    R = np.asarray(R, np.float32)
    b0_ds = R.mean(axis=1).astype(np.float32)
    R -= b0_ds[:, None]
    W = ring.fit_ring_weights(R, shape_ds, radius_ds)
    return Background(b0=b0.astype(np.float32), b0_ds=b0_ds, W=W, D=D, up=up)
