"""The results window's side panel: layer, neuron list, curation buttons, export.

Only widgets: every button calls the window's methods (accept, reject,
reject below, merge, undo, add mode, export).
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

import numpy as np

from caliali_tk.gui.neuron_list import METRIC_TITLES, NeuronList
from caliali_tk.gui.overview_plot import layer_images
from caliali_tk.gui.widgets import ProgressPanel

__all__ = ["CurationPanel"]


class CurationPanel(ttk.Frame):
    """Side panel of a :class:`~caliali_tk.gui.results_view.ResultsWindow`.

    Parameters
    ----------
    parent : widget
    window : ResultsWindow
        Its ``cur`` gives the metrics to show; its methods do the work.
    """

    def __init__(self, parent, window):
        super().__init__(parent)
        self.window = window
        cur = window.cur
        self.metrics = [m for m in METRIC_TITLES if np.isfinite(cur.quality[m]).any()]
        self._build_layer(window)
        self.counts = ttk.Label(self, text="", font=("TkDefaultFont", 10, "bold"))
        self.counts.pack(anchor="w", pady=(6, 2))
        self.neuron_list = NeuronList(self, self.metrics, on_select=window.list_selected,
                                      on_toggle=window.toggle)
        self.neuron_list.pack(fill="both", expand=True)
        self._build_buttons(window)
        self._build_reject_below(window)
        self._build_add_and_export(window)
        self.progress = ProgressPanel(self, on_cancel=window.cancel_work)
        self.progress.bar.configure(length=150)
        self.progress.pack(fill="x", pady=(6, 0))
        info = f"{window.result.T} frames at {window.fps:g} Hz"
        if window.sessions:
            info += f", {len(window.sessions)} sessions"
        ttk.Label(self, text=info, foreground="#555555").pack(anchor="w", pady=(4, 0))

    def _build_layer(self, window) -> None:
        row = ttk.Frame(self)
        row.pack(fill="x")
        ttk.Label(row, text="Image").pack(side="left")
        names = list(layer_images(window.result))
        self.layer = tk.StringVar(value=names[0])
        box = ttk.Combobox(row, textvariable=self.layer, values=names, state="readonly",
                           width=24)
        box.pack(side="left", padx=(6, 0), fill="x", expand=True)
        box.bind("<<ComboboxSelected>>", lambda e: window.set_layer(self.layer.get()))
        self.layer_box = box

    def _build_buttons(self, window) -> None:
        row = ttk.Frame(self)
        row.pack(fill="x", pady=(6, 0))
        self.buttons = {}
        for key, text, command in (("accept", "Accept (a)", window.accept_selected),
                                   ("reject", "Reject (r)", window.reject_selected),
                                   ("merge", "Merge (m)", window.merge_selected),
                                   ("undo", "Undo", window.undo)):
            b = ttk.Button(row, text=text, command=command, width=9)
            b.pack(side="left", expand=True, fill="x")
            self.buttons[key] = b

    def _build_reject_below(self, window) -> None:
        row = ttk.Frame(self)
        row.pack(fill="x", pady=(6, 0))
        ttk.Label(row, text="Reject with").pack(side="left")
        self.below_metric = tk.StringVar(value=self.metrics[0] if self.metrics else "snr")
        ttk.Combobox(row, textvariable=self.below_metric, values=self.metrics,
                     state="readonly", width=8).pack(side="left", padx=4)
        ttk.Label(row, text="below").pack(side="left")
        self.below_value = tk.StringVar(value="5")
        self.below_entry = ttk.Entry(row, textvariable=self.below_value, width=5)
        self.below_entry.pack(side="left", padx=4)
        self.below_entry.bind("<Return>", lambda e: self._reject_below())
        b = ttk.Button(row, text="Reject", command=self._reject_below, width=7)
        b.pack(side="left", fill="x", expand=True)
        self.buttons["reject_below"] = b

    def _reject_below(self) -> None:
        self.window.reject_below(self.below_metric.get(), self.below_value.get())

    def _build_add_and_export(self, window) -> None:
        self.add_mode = tk.BooleanVar(value=False)
        ttk.Checkbutton(self, text="Add a neuron: then click where it is",
                        variable=self.add_mode, command=self._add_mode_changed).pack(
            anchor="w", pady=(6, 0))
        row = ttk.Frame(self)
        row.pack(fill="x", pady=(6, 0))
        self.buttons["csv"] = ttk.Button(row, text="Export CSV…",
                                         command=lambda: window.export_dialog("csv"), width=12)
        self.buttons["nwb"] = ttk.Button(row, text="Export NWB…",
                                         command=lambda: window.export_dialog("nwb"), width=12)
        self.buttons["csv"].pack(side="left", expand=True, fill="x")
        self.buttons["nwb"].pack(side="left", expand=True, fill="x")
        self.accepted_only = tk.BooleanVar(value=True)
        ttk.Checkbutton(self, text="Export the accepted neurons only",
                        variable=self.accepted_only).pack(anchor="w")

    def _add_mode_changed(self) -> None:
        if self.add_mode.get():
            self.window.status.show("Click on the image where the missed neuron is "
                                    "(the residual layers show them best).")
            names = list(self.layer_box.cget("values"))
            if "Residual PNR" in names and not self.layer.get().startswith("Residual"):
                self.layer.set("Residual PNR")
                self.window.set_layer("Residual PNR")

    def show_counts(self, n: int, accepted: int, changed: bool) -> None:
        """The headline above the list."""
        note = " (curated)" if changed else ""
        self.counts.configure(text=f"{n} neurons, {accepted} accepted{note}")
