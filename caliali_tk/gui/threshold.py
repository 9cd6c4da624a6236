"""The *Get* window: choose PNR / Corr / gSig and a seed mask by eye.

The summary images of the video are computed (or read from the cache) in a
worker thread. Threshold spinboxes only move the seed dots (the local maxima
are found once per gSig by `SeedFinder`); a gSig change recomputes the images
in the background. A lasso on the correlation image adds include / exclude
polygons to the mask. *Ok!* hands the choice back to the main window;
*Cancel* leaves the row as it was.
"""

from __future__ import annotations

import dataclasses
import tkinter as tk
from dataclasses import dataclass
from tkinter import ttk
from typing import Callable, Optional

import numpy as np
from matplotlib.backends.backend_tkagg import FigureCanvasTkAgg, NavigationToolbar2Tk
from matplotlib.figure import Figure
from matplotlib.widgets import LassoSelector

from caliali_tk.core.mask import mask_from_polygons
from caliali_tk.core.seeds import SeedFinder
from caliali_tk.io.params import FileParams
from caliali_tk.pipeline import compute_summary
from caliali_tk.gui import dialogs
from caliali_tk.gui.runner import ThrottledProgress, Worker
from caliali_tk.gui.threshold_plot import ThresholdPlot
from caliali_tk.gui.threshold_suggest import (apply_suggestion, line_noise_text,
                                               starts_from_suggestion)
from caliali_tk.gui.widgets import (ProgressPanel, StatusLine, fit_window, forget_idle_draw,
                                    route_errors_to_tk, collect_garbage_soon)

__all__ = ["ThresholdWindow", "ThresholdChoice", "SPINS"]

GSIG_DEBOUNCE_MS = 350

#: name -> (label, FileParams field, from, to, increment)
SPINS = {"pnr": ("PNR", "min_pnr", 0.0, 100.0, 0.5),
         "corr": ("Corr", "min_corr", 0.0, 1.0, 0.05),
         "gsig": ("gSig", "gSig", 0.5, 15.0, 0.5)}


@dataclass
class ThresholdChoice:
    """What *Ok!* hands back: the new parameters and what they give."""

    params: FileParams
    seeds: int
    summary: object
    finder: SeedFinder


def thin_polygon(verts, min_step: float = 0.5) -> list:
    """Lasso vertices as ``[[x, y], ...]``, dropping points closer than `min_step`."""
    out = []
    for x, y in verts:
        if not out or abs(x - out[-1][0]) + abs(y - out[-1][1]) >= min_step:
            out.append([round(float(x), 2), round(float(y), 2)])
    return out


