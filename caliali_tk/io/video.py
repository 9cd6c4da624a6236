"""Read-only, lazy access to a calcium-imaging movie in an HDF5 / MATLAB v7.3 file.

The movie is looked up as ``/Object`` (CaliAli's .h5), then ``/Y``
(CaliAli's .mat), else the only 3-D numeric dataset in the file. Frames are
read on demand, converted to float32 and put in display orientation by the
file's layout (MATLAB's (T, d2, d1) or Python's (T, H, W); see
:mod:`.orientation`). Every problem a user can cause raises
:class:`~caliali_tk.errors.VideoError` with a one-line message that starts
with the file name.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import h5py
import numpy as np

from caliali_tk.core.layout import swap_axes_float32

from ..errors import VideoError
from .orientation import (AUTO, LAYOUTS, MATLAB, detect_layout, from_display,
                          time_axis_warning, to_display)

__all__ = ["VideoFile", "open_video", "to_display", "from_display", "LAYOUTS"]

SUPPORTED_DTYPES = tuple(np.dtype(t) for t in
                         ("uint8", "uint16", "int16", "float32", "float64"))
PREFERRED_DATASETS = ("Object", "Y")
IGNORED_GROUPS = ("ground_truth",)
SESSIONS_PATH = "CaliAli_options/inter_session_alignment/F"
_MAT5_MAGIC = b"MATLAB 5.0 MAT-file"
_CHUNK_CACHE_BYTES = 64 * 2**20
_MAX_LISTED = 6
_NUMERIC = ("u", "i", "f")


def _reason(exc: BaseException) -> str:
    """The first line of an exception's message, short enough for a status bar."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 200 else line[:197] + "..."


def _dtype(ds: h5py.Dataset) -> Optional[np.dtype]:
    """The dataset's numpy dtype, None for exotic HDF5 types h5py cannot map."""
    try:
        return ds.dtype
    except Exception:
        return None


def _kind(ds: h5py.Dataset) -> str:
    return getattr(_dtype(ds), "kind", "")


def _describe(name: str, ds: h5py.Dataset) -> str:
    shape = "x".join(str(n) for n in ds.shape) or "scalar"
    return f"/{name} ({shape} {_dtype(ds) or 'unknown type'})"


def _ignored(name: str) -> bool:
    top = name.split("/", 1)[0]
    return top in IGNORED_GROUPS or top.startswith("#")  # MATLAB's #refs#


def _list_datasets(f: h5py.File) -> List[Tuple[str, h5py.Dataset]]:
    found = []
    f.visititems(lambda name, obj: found.append((name, obj))
                 if isinstance(obj, h5py.Dataset) and not _ignored(name) else None)
    return found


