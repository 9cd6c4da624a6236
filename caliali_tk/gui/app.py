"""The main window: the list of videos, their parameters, and the extraction run.

It re-creates CaliAli's ``CNMFe_app``: load videos, set PNR / Corr / gSig /
frame rate per file (typed in the table or chosen by eye with *Get*), save
them with *Done!*, then run the extraction. :func:`run` is the entry point.
"""

from __future__ import annotations

import logging
import tkinter as tk
from pathlib import Path
from tkinter import ttk
from typing import Dict, List, Optional

from caliali_tk.io.results import results_path
from caliali_tk.gui import dialogs
from caliali_tk.gui.batch import BatchRun, snapshot_jobs
from caliali_tk.gui.file_rows import FileRowsMixin
from caliali_tk.gui.model import FileRow
from caliali_tk.gui.results_view import ResultsWindows
from caliali_tk.gui.startup import Startup, set_icon
from caliali_tk.gui.table import ParamTable
from caliali_tk.gui.threshold import ThresholdWindow
from caliali_tk.gui.widgets import (ButtonBar, LogPane, ProgressPanel, StatusLine,
                                    fit_window, setup_style)

__all__ = ["MainWindow", "run"]

log = logging.getLogger("caliali_tk.gui")
JOIN_TIMEOUT_S = 30.0


