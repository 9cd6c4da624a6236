"""The results window: the neurons over an image layer, one neuron's traces, curation.

Click a neuron on the image or in the list (Shift / Ctrl for several); the
arrow keys step through the list in its order. ``a`` accepts, ``r`` rejects,
``m`` merges the selected neurons, Ctrl+Z undoes; *Add a neuron* makes the
next click on the image initialise a neuron there. The mouse wheel zooms the
image. Every change is saved into the results file's ``curation`` group at
once; *Export CSV…* and *Export NWB…* write the list (see
:mod:`caliali_tk.io.export_csv`, :mod:`caliali_tk.io.nwb`).
"""

from __future__ import annotations

import tkinter as tk
from pathlib import Path
from typing import Callable, Dict, List, Optional

from matplotlib.backends.backend_tkagg import FigureCanvasTkAgg, NavigationToolbar2Tk
from matplotlib.figure import Figure

from caliali_tk.errors import UserError
from caliali_tk.io.curation_file import load_curation
from caliali_tk.io.export_csv import frame_rate, frames_per_session
from caliali_tk.io.results import load_results
from caliali_tk.gui import dialogs
from caliali_tk.gui.curation_actions import CurationActions
from caliali_tk.gui.curation_panel import CurationPanel
from caliali_tk.gui.results_plot import ResultsPlot, footprint_contours, neuron_at
from caliali_tk.gui.widgets import (StatusLine, fit_window, forget_idle_draw,
                                    route_errors_to_tk, collect_garbage_soon)

__all__ = ["ResultsWindow", "ResultsWindows", "frame_rate"]

_TEXT_INPUTS = ("Entry", "TEntry", "TCombobox", "Spinbox", "TSpinbox")


