"""Line noise: per-frame row and column offsets (stripes), measured and removed.

Rolling-shutter CMOS sensors and their read-out electronics add an offset to
whole rows (or columns) that changes from frame to frame. Such stripes pass
the CNMF-E high-pass filter, make seeds and footprints line up along rows and
add a common signal to every trace that crosses them.

The offset of row ``r`` in frame ``t`` is estimated robustly as the median
over the columns of ``frame - baseline``, where the baseline is a temporal
median image: cells are a minority of any row and are positive when active,
so they barely move a median. The column offsets are the medians over rows
of what is left. Only the part that changes from row to row (column to
column) is removed: each offset profile minus its running median over
``smooth`` rows, so slow, large-scale brightness changes stay for the
background model. :func:`measure_line_noise` decides from a sample of frames
whether a movie has stripes; :func:`line_offsets` gives the offsets of any
chunk (``caliali_tk.pipeline.frames`` subtracts them from every chunk read).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import ndimage

from caliali_tk.core.noise import median_inplace, temporal_median
from caliali_tk.core.threads import run_blocks

__all__ = ["LineNoise", "line_offsets", "measure_line_noise", "DETECT_RATIO", "smooth_window"]

#: Stripes are removed when their sd reaches this share of the pixel noise sd.
DETECT_RATIO = 0.2
#: Variance of the median of n Gaussian samples is ~ (pi/2) sd^2 / n.
_MEDIAN_VAR = np.pi / 2
#: Pixels the movie's noise level is the median over (a grid; enough for 1 %).
NOISE_PIXELS = 16384


@dataclass
class LineNoise:
    """The stripes of a movie and how they are removed.

    Attributes
    ----------
    baseline : ndarray float32 (H, W)
        Temporal median image the offsets are measured against.
    rows, cols : bool
        Remove row (column) offsets.
    row_ratio, col_ratio : float
        sd of the per-frame row (column) offsets over the pixel noise sd.
    smooth : int
        Running-median window (rows or columns) of the part that is kept.
    """

    baseline: np.ndarray
    rows: bool
    cols: bool
    row_ratio: float
    col_ratio: float
    smooth: int

    @property
    def active(self) -> bool:
        """Whether anything is removed."""
        return bool(self.rows or self.cols)

    def describe(self) -> str:
        """One line for ``info`` and the window, e.g. ``rows 0.95 x noise (removed)``."""
        parts = []
        for name, ratio, on in (("rows", self.row_ratio, self.rows),
                                ("columns", self.col_ratio, self.cols)):
            parts.append(f"{name} {ratio:.2f} x pixel noise" + (" (removed)" if on else ""))
        return ", ".join(parts)

    def summary(self) -> dict:
        """Plain values (no arrays) for caches and results files."""
        return {"rows": bool(self.rows), "cols": bool(self.cols),
                "row_ratio": float(self.row_ratio), "col_ratio": float(self.col_ratio)}


def smooth_window(gSig: float) -> int:
    """Running-median window (odd): 8 neuron diameters, so a cell's own rows
    are far inside it and only row-to-row changes are taken as stripes."""
    w = int(round(8 * 4 * float(gSig)))
    return max(15, w | 1)


@njit(nogil=True, cache=True)
def _raw_offsets(frames, baseline, rows_out, cols_out):  # pragma: no cover - numba
    """Per frame: row medians of ``frame - baseline``, then column medians of
    what is left after the row medians are subtracted."""
    n, H, W = frames.shape
    D = np.empty((H, W), np.float32)
    buf = np.empty(max(H, W), np.float32)
    for t in range(n):
        for i in range(H):
            for j in range(W):
                D[i, j] = frames[t, i, j] - baseline[i, j]
                buf[j] = D[i, j]
            rows_out[t, i] = median_inplace(buf[:W])
        for j in range(W):
            for i in range(H):
                buf[i] = D[i, j] - rows_out[t, i]
            cols_out[t, j] = median_inplace(buf[:H])


def line_offsets(frames: np.ndarray, baseline: np.ndarray, smooth: int):
    """Row and column offsets of each frame, with their slow part removed.

    Parameters
    ----------
    frames : ndarray (n, H, W) float32
    baseline : ndarray (H, W) float32
        Temporal median image.
    smooth : int
        Running-median window of the slow part, which is kept.

    Returns
    -------
    rows : ndarray float32 (n, H)
    cols : ndarray float32 (n, W)

    Examples
    --------
    >>> Y = np.zeros((2, 40, 30), np.float32)
    >>> Y[:, 7] += 5.0
    >>> rows, cols = line_offsets(Y, np.zeros((40, 30), np.float32), 15)
    >>> float(rows[0, 7]), float(rows[0, 6])
    (5.0, 0.0)
    """
    frames = np.ascontiguousarray(frames, dtype=np.float32)
    n, H, W = frames.shape
    rows = np.empty((n, H), np.float32)
    cols = np.empty((n, W), np.float32)
    baseline = np.ascontiguousarray(baseline, np.float32)
    run_blocks(lambda a, b: _raw_offsets(frames[a:b], baseline, rows[a:b], cols[a:b]), n,
               min_block=4)
    rows -= ndimage.median_filter(rows, size=(1, min(smooth, H) | 1), mode="nearest")
    cols -= ndimage.median_filter(cols, size=(1, min(smooth, W) | 1), mode="nearest")
    return rows, cols


def measure_line_noise(frames: np.ndarray, gSig: float, mode: str = "auto",
                       ratio: float = DETECT_RATIO) -> LineNoise:
    """Measure the stripes of a movie from a sample of its frames.

    Parameters
    ----------
    frames : ndarray (n, H, W)
        A few hundred frames spread over the movie (n >= 3).
    gSig : float
        Neuron width; sets the window of the slow part that is kept.
    mode : {"auto", "on", "off"}
        ``auto`` removes rows / columns whose offsets reach ``ratio`` times
        the pixel noise sd; ``on`` removes both; ``off`` neither.
    ratio : float
        Detection threshold of ``auto``.

    Returns
    -------
    LineNoise
    """
    frames = np.asarray(frames, np.float32)
    baseline = temporal_median(frames)
    smooth = smooth_window(gSig)
    rows, cols = line_offsets(frames, baseline, smooth)
    noise = _pixel_noise(frames, rows, cols)
    n, H, W = frames.shape
    row_ratio = _excess_sd(rows, noise, W) / noise if noise > 0 else 0.0
    col_ratio = _excess_sd(cols, noise, H) / noise if noise > 0 else 0.0
    if mode == "auto":
        do_rows, do_cols = row_ratio >= ratio, col_ratio >= ratio
    else:
        do_rows = do_cols = mode == "on"
    return LineNoise(baseline, bool(do_rows), bool(do_cols), float(row_ratio),
                     float(col_ratio), smooth)


def _pixel_noise(frames: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """Median over pixels of the frame-to-frame noise sd (from differences)
    of the frames with their row and column offsets removed.

    A median over pixels needs no more than ``NOISE_PIXELS`` of them, taken
    on a regular grid (every ``step``-th row and column), so no cleaned copy
    of the whole sample is made.
    """
    n, H, W = frames.shape
    step = max(1, int(np.ceil(np.sqrt(H * W / NOISE_PIXELS))))
    clean = frames[:, ::step, ::step] - rows[:, ::step, None] - cols[:, None, ::step]
    d = np.diff(clean, axis=0)
    d = np.abs(d - temporal_median(d))  # numpy's median, on every core
    return float(np.median(temporal_median(d)) * 1.4826 / np.sqrt(2))


def _excess_sd(offsets: np.ndarray, noise: float, n_pixels: int) -> float:
    """sd of the frame-to-frame change of offsets beyond what a median of
    ``n_pixels`` noisy pixels gives by itself."""
    d = np.diff(offsets, axis=0) / np.sqrt(2)
    var = float(np.median(np.var(d, axis=0)))
    own = _MEDIAN_VAR * noise ** 2 / n_pixels
    return float(np.sqrt(max(0.0, var - own)))
