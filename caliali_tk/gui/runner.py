"""Background work for the GUI: a thread, a queue, and a poller on the Tk loop.

The rule (DESIGN.md): the GUI thread only touches widgets; the work runs in a
`threading.Thread` and talks back only through a `queue.Queue`, which the
GUI thread drains with ``widget.after``. Numba kernels release the GIL, so
the window stays responsive while they run.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Callable, Optional

from caliali_tk.errors import UserError
from caliali_tk.pipeline import Cancelled

__all__ = ["Worker", "Eta", "format_seconds", "one_line", "ThrottledProgress"]

POLL_MS = 40          # how often the GUI thread drains the queue
MAX_PER_POLL = 200    # messages handled per poll, so a flood cannot freeze the loop


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if empty)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class Worker:
    """Run ``job(post, cancel)`` in a thread; deliver its posts on the Tk thread.

    Parameters
    ----------
    widget : tkinter widget
        Any live widget; its ``after`` schedules the poller.
    job : callable(post, cancel)
        Runs in the worker thread. ``post(kind, payload)`` sends a message to
        `handler`; ``cancel`` is a `threading.Event`. Its return value is
        delivered as ``("result", value)``.
    handler : callable(kind, payload)
        Called on the GUI thread for every message, then once more with
        ``("exit", None)`` after the thread has ended. A job that raises
        delivers ``("cancelled", None)`` for `Cancelled`,
        ``("failed", message)`` for a `UserError`, and
        ``("error", (message, traceback_text))`` for anything else.
    name : str
        Thread name (shows in debuggers).
    """

    def __init__(self, widget, job: Callable, handler: Callable, name: str = "worker"):
        self.widget, self.job, self.handler = widget, job, handler
        self.cancel_event = threading.Event()
        self.queue: "queue.Queue[tuple]" = queue.Queue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._after_id: Optional[str] = None
        self.finished = False

    # -- GUI thread ---------------------------------------------------------
    def start(self) -> "Worker":
        """Start the thread and the poller."""
        self.thread.start()
        self._schedule()
        return self

    def cancel(self) -> None:
        """Ask the job to stop at its next check (returns at once)."""
        self.cancel_event.set()

    @property
    def alive(self) -> bool:
        """True until the thread has ended."""
        return self.thread.is_alive()

    def join(self, timeout: float) -> bool:
        """Wait for the thread at most `timeout` s; True if it has ended."""
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def stop_polling(self) -> None:
        """Stop delivering messages (the widget is going away)."""
        if self._after_id is not None:
            try:
                self.widget.after_cancel(self._after_id)
            except Exception:  # the widget may already be destroyed
                pass
            self._after_id = None
        self.finished = True

    def _schedule(self) -> None:
        self._after_id = self.widget.after(POLL_MS, self._poll)

    def _poll(self) -> None:
        self._after_id = None
        ended = not self.thread.is_alive()  # read before draining: no message lost
        for _ in range(MAX_PER_POLL):
            try:
                kind, payload = self.queue.get_nowait()
            except queue.Empty:
                break
            self.handler(kind, payload)
            if self.finished:
                return
        else:
            ended = False
        if ended and self.queue.empty():
            self.finished = True
            self.handler("exit", None)
        else:
            self._schedule()

    # -- worker thread -------------------------------------------------------
    def _post(self, kind: str, payload=None) -> None:
        self.queue.put((kind, payload))

    def _run(self) -> None:
        try:
            value = self.job(self._post, self.cancel_event)
        except Cancelled:
            self._post("cancelled")
        except UserError as exc:
            self._post("failed", one_line(exc))
        except Exception as exc:  # a bug: one line for the user, details in the log
            self._post("error", (f"{type(exc).__name__}: {one_line(exc)}",
                                 traceback.format_exc()))
        else:
            self._post("result", value)


class ThrottledProgress:
    """A ``progress(fraction, message)`` callback that posts at most every `interval` s.

    A new stage message, or reaching 1.0, is always posted at once.
    """

    def __init__(self, post: Callable, kind: str = "progress", interval: float = 0.1,
                 extra=None):
        self.post, self.kind, self.interval, self.extra = post, kind, interval, extra
        self._last_t = 0.0
        self._last_msg = None

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if (message == self._last_msg and fraction < 1.0
                and now - self._last_t < self.interval):
            return
        self._last_t, self._last_msg = now, message
        payload = (fraction, message) if self.extra is None else (self.extra, fraction, message)
        self.post(self.kind, payload)


@dataclass
class Eta:
    """Time left from the fraction done so far (linear extrapolation).

    Gives nothing until a little work is done, so the first guess is not wild.
    """

    start: float = 0.0
    min_fraction: float = 0.02
    min_elapsed: float = 1.0

    def __post_init__(self):
        self.start = self.start or time.monotonic()

    def seconds_left(self, fraction: float, now: Optional[float] = None) -> Optional[float]:
        """Estimated seconds left, or None when it is too early to tell."""
        elapsed = (now or time.monotonic()) - self.start
        if fraction < self.min_fraction or elapsed < self.min_elapsed:
            return None
        return max(0.0, elapsed * (1.0 - fraction) / fraction)


def format_seconds(seconds: Optional[float]) -> str:
    """'about 2 min 5 s left' style text; '' for None.

    Examples
    --------
    >>> format_seconds(3.2), format_seconds(125), format_seconds(4000)
    ('about 3 s left', 'about 2 min 5 s left', 'about 1 h 7 min left')
    """
    if seconds is None:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"about {max(s, 1)} s left"
    if s < 3600:
        return f"about {s // 60} min {s % 60} s left"
    return f"about {s // 3600} h {(s % 3600) // 60} min left"
