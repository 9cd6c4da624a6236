"""What the main window does once it is open: icon, demo video, fast kernels.

Simulating the demo video and compiling the numba kernels (first run only)
take seconds; both run in a worker thread after the window is on screen, so
that a double-click shows a window at once and the status line says what is
being prepared.
"""

from __future__ import annotations

import queue
import threading
import tkinter as tk

from caliali_tk.bundle import frozen

POLL_MS = 100


def set_icon(root: tk.Tk) -> None:
    """Give the window the app icon (Linux programs carry none of their own)."""
    path = frozen.icon_path()
    if path is None:
        return
    try:
        root._icon = tk.PhotoImage(file=str(path))  # keep a reference alive
        root.iconphoto(True, root._icon)
    except tk.TclError:
        pass


class Startup:
    """Prepare the demo video and the kernels in a worker thread.

    Parameters
    ----------
    window : MainWindow
        Receives the demo video (``add_files``) and status messages.
    demo : bool
        Load the built-in demo video (simulated on first use).
    """

    def __init__(self, window, demo: bool = False):
        self.window, self.demo = window, demo
        self.messages: queue.Queue = queue.Queue()
        self.cancel = threading.Event()
        self.thread = threading.Thread(target=self._work, name="caliali-startup",
                                       daemon=True)

    def start(self) -> "Startup":
        """Start the worker, unless there is nothing to prepare."""
        self.warm = not frozen.kernels_ready()
        if self.demo or self.warm:
            self.thread.start()
            self.window.root.after(POLL_MS, self._poll)
        return self

    def _work(self) -> None:
        try:
            if self.demo:
                from caliali_tk.demo.files import demo_video

                self.messages.put(("status", "simulating the demo video (first run only)…"))
                self.messages.put(("demo", str(demo_video())))
            if self.warm:
                frozen.warm_up(progress=self._progress, cancel=self.cancel)
            self.messages.put(("done", ""))
        except Exception as exc:  # reported in the window, never a traceback
            self.messages.put(("error", f"start-up: {exc}"))

    def _progress(self, fraction: float, message: str) -> None:
        self.messages.put(("status", f"preparing the fast kernels (first run only)… "
                                     f"{100 * fraction:.0f}%"))

    def _poll(self) -> None:
        finished = False
        while not self.messages.empty():
            kind, text = self.messages.get_nowait()
            finished |= self._handle(kind, text)
        if not finished:
            self.window.root.after(POLL_MS, self._poll)

    def _handle(self, kind: str, text: str) -> bool:
        w = self.window
        if kind == "status":
            w.status.show(text)
        elif kind == "demo":
            w.add_files([text], interactive=True)
            w.log(f"Loaded the built-in demo video {text}")
        elif kind == "error":
            w.status.show(text, error=True)
            w.log(text, "error")
            return True
        elif kind == "done":
            w.status.show("Ready. Select a video and press Get… to choose its thresholds.")
            return True
        return False
