"""The results window: contours over Cn, one neuron's traces, CSV export.

Click a neuron on the image or in the list; the arrow keys step through
them. *Export CSV…* writes C (and S next to it) with a time column.
"""

from __future__ import annotations

import tkinter as tk
from pathlib import Path
from tkinter import ttk
from typing import Callable, Optional

from matplotlib.backends.backend_tkagg import FigureCanvasTkAgg, NavigationToolbar2Tk
from matplotlib.figure import Figure

from caliali_tk.errors import UserError
from caliali_tk.io.params import DEFAULT_FPS
from caliali_tk.io.results import load_results
from caliali_tk.gui import dialogs
from caliali_tk.gui.export import export_paths, write_traces_csv
from caliali_tk.gui.results_plot import ResultsPlot, neuron_at
from caliali_tk.gui.widgets import (StatusLine, fit_window, forget_idle_draw,
                                    route_errors_to_tk, collect_garbage_soon)

__all__ = ["ResultsWindow", "ResultsWindows", "frame_rate"]


def frame_rate(result) -> float:
    """The result's frame rate (attrs, then params, else 10 Hz)."""
    for source in (result.attrs, result.params):
        try:
            fps = float(source.get("fps"))
        except (TypeError, ValueError):
            continue
        if fps > 0:
            return fps
    return DEFAULT_FPS


class ResultsWindow(tk.Toplevel):
    """Shows one extraction result.

    Parameters
    ----------
    master : widget
    result : caliali_tk.io.results.Result
    path : Path
        The results file (title, default export folder).
    log : callable(text, level)
    """

    def __init__(self, master, result, path: Path, log: Callable):
        super().__init__(master)
        self.result, self.path, self.log = result, Path(path), log
        self.fps = frame_rate(result)
        self.current: Optional[int] = None
        self.alive = True
        self.title(f"Results — {self.path.name} — {result.K} neurons")
        fit_window(self, 1260, 770, 12, 12)
        self.minsize(900, 560)
        self._build()
        self.protocol("WM_DELETE_WINDOW", self.close)
        for key, step in (("<Left>", -1), ("<Up>", -1), ("<Right>", 1), ("<Down>", 1)):
            self.bind(key, lambda e, s=step: self.step(s))
        self.bind("<Escape>", lambda e: self.close())
        if result.K:
            self.select(0)
        else:
            self.status.show("No neurons were found in this video.")
        self.canvas.get_tk_widget().focus_set()

    def _build(self) -> None:
        side = ttk.Frame(self, padding=(6, 8, 8, 8))
        side.pack(side="right", fill="y")
        self._build_side(side)
        self.status = StatusLine(self)
        self.status.pack(side="bottom", fill="x", padx=8, pady=(0, 4))
        self.figure = Figure(figsize=(10.2, 7.0), dpi=100)
        self.plot = ResultsPlot(self.figure, self.result, self.fps)
        self.canvas = FigureCanvasTkAgg(self.figure, master=self)
        self.toolbar = NavigationToolbar2Tk(self.canvas, self, pack_toolbar=False)
        self.toolbar.update()
        self.toolbar.pack(side="bottom", fill="x")
        self.canvas.get_tk_widget().pack(side="top", fill="both", expand=True)
        self.canvas.mpl_connect("button_press_event", self._clicked)
        route_errors_to_tk(self.canvas)

    def _build_side(self, side) -> None:
        ttk.Label(side, text="Neurons", font=("TkDefaultFont", 11, "bold")).pack(anchor="w")
        box = ttk.Frame(side)
        box.pack(fill="both", expand=True, pady=(4, 8))
        self.listbox = tk.Listbox(box, width=18, exportselection=False, activestyle="none",
                                  font="TkFixedFont")
        bar = ttk.Scrollbar(box, orient="vertical", command=self.listbox.yview)
        self.listbox.configure(yscrollcommand=bar.set)
        self.listbox.pack(side="left", fill="both", expand=True)
        bar.pack(side="left", fill="y")
        for k in range(self.result.K):
            peak = float(self.result.C[k].max()) if self.result.T else 0.0
            self.listbox.insert("end", f"{k + 1:4d}   peak {peak:7.3g}")
        self.listbox.bind("<<ListboxSelect>>", self._list_selected)
        for key, step in (("<Up>", -1), ("<Down>", 1)):
            self.listbox.bind(key, lambda e, s=step: self.step(s) or "break")
        nav = ttk.Frame(side)
        nav.pack(fill="x")
        ttk.Button(nav, text="◀ Previous", command=lambda: self.step(-1)).pack(
            side="left", expand=True, fill="x")
        ttk.Button(nav, text="Next ▶", command=lambda: self.step(1)).pack(
            side="left", expand=True, fill="x")
        ttk.Button(side, text="Export CSV…", command=self.export_dialog).pack(
            fill="x", pady=(10, 0))
        ttk.Label(side, text=f"{self.result.T} frames at {self.fps:g} Hz",
                  foreground="#555555").pack(anchor="w", pady=(10, 0))

    # -- selection --------------------------------------------------------------------
    def select(self, k: int) -> None:
        """Show neuron `k` (0-based)."""
        if not 0 <= k < self.result.K:
            return
        self.current = k
        self.plot.select(k)
        self.listbox.selection_clear(0, "end")
        self.listbox.selection_set(k)
        self.listbox.see(k)
        row, col = self.result.centers[k]
        self.status.show(f"Neuron {k + 1} of {self.result.K} at row {row:.0f}, col {col:.0f}. "
                         "Arrow keys: previous / next neuron.")
        self.canvas.draw_idle()

    def step(self, delta: int) -> None:
        """Select the previous (-1) or next (+1) neuron."""
        if self.result.K:
            k = 0 if self.current is None else (self.current + delta) % self.result.K
            self.select(k)

    def _list_selected(self, _event=None) -> None:
        sel = self.listbox.curselection()
        if sel and sel[0] != self.current:
            self.select(int(sel[0]))

    def _clicked(self, event) -> None:
        if event.inaxes is not self.plot.ax_img or self.toolbar.mode or event.button != 1:
            return
        k = neuron_at(self.result.A, self.result.centers, event.xdata, event.ydata)
        if k is not None:
            self.select(k)

    # -- export ---------------------------------------------------------------------------
    def default_csv_name(self) -> str:
        """``movie_C.csv`` for ``movie_cnmfe.h5``."""
        stem = self.path.stem
        return (stem[:-len("_cnmfe")] if stem.endswith("_cnmfe") else stem) + "_C.csv"

    def export(self, c_path) -> tuple:
        """Write C to `c_path` and S beside it; returns both paths."""
        c_path, s_path = export_paths(c_path)
        write_traces_csv(c_path, self.result.C, self.fps, "C")
        write_traces_csv(s_path, self.result.S, self.fps, "S")
        self.status.show(f"Exported {c_path.name} and {s_path.name} to {c_path.parent}")
        self.log(f"Exported traces: {c_path} and {s_path.name}")
        return c_path, s_path

    def export_dialog(self) -> None:
        """Ask where to write the CSV files, then write them."""
        name = dialogs.ask_save_csv(self, str(self.path.parent), self.default_csv_name())
        if not name:
            return
        try:
            self.export(name)
        except OSError as exc:
            message = f"Cannot write {Path(name).name}: {exc.strerror or exc}"
            self.status.show(message, error=True)
            self.log(message, "error")
            dialogs.error(self, "Export failed", message)

    def close(self) -> None:
        """Destroy the window."""
        if self.alive:
            self.alive = False
            forget_idle_draw(self.canvas)
            collect_garbage_soon(self.master)
            self.destroy()


