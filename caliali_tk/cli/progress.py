"""Long jobs of the command line: a worker thread that Ctrl-C cancels, and a
progress bar on one stderr line."""

from __future__ import annotations

import shutil
import sys
import threading
import time

from caliali_tk.cli.messages import say


def run_cancellable(fn, *args, **kwargs):
    """Run ``fn(*args, cancel=event, **kwargs)`` in a worker thread.

    The main thread waits, so Ctrl-C reaches it: the cancel event is set,
    the worker stops at its next chunk (writing nothing) and
    KeyboardInterrupt is raised here. A second Ctrl-C leaves at once.
    """
    cancel = threading.Event()
    box = {}

    def work():
        try:
            box["value"] = fn(*args, cancel=cancel, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="caliali-tk-job", daemon=True)
    worker.start()
    try:
        _wait(worker)
    except KeyboardInterrupt:
        cancel.set()
        clear_line()
        say("cancelling...")
        try:
            _wait(worker)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: leave at once
        raise
    if "error" in box:
        raise box["error"]
    return box["value"]


def _wait(thread: threading.Thread) -> None:
    while thread.is_alive():
        thread.join(0.1)


class ProgressBar:
    """``progress(fraction, message)`` drawn on one stderr line.

    On a terminal: one line redrawn with ``\\r`` (at most 10 times a second)
    showing the stage message, a bar, the percentage and an ETA. Elsewhere
    (a log file): a plain line per stage and per 10 %.
    """

    def __init__(self, label: str, stream=None):
        self.label, self.stream = label, stream or sys.stderr
        self.t0 = time.perf_counter()
        self.tty = _isatty(self.stream)
        self.last, self.logged = -1.0, (None, -1)

    def __call__(self, fraction: float, message: str) -> None:
        f = min(1.0, max(0.0, float(fraction)))
        now = time.perf_counter()
        line = (f"{self.label}  {message:<28.28} [{_bar(f)}] {100 * f:3.0f}%  "
                f"{self._eta(f, now - self.t0)}")
        if self.tty:
            self._redraw(line, now, f)
        elif (message, int(10 * f)) != self.logged:
            self.logged = (message, int(10 * f))
            self.stream.write(line.rstrip() + "\n")
            self.stream.flush()

    def _redraw(self, line: str, now: float, f: float) -> None:
        if now - self.last < 0.1 and f < 1.0:
            return
        self.last = now
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("\r" + line[:width].ljust(width))
        self.stream.flush()
        _PENDING[id(self.stream)] = True

    @staticmethod
    def _eta(f: float, elapsed: float) -> str:
        if f < 0.02 or elapsed < 1.0:
            return "ETA --:--"
        return "ETA " + _clock(elapsed * (1 - f) / f)

    def done(self) -> None:
        """Erase the bar (the caller prints the summary line)."""
        clear_line(self.stream)


def _bar(f: float, n: int = 20) -> str:
    full = int(round(f * n))
    return "#" * full + "-" * (n - full)


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else _clock(seconds)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def clear_line(stream=None) -> None:
    """Blank a progress line still drawn on a terminal."""
    stream = stream or sys.stderr
    if stream is not None and _PENDING.pop(id(stream), False):
        width = shutil.get_terminal_size((100, 20)).columns - 1
        stream.write("\r" + " " * width + "\r")
        stream.flush()


_PENDING = {}  # id(stream) -> a progress line is drawn and not yet ended
