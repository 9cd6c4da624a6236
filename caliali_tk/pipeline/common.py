"""Progress reporting and cancellation shared by the pipeline stages."""

from __future__ import annotations


class Cancelled(Exception):
    """The user cancelled; nothing was written."""


def check(cancel) -> None:
    """Raise `Cancelled` if the token is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")


class Stage:
    """Maps a stage's own 0..1 progress onto a slice of the overall bar.

    Examples
    --------
    >>> seen = []
    >>> Stage(lambda f, m: seen.append(round(f, 2)), 0.5, 1.0)(0.5, "half")
    >>> seen
    [0.75]
    """

    def __init__(self, progress, start: float, stop: float):
        self.progress, self.start, self.stop = progress, start, stop

    def __call__(self, fraction: float, message: str) -> None:
        if self.progress is not None:
            f = min(1.0, max(0.0, fraction))
            self.progress(self.start + f * (self.stop - self.start), message)

    def sub(self, start: float, stop: float) -> "Stage":
        """A slice of this stage."""
        span = self.stop - self.start
        return Stage(self.progress, self.start + start * span, self.start + stop * span)
