"""The results figure (matplotlib only): the overview, one neuron up close, its traces.

Top left and largest, every footprint's outline over an image layer
(:class:`~caliali_tk.gui.overview_plot.OverviewPlot`); top right, the
selected footprint up close; below, its raw and denoised traces (C_raw, C)
and its deconvolved activity (S) against time in seconds, with the session
boundaries as dashed lines.
"""

from __future__ import annotations

from typing import List, Optional

import contourpy
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from caliali_tk.gui.export import time_axis
from caliali_tk.gui.overview_plot import SELECTED_COLOUR, OverviewPlot

__all__ = ["ResultsPlot", "footprint_contours", "neuron_at"]

CONTOUR_LEVEL = 0.4     # fraction of each footprint's peak
PICK_RADIUS = 6.0       # px: a click this close to a centre picks that neuron


def footprint_contours(A: np.ndarray, level: float = CONTOUR_LEVEL) -> List[list]:
    """Outline of each footprint at `level` x its peak, in image coordinates.

    Parameters
    ----------
    A : ndarray (K, H, W)
    level : float

    Returns
    -------
    list of list of ndarray (n, 2)
        For each neuron, its closed lines as (x = col, y = row) vertices.
    """
    out = []
    H, W = A.shape[1:]
    for a in A:
        peak = float(a.max()) if a.size else 0.0
        if peak <= 0:
            out.append([])
            continue
        rows, cols = np.nonzero(a > 0)
        r0, r1 = max(rows.min() - 1, 0), min(rows.max() + 2, H)
        c0, c1 = max(cols.min() - 1, 0), min(cols.max() + 2, W)
        crop = np.zeros((r1 - r0 + 2, c1 - c0 + 2))  # zero border: lines close
        crop[1:-1, 1:-1] = a[r0:r1, c0:c1]
        gen = contourpy.contour_generator(z=crop, line_type="Separate")
        out.append([line + (c0 - 1, r0 - 1) for line in gen.lines(level * peak)])
    return out


def neuron_at(A: np.ndarray, centers: np.ndarray, x: float, y: float,
              ids: Optional[np.ndarray] = None) -> Optional[int]:
    """The neuron under a click: the largest footprint at that pixel, else the
    nearest centre within PICK_RADIUS, else None.

    With `ids`, only the footprints ``A[ids]`` count (the curation's list)
    and the answer is a position in `ids`; `centers` are theirs.
    """
    ids = np.arange(len(A)) if ids is None else np.asarray(ids)
    H, W = A.shape[1:]
    if len(ids) == 0:
        return None
    r, c = int(round(y)), int(round(x))
    if 0 <= r < H and 0 <= c < W:
        values = A[ids, r, c]  # one pixel of each: no copy of the footprints
        if values.max() > 0:
            return int(np.argmax(values))
    d = np.hypot(centers[:, 0] - y, centers[:, 1] - x)
    k = int(np.argmin(d))
    return k if d[k] <= PICK_RADIUS else None


class ResultsPlot:
    """Owns the results figure's axes and artists.

    Parameters
    ----------
    figure : Figure
    result : caliali_tk.io.results.Result
    fps : float
    frames_per_session : list of int, optional
        Where the session boundaries are drawn.
    """

    def __init__(self, figure: Figure, result, fps: float, frames_per_session=None):
        self.figure, self.result, self.fps = figure, result, fps
        self.t = time_axis(result.T, fps)
        gs = figure.add_gridspec(3, 2, height_ratios=[5.6, 1.1, 0.75], width_ratios=[3.0, 1],
                                 left=0.065, right=0.99, top=0.965, bottom=0.07,
                                 hspace=0.25, wspace=0.04)
        self.ax_img = figure.add_subplot(gs[0, 0])
        self.ax_fp = figure.add_subplot(gs[0, 1])
        self.ax_c = figure.add_subplot(gs[1, :])
        self.ax_s = figure.add_subplot(gs[2, :], sharex=self.ax_c)
        self.overview = OverviewPlot(self.ax_img, result)
        self._draw_trace_axes(frames_per_session)
        self._fp_image = None

    def _draw_trace_axes(self, frames_per_session) -> None:
        ax_c, ax_s = self.ax_c, self.ax_s
        (self.line_raw,) = ax_c.plot([], [], color="#9a9a9a", lw=0.8, label="C_raw")
        (self.line_c,) = ax_c.plot([], [], color="#1f5fbf", lw=1.2, label="C")
        (self.line_s,) = ax_s.plot([], [], color="#c0392b", lw=1.0, label="S (deconvolved)")
        ax_c.legend(loc="upper right", fontsize=9, frameon=False, ncol=2)
        ax_s.legend(loc="upper right", fontsize=9, frameon=False)
        ax_c.set_ylabel("fluorescence", fontsize=9)
        ax_s.set_ylabel("activity", fontsize=9)
        ax_s.set_xlabel("time (s)", fontsize=10)
        ax_c.tick_params(labelbottom=False, labelsize=9)
        ax_s.tick_params(labelsize=9)
        if len(self.t):
            ax_c.set_xlim(self.t[0], max(self.t[-1], self.t[0] + 1e-3))
        self.session_lines = []
        counts = list(frames_per_session or [])
        for i, start in enumerate(np.cumsum(counts)[:-1]):
            for ax in (ax_c, ax_s):
                self.session_lines.append(ax.axvline(start / self.fps, color="#2e7d32",
                                                     lw=1.0, ls="--"))
            ax_c.text(start / self.fps, 1.0, f" session {i + 2}", color="#2e7d32",
                      fontsize=8, va="top", transform=ax_c.get_xaxis_transform())

    def select(self, number: int, a: np.ndarray, contours, traces, center) -> None:
        """Show one neuron: its number, footprint (H, W), outline, (C_raw, C, S), centre."""
        c_raw, c, s = traces
        self._show_footprint(number, a, contours, center)
        self.line_raw.set_data(self.t, c_raw)
        self.line_c.set_data(self.t, c)
        self.line_s.set_data(self.t, s)
        for ax, ys in ((self.ax_c, (c_raw, c)), (self.ax_s, (s,))):
            lo = min(float(np.min(y)) for y in ys) if self.t.size else 0.0
            hi = max(float(np.max(y)) for y in ys) if self.t.size else 1.0
            pad = 0.05 * (hi - lo or 1.0)
            ax.set_ylim(lo - pad, hi + pad)
        self.ax_c.set_title(f"Neuron {number}", fontsize=10, loc="left", fontweight="bold")

    def _show_footprint(self, number, a, contours, center) -> None:
        r, ax = self.result, self.ax_fp
        row, col = center
        half = max(8, int(2.5 * float(r.params.get("gSig", 2.5)) * 2))
        r0, r1 = max(int(row) - half, 0), min(int(row) + half + 1, r.H)
        c0, c1 = max(int(col) - half, 0), min(int(col) + half + 1, r.W)
        crop = a[r0:r1, c0:c1]
        extent = (c0 - 0.5, c1 - 0.5, r1 - 0.5, r0 - 0.5)
        if self._fp_image is None:
            self._fp_image = ax.imshow(crop, cmap="magma", extent=extent,
                                       interpolation="nearest")
            self._fp_lines = LineCollection([], colors=SELECTED_COLOUR, linewidths=1.5)
            ax.add_collection(self._fp_lines)
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            self._fp_image.set_data(crop)
            self._fp_image.set_extent(extent)
        self._fp_image.set_clim(0, max(float(crop.max()), 1e-12))
        self._fp_lines.set_segments(contours)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_title(f"Neuron {number} (row {row:.0f}, col {col:.0f})", fontsize=10)
