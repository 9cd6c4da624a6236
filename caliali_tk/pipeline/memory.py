"""The memory budget of one extraction (``max_memory_gb``), and where arrays live.

Every large array of the extraction is counted here:

- a chunk of frames and its working copies (the background fluctuation,
  the footprint products): ``CHUNK_SHARE`` of the budget;
- the copy of the movie binned in time, with its filtered twin and a
  temporary, for the initialisation (``BINNED_BYTES`` per pixel and binned
  frame; freed after it), and its 2x-down-sampled copy for the background
  fits (kept): ``BINNED_SHARE``. Bins are at most ``BIN_MAX_S`` seconds
  wide; a movie too long for that keeps every ``stride``-th bin
  (:class:`~caliali_tk.core.binning.Bins`);
- the K x T traces: at most ``N_TRACE_ARRAYS`` float32 arrays are alive at
  once (the traces of the last round, ``A^T (Y - B)``, and the new C,
  C_raw and S). When they do not fit in ``TRACE_SHARE`` of the budget they
  are kept in a temporary file instead (:func:`trace_allocator`), which
  the operating system pages in and out; the file is unlinked as soon as
  it is made, so nothing is left behind, whatever happens.

:func:`plan_memory` does the arithmetic without allocating anything, so a
test can check a 1,000-neuron, 100,000-frame plan on any machine.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from caliali_tk.core.binning import Bins, n_bins
from caliali_tk.paths import user_cache_dir

__all__ = ["MemoryPlan", "plan_memory", "trace_allocator", "CHUNK_SHARE", "BIN_MAX_S",
           "BINNED_SHARE", "TRACE_SHARE", "N_TRACE_ARRAYS"]

MAX_CHUNK_FRAMES = 500  # frames read at a time, at most
CHUNK_SHARE = 1 / 16  # share of the budget one chunk of frames may take
CHUNK_COPIES = 3  # the chunk, its down-sampled fluctuation and temporaries
BINNED_SHARE = 1 / 2  # share of the budget for the binned copy and its twins
BINNED_BYTES = 12  # per pixel and binned frame: copy, filtered twin, temporary (float32)
MIN_BINNED_FRAMES = 50  # the binned copy keeps at least this many frames
#: Widest bin, seconds: wider bins average a transient away and put cells
#: that fire seconds apart in one bin, so the initialisation merges them.
#: Measured on 256 x 256 x 10,000 at 10 Hz (100 cells): F1 0.95 with bins
#: of 5.9 s over the whole movie, 0.995 with 3 s, 1.00 with every 4th bin
#: of 1.5 s; narrower bins over less of the movie lose cells too (64 x 64
#: x 3,000 at 20 Hz with room for 50 bins: F1 0.84-0.95 with every 2nd bin
#: of 1.5 s, 0.89-1.00 with 3 s bins over all of it).
BIN_MAX_S = 3.0
TRACE_SHARE = 3 / 8  # share of the budget for the K x T arrays (binned copy freed)
N_TRACE_ARRAYS = 6  # K x T float32 arrays alive at once, at most
_GIB = 2 ** 30


@dataclass(frozen=True)
class MemoryPlan:
    """Sizes chosen for one extraction.

    Attributes
    ----------
    budget : int
        Bytes (``max_memory_gb``).
    chunk : int
        Frames read at a time.
    tb : int
        Frames per bin of the binned copy.
    n_binned : int
        Binned frames.
    traces_on_disk : bool
        The K x T arrays go to a temporary file.
    stride : int
        Every ``stride``-th bin is kept (1: all of them).
    """

    budget: int
    chunk: int
    tb: int
    n_binned: int
    traces_on_disk: bool
    stride: int = 1

    def bins(self, T: int) -> Bins:
        """The binning of a movie of T frames."""
        return Bins(int(T), self.tb, self.stride)

    def bytes_by_part(self, shape, K: int, T: int) -> dict:
        """Bytes of each part in memory at its peak (traces: 0 when on disk)."""
        d = int(shape[0]) * int(shape[1])
        trace = 0 if self.traces_on_disk else N_TRACE_ARRAYS * 4 * K * T
        return {"chunk": CHUNK_COPIES * 4 * d * self.chunk,
                "binned": BINNED_BYTES * d * self.n_binned,
                "binned_ds": 4 * d * self.n_binned // 4,
                "traces": trace}


def plan_memory(shape, n_frames: int, max_memory_gb: float, n_components: int = 0,
                fps: float | None = None) -> MemoryPlan:
    """Chunk size, time binning and trace storage for a movie and a budget.

    Parameters
    ----------
    shape : (int, int)
        Frame (H, W).
    n_frames : int
        T.
    max_memory_gb : float
        The budget, GiB.
    n_components : int
        K (the initialisation's count: merges only lower it).
    fps : float, optional
        Frame rate; bins are then at most ``BIN_MAX_S`` wide (no bound
        without it).

    Returns
    -------
    MemoryPlan

    Examples
    --------
    >>> p = plan_memory((512, 512), 100_000, 1.0, n_components=1000)
    >>> p.traces_on_disk, p.chunk
    (True, 21)
    """
    budget = int(max_memory_gb * _GIB)
    d = int(shape[0]) * int(shape[1])
    T = int(n_frames)
    frame = 4 * d
    chunk = int(max(1, min(MAX_CHUNK_FRAMES, T, budget * CHUNK_SHARE // (CHUNK_COPIES * frame))))
    tb_frames = max(MIN_BINNED_FRAMES, int(budget * BINNED_SHARE / (BINNED_BYTES * d)))
    tb = max(1, -(-T // tb_frames))
    stride = 1
    widest = max(1, int(round(BIN_MAX_S * fps))) if fps else tb
    if tb > widest:
        tb = widest
        stride = -(-n_bins(T, tb) // tb_frames)
    n_binned = Bins(T, tb, stride).n
    traces = N_TRACE_ARRAYS * 4 * int(n_components) * T
    return MemoryPlan(budget, chunk, tb, n_binned, traces > budget * TRACE_SHARE, stride)


def trace_allocator(on_disk: bool, folder=None):
    """``alloc(shape) -> float32 zeros``, in memory or in an unlinked temporary file.

    Parameters
    ----------
    on_disk : bool
        Use a file-backed array (np.memmap) instead of memory.
    folder : path, optional
        Where the temporary files go (the results folder); the user cache
        folder when it is not writable.
    """
    if not on_disk:
        return lambda shape: np.zeros(shape, np.float32)
    where = _writable(folder)

    def alloc(shape):
        n = int(np.prod(shape))
        if n == 0:
            return np.zeros(shape, np.float32)
        fh = tempfile.TemporaryFile(prefix="caliali-traces-", dir=where)
        fh.truncate(n * 4)
        arr = np.memmap(fh, dtype=np.float32, mode="r+", shape=tuple(shape))
        fh.close()  # the mapping keeps the (already unlinked) file alive
        return arr

    return alloc


def _writable(folder) -> str:
    for cand in ([Path(folder)] if folder else []) + [user_cache_dir()]:
        try:
            cand.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=cand):
                return str(cand)
        except OSError:
            continue
    return tempfile.gettempdir()
