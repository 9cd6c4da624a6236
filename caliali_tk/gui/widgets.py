"""Small reusable pieces of the windows: log pane, status line, progress bar.

Also the shared look (fonts, row height) and a helper that sizes a window to
the screen, so every window fits and stays legible at 1280 x 800.
"""

from __future__ import annotations

import gc
import time
import tkinter as tk
import tkinter.font as tkfont
from tkinter import ttk

__all__ = ["setup_style", "fit_window", "forget_idle_draw", "route_errors_to_tk",
           "collect_garbage_soon",
           "ButtonBar", "LogPane", "StatusLine", "ProgressPanel"]

ERROR_COLOUR = "#b00020"
UI_POINTS = 10


def setup_style(root: tk.Tk) -> ttk.Style:
    """Readable fonts, a treeview row height that fits them, bold headings."""
    style = ttk.Style(root)
    if "clam" in style.theme_names():
        style.theme_use("clam")
    for name in ("TkDefaultFont", "TkTextFont", "TkMenuFont", "TkHeadingFont"):
        tkfont.nametofont(name).configure(size=UI_POINTS)
    font = tkfont.nametofont("TkDefaultFont")
    row = font.metrics("linespace") + 8
    style.configure("Treeview", rowheight=row)
    style.configure("Treeview.Heading", font=(font.actual("family"), UI_POINTS, "bold"))
    style.configure("Accent.TButton", font=(font.actual("family"), UI_POINTS, "bold"))
    style.configure("Error.TLabel", foreground=ERROR_COLOUR)
    return style


def fit_window(win: tk.Misc, width: int, height: int, x: int = 0, y: int = 0) -> None:
    """Give `win` a size of at most (width, height), clipped to the screen."""
    sw, sh = win.winfo_screenwidth(), win.winfo_screenheight()
    w, h = min(width, sw), min(height, sh - 40)
    x, y = min(x, max(0, sw - w)), min(y, max(0, sh - h))
    win.geometry(f"{w}x{h}+{x}+{y}")


def forget_idle_draw(canvas) -> None:
    """Cancel a matplotlib canvas's pending ``draw_idle`` before its window is destroyed.

    Otherwise Tk runs it after the widget's Tcl commands are gone and prints
    'invalid command name ...idle_draw' on stderr.
    """
    pending = getattr(canvas, "_idle_draw_id", None)
    if pending:
        try:
            canvas.get_tk_widget().after_cancel(pending)
        except Exception:  # already run or the widget is gone
            pass
        canvas._idle_draw_id = None


def collect_garbage_soon(master: tk.Misc) -> None:
    """Collect a closed window's reference cycles on the GUI thread, shortly.

    A window's Tk variables sit in cycles; left to chance, the garbage
    collector may free them in a worker thread, where a Tk call fails
    ('main thread is not in main loop').
    """
    try:
        master.after(50, gc.collect)
    except tk.TclError:  # the application is closing
        pass


def _reraise(exc: BaseException) -> None:
    raise exc


def route_errors_to_tk(canvas) -> None:
    """Let exceptions in matplotlib event callbacks reach Tk's error handler.

    matplotlib prints them to stderr by default; re-raised, they end up in
    ``report_callback_exception`` like any other callback error (a one-line
    dialog, the details in the log).
    """
    canvas.callbacks.exception_handler = _reraise


class ButtonBar(ttk.Frame):
    """A row of buttons from ``(key, text, command)`` triples; ``.buttons[key]``.

    Keys in `accent` get the bold style; keys in `gap_before` start a new group.
    """

    def __init__(self, parent, spec, accent=(), gap_before=()):
        super().__init__(parent)
        self.buttons = {}
        for key, text, command in spec:
            style = "Accent.TButton" if key in accent else "TButton"
            button = ttk.Button(self, text=text, command=command, style=style)
            button.pack(side="left", padx=(18 if key in gap_before else 0, 6))
            self.buttons[key] = button


class LogPane(ttk.Frame):
    """A read-only, scrolling, timestamped log."""

    def __init__(self, parent, height: int = 6):
        super().__init__(parent)
        self.text = tk.Text(self, height=height, wrap="word", state="disabled",
                            font="TkFixedFont", relief="flat", background="#fbfbfb")
        bar = ttk.Scrollbar(self, orient="vertical", command=self.text.yview)
        self.text.configure(yscrollcommand=bar.set)
        self.text.tag_configure("error", foreground=ERROR_COLOUR)
        self.text.tag_configure("detail", foreground="#666666")
        self.text.grid(row=0, column=0, sticky="nsew")
        bar.grid(row=0, column=1, sticky="ns")
        self.rowconfigure(0, weight=1)
        self.columnconfigure(0, weight=1)

    def write(self, message: str, level: str = "info") -> None:
        """Append `message`; its first line gets a timestamp, later lines are details."""
        first, _, rest = message.partition("\n")
        self.text.configure(state="normal")
        tag = "error" if level == "error" else ""
        self.text.insert("end", time.strftime("%H:%M:%S  ") + first + "\n", tag)
        if rest.strip():
            self.text.insert("end", rest.rstrip() + "\n", "detail")
        self.text.configure(state="disabled")
        self.text.see("end")

    def contents(self) -> str:
        """Everything logged so far."""
        return self.text.get("1.0", "end-1c")


class StatusLine(ttk.Label):
    """One line of feedback under the table; errors in red."""

    def __init__(self, parent):
        self.var = tk.StringVar()
        super().__init__(parent, textvariable=self.var, anchor="w")

    def show(self, message: str, error: bool = False) -> None:
        """Replace the line's text."""
        self.var.set(message)
        self.configure(style="Error.TLabel" if error else "TLabel")

    @property
    def message(self) -> str:
        """The text shown."""
        return self.var.get()


class ProgressPanel(ttk.Frame):
    """Progress bar, a stage / time-left label and a Cancel button."""

    def __init__(self, parent, on_cancel, cancel_text: str = "Cancel"):
        super().__init__(parent)
        self.bar = ttk.Progressbar(self, orient="horizontal", mode="determinate",
                                   maximum=1000, length=260)
        self.label = ttk.Label(self, text="", anchor="w")
        self.cancel = ttk.Button(self, text=cancel_text, command=on_cancel, state="disabled")
        self.bar.grid(row=0, column=0, padx=(0, 8))
        self.label.grid(row=0, column=1, sticky="ew")
        self.cancel.grid(row=0, column=2, padx=(8, 0))
        self.columnconfigure(1, weight=1)

    def set(self, fraction: float, text: str) -> None:
        """Show progress `fraction` (0..1) and `text`."""
        self.bar.configure(value=max(0.0, min(1.0, fraction)) * 1000)
        self.label.configure(text=text)

    def busy(self, running: bool) -> None:
        """Enable Cancel while work runs; clear the bar when it stops."""
        self.cancel.configure(state="normal" if running else "disabled")
        if not running:
            self.bar.configure(value=0)

    @property
    def text(self) -> str:
        """The label's text."""
        return str(self.label.cget("text"))