class MainWindow(FileRowsMixin):
    """The file list window.

    The rows (loading, editing, *Change all*, *Done!*) are
    :class:`~caliali_tk.gui.file_rows.FileRowsMixin`'s; this class lays the
    window out and runs the threshold windows, the extraction and the
    results windows.

    Parameters
    ----------
    root : tkinter.Tk
        The application's root window (this class fills it).
    """

    def __init__(self, root: tk.Tk):
        self.root = root
        self.rows: Dict[str, FileRow] = {}
        self.batch: Optional[BatchRun] = None
        self.threshold_windows: Dict[str, ThresholdWindow] = {}
        self.results = ResultsWindows(root, say=self.say, log=self.log)
        self._next_id = 0
        self._closing = False
        setup_style(root)
        root.title("caliali-tk — CNMF-E extraction")
        fit_window(root, 1180, 640, 20, 20)
        root.minsize(760, 420)
        self._build()
        dialogs.install_exception_handler(root, self.log)
        root.protocol("WM_DELETE_WINDOW", self.on_close)

    # -- layout -------------------------------------------------------------------
    def _build(self) -> None:
        self._build_menu()
        outer = ttk.Frame(self.root, padding=8)
        outer.pack(fill="both", expand=True)
        self._build_toolbar(outer).pack(fill="x", pady=(0, 6))
        self.table = ParamTable(outer, on_edit=self.cell_edited, on_get=self.open_threshold,
                                on_open=self.open_row_results)
        self.table.pack(fill="both", expand=True)
        self.table.tree.bind("<<TreeviewSelect>>", self._selection_changed, add="+")
        self.table.tree.bind("<Delete>", lambda e: self.remove_selected())
        self.status = StatusLine(outer)
        self.status.pack(fill="x", pady=(4, 2))
        self.progress = ProgressPanel(outer, on_cancel=self.cancel_run)
        self.progress.pack(fill="x", pady=(2, 6))
        ttk.Label(outer, text="Log").pack(anchor="w")
        self.log_pane = LogPane(outer, height=7)
        self.log_pane.pack(fill="both", expand=False)
        self.status.show("Load one or more videos to start (File ▸ Load videos…).")

    def _build_menu(self) -> None:
        bar = tk.Menu(self.root)
        file_menu = tk.Menu(bar, tearoff=False)
        file_menu.add_command(label="Load videos…", accelerator="Ctrl+O",
                              command=self.load_dialog)
        file_menu.add_command(label="Open results…", command=self.open_results_dialog)
        file_menu.add_separator()
        file_menu.add_command(label="Quit", accelerator="Ctrl+Q", command=self.on_close)
        bar.add_cascade(label="File", menu=file_menu)
        self.root.configure(menu=bar)
        self.root.bind_all("<Control-o>", lambda e: self.load_dialog())
        self.root.bind_all("<Control-q>", lambda e: self.on_close())

    def _build_toolbar(self, parent) -> ttk.Frame:
        bar = ButtonBar(parent, [
            ("load", "Load files…", self.load_dialog),
            ("remove", "Remove", self.remove_selected),
            ("get", "Get…", self.get_selected),
            ("suggest", "Suggest…", self.suggest_selected),
            ("change_all", "Change all…", self.change_all_dialog),
            ("done", "Done!", self.save_all),
            ("run", "Run extraction", self.run_extraction),
            ("results", "View results…", self.view_selected_results)],
            accent=("done", "run"), gap_before=("done",))
        self.buttons = bar.buttons
        return bar

    # -- messages -------------------------------------------------------------------
    def log(self, text: str, level: str = "info") -> None:
        """Append to the log pane (and the Python log)."""
        self.log_pane.write(text, level)
        (log.error if level == "error" else log.info)(text.partition("\n")[0])

    def say(self, text: str, error: bool = False) -> None:
        """Show one line in the status line and the log."""
        self.status.show(text, error)
        self.log(text, "error" if error else "info")

    # -- threshold window ------------------------------------------------------------
    def get_selected(self) -> None:
        """Open Get for the (first) selected row."""
        sel = self.table.selected()
        if not sel:
            self.say("Select a file first, then press Get.", error=True)
            return
        self.open_threshold(sel[0])

    def suggest_selected(self) -> None:
        """*Suggest*: open Get on the selected row with the suggestion applied."""
        sel = self.table.selected()
        if not sel:
            self.say("Select a file first, then press Suggest.", error=True)
            return
        self.open_threshold(sel[0]).suggest(with_gsig=True)

    def open_threshold(self, iid: str) -> ThresholdWindow:
        """Open (or raise) the threshold window of a row."""
        win = self.threshold_windows.get(iid)
        if win is not None and win.alive:
            win.lift()
            return win
        row = self.rows[iid]
        win = ThresholdWindow(self.root, row, on_ok=lambda c: self.apply_thresholds(iid, c),
                              on_close=lambda: self.threshold_windows.pop(iid, None),
                              log=self.log)
        self.threshold_windows[iid] = win
        return win

    def apply_thresholds(self, iid: str, choice) -> None:
        """*Ok!* of a threshold window: write its choice back to the row."""
        row = self.rows.get(iid)
        if row is None:
            return
        row.summary, row.finder = choice.summary, choice.finder
        self._set_params(iid, choice.params)
        row.seeds = choice.seeds
        self.refresh_row(iid)
        n_poly = len(choice.params.mask)
        self.say(f"{row.name}: PNR {choice.params.min_pnr:g}, Corr {choice.params.min_corr:g}, "
                 f"gSig {choice.params.gSig:g}, {n_poly} mask polygon(s): {choice.seeds} seeds")

    def batch_params_used(self, iid: str, params) -> None:
        """A run suggested a row's thresholds (it had none saved): show them."""
        row = self.rows.get(iid)
        if row is not None:
            row.params = params
            row.sources = dict(row.sources, min_pnr="suggested", min_corr="suggested")
            self.refresh_row(iid)

    # -- extraction --------------------------------------------------------------------
    def run_extraction(self) -> Optional[BatchRun]:
        """Extract the selected files (or all), one after another, in a worker thread."""
        if self.batch is not None and self.batch.running:
            self.say("An extraction is already running.", error=True)
            return None
        iids = self.table.selected() or self.table.iids()
        if not iids:
            self.say("Load files first.", error=True)
            return None
        jobs = snapshot_jobs({i: self.rows[i] for i in iids}, self.log)
        self.batch = BatchRun(self.root, jobs, self).start()
        self.buttons["run"].configure(state="disabled")
        self.status.show(f"Extracting {len(jobs)} file(s)…")
        return self.batch

    def cancel_run(self) -> None:
        """Cancel the running extraction (it stops at its next check)."""
        if self.batch is not None and self.batch.running:
            self.batch.cancel()

    def batch_file_done(self, iid: str, result, out_path: Path) -> None:
        """A file finished: open its results when it was the only file."""
        if self.batch is not None and len(self.batch.jobs) == 1 and not self._closing:
            self.results.open(out_path, result)

    def batch_finished(self, run: BatchRun) -> None:
        """The worker has ended."""
        run.worker.join(1.0)
        self.buttons["run"].configure(state="normal")
        c = run.counts
        self.status.show(f"Extraction finished: {c['done']} done, {c['failed']} failed, "
                         f"{c['cancelled']} cancelled.", error=bool(c["failed"]))
        if self._closing:
            self.root.destroy()

    # -- results -------------------------------------------------------------------------
    def open_results_dialog(self) -> None:
        """Ask for a ``*_cnmfe.h5`` file and show it."""
        self.results.ask_and_open(self._last_folder())

    def open_row_results(self, iid: str) -> None:
        """Show the results of a row's video, if it has any."""
        out = results_path(self.rows[iid].path)
        if out.exists():
            self.results.open(out)
        else:
            self.say(f"{self.rows[iid].name}: no results yet; run the extraction first.", True)

    def view_selected_results(self) -> None:
        """*View results…*: the selected row's results, else ask for a file."""
        sel = self.table.selected()
        if sel:
            self.open_row_results(sel[0])
        else:
            self.open_results_dialog()

    # -- closing -----------------------------------------------------------------------------
    def on_close(self) -> None:
        """Ask before leaving a run or unsaved parameters; cancel cleanly."""
        if self._closing:
            return
        if self.batch is not None and self.batch.running:
            if not dialogs.ask_yes_no(self.root, "Quit",
                                      "An extraction is running. Cancel it and quit?"):
                return
            self._closing = True
            self._close_children()
            self.status.show("Cancelling the extraction before closing…")
            self.batch.cancel()
            self.root.after(int(JOIN_TIMEOUT_S * 1000), self._force_close)
            return  # batch_finished destroys the window once the worker has ended
        if any(r.dirty for r in self.rows.values()):
            answer = dialogs.ask_yes_no_cancel(
                self.root, "Quit", "Save the changed parameters (Done!) before closing?")
            if answer is None or (answer and self.save_all() < len(self.rows)):
                return
        self._closing = True
        self._close_children()
        self.root.destroy()

    def _close_children(self) -> None:
        for win in list(self.threshold_windows.values()):
            win.close()
        self.results.close_all()

    def _force_close(self) -> None:
        if self.batch is not None and not self.batch.worker.join(0.1):
            log.error("extraction worker did not stop within %.0f s", JOIN_TIMEOUT_S)
        try:
            self.root.destroy()
        except tk.TclError:
            pass


def run(paths: Optional[List[str]] = None, demo: bool = False) -> int:
    """Open the main window with `paths` loaded and run the Tk main loop.

    With ``demo`` the built-in demo video is loaded too (simulated in the
    background on first use). The numba kernels are prepared in the
    background on the first run.

    Returns
    -------
    int
        Exit status (0).
    """
    root = tk.Tk(className="caliali-tk")
    window = MainWindow(root)
    set_icon(root)
    if paths:
        root.wait_visibility()  # so that a "cannot load" dialog has a window behind it
        window.add_files(paths, interactive=True)
    Startup(window, demo=demo).start()
    root.mainloop()
    return 0
