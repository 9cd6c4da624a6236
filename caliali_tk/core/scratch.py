"""Scratch arrays that a streaming pass reuses from chunk to chunk.

A pass over a movie makes chunk-sized temporaries (the background
fluctuation, the residual), up to tens of MB each.
A fresh array of that size is new memory every time, and its first write
costs a page fault per page: on the 2-core test machine 0.3-0.4 ms per MB,
seven times the cost of the write itself (``benchmarks/bench_stages.py``
shows the passes). :func:`scratch` hands out one buffer per name and
thread, grown when a larger one is asked for, so the faults are paid once.

A scratch array is valid until the same name is asked for again in the
same thread: for a temporary that one call makes and drops.

:func:`use_small_pages` turns off NumPy's request for transparent huge pages
on large arrays (Linux). With the kernel's usual ``defrag=madvise``, the
first touch of such an array waits for memory compaction: 2.5 ms per MB on
the test machine against 0.6 ms with ordinary pages, and an extraction
touches several arrays of hundreds of MB once each (the binned copy, its
filtered twin). Whole extractions of 256 x 256 x 3000 ran 2 % faster, with
0.4 s less system time, in four of four alternating pairs.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["scratch", "use_small_pages"]

_local = threading.local()


def scratch(name: str, shape, dtype=np.float32) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape``, reused by name in this thread.

    Examples
    --------
    >>> a = scratch("doc", (2, 3))
    >>> b = scratch("doc", (3, 2))
    >>> bool(np.shares_memory(a, b)), b.shape
    (True, (3, 2))
    """
    pool = _local.__dict__.setdefault("pool", {})
    dtype = np.dtype(dtype)
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    n = int(np.prod(shape))
    buf = pool.get((name, dtype))
    if buf is None or buf.size < n:
        buf = np.empty(n, dtype)
        pool[(name, dtype)] = buf
    return buf[:n].reshape(shape)


def use_small_pages() -> bool:
    """Make NumPy stop asking for huge pages; False where it cannot (not Linux,
    or a NumPy without the switch). Process-wide; the program entry (`cli.run`) calls it."""
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray
    switch = getattr(multiarray, "_set_madvise_hugepage", None)
    if switch is None:
        return False
    switch(False)
    return True
