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

`run_in_order` runs a loop whose iterations read some earlier ones' output
(the HALS sweep over traces: each trace's update reads the traces that
overlap it) on every core, each iteration once the earlier ones it reads
are done, so the result is the plain loop's, to the bit.
"""

from __future__ import annotations

import heapq
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["n_threads", "run_blocks", "block_bounds", "run_in_order"]

_local = threading.local()
_lock = threading.Lock()
_pools: dict = {}
_CORES = os.cpu_count() or 1  # asked once: the passes ask for every block


def n_threads() -> int:
    """Threads to use: ``NUMBA_NUM_THREADS`` if set, else the cores (at most 8)."""
    env = os.environ.get("NUMBA_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(8, _CORES))


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


def run_in_order(fn, n: int, before) -> None:
    """``fn(k)`` for k = 0 .. n-1, on every core, with the result of the loop in order.

    ``before[k]`` lists the tasks ``j < k`` that ``fn(k)`` reads the output
    of (and that read what ``fn(k)`` writes): k starts once all of them are
    done, and the lowest ready k goes first. Every task then sees exactly
    what it would see in the plain loop, so the result is the same, to the
    bit, however the threads run. Worth it when ``fn`` spends most of its
    time in ``nogil`` kernels (a HALS sweep over traces, each deconvolved).
    Exceptions are raised here; after one, no new task starts.
    """
    workers = min(n_threads(), max(1, int(n)))
    if workers <= 1 or getattr(_local, "inside", False):
        for k in range(int(n)):
            fn(k)
        return
    waiting = [0] * n
    after = [[] for _ in range(n)]
    for k in range(n):
        for j in before[k]:
            if j < k:
                waiting[k] += 1
                after[j].append(k)
    ready = [k for k in range(n) if waiting[k] == 0]
    heapq.heapify(ready)
    state = {"left": n, "error": None}
    cond = threading.Condition()

    def work():
        while True:
            with cond:
                while not ready and state["left"] > 0 and state["error"] is None:
                    cond.wait()
                if state["error"] is not None or not ready:
                    return
                k = heapq.heappop(ready)
            try:
                fn(k)
            except BaseException as exc:  # noqa: BLE001 - raised by the caller
                with cond:
                    state["error"] = state["error"] or exc
                    cond.notify_all()
                return
            with cond:
                state["left"] -= 1
                for j in after[k]:
                    waiting[j] -= 1
                    if waiting[j] == 0:
                        heapq.heappush(ready, j)
                cond.notify_all()

    futures = [_get_pool("order").submit(_inside, lambda a, b: work(), 0, 0)
               for _ in range(workers - 1)]
    try:
        _inside(lambda a, b: work(), 0, 0)
    finally:
        for f in futures:
            f.result()
    if state["error"] is not None:
        raise state["error"]


def _inside(fn, a, b):
    _local.inside = True
    try:
        fn(a, b)
    finally:
        _local.inside = False


def _get_pool(kind: str = "block") -> ThreadPoolExecutor:
    """The pool of ``run_blocks`` ("block": short blocks) or of ``run_in_order``
    ("order": its workers stay for a whole loop, so they get a pool of their
    own and never hold up the blocks another thread submits)."""
    with _lock:
        if kind not in _pools:
            _pools[kind] = ThreadPoolExecutor(max_workers=max(1, n_threads() - 1),
                                              thread_name_prefix=f"kernel-{kind}")  # not a GUI worker
        return _pools[kind]
