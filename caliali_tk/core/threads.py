"""Blocks of work on every core, for numba kernels that release the GIL.

The streaming kernels (layout swap, spatial filter, temporal median, the
``A^T Y`` and ``Y C^T`` products, the residual) are ``nogil`` loops whose
iterations are independent: over frames, pixel rows or components. Running
contiguous blocks of those iterations in plain threads uses both cores of a
lab PC without numba's ``parallel`` threading layers, which differ between
platforms and must not be entered from two threads at once (the window
computes summary images while an extraction runs).

A call made from inside a block runs serially, so nested use cannot
deadlock the pool.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["n_threads", "run_blocks", "block_bounds"]

_local = threading.local()
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def n_threads() -> int:
    """Threads to use: ``NUMBA_NUM_THREADS`` if set, else the cores (at most 8)."""
    env = os.environ.get("NUMBA_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(8, _CORES))


_CORES = os.cpu_count() or 1  # asked once: the passes ask for every block


def block_bounds(n: int, n_blocks: int, weights=None) -> np.ndarray:
    """``n_blocks + 1`` increasing bounds that cut ``range(n)`` into blocks.

    With ``weights`` (n,), each block gets about the same total weight
    (e.g. footprint entries per component) instead of the same count.

    Examples
    --------
    >>> block_bounds(10, 2).tolist()
    [0, 5, 10]
    >>> block_bounds(4, 2, weights=[3, 1, 1, 1]).tolist()
    [0, 1, 4]
    """
    n_blocks = max(1, min(int(n_blocks), int(n)))
    if weights is None:
        return np.linspace(0, n, n_blocks + 1).round().astype(np.int64)
    cum = np.concatenate([[0.0], np.cumsum(np.asarray(weights, np.float64))])
    targets = np.linspace(0.0, cum[-1], n_blocks + 1)
    bounds = np.searchsorted(cum, targets, side="left")
    bounds[0], bounds[-1] = 0, n
    return np.maximum.accumulate(np.clip(bounds, 0, n)).astype(np.int64)


def run_blocks(fn, n: int, min_block: int = 1, weights=None) -> None:
    """Call ``fn(a, b)`` on consecutive blocks covering ``range(n)``, in parallel.

    ``fn`` must write only to its own block's part of the output. Blocks
    are at least ``min_block`` long; one block (or a call from inside a
    block) runs in the calling thread. Exceptions are raised here.
    """
    k = min(n_threads(), int(n) // max(1, int(min_block)))
    if k <= 1 or getattr(_local, "inside", False):
        if n > 0:
            fn(0, int(n))
        return
    bounds = block_bounds(n, k, weights)
    pairs = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    futures = [_get_pool().submit(_inside, fn, a, b) for a, b in pairs[1:]]
    try:
        _inside(fn, *pairs[0])
    finally:
        for f in futures:
            f.result()


def _inside(fn, a, b):
    _local.inside = True
    try:
        fn(a, b)
    finally:
        _local.inside = False


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, n_threads() - 1),
                                       thread_name_prefix="kernel-block")  # not a GUI worker
        return _pool