class ResultsWindow(CurationActions, tk.Toplevel):
    """Shows and curates one extraction result.

    Parameters
    ----------
    master : widget
    result : caliali_tk.io.results.Result
    path : Path
        The results file (title, curation, default export folder).
    log : callable(text, level)
    curation : Curation, optional
        Already loaded (else read from `path`).
    """

    def __init__(self, master, result, path: Path, log: Callable, curation=None):
        super().__init__(master)
        self.result, self.path, self.log = result, Path(path), log
        self.cur = curation if curation is not None else load_curation(self.path, result)
        self.fps = frame_rate(result)
        self.sessions = frames_per_session(result)
        self.current: Optional[int] = None  # list position of the neuron shown
        self.selected: List[int] = []       # list positions selected
        self.alive = True
        self._contours: Dict[int, list] = {}
        self.title(f"Results — {self.path.name} — {result.K} neurons")
        fit_window(self, 1280, 780, 0, 0)
        self.minsize(980, 600)
        self._build()
        self.protocol("WM_DELETE_WINDOW", self.close)
        self._bind_keys()
        self.refresh([])
        if len(self.cur.numbers):
            self.select(0)
        else:
            self.status.show("No neurons in this result.")
        self.canvas.get_tk_widget().focus_set()

    def _build(self) -> None:
        self.panel = CurationPanel(self, self)
        self.panel.pack(side="right", fill="y", padx=(4, 8), pady=8)
        self.neuron_list, self.progress = self.panel.neuron_list, self.panel.progress
        self.status = StatusLine(self)
        self.status.pack(side="bottom", fill="x", padx=8, pady=(0, 4))
        self.figure = Figure(figsize=(8.6, 7.2), dpi=100)
        self.plot = ResultsPlot(self.figure, self.result, self.fps, self.sessions)
        self.canvas = FigureCanvasTkAgg(self.figure, master=self)
        self.toolbar = NavigationToolbar2Tk(self.canvas, self, pack_toolbar=False)
        self.toolbar.update()
        self.toolbar.pack(side="bottom", fill="x")
        self.canvas.get_tk_widget().pack(side="top", fill="both", expand=True)
        self.canvas.mpl_connect("button_press_event", self._clicked)
        self.canvas.mpl_connect("scroll_event", self._scrolled)
        route_errors_to_tk(self.canvas)

    def _bind_keys(self) -> None:
        keys = {"<Left>": lambda: self.step(-1), "<Right>": lambda: self.step(1),
                "<Up>": lambda: self.step(-1), "<Down>": lambda: self.step(1),
                "<KeyPress-a>": self.accept_selected, "<KeyPress-r>": self.reject_selected,
                "<KeyPress-m>": self.merge_selected, "<Control-z>": self.undo,
                "<Escape>": self.close}
        for key, action in keys.items():
            self.bind(key, lambda e, f=action, k=key: self._key(e, f, k))

    def _key(self, event, action, key) -> Optional[str]:
        cls = event.widget.winfo_class() if hasattr(event.widget, "winfo_class") else ""
        if cls in _TEXT_INPUTS and key != "<Escape>":
            return None  # typing into a field
        if event.widget is self.neuron_list.tree and key in ("<Up>", "<Down>"):
            return None  # the list moves its own selection
        action()
        return "break"

    # -- the list ---------------------------------------------------------------------------
    def contours_of(self, pid: int) -> list:
        """Outline of pool component `pid` (cached)."""
        if pid not in self._contours:
            self._contours[pid] = footprint_contours(self.cur.pool.A[pid:pid + 1])[0]
        return self._contours[pid]

    def refresh(self, select_numbers) -> None:
        """Redraw the list and the outlines after a change; select `select_numbers`."""
        cur = self.cur
        ids = cur.state.ids
        self.plot.overview.show(cur.numbers, cur.accepted,
                                [self.contours_of(int(p)) for p in ids], cur.pool.centers[ids])
        self.neuron_list.fill(cur.numbers, cur.accepted,
                              {m: cur.metric(m) for m in self.neuron_list.metrics})
        self.panel.show_counts(len(cur.numbers), int(cur.accepted.sum()), cur.changed)
        pos = [cur.position(n) for n in select_numbers if n in set(cur.numbers.tolist())]
        if pos:
            self._select_positions(pos)
        elif len(cur.numbers):
            self._select_positions([min(self.current or 0, len(cur.numbers) - 1)])
        self.canvas.draw_idle()

    def selected_numbers(self) -> List[int]:
        """Numbers of the selected neurons (the current one first)."""
        return [int(self.cur.numbers[p]) for p in self.selected]

    # -- selection ----------------------------------------------------------------------------
    def select(self, k: int) -> None:
        """Show the neuron at list position `k` (0-based, list order as made)."""
        if 0 <= k < len(self.cur.numbers):
            self._select_positions([k])

    def select_numbers(self, numbers) -> None:
        """Select neurons by number (the first is shown)."""
        self._select_positions([self.cur.position(n) for n in numbers])

    def _select_positions(self, positions: List[int]) -> None:
        self.selected = list(dict.fromkeys(positions))
        self.current = self.selected[0]
        cur, k = self.cur, self.current
        pid, number = int(cur.state.ids[k]), int(cur.numbers[k])
        pool = cur.pool
        self.plot.select(number, pool.A[pid], self.contours_of(pid),
                         (pool.C_raw[pid], pool.C[pid], pool.S[pid]), pool.centers[pid])
        self.plot.overview.select(self.selected)
        self.neuron_list.show_selection(self.selected_numbers())
        row, col = pool.centers[pid]
        state = "accepted" if cur.accepted[k] else "rejected"
        more = f" ({len(self.selected)} selected)" if len(self.selected) > 1 else ""
        self.status.show(f"Neuron {number} ({state}, {pool.origin[pid]}) at row {row:.0f}, "
                         f"col {col:.0f}{more}. a accept, r reject, m merge, Ctrl+Z undo.")
        self.canvas.draw_idle()

    def step(self, delta: int) -> None:
        """Select the previous (-1) or next (+1) neuron in the list's order."""
        order = self.neuron_list.order()
        if not order:
            return
        number = int(self.cur.numbers[self.current]) if self.current is not None else order[0]
        i = order.index(number) if number in order else 0
        self.select_numbers([order[(i + delta) % len(order)]])

    def list_selected(self, numbers) -> None:
        """The list's selection changed (a click, Shift / Ctrl-click, arrow keys)."""
        if numbers:
            self.select_numbers(numbers)

    def _clicked(self, event) -> None:
        if event.inaxes is not self.plot.ax_img or self.toolbar.mode:
            return
        if event.button == 3 and event.dblclick:
            self.plot.overview.home()
            self.canvas.draw_idle()
            return
        if event.button != 1:
            return
        if self.panel.add_mode.get():
            self.panel.add_mode.set(False)
            self.add_at(event.ydata, event.xdata)
            return
        ids = self.cur.state.ids
        k = neuron_at(self.cur.pool.A, self.cur.pool.centers[ids], event.xdata,
                      event.ydata, ids=ids)
        if k is None:
            return
        mods = set(getattr(event, "modifiers", None) or ()) | {str(event.key)}
        if mods & {"ctrl", "control", "shift"} and self.selected:
            pos = [p for p in self.selected if p != k] if k in self.selected \
                else self.selected + [k]
            self._select_positions(pos or [k])
        else:
            self.select(k)

    def _scrolled(self, event) -> None:
        if event.inaxes is self.plot.ax_img and event.xdata is not None:
            step = 1.3 if event.button == "up" else 1 / 1.3
            self.plot.overview.zoom(step, event.xdata, event.ydata)
            self.canvas.draw_idle()

    def set_layer(self, name: str) -> None:
        """Show image layer `name` under the outlines."""
        self.plot.overview.set_layer(name)
        self.canvas.draw_idle()

    # -- export -------------------------------------------------------------------------------
    def default_csv_name(self) -> str:
        """``movie_C.csv`` for ``movie_cnmfe.h5``."""
        return self._stem() + "_C.csv"

    def _stem(self) -> str:
        stem = self.path.stem
        return stem[:-len("_cnmfe")] if stem.endswith("_cnmfe") else stem

    def export(self, c_path, accepted_only: Optional[bool] = None) -> dict:
        """Write C, C_raw, S and the neuron table (CSV) beside `c_path`; returns the paths."""
        from caliali_tk.io.export_csv import write_csv_export
        only = self.panel.accepted_only.get() if accepted_only is None else accepted_only
        paths = write_csv_export(c_path, self.cur, self.fps, only, self.sessions)
        self.status.show(f"Exported {', '.join(p.name for p in paths.values())} "
                         f"to {Path(c_path).parent}")
        self.log(f"Exported traces: {', '.join(str(p) for p in paths.values())}")
        return paths

    def export_nwb(self, path, accepted_only: Optional[bool] = None) -> Path:
        """Write the list as an NWB file."""
        from caliali_tk.io.nwb import write_nwb
        only = self.panel.accepted_only.get() if accepted_only is None else accepted_only
        out = write_nwb(path, self.cur, self.fps, only, self.sessions,
                        str(self.result.attrs.get("source_file", "")))
        self.status.show(f"Exported {out.name} to {out.parent}")
        self.log(f"Exported NWB: {out}")
        return out

    def export_dialog(self, kind: str = "csv") -> None:
        """Ask where to write the CSV (or NWB) export, then write it."""
        if kind == "nwb":
            name = dialogs.ask_save_nwb(self, str(self.path.parent), self._stem() + ".nwb")
        else:
            name = dialogs.ask_save_csv(self, str(self.path.parent), self.default_csv_name())
        if not name:
            return
        try:
            self.export_nwb(name) if kind == "nwb" else self.export(name)
        except (OSError, UserError) as exc:
            message = f"Cannot write {Path(name).name}: {getattr(exc, 'strerror', None) or exc}"
            self.status.show(message, error=True)
            self.log(message, "error")
            dialogs.error(self, "Export failed", message)

    def close(self) -> None:
        """Destroy the window (a running merge / add is cancelled)."""
        if self.alive:
            self.alive = False
            if self.worker is not None:
                self.worker.cancel()
                self.worker.stop_polling()
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
            curation = load_curation(path, result)
        except UserError as exc:
            self.say(str(exc), True)
            dialogs.error(self.master, "Cannot open results", str(exc))
            return None
        win = ResultsWindow(self.master, result, path, log=self.log, curation=curation)
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