class ResultsWindows:
    """Opens results windows (from a file or an in-memory Result) and keeps track of them.

    Parameters
    ----------
    master : widget
    say : callable(text, error)
        One-line feedback in the main window.
    log : callable(text, level)
    """

    def __init__(self, master, say: Callable, log: Callable):
        self.master, self.say, self.log = master, say, log
        self._windows: list = []

    @property
    def windows(self) -> list:
        """The results windows still open."""
        self._windows = [w for w in self._windows if w.alive]
        return list(self._windows)

    def open(self, path, result=None) -> Optional[ResultsWindow]:
        """Show ``*_cnmfe.h5`` `path` (read unless `result` is given); None on error."""
        path = Path(path)
        try:
            result = result if result is not None else load_results(path)
        except UserError as exc:
            self.say(str(exc), True)
            dialogs.error(self.master, "Cannot open results", str(exc))
            return None
        win = ResultsWindow(self.master, result, path, log=self.log)
        self._windows = self.windows + [win]
        self.log(f"Showing {path.name}: {result.K} neurons")
        return win

    def ask_and_open(self, initialdir: Optional[str] = None) -> Optional[ResultsWindow]:
        """Ask for a results file, then show it."""
        name = dialogs.ask_open_results(self.master, initialdir)
        return self.open(name) if name else None

    def close_all(self) -> None:
        """Close every results window."""
        for win in self.windows:
            win.close()
