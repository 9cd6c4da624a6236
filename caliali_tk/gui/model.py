"""What the main window's table shows, without Tk: columns, rows, value checks.

Kept apart from the widgets so that parsing and validating a typed value, or
formatting a row, can be tested and reused (table cells, *Change all*)
without a display.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from caliali_tk.core.mask import mask_from_polygons
from caliali_tk.errors import ParamsError
from caliali_tk.io.params import FileParams
from caliali_tk.io.precedence import resolve_params
from caliali_tk.io.results import results_path
from caliali_tk.io.video import VideoFile
from caliali_tk.pipeline.sessions import describe_sessions, known_sessions

__all__ = ["Column", "COLUMNS", "EDITABLE", "FileRow", "open_row", "parse_cell",
           "fmt_number", "VIDEO_SUFFIXES"]

#: File name endings the loader accepts.
VIDEO_SUFFIXES = (".h5", ".hdf5", ".mat")


@dataclass(frozen=True)
class Column:
    """One table column.

    Attributes
    ----------
    key : str
        Treeview column id.
    title : str
        Heading the user sees.
    width : int
        Initial width in pixels.
    field : str or None
        The `FileParams` attribute the column edits (None: read-only).
    rule : str
        The allowed range in words, for messages.
    """

    key: str
    title: str
    width: int
    field: Optional[str] = None
    rule: str = ""


COLUMNS = (
    Column("file", "File", 250),
    Column("pnr", "PNR", 70, "min_pnr", "a number >= 0"),
    Column("corr", "Corr", 70, "min_corr", "a number from 0 to 1"),
    Column("gsig", "gSig", 70, "gSig", "a number from 0.5 to 15 (pixels)"),
    Column("fps", "Frame rate", 104, "fps", "a number > 0 (frames per second)"),
    Column("seeds", "Seeds", 70),
    Column("status", "Status", 230),
    Column("get", "Get", 70),
)

#: The editable columns, by key.
EDITABLE = {c.key: c for c in COLUMNS if c.field}


def fmt_number(value: float) -> str:
    """A parameter as the table shows it: shortest exact-looking form.

    Examples
    --------
    >>> fmt_number(8.0), fmt_number(0.85), fmt_number(0.1 + 0.2)
    ('8', '0.85', '0.3')
    """
    return f"{float(value):.6g}"


def parse_cell(params: FileParams, key: str, text: str) -> FileParams:
    """A copy of `params` with column `key` set from the typed `text`.

    Parameters
    ----------
    params : FileParams
        The row's current parameters (not changed).
    key : str
        An editable column key (see `EDITABLE`).
    text : str
        What the user typed.

    Returns
    -------
    FileParams
        Validated new parameters.

    Raises
    ------
    ParamsError
        One line naming the column, the value and the allowed range.

    Examples
    --------
    >>> parse_cell(FileParams(), "pnr", " 6.5 ").min_pnr
    6.5
    """
    col = EDITABLE[key]
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ParamsError(f"{col.title}: {text.strip()!r} is not a number; "
                          f"it must be {col.rule}") from None
    if not math.isfinite(value):
        raise ParamsError(f"{col.title}: {text.strip()!r} must be {col.rule}")
    new = dataclasses.replace(params, **{col.field: value})
    try:
        new.validate()
    except ParamsError:
        raise ParamsError(f"{col.title}: {fmt_number(value)} is out of range; "
                          f"it must be {col.rule}") from None
    return new


@dataclass
class FileRow:
    """One video in the main window's list.

    Attributes
    ----------
    path : Path
        The video file.
    params : FileParams
        Its parameters as shown (saved to the sidecar by *Done!*).
    shape : tuple of int
        (T, H, W) of the movie.
    seeds : int or None
        Seed count for the current thresholds, when known.
    status : str
        The Status cell.
    dirty : bool
        Parameters changed since the last save.
    summary : object or None
        Cached ``SummaryImages`` of the last *Get* (for ``summary.gSig``).
    finder : object or None
        ``SeedFinder`` matching `summary`, to recount seeds after an edit.
    sources : dict
        Where each parameter came from when the file was loaded (sidecar,
        CaliAli's options, defaults; see ``io.precedence``).
    """

    path: Path
    params: FileParams
    shape: tuple
    seeds: Optional[int] = None
    status: str = "ready"
    dirty: bool = False
    summary: object = None
    finder: object = None
    mask_cache: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)  # issue 12
    sessions: str = ""  # issue 9: one line on the frames per session

    @property
    def name(self) -> str:
        """The file name shown in the File column."""
        return self.path.name

    def cells(self) -> dict:
        """Column key -> text for every column."""
        p = self.params
        seeds = "" if self.seeds is None else str(self.seeds)
        return {"file": self.name, "pnr": fmt_number(p.min_pnr),
                "corr": fmt_number(p.min_corr), "gsig": fmt_number(p.gSig),
                "fps": fmt_number(p.fps), "seeds": seeds, "status": self.status,
                "get": "Get \u25b8"}

    def recount_seeds(self) -> None:
        """Update `seeds` from the cached seed finder, or forget it if stale."""
        s = self.summary
        if self.finder is None or s is None or float(s.gSig) != float(self.params.gSig):
            self.seeds = None
            return
        mask = self._mask(s.Cn.shape)
        self.seeds = self.finder.find(self.params.min_corr, self.params.min_pnr, mask).count

    def _mask(self, shape):
        if not self.params.mask:
            return None
        key = repr(self.params.mask)
        if key not in self.mask_cache:
            self.mask_cache.clear()
            self.mask_cache[key] = mask_from_polygons(shape, self.params.mask)
        return self.mask_cache[key]


def open_row(path) -> "tuple[FileRow, Optional[str]]":
    """A table row for a video: its size, and its parameters (sidecar > file > defaults).

    Parameters
    ----------
    path : path
        A ``.h5`` / ``.hdf5`` / ``.mat`` video.

    Returns
    -------
    row : FileRow
    warning : str or None
        The warnings about its parameters and movie (an unusable sidecar,
        odd CaliAli options, ...), one per line; None when there are none.

    Raises
    ------
    UserError
        One line: not a video file name, or the file cannot be opened.
    """
    path = Path(path).expanduser().resolve()
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ParamsError(f"{path.name}: not a video file (expected .h5, .hdf5 or .mat)")
    resolved = resolve_params(path)
    warning = "\n".join(resolved.warnings) or None
    row = FileRow(path=path, params=resolved.params, shape=resolved.shape,
                  sources=resolved.sources)
    with VideoFile(path, resolved.params.layout) as vf:  # issue 9
        known = known_sessions(vf, resolved.params.frames_per_session)
    row.sessions = describe_sessions(known) if known else "sessions not known yet"
    if results_path(path).exists():
        row.status = "results on disk"
    return row, warning
