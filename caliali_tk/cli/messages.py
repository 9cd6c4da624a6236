"""The command line's one-line messages on stderr and its exit statuses."""

from __future__ import annotations

import sys
from pathlib import Path

from caliali_tk.errors import UserError

PROG = "caliali-tk"
HEADLESS = "info, projections, extract, demo, selftest, curate, export"
EXIT_FAIL, EXIT_USAGE, EXIT_CANCELLED = 1, 2, 130


def usage(message: str) -> SystemExit:
    sys.stderr.write(f"{PROG}: {message}\n")
    return SystemExit(EXIT_USAGE)


def problem(exc: BaseException, video=None) -> str:
    """One line for a user-caused error, naming the file."""
    if isinstance(exc, MemoryError):
        text = "out of memory; try a smaller --max-memory"
    elif isinstance(exc, OSError) and not isinstance(exc, UserError):
        where = f"{exc.filename}: " if exc.filename else ""
        text = f"{where}{exc.strerror or first_line(exc)}"
    else:
        text = first_line(exc)
    name = Path(video).name if video is not None else None
    if name and not text.startswith(name):
        text = f"{name}: {text}"
    return text


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def say(message: str) -> None:
    """One line on stderr, prefixed with the program name."""
    sys.stderr.write(f"{PROG}: {message}\n")
    sys.stderr.flush()
