"""Fast layout change of frame blocks (MATLAB column-major to display)."""

from __future__ import annotations

import numba
import numpy as np

from caliali_tk.core.threads import run_blocks

_TILE = 32


def swap_axes_float32(raw: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``raw.transpose(0, 2, 1)`` as a C-contiguous float32 array (into ``out``).

    NumPy's strided copy of a transposed block runs at a fraction of memory
    speed; copying in cache-sized tiles is several times faster, and this
    runs once per chunk of every pass over a movie.
    """
    raw = np.ascontiguousarray(raw)
    if out is None:
        out = np.empty((raw.shape[0], raw.shape[2], raw.shape[1]), np.float32)
    run_blocks(lambda a, b: _swap(raw[a:b], out[a:b]), raw.shape[0], min_block=8)
    return out


@numba.njit(nogil=True, cache=True)
def _swap(raw, out):
    n, a, b = raw.shape
    for t in range(n):
        for i0 in range(0, a, _TILE):
            for j0 in range(0, b, _TILE):
                for j in range(j0, min(b, j0 + _TILE)):
                    for i in range(i0, min(a, i0 + _TILE)):  # contiguous writes
                        out[t, j, i] = raw[t, i, j]
