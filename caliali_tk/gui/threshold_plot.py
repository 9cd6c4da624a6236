"""The three images of the threshold window and their seed dots (matplotlib only).

PNR, correlation (Cn) and their product side by side with a shared zoom;
red dots on PNR = local maxima passing the PNR threshold, red dots on Cn =
maxima passing the Corr threshold, magenta dots on the product = the seeds
(both, inside the mask). The images are drawn once per gSig; a threshold
change only moves the dots (``set_data``) and redraws by blitting: the
dots and titles are animated artists drawn over a cached copy of the rest of
the figure, so a 600 x 600 image redraws in a few tens of milliseconds.

The dots follow the image's scale on screen (`dot_size`): about one image
pixel across, between ``MIN_DOT`` and ``DOT_SIZE`` points, so a few
thousand maxima on a 750 x 480 image leave the image visible; zooming in
makes them larger. The PNR-only and Cn-only dots can be hidden.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from matplotlib.figure import Figure

from caliali_tk.gui.threshold_layout import NAMES, arrange

__all__ = ["ThresholdPlot", "contrast_limits"]

SHADE_RGBA = (0.12, 0.2, 0.75, 0.5)   # masked-out area
POLY_COLOURS = {"include": "#00c000", "exclude": "#ff8c00"}
DOT_SIZE = 3.5  # points, at most
MIN_DOT = 1.0  # points, at least
DOT_PIXELS = 0.9  # dot diameter in image pixels on screen, between the two


def dot_size(ax_width_px: float, x_span: float, dpi: float) -> float:
    """Marker size (points) for dots about ``DOT_PIXELS`` image pixels wide.

    Examples
    --------
    >>> dot_size(400, 752, 100)   # a 752-pixel-wide image shown 400 px wide
    1.0
    >>> dot_size(800, 100, 100)   # zoomed in: capped
    3.5
    """
    if x_span <= 0 or dpi <= 0:
        return DOT_SIZE
    points_per_pixel = ax_width_px / x_span * 72.0 / dpi
    return float(min(DOT_SIZE, max(MIN_DOT, DOT_PIXELS * points_per_pixel)))


def contrast_limits(image: np.ndarray, low: float = 1.0, high: float = 99.5):
    """Display limits from percentiles of the finite values (never equal).

    Examples
    --------
    >>> contrast_limits(np.arange(101.0), 0, 100)
    (0.0, 100.0)
    """
    v = np.asarray(image, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = (float(x) for x in np.percentile(v, [low, high]))
    if hi <= lo:
        hi = lo + (abs(lo) * 1e-3 or 1.0)
    return lo, hi




class ThresholdPlot:
    """Owns the figure's three axes, images, dots and mask shading.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    """

    def __init__(self, figure: Figure):
        self.figure = figure
        self.ax_pnr = figure.add_axes((0.0, 0.0, 0.3, 0.9))
        axes = [self.ax_pnr] + [figure.add_axes((0.35 * i, 0.0, 0.3, 0.9), sharex=self.ax_pnr,
                                                sharey=self.ax_pnr) for i in (1, 2)]
        self.ax_cn, self.ax_prod = axes[1:]
        self.axes = list(axes)
        self.outlines = []
        blank = np.zeros((1, 1), np.float32)
        self.images = [ax.imshow(blank, cmap="gray", interpolation="nearest", zorder=1)
                       for ax in axes]
        self.shades = [ax.imshow(np.zeros((1, 1, 4), np.float32), interpolation="nearest",
                                 zorder=2) for ax in axes]
        colours = ("red", "red", "magenta")
        # Line2D markers: one stamped marker, the fastest way to draw thousands of dots
        self.dots = [ax.plot([], [], ls="none", marker="o", ms=DOT_SIZE, mew=0, color=c,
                             zorder=5)[0] for ax, c in zip(axes, colours)]
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        self.colorbars = [figure.colorbar(im, cax=figure.add_axes((0.35 * i, 0.95, 0.3, 0.02)),
                                          orientation="horizontal")
                          for i, im in enumerate(self.images)]
        for cb in self.colorbars:
            cb.ax.tick_params(labelsize=9)
        # the thresholds, marked on the PNR and Cn colour bars
        self.threshold_lines = [cb.ax.axvline(0, color="red", lw=2.5)
                                for cb in self.colorbars[:2]]
        self.shape: Optional[tuple] = None
        self.canvas = None
        self.background = None
        self.counts = (0, 0, 0)
        self.threshold_dots = True
        self.ax_pnr.set_title("PNR (red: maxima ≥ PNR threshold)", fontsize=11)
        self.ax_cn.set_title("Correlation Cn (red: maxima ≥ Corr)", fontsize=11)
        # the seed count changes with every threshold, so it is an animated text placed
        # like a title (an animated axes title would be mis-placed by matplotlib's
        # automatic title positioning)
        self.seed_title = self.ax_prod.annotate(
            "", xy=(0.5, 1.0), xycoords="axes fraction", xytext=(0, 6),
            textcoords="offset points", ha="center", va="baseline", fontsize=12,
            fontweight="bold", color="#8b008b")
        self.titles(None)
        for artist in self.animated():
            artist.set_animated(True)
        self.layout_for = None
        self.relayout()

    def relayout(self) -> None:
        """Place the images for the figure's current size (see `threshold_layout`)."""
        W, H = self.figure.bbox.width, self.figure.bbox.height
        key = (round(W), round(H), self.shape)
        if key == self.layout_for or W < 10 or H < 10:
            return
        self.layout_for = key
        cells = arrange(W, H, self.shape or (1, 1))
        for name, ax, cb in zip(NAMES, self.axes, self.colorbars):
            image, bar = cells[name]
            ax.set_position([image[0] / W, image[1] / H, image[2] / W, image[3] / H])
            cb.ax.set_position([bar[0] / W, bar[1] / H, bar[2] / W, bar[3] / H])

    def set_images(self, Cn: np.ndarray, PNR: np.ndarray) -> None:
        """Show new summary images (a new gSig); resets the view if the size changed."""
        product = np.clip(Cn, 0, None) * np.clip(PNR, 0, None)
        H, W = Cn.shape
        extent = (-0.5, W - 0.5, H - 0.5, -0.5)
        for im, shade, img in zip(self.images, self.shades, (PNR, Cn, product)):
            im.set_data(img)
            im.set_extent(extent)
            im.set_clim(*contrast_limits(img))
            if self.shape != Cn.shape:
                shade.set_data(np.zeros((H, W, 4), np.float32))
                shade.set_extent(extent)
        if self.shape != Cn.shape:
            self.ax_pnr.set_xlim(-0.5, W - 0.5)
            self.ax_pnr.set_ylim(H - 0.5, -0.5)
        self.shape = Cn.shape
        self.relayout()

    def set_seeds(self, seeds, min_pnr: float, min_corr: float) -> None:
        """Move the dots to the maxima passing each threshold; update the titles."""
        pnr_r, pnr_c = np.nonzero(seeds.pnr_pass)
        cn_r, cn_c = np.nonzero(seeds.cn_pass)
        self.dots[0].set_data(pnr_c, pnr_r)
        self.dots[1].set_data(cn_c, cn_r)
        self.dots[2].set_data(seeds.cols, seeds.rows)
        self.threshold_lines[0].set_xdata([min_pnr, min_pnr])
        self.threshold_lines[1].set_xdata([min_corr, min_corr])
        self.counts = (len(pnr_r), len(cn_r), seeds.count)
        self.titles(seeds.count)

    def titles(self, seeds: Optional[int]) -> None:
        """Axis titles; only the product's (the seed count) changes with a threshold."""
        self.seed_title.set_text("PNR × Cn" if seeds is None else f"PNR × Cn: {seeds} seeds")

    def set_mask(self, mask: Optional[np.ndarray], polygons: Sequence[dict]) -> None:
        """Shade the masked-out pixels on all three images; outline the polygons on Cn."""
        if self.shape is None:
            return
        rgba = np.zeros(self.shape + (4,), np.float32)
        if mask is not None:
            rgba[~mask] = SHADE_RGBA
        for shade in self.shades:
            shade.set_data(rgba)
        for line in self.outlines:
            line.remove()
        self.outlines = []
        for poly in polygons:
            pts = np.asarray(poly["points"], float)
            pts = np.vstack([pts, pts[:1]])
            (line,) = self.ax_cn.plot(pts[:, 0], pts[:, 1], lw=1.2, zorder=4,
                                      color=POLY_COLOURS[poly["mode"]])
            self.outlines.append(line)

    def animated(self) -> list:
        """The artists a threshold change redraws: dots and titles."""
        return self.dots + self.threshold_lines + [self.seed_title]

    def attach(self, canvas) -> None:
        """Draw through `canvas`: keep a background copy after every full draw,
        and lay the images out again when the window is resized."""
        self.canvas = canvas
        canvas.mpl_connect("draw_event", self._on_draw)
        canvas.mpl_connect("resize_event", lambda _e: self.relayout())

    def show_threshold_dots(self, show: bool) -> None:
        """Show or hide the PNR-only and Cn-only dots (the seeds stay)."""
        self.threshold_dots = bool(show)
        for dots in self.dots[:2]:
            dots.set_visible(self.threshold_dots)

    def scale_dots(self) -> float:
        """Size each image's dots to its current scale on screen; returns the last."""
        size = DOT_SIZE
        for ax, dots in zip(self.axes, self.dots):
            x0, x1 = ax.get_xlim()
            size = dot_size(ax.bbox.width, abs(x1 - x0), self.figure.dpi)
            dots.set_markersize(size)
        return size

    def _on_draw(self, _event) -> None:
        self.background = self.canvas.copy_from_bbox(self.figure.bbox)
        self.scale_dots()
        self._draw_animated()

    def _draw_animated(self) -> None:
        for artist in self.animated():
            self.figure.draw_artist(artist)

    def refresh_dots(self) -> None:
        """Redraw only the dots and titles (blit); a full draw if there is no background."""
        if self.canvas is None:
            return
        if self.background is None:
            self.canvas.draw_idle()
            return
        self.canvas.restore_region(self.background)
        self._draw_animated()
        self.canvas.blit(self.figure.bbox)

    def refresh_all(self) -> None:
        """Schedule a full redraw (images or mask changed); drops the stale background."""
        self.background = None
        if self.canvas is not None:
            self.canvas.draw_idle()

    def data_to_pixels(self, ax, x: float, y: float):
        """Display (pixel) coordinates of a data point, origin bottom-left."""
        return tuple(ax.transData.transform((x, y)))
