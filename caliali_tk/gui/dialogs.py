"""Every modal question the GUI asks, in one place.

The windows call these module functions (``dialogs.error(...)``), never
`tkinter.messagebox` directly, so that the tests can replace them with
recorders and no modal dialog ever blocks a test run. Messages are one line;
details go to the log, never a traceback in a dialog.
"""

from __future__ import annotations

import logging
import tkinter as tk
import traceback
from tkinter import filedialog, messagebox, ttk
from typing import Callable, Optional, Sequence

from caliali_tk.errors import UserError

__all__ = ["error", "info", "ask_yes_no", "ask_yes_no_cancel", "ask_open_videos",
           "ask_open_results", "ask_save_csv", "install_exception_handler",
           "ChangeAllDialog"]

log = logging.getLogger("caliali_tk.gui")

VIDEO_TYPES = [("Videos (.h5, .hdf5, .mat)", "*.h5 *.hdf5 *.mat"), ("All files", "*")]
RESULT_TYPES = [("Extraction results", "*_cnmfe.h5"), ("HDF5 files", "*.h5"),
                ("All files", "*")]


def error(parent, title: str, message: str) -> None:
    """Show a one-line error."""
    messagebox.showerror(title, message, parent=parent)


def info(parent, title: str, message: str) -> None:
    """Show a one-line notice."""
    messagebox.showinfo(title, message, parent=parent)


def ask_yes_no(parent, title: str, message: str) -> bool:
    """Yes / No question; True for Yes."""
    return bool(messagebox.askyesno(title, message, parent=parent))


def ask_yes_no_cancel(parent, title: str, message: str) -> Optional[bool]:
    """Yes / No / Cancel question; True, False, or None for Cancel."""
    return messagebox.askyesnocancel(title, message, parent=parent)


def ask_open_videos(parent, initialdir: Optional[str] = None) -> list:
    """Choose one or more video files; [] when cancelled."""
    names = filedialog.askopenfilenames(parent=parent, title="Load videos",
                                        filetypes=VIDEO_TYPES, initialdir=initialdir)
    return list(names or [])


def ask_open_results(parent, initialdir: Optional[str] = None) -> Optional[str]:
    """Choose a ``*_cnmfe.h5`` results file; None when cancelled."""
    name = filedialog.askopenfilename(parent=parent, title="Open extraction results",
                                      filetypes=RESULT_TYPES, initialdir=initialdir)
    return name or None


def ask_save_csv(parent, initialdir: str, initialfile: str) -> Optional[str]:
    """Choose where the C traces CSV goes; None when cancelled."""
    name = filedialog.asksaveasfilename(
        parent=parent, title="Export traces as CSV", initialdir=initialdir,
        initialfile=initialfile, defaultextension=".csv",
        filetypes=[("CSV", "*.csv"), ("All files", "*")])
    return name or None


def ask_save_nwb(parent, initialdir: str, initialfile: str) -> Optional[str]:
    """Choose where the NWB export goes; None when cancelled."""
    name = filedialog.asksaveasfilename(
        parent=parent, title="Export as NWB", initialdir=initialdir,
        initialfile=initialfile, defaultextension=".nwb",
        filetypes=[("NWB", "*.nwb"), ("All files", "*")])
    return name or None


def install_exception_handler(root: tk.Tk, write_log: Callable[[str, str], None]) -> None:
    """Route exceptions raised in Tk callbacks to one-line dialogs plus the log.

    A `UserError` shows its message; anything else (a bug) shows its type and
    first line and puts the traceback in the log, never in the dialog.

    Parameters
    ----------
    root : tkinter.Tk
    write_log : callable(text, level)
        Appends to the window's log pane.
    """
    def report(exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        first = (str(exc).strip().splitlines() or [exc_type.__name__])[0]
        if isinstance(exc, UserError):
            write_log(first, "error")
            error(root, "caliali-tk", first)
            return
        log.error("unexpected error in a callback:\n%s", text)
        write_log(f"Unexpected error: {exc_type.__name__}: {first}\n{text}", "error")
        error(root, "caliali-tk", f"Unexpected error: {exc_type.__name__}: {first} "
                                  "(details in the log)")
    root.report_callback_exception = report


class ChangeAllDialog(tk.Toplevel):
    """Set one column to one value for every file.

    Parameters
    ----------
    parent : widget
    columns : sequence of (key, title)
        The editable columns.
    initial : callable(key) -> str
        The value to prefill when a column is chosen (the selected row's).
    apply : callable(key, text) -> str or None
        Applies the change; returns an error message to show, or None.
    """

    def __init__(self, parent, columns: Sequence, initial: Callable, apply: Callable):
        super().__init__(parent)
        self.title("Change all")
        self.transient(parent)
        self.resizable(False, False)
        self._keys = {title: key for key, title in columns}
        self._initial, self._apply = initial, apply
        self.column = tk.StringVar(value=columns[0][1])
        self.value = tk.StringVar(value=initial(columns[0][0]))
        self.message = tk.StringVar()
        self._build([title for _, title in columns])
        self.bind("<Return>", lambda e: self.ok())
        self.bind("<KP_Enter>", lambda e: self.ok())
        self.bind("<Escape>", lambda e: self.destroy())
        self.protocol("WM_DELETE_WINDOW", self.destroy)
        self.entry.focus_set()
        self.entry.select_range(0, "end")

    def _build(self, titles) -> None:
        frm = ttk.Frame(self, padding=12)
        frm.grid(sticky="nsew")
        ttk.Label(frm, text="Set").grid(row=0, column=0, padx=(0, 6))
        self.combo = ttk.Combobox(frm, textvariable=self.column, values=titles,
                                  state="readonly", width=12)
        self.combo.grid(row=0, column=1)
        self.combo.bind("<<ComboboxSelected>>", self._column_changed)
        ttk.Label(frm, text="of every file to").grid(row=0, column=2, padx=6)
        self.entry = ttk.Entry(frm, textvariable=self.value, width=10)
        self.entry.grid(row=0, column=3)
        ttk.Label(frm, textvariable=self.message, foreground="#b00020",
                  wraplength=420).grid(row=1, column=0, columnspan=4, sticky="w", pady=6)
        buttons = ttk.Frame(frm)
        buttons.grid(row=2, column=0, columnspan=4, sticky="e")
        ttk.Button(buttons, text="Apply to all", command=self.ok).pack(side="left", padx=4)
        ttk.Button(buttons, text="Close", command=self.destroy).pack(side="left")

    def _column_changed(self, _event=None) -> None:
        self.value.set(self._initial(self._keys[self.column.get()]))
        self.message.set("")

    def ok(self) -> None:
        """Apply; close on success, else show why and stay open."""
        problem = self._apply(self._keys[self.column.get()], self.value.get())
        if problem:
            self.message.set(problem)
            self.bell()
        else:
            self.destroy()