class ThresholdWindow(tk.Toplevel):
    """Threshold window of one file.

    Parameters
    ----------
    master : widget
    row : FileRow
        The file (path, parameters, cached summary images).
    on_ok : callable(ThresholdChoice)
    on_close : callable()
        Called whenever the window closes (Ok!, Cancel or the close box).
    log : callable(text, level)
    compute : callable
        ``compute_summary``-like function (tests may slow it down).
    """

    def __init__(self, master, row, on_ok: Callable, on_close: Callable, log: Callable,
                 compute: Callable = compute_summary):
        super().__init__(master)
        self.row, self.on_ok, self.on_close, self.log = row, on_ok, on_close, log
        self.compute = compute
        self.params = dataclasses.replace(row.params, mask=list(row.params.mask))
        self.polygons = [dict(p) for p in row.params.mask]
        self.summary, self.finder, self.seeds = None, None, None
        self.mask: Optional[np.ndarray] = None
        self.suggest_pending = "thresholds" if starts_from_suggestion(row) else None
        self.worker: Optional[Worker] = None
        self._gsig_after: Optional[str] = None
        self.alive = True
        self.title(f"Get thresholds — {row.name}")
        fit_window(self, 1260, 700, 10, 10)
        self.minsize(900, 560)
        self._build()
        self.protocol("WM_DELETE_WINDOW", self.cancel)
        self.bind("<Escape>", lambda e: self.cancel())
        self._load_images(self.params.gSig)

    # -- layout ---------------------------------------------------------------------
    def _build(self) -> None:
        controls = ttk.Frame(self, padding=(8, 4, 8, 8))
        controls.pack(side="bottom", fill="x")
        self._build_spins(controls).pack(fill="x")
        self._build_bottom(controls).pack(fill="x", pady=(6, 0))
        self.figure = Figure(figsize=(12.4, 5.2), dpi=100)
        self.plot = ThresholdPlot(self.figure)
        self.canvas = FigureCanvasTkAgg(self.figure, master=self)
        self.plot.attach(self.canvas)
        route_errors_to_tk(self.canvas)
        self.toolbar = NavigationToolbar2Tk(self.canvas, self, pack_toolbar=False)
        self.toolbar.update()
        self.toolbar.pack(side="bottom", fill="x")
        self.canvas.get_tk_widget().pack(side="top", fill="both", expand=True)
        self.lasso = LassoSelector(self.plot.ax_cn, onselect=self._lasso_done, useblit=True,
                                   props={"color": "yellow", "linewidth": 1.5})

    def _build_spins(self, parent) -> ttk.Frame:
        frm = ttk.Frame(parent)
        self.spins, self.spin_vars = {}, {}
        for key, (label, field, lo, hi, step) in SPINS.items():
            ttk.Label(frm, text=label, font=("TkDefaultFont", 11, "bold")).pack(
                side="left", padx=(0, 4))
            var = tk.StringVar(value=f"{getattr(self.params, field):g}")
            spin = ttk.Spinbox(frm, from_=lo, to=hi, increment=step, width=7,
                               textvariable=var, font=("TkDefaultFont", 11),
                               command=lambda k=key: self.spin_changed(k))
            spin.pack(side="left", padx=(0, 18))
            for seq in ("<Return>", "<KP_Enter>", "<FocusOut>"):
                spin.bind(seq, lambda e, k=key: self.spin_changed(k))
            self.spins[key], self.spin_vars[key] = spin, var
        ttk.Separator(frm, orient="vertical").pack(side="left", fill="y", padx=8)
        ttk.Label(frm, text="Mask (draw on the correlation image):").pack(side="left")
        self.mode = tk.StringVar(value="exclude")
        for mode in ("include", "exclude"):
            ttk.Radiobutton(frm, text=mode, value=mode, variable=self.mode).pack(
                side="left", padx=4)
        ttk.Button(frm, text="Clear mask", command=self.clear_mask).pack(side="left", padx=8)
        ttk.Separator(frm, orient="vertical").pack(side="left", fill="y", padx=8)
        self.show_dots = tk.BooleanVar(value=True)
        ttk.Checkbutton(frm, text="PNR / Cn dots", variable=self.show_dots,
                        command=self._dots_toggled).pack(side="left")
        return frm

    def spin_specs(self) -> dict:
        """The spinboxes: key -> (label, FileParams field, from, to, increment)."""
        return SPINS

    def load_images(self, gSig: float) -> None:
        """Show the summary images at ``gSig`` (from the row, or computed)."""
        self._load_images(gSig)

    def suggest(self, with_gsig: bool = True) -> None:
        """*Suggest*: thresholds (and gSig) fitted to this video's images; applied
        when the images arrive if they are not shown yet."""
        if self.summary is None:
            self.suggest_pending = "all" if with_gsig else "thresholds"
        elif self.alive:
            self.status.show(apply_suggestion(self, with_gsig))

    def _dots_toggled(self) -> None:
        """Show or hide the dots of the PNR and Cn thresholds (seeds stay)."""
        self.plot.show_threshold_dots(self.show_dots.get())
        self.plot.refresh_dots()

    def _build_bottom(self, parent) -> ttk.Frame:
        frm = ttk.Frame(parent)
        self.cancel_button = ttk.Button(frm, text="Cancel", command=self.cancel)
        self.cancel_button.pack(side="right")
        self.ok_button = ttk.Button(frm, text="Ok!", command=self.ok, style="Accent.TButton",
                                    state="disabled")
        self.ok_button.pack(side="right", padx=6)
        self.suggest_button = ttk.Button(frm, text="Suggest", command=self.suggest)
        self.suggest_button.pack(side="right", padx=6)
        self.seed_label = ttk.Label(frm, text="Seeds: –", font=("TkDefaultFont", 13, "bold"),
                                    foreground="#8b008b")
        self.seed_label.pack(side="right", padx=(0, 24))
        self.progress = ProgressPanel(frm, on_cancel=self._cancel_compute, cancel_text="Stop")
        self.progress.pack(side="left", fill="x", expand=True)
        self.status = StatusLine(parent)
        self.status.pack(side="bottom", fill="x", pady=(4, 0))
        return frm

    # -- summary images --------------------------------------------------------------
    def _load_images(self, gSig: float) -> None:
        row = self.row
        if row.summary is not None and float(row.summary.gSig) == float(gSig) \
                and row.finder is not None:
            self._show(row.summary, row.finder)
            return
        self._cancel_compute()
        path, spatial = row.path, self.params.spatial_filter

        sessions = self.params.frames_per_session  # issue 9: the sidecar's, if set
        extra = {"sessions": sessions} if sessions else {}

        def job(post, cancel):
            summary = self.compute(path, gSig, spatial, progress=ThrottledProgress(post),
                                   cancel=cancel, layout=self.params.layout, **extra)
            return summary, SeedFinder(summary.Cn, summary.PNR, summary.gSig)
        self.ok_button.configure(state="disabled")
        self.progress.busy(True)
        self.progress.set(0.0, f"summary images for gSig {gSig:g}…")
        self.worker = Worker(self, job, self._on_worker, name="caliali-summary").start()

    def _on_worker(self, kind: str, payload) -> None:
        if not self.alive:
            return
        if kind == "progress":
            fraction, message = payload
            self.progress.set(fraction, f"{message} · {fraction:.0%}")
        elif kind == "result":
            self._show(*payload)
        elif kind == "failed":
            self.status.show(payload, error=True)
            self.log(payload, "error")
            dialogs.error(self, "Cannot compute the summary images", payload)
        elif kind == "error":
            self.status.show(f"Unexpected error: {payload[0]} (details in the log)", True)
            self.log(f"Summary images failed: {payload[0]}\n{payload[1]}", "error")
        elif kind == "cancelled":
            self.status.show("Computation cancelled.")
        elif kind == "exit":
            self.progress.busy(False)
            if self.summary is not None and float(self.summary.gSig) == self.params.gSig:
                self.progress.set(0.0, "")

    def _cancel_compute(self) -> None:
        if self.worker is not None and not self.worker.finished:
            self.worker.cancel()
            self.worker.stop_polling()
            self.progress.busy(False)
        self.worker = None

    def _show(self, summary, finder) -> None:
        self.summary, self.finder = summary, finder
        self.mask = self._make_mask()
        self.plot.set_images(summary.Cn, summary.PNR)
        self.plot.set_mask(self.mask, self.polygons)
        self.redraw_seeds(full=True)
        self.ok_button.configure(state="normal")
        self.progress.set(0.0, "")
        self.status.show(f"{summary.Cn.shape[0]} x {summary.Cn.shape[1]} pixels, gSig "
                         f"{summary.gSig:g}. {line_noise_text(summary)}Use the toolbar to "
                         "zoom / pan (all three follow).")
        if self.suggest_pending:  # no saved thresholds, or Suggest before the images
            pending, self.suggest_pending = self.suggest_pending, None
            self.suggest(with_gsig=pending == "all")

    # -- thresholds --------------------------------------------------------------------
    def spin_changed(self, key: str) -> None:
        """A spinbox changed (arrows, Return or leaving it): apply or refuse."""
        if not self.alive:
            return
        label, field, lo, hi, _ = SPINS[key]
        text = self.spin_vars[key].get().strip().replace(",", ".")
        old = getattr(self.params, field)
        try:
            value = float(text)
            if not lo <= value <= hi:
                raise ValueError
        except ValueError:
            self.spin_vars[key].set(f"{old:g}")
            self.status.show(f"{label}: {text!r} refused; it must be a number from "
                             f"{lo:g} to {hi:g}. Kept {old:g}.", error=True)
            self.bell()
            return
        self.spin_vars[key].set(f"{value:g}")
        if value == old:
            return
        self.params = dataclasses.replace(self.params, **{field: value})
        if key == "gsig":
            self._gsig_changed()
        else:
            self.redraw_seeds()

    def _gsig_changed(self) -> None:
        self.ok_button.configure(state="disabled")
        self.progress.set(0.0, "waiting for gSig to settle…")
        if self._gsig_after is not None:
            self.after_cancel(self._gsig_after)
        self._gsig_after = self.after(GSIG_DEBOUNCE_MS, self._gsig_settled)

    def _gsig_settled(self) -> None:
        self._gsig_after = None
        if self.alive:
            self._load_images(self.params.gSig)

    def redraw_seeds(self, full: bool = False) -> None:
        """Recount the seeds and move the dots (no image is recomputed).

        Parameters
        ----------
        full : bool
            Redraw everything (images or mask changed), else blit the dots.
        """
        if self.finder is None:
            return
        p = self.params
        self.seeds = self.finder.find(p.min_corr, p.min_pnr, self.mask)
        self.plot.set_seeds(self.seeds, p.min_pnr, p.min_corr)
        self.title(f"Get thresholds — {self.row.name} — {self.seeds.count} seeds")
        self.seed_label.configure(text=f"Seeds: {self.seeds.count}")
        if full:
            self.plot.refresh_all()
        else:
            self.plot.refresh_dots()

    # -- mask ---------------------------------------------------------------------------
    def _make_mask(self) -> Optional[np.ndarray]:
        if not self.polygons or self.summary is None:
            return None
        return mask_from_polygons(self.summary.Cn.shape, self.polygons)

    def _lasso_done(self, verts) -> None:
        points = thin_polygon(verts)
        if len(points) < 3 or self.summary is None:
            return
        self.polygons.append({"mode": self.mode.get(), "points": points})
        self._mask_changed()

    def clear_mask(self) -> None:
        """Remove every polygon."""
        self.polygons = []
        self._mask_changed()

    def _mask_changed(self) -> None:
        self.mask = self._make_mask()
        self.plot.set_mask(self.mask, self.polygons)
        self.redraw_seeds(full=True)
        n_out = 0 if self.mask is None else int((~self.mask).sum())
        self.status.show(f"Mask: {len(self.polygons)} polygon(s), {n_out} pixels masked out.")

    # -- closing -------------------------------------------------------------------------
    def ok(self) -> None:
        """Hand the thresholds, gSig and mask back to the row, and close."""
        if self.finder is None or self.seeds is None:
            return
        params = dataclasses.replace(self.params, mask=[dict(p) for p in self.polygons])
        choice = ThresholdChoice(params=params, seeds=self.seeds.count, summary=self.summary,
                                 finder=self.finder)
        self.close()
        self.on_ok(choice)

    def cancel(self) -> None:
        """Close without changing the row."""
        self.close()

    def close(self) -> None:
        """Stop any computation and destroy the window."""
        if not self.alive:
            return
        self.alive = False
        self._cancel_compute()
        if self._gsig_after is not None:
            self.after_cancel(self._gsig_after)
        self.lasso.disconnect_events()
        forget_idle_draw(self.canvas)
        self.on_close()
        collect_garbage_soon(self.master)
        self.destroy()
