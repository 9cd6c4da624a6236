"""The results window's overview: every footprint's outline over an image layer.

Built for a few hundred neurons: outlines are coloured by accepted (cyan) or
rejected (orange, dashed); numbers are drawn only where they can be read —
the selected neurons and their nearest neighbours, or every neuron in view
once the view is zoomed in far enough. The mouse wheel zooms around the
pointer; the toolbar pans; Home (or double right-click) shows the whole
frame. The layers are the correlation and peak-to-noise images and, when the
results have them, the same images of the residual ``Y - A C - B``, where
missed neurons stand out.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np
from matplotlib import patheffects
from matplotlib.collections import LineCollection

from caliali_tk.gui.threshold_plot import contrast_limits

__all__ = ["OverviewPlot", "layer_images"]

ACCEPTED_COLOUR = "#33d6ff"
REJECTED_COLOUR = "#ff8c1a"
SELECTED_COLOUR = "#ffe000"
ZOOM_STEP = 1.3        # per wheel notch
MAX_LABELS = 45        # every neuron in view is numbered when no more than this many
NEIGHBOUR_LABELS = 8   # else: the selected ones and this many nearest neighbours
LABEL_PX = 7           # screen pixels per digit of a number (8 pt), for the overlap test
_OUTLINE = [patheffects.withStroke(linewidth=2.2, foreground="black")]


def layer_images(result) -> Dict[str, np.ndarray]:
    """The image layers a result offers, by their menu name."""
    layers = {"Correlation (Cn)": result.Cn, "Peak-to-noise (PNR)": result.PNR}
    if getattr(result, "Cn_residual", None) is not None:
        layers["Residual correlation"] = result.Cn_residual
    if getattr(result, "PNR_residual", None) is not None:
        layers["Residual PNR"] = result.PNR_residual
    return layers


class OverviewPlot:
    """Owns the overview axes: image layer, outlines, numbers, zoom.

    Parameters
    ----------
    ax : matplotlib Axes
    result : caliali_tk.io.results.Result
    """

    def __init__(self, ax, result):
        self.ax, self.result = ax, result
        self.layers = layer_images(result)
        self.layer = next(iter(self.layers))
        lo, hi = contrast_limits(self.layers[self.layer])
        self.image = ax.imshow(self.layers[self.layer], cmap="gray", vmin=lo, vmax=hi,
                               interpolation="nearest")
        self.accepted_lines = LineCollection([], colors=ACCEPTED_COLOUR, linewidths=0.9)
        self.rejected_lines = LineCollection([], colors=REJECTED_COLOUR, linewidths=0.9,
                                             linestyles=(0, (2.5, 1.5)))
        self.selected_lines = LineCollection([], colors=SELECTED_COLOUR, linewidths=2.0)
        for c in (self.accepted_lines, self.rejected_lines, self.selected_lines):
            ax.add_collection(c)
        (self.marker,) = ax.plot([], [], "+", color="#ff3bd4", ms=14, mew=2.2)
        # a ring around the current neuron: findable when the view is zoomed out
        (self.ring,) = ax.plot([], [], "o", mfc="none", mec=SELECTED_COLOUR, ms=20, mew=1.4)
        self.numbers = np.zeros(0, int)
        self.centers = np.zeros((0, 2))
        self.selected: List[int] = []
        self._labels: list = []
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlim(-0.5, result.W - 0.5)
        ax.set_ylim(result.H - 0.5, -0.5)
        ax.callbacks.connect("xlim_changed", lambda _ax: self.update_labels())

    # -- content ---------------------------------------------------------------------------
    def set_layer(self, name: str) -> None:
        """Show image layer `name` (one of :attr:`layers`)."""
        self.layer = name
        img = self.layers[name]
        self.image.set_data(img)
        self.image.set_clim(*contrast_limits(img))
        self.ax.set_title(self._title(), fontsize=10)

    def show(self, numbers: Sequence[int], accepted: np.ndarray, contours: list,
             centers: np.ndarray) -> None:
        """Draw the list: outlines (list of lines per neuron), centres (row, col)."""
        self.numbers = np.asarray(numbers, int)
        self.accepted = np.asarray(accepted, bool)
        self.contours = contours
        self.centers = np.asarray(centers, float).reshape(-1, 2)
        self.accepted_lines.set_segments(
            [ln for k, lines in enumerate(contours) if self.accepted[k] for ln in lines])
        self.rejected_lines.set_segments(
            [ln for k, lines in enumerate(contours) if not self.accepted[k] for ln in lines])
        self.ax.set_title(self._title(), fontsize=10)
        self.select(self.selected)

    def _title(self) -> str:
        n, acc = len(self.numbers), int(np.sum(getattr(self, "accepted", [])))
        return (f"{self.layer}: {n} neurons, {acc} accepted (cyan), {n - acc} rejected "
                "(orange)")

    def select(self, positions: Sequence[int]) -> None:
        """Highlight the neurons at list positions `positions` (the first is current)."""
        self.selected = [p for p in positions if 0 <= p < len(self.numbers)]
        self.selected_lines.set_segments(
            [ln for p in self.selected for ln in self.contours[p]])
        if self.selected:
            row, col = self.centers[self.selected[0]]
            self.ring.set_data([col], [row])
        else:
            self.ring.set_data([], [])
        self.update_labels()

    def mark(self, row=None, col=None) -> None:
        """A cross at (row, col) (where a neuron was added); no argument clears it."""
        self.marker.set_data([] if row is None else [col], [] if row is None else [row])

    # -- numbers ---------------------------------------------------------------------------
    def candidates(self) -> List[int]:
        """List positions that may be numbered, most wanted first (see the module doc)."""
        if not len(self.numbers):
            return []
        (x0, x1), (y0, y1) = sorted(self.ax.get_xlim()), sorted(self.ax.get_ylim())
        r, c = self.centers[:, 0], self.centers[:, 1]
        inside = np.flatnonzero((c >= x0) & (c <= x1) & (r >= y0) & (r <= y1))
        ref = self.centers[self.selected[0]] if self.selected else \
            np.array([(y0 + y1) / 2, (x0 + x1) / 2])
        by_distance = inside[np.argsort(np.hypot(*(self.centers[inside] - ref).T))]
        if len(inside) > MAX_LABELS:
            by_distance = by_distance[:NEIGHBOUR_LABELS + len(self.selected)] \
                if self.selected else by_distance[:0]
        return list(dict.fromkeys(self.selected + [int(i) for i in by_distance]))

    def labelled(self) -> List[int]:
        """The positions numbered now: `candidates` whose labels do not overlap."""
        cand = self.candidates()
        if not cand:
            return []
        self.ax.apply_aspect()
        xy = self.ax.transData.transform(self.centers[cand][:, ::-1])
        placed: List[int] = []
        spots: list = []
        for p, (x, y) in zip(cand, xy):
            w = LABEL_PX * len(str(int(self.numbers[p])))
            # labels sit up-right of their point: [x, x + w] wide, one line high
            if all(x + w + 3 < sx or sx + sw + 3 < x or abs(y - sy) > LABEL_PX * 1.8
                   for sx, sy, sw in spots):
                placed.append(p)
                spots.append((x, y, w))
        return placed

    def update_labels(self) -> None:
        """Redraw the numbers for the current view and selection."""
        for t in self._labels:
            t.remove()
        self._labels = []
        chosen = set(self.selected)
        for p in self.labelled():
            row, col = self.centers[p]
            sel = p in chosen
            colour = SELECTED_COLOUR if sel else (
                "white" if self.accepted[p] else REJECTED_COLOUR)
            self._labels.append(self.ax.annotate(
                str(int(self.numbers[p])), (col, row), xytext=(4, 4),
                textcoords="offset points", color=colour, ha="left", va="bottom",
                fontsize=9 if sel else 8, annotation_clip=True, clip_on=True,
                fontweight="bold" if sel else "normal", path_effects=_OUTLINE))

    # -- zoom ------------------------------------------------------------------------------
    def zoom(self, factor: float, x: float, y: float) -> None:
        """Zoom in (`factor` > 1) or out around data point (x, y), within the frame."""
        W, H = self.result.W, self.result.H
        x0, x1 = self.ax.get_xlim()
        y1, y0 = self.ax.get_ylim()  # image axes: y grows downwards
        w = min(W, (x1 - x0) / factor)
        h = min(H, (y1 - y0) / factor)
        fx = (x - x0) / max(x1 - x0, 1e-9)
        fy = (y - y0) / max(y1 - y0, 1e-9)
        nx0 = float(np.clip(x - fx * w, -0.5, W - 0.5 - w))
        ny0 = float(np.clip(y - fy * h, -0.5, H - 0.5 - h))
        self.ax.set_ylim(ny0 + h, ny0)
        self.ax.set_xlim(nx0, nx0 + w)

    def home(self) -> None:
        """Show the whole frame."""
        self.ax.set_ylim(self.result.H - 0.5, -0.5)
        self.ax.set_xlim(-0.5, self.result.W - 0.5)