def _check_file(path: Path) -> None:
    """Raise VideoError for problems visible before HDF5 gets involved."""
    name = path.name
    if not path.exists():
        raise VideoError(f"{name}: file not found ({path})")
    if path.is_dir():
        raise VideoError(f"{name}: is a folder, not a video file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(128)
    except OSError as exc:
        raise VideoError(f"{name}: cannot read the file ({exc.strerror or _reason(exc)})") from exc
    if not head:
        raise VideoError(f"{name}: empty file (0 bytes)")
    if head.startswith(_MAT5_MAGIC):
        raise VideoError(f"{name}: old-style MATLAB .mat (v5/v7) cannot be read; "
                         "in MATLAB, save it with -v7.3")
    if not h5py.is_hdf5(str(path)):
        raise VideoError(f"{name}: not an HDF5 file (MATLAB v7.3 .mat or .h5 expected)")


def _open_h5(path: Path) -> h5py.File:
    """Open read-only; retry without file locking (network drives refuse it)."""
    try:
        return h5py.File(path, "r", rdcc_nbytes=_CHUNK_CACHE_BYTES)
    except OSError as exc:
        error: BaseException = exc
        if "lock" in str(exc).lower():
            try:
                return h5py.File(path, "r", locking=False, rdcc_nbytes=_CHUNK_CACHE_BYTES)
            except (OSError, ValueError, TypeError) as exc2:
                error = exc2
    raise VideoError(f"{path.name}: cannot open as HDF5, the file may be truncated "
                     f"or damaged ({_reason(error)})") from error


def _find_movie(f: h5py.File, fname: str) -> Tuple[str, h5py.Dataset]:
    """Pick the movie dataset: /Object, /Y, else the lone 3-D numeric one."""
    for name in PREFERRED_DATASETS:
        obj = f.get(name)
        if isinstance(obj, h5py.Dataset):
            return name, obj
    datasets = _list_datasets(f)
    cubes = [(n, d) for n, d in datasets if d.ndim == 3 and _kind(d) in _NUMERIC]
    if len(cubes) == 1:
        return cubes[0]
    if len(cubes) > 1:
        raise VideoError(f"{fname}: several 3-D datasets ({_listing(cubes)}); "
                         "cannot tell which is the movie, name it /Object")
    if len(datasets) == 1:
        return datasets[0]  # the shape/dtype checks give the precise reason
    if not datasets:
        raise VideoError(f"{fname}: the file holds no datasets, no movie found")
    raise VideoError(f"{fname}: no 3-D movie dataset found (saw {_listing(datasets)})")


def _listing(items: List[Tuple[str, h5py.Dataset]]) -> str:
    shown = ", ".join(_describe(n, d) for n, d in items[:_MAX_LISTED])
    more = len(items) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _check_movie(name: str, ds: h5py.Dataset, fname: str) -> None:
    """Raise VideoError unless `ds` is a usable 3-D movie of a supported type."""
    what = f"{fname}: dataset {_describe(name, ds)}"
    if _kind(ds) not in _NUMERIC:
        raise VideoError(f"{what} is not numeric, it cannot be a movie")
    if ds.ndim == 2:
        raise VideoError(f"{what} is 2-D (a single image); a movie must be 3-D")
    if ds.ndim == 4:
        raise VideoError(f"{what} is 4-D; multi-channel movies are not supported, "
                         "save one channel as a 3-D array")
    if ds.ndim != 3:
        raise VideoError(f"{what} is {ds.ndim}-D; a movie must be 3-D")
    if ds.dtype not in SUPPORTED_DTYPES:
        names = ", ".join(str(d) for d in SUPPORTED_DTYPES)
        raise VideoError(f"{what} has unsupported type {ds.dtype} (supported: {names})")
    n_frames, a, b = ds.shape
    if n_frames == 0:
        raise VideoError(f"{what} has zero frames")
    if n_frames == 1:
        raise VideoError(f"{what} has only 1 frame; need at least 2 frames")
    if a == 0 or b == 0:
        raise VideoError(f"{what} has empty frames")


def _read_sessions(f: h5py.File, n_frames: int) -> Optional[List[int]]:
    """CaliAli's frames-per-session list, or None when absent or not trustworthy."""
    try:
        obj = f.get(SESSIONS_PATH)
        if not isinstance(obj, h5py.Dataset) or _kind(obj) not in _NUMERIC:
            return None
        values = np.asarray(obj[()], dtype=np.float64).ravel()
    except Exception:  # optional metadata: anything odd means "not known"
        return None
    if (values.size == 0 or not np.all(np.isfinite(values))
            or np.any(values <= 0) or np.any(values != np.round(values))):
        return None
    counts = [int(v) for v in values]
    return counts if sum(counts) == n_frames else None


class VideoFile:
    """A movie in an HDF5 or MATLAB v7.3 file, opened read-only and read lazily.

    Parameters
    ----------
    path : str or os.PathLike
        ``.h5`` / ``.hdf5`` / ``.mat`` (v7.3) file.
    layout : {"auto", "matlab", "python"}
        How the file stores frames; ``"auto"`` reads it from the file
        (:func:`~caliali_tk.io.orientation.detect_layout`).
    stored : bool
        Read the frames as the file stores them: a MATLAB-layout movie then
        comes out transposed (``transposed`` is True, ``shape`` is the
        stored one). The extraction works that way, because every image it
        makes turns with the movie and turning each chunk of every pass
        costs more than turning the results once (``caliali_tk.pipeline``).

    Attributes
    ----------
    layout : {"matlab", "python"}
        The layout in use; `layout_reason` says why (detected, or given).
    transposed : bool
        The frames read are the display frames transposed (``stored`` and a
        MATLAB layout).
    warnings : list of str
        One-line warnings about the file (e.g. the first axis is evidently
        not time).

    Raises
    ------
    VideoError
        One line, starting with the file name, for every unusable input.
    """

    def __init__(self, path: "str | os.PathLike[str]", layout: str = AUTO, stored: bool = False):
        self.path = Path(path)
        if layout not in LAYOUTS:
            raise VideoError(f"{self.path.name}: layout must be one of "
                             f"{', '.join(LAYOUTS)}, got {layout!r}")
        _check_file(self.path)
        self._file: Optional[h5py.File] = _open_h5(self.path)
        self._raw_buf = None  # the stored blocks of `iter_chunks(reuse=True)`
        self._frame_buf = None  # and the float32 frames made of them
        try:
            name, self._ds = _find_movie(self._file, self.path.name)
            _check_movie(name, self._ds, self.path.name)
            self.dataset_name = "/" + name
            self.dtype = np.dtype(self._ds.dtype)
            self.layout, self.layout_reason = (
                detect_layout(self._file, self._ds, self.path) if layout == AUTO
                else (layout, "given"))
            self.transposed = bool(stored) and self.layout == MATLAB
            t, a, b = (int(n) for n in self._ds.shape)
            swap = self.layout == MATLAB and not self.transposed
            self.shape: Tuple[int, int, int] = (t, b, a) if swap else (t, a, b)
            self.warnings: List[str] = [w for w in [time_axis_warning(
                self._ds.shape, self.path.name)] if w]
            self.frames_per_session = _read_sessions(self._file, self.n_frames)
        except (OSError, KeyError, RuntimeError) as exc:
            self.close()
            raise VideoError(f"{self.path.name}: cannot read the file structure, "
                             f"it may be damaged ({_reason(exc)})") from exc
        except BaseException:
            self.close()
            raise

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return self.shape[0]

    @property
    def height(self) -> int:
        """Frame height H (rows, MATLAB's d1)."""
        return self.shape[1]

    @property
    def width(self) -> int:
        """Frame width W (columns, MATLAB's d2)."""
        return self.shape[2]

    def read(self, start: int, stop: int, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Read frames ``start <= t < stop`` (only those) as float32 (n, H, W).

        The block is C-contiguous, in display orientation (stored, for a
        reader opened with ``stored``). Raises VideoError
        when the data cannot be read (truncated or damaged file) or a frame
        holds NaN/Inf (the message gives the first bad frame index). With
        ``out`` (float32, C-contiguous, the block's shape) the frames go
        there, and the file's block is read into a buffer this reader keeps.
        """
        start, stop = self._check_range(start, stop)
        raw = self._raw(start, stop, reuse=out is not None)
        with np.errstate(over="ignore"):  # overflow becomes Inf, reported below
            if self.layout == MATLAB and not self.transposed:
                frames = swap_axes_float32(raw, out)  # to_display's rule, done fast
            elif out is not None:
                np.copyto(out, raw, casting="unsafe")
                frames = out
            else:
                frames = np.ascontiguousarray(raw, np.float32)
        if self.dtype.kind == "f" and not np.isfinite(frames).all():
            bad = ~np.isfinite(frames.reshape(len(frames), -1)).all(axis=1)
            first = start + int(np.argmax(bad))
            raise VideoError(f"{self.path.name}: frame {first} (0-based) contains NaN or "
                             "Inf values (or values too large for float32)")
        return frames

    def frame_means(self, start: int, stop: int) -> np.ndarray:
        """Mean of each frame ``start <= t < stop``, float64 (n,).

        Straight from the stored block: a frame's mean does not depend on
        its orientation, so no float32 display copy is made.
        """
        start, stop = self._check_range(start, stop)
        raw = self._raw(start, stop)
        means = raw.reshape(len(raw), -1).mean(axis=1, dtype=np.float64)
        if self.dtype.kind == "f" and not np.isfinite(means).all():
            self.read(start + int(np.argmax(~np.isfinite(means))), stop)  # names the frame
        return means

    def _raw(self, start: int, stop: int, reuse: bool = False) -> np.ndarray:
        """The stored block; with ``reuse``, in this reader's own buffer (valid
        until the next such read)."""
        try:
            if not reuse:
                return self._ds[start:stop]
            shape = (stop - start,) + tuple(self._ds.shape[1:])
            n = int(np.prod(shape))
            buf = self._raw_buffer(n)[:n].reshape(shape)
            if n:
                self._ds.read_direct(buf, np.s_[start:stop])
            return buf
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise VideoError(f"{self.path.name}: cannot read frames {start}-{stop - 1}, "
                             f"the file may be truncated or damaged ({_reason(exc)})") from exc

    def iter_chunks(self, chunk_frames: int, start: int = 0, stop: Optional[int] = None,
                    reuse: bool = False) -> Iterator[Tuple[int, np.ndarray]]:
        """Yield ``(first_frame, frames)`` blocks of at most `chunk_frames` (>= 1).

        Covers frames ``start <= t < stop``, the whole movie by default; see
        :meth:`chunk_frames_for` for a memory-bounded block size. With
        ``reuse`` every block is read into the same two buffers, kept by
        this reader for all its passes, so a block is valid only until the
        next one is yielded: for a pass that uses each block and lets it go.
        (A fresh block of tens of MB costs page faults each time it is first
        written, several times the cost of writing it; measured,
        ``benchmarks/bench_stages.py``.)
        """
        if int(chunk_frames) < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
        stop = self.n_frames if stop is None else stop
        start, stop = self._check_range(start, stop)
        step = int(chunk_frames)
        buf = self._buffers(min(step, self.n_frames)) if reuse and stop > start else None
        for first in range(start, stop, step):
            last = min(first + step, stop)
            out = None if buf is None else buf[:last - first]
            yield first, self.read(first, last, out)

    def _buffers(self, n: int) -> np.ndarray:
        """The frame buffer of `iter_chunks` for blocks of up to `n` frames,
        with the raw-block buffer behind it, each made once at its full size
        (the summary images read blocks of several sizes)."""
        if self._frame_buf is None or len(self._frame_buf) < n:
            self._frame_buf = np.empty((n, self.height, self.width), np.float32)
        self._raw_buffer(n * self.height * self.width)
        return self._frame_buf

    def _raw_buffer(self, size: int) -> np.ndarray:
        """The flat raw-block buffer, grown to at least `size` elements."""
        if self._raw_buf is None or self._raw_buf.size < size:
            self._raw_buf = np.empty(size, self._ds.dtype)
        return self._raw_buf

    def chunk_frames_for(self, max_bytes: float) -> int:
        """How many float32 frames fit in `max_bytes` (at least 1, at most T)."""
        frame_bytes = self.height * self.width * 4
        return int(max(1, min(self.n_frames, max_bytes // frame_bytes)))

    @property
    def h5file(self) -> h5py.File:
        """The open (read-only) HDF5 file, for reading its metadata."""
        if self._file is None:
            raise ValueError(f"{self.path.name}: VideoFile is closed")
        return self._file

    @property
    def movie_dataset(self) -> h5py.Dataset:
        """The movie's HDF5 dataset (read-only), for its attributes."""
        return self.h5file[self.dataset_name]

    def close(self) -> None:
        """Close the file; safe to call twice."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "VideoFile":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"VideoFile({str(self.path)!r}, {self.dataset_name}, shape={self.shape}, "
                f"layout={self.layout!r})")

    def _check_range(self, start: int, stop: int) -> Tuple[int, int]:
        if self._file is None:
            raise ValueError(f"{self.path.name}: VideoFile is closed")
        start, stop = int(start), int(stop)
        if not 0 <= start <= stop <= self.n_frames:
            raise ValueError(f"frame range {start}:{stop} outside 0:{self.n_frames}")
        return start, stop


def open_video(path: "str | os.PathLike[str]", layout: str = AUTO) -> VideoFile:
    """Open a movie file; same as ``VideoFile(path, layout)``."""
    return VideoFile(path, layout)
