"""The results figure (matplotlib only): numbered contours over Cn, one neuron's traces.

Top left, every footprint's contour over the correlation image, numbered from
1; top right, the selected footprint up close; below, its raw and denoised
traces (C_raw, C) and its deconvolved activity (S) against time in seconds.
"""

from __future__ import annotations

from typing import List, Optional

import contourpy
import numpy as np
from matplotlib import patheffects
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from caliali_tk.gui.export import time_axis
from caliali_tk.gui.threshold_plot import contrast_limits

__all__ = ["ResultsPlot", "footprint_contours", "neuron_at"]

CONTOUR_LEVEL = 0.4     # fraction of each footprint's peak
PICK_RADIUS = 6.0       # px: a click this close to a centre picks that neuron
CONTOUR_COLOUR = "#33d6ff"
SELECTED_COLOUR = "#ffd000"


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


def neuron_at(A: np.ndarray, centers: np.ndarray, x: float, y: float) -> Optional[int]:
    """The neuron under a click: the largest footprint at that pixel, else the
    nearest centre within PICK_RADIUS, else None."""
    K, H, W = A.shape
    if K == 0:
        return None
    r, c = int(round(y)), int(round(x))
    if 0 <= r < H and 0 <= c < W:
        values = A[:, r, c]
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
    """

    def __init__(self, figure: Figure, result, fps: float):
        self.figure, self.result, self.fps = figure, result, fps
        self.t = time_axis(result.T, fps)
        gs = figure.add_gridspec(3, 2, height_ratios=[3.9, 1.0, 1.0], width_ratios=[1.6, 1],
                                 left=0.06, right=0.985, top=0.96, bottom=0.07,
                                 hspace=0.22, wspace=0.06)
        self.ax_img = figure.add_subplot(gs[0, 0])
        self.ax_fp = figure.add_subplot(gs[0, 1])
        self.ax_c = figure.add_subplot(gs[1, :])
        self.ax_s = figure.add_subplot(gs[2, :], sharex=self.ax_c)
        self.contours = footprint_contours(result.A)
        self._draw_overview()
        self._draw_trace_axes()
        self._fp_image = None

    def _draw_overview(self) -> None:
        ax, r = self.ax_img, self.result
        lo, hi = contrast_limits(r.Cn)
        ax.imshow(r.Cn, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        segs = [line for lines in self.contours for line in lines]
        ax.add_collection(LineCollection(segs, colors=CONTOUR_COLOUR, linewidths=1.0))
        outline = [patheffects.withStroke(linewidth=2, foreground="black")]
        # numbers beside (up-right of) each outline, so they do not hide it
        offset = 1.6 * float(r.params.get("gSig", 2.5))
        self.labels = [ax.text(c + offset, r_ - offset, str(k + 1), color="white", fontsize=8,
                               ha="left", va="bottom", clip_on=True, path_effects=outline)
                       for k, (r_, c) in enumerate(r.centers)]
        self.selected_lines = LineCollection([], colors=SELECTED_COLOUR, linewidths=2.2)
        ax.add_collection(self.selected_lines)
        ax.set_title(f"Correlation image with {r.K} footprints (click a neuron)", fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])

    def _draw_trace_axes(self) -> None:
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

    def select(self, k: int) -> None:
        """Show neuron `k` (0-based): highlight, footprint close-up, traces."""
        r = self.result
        self.selected_lines.set_segments(self.contours[k])
        for j, label in enumerate(self.labels):
            label.set_color(SELECTED_COLOUR if j == k else "white")
            label.set_fontweight("bold" if j == k else "normal")
        self._show_footprint(k)
        self.line_raw.set_data(self.t, r.C_raw[k])
        self.line_c.set_data(self.t, r.C[k])
        self.line_s.set_data(self.t, r.S[k])
        for ax, ys in ((self.ax_c, (r.C_raw[k], r.C[k])), (self.ax_s, (r.S[k],))):
            lo = min(float(np.min(y)) for y in ys)
            hi = max(float(np.max(y)) for y in ys)
            pad = 0.05 * (hi - lo or 1.0)
            ax.set_ylim(lo - pad, hi + pad)
        self.ax_c.set_title(f"Neuron {k + 1}", fontsize=10, loc="left", fontweight="bold")

    def _show_footprint(self, k: int) -> None:
        r, ax = self.result, self.ax_fp
        row, col = r.centers[k]
        half = max(8, int(2.5 * float(r.params.get("gSig", 2.5)) * 2))
        r0, r1 = max(int(row) - half, 0), min(int(row) + half + 1, r.H)
        c0, c1 = max(int(col) - half, 0), min(int(col) + half + 1, r.W)
        crop = r.A[k, r0:r1, c0:c1]
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
        self._fp_lines.set_segments(self.contours[k])
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_title(f"Neuron {k + 1} footprint (row {row:.0f}, col {col:.0f})", fontsize=11)
