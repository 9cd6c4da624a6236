"""Atomic file writes: write to a temporary file, then rename it into place.

A crash, an exception or a cancelled job never leaves a half-written file
under the real name: either the old file is still there or the new one is
complete.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]


def _current_umask() -> int:
    # os.umask can only be read by setting it; done once, at import time.
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _fsync(path: Path) -> None:
    """Flush the file's data to disk so the rename never exposes an empty file."""
    try:
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())
    except OSError:
        pass  # best effort: some file systems do not support fsync


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` on success.

    The temporary file lives in the same folder (so the final
    :func:`os.replace` is atomic), is named ``.<name>.<random>.tmp`` and
    already exists (empty) when yielded; the caller overwrites it. If the
    ``with`` block raises anything -- including ``KeyboardInterrupt`` or a
    cancellation exception -- the temporary file is removed and `path` is
    left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The final file name.

    Yields
    ------
    pathlib.Path
        Where to write.

    Examples
    --------
    >>> with atomic_path("out.h5") as tmp:          # doctest: +SKIP
    ...     with h5py.File(tmp, "w") as f:
    ...         f["x"] = data
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it 0600
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically (see :func:`atomic_path`).

    Parameters
    ----------
    path : str or os.PathLike
        The final file name.
    text : str
        The whole new content.
    encoding : str, optional
        Text encoding, UTF-8 by default.

    Returns
    -------
    pathlib.Path
        `path`, as a Path.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding=encoding, newline="\n") as fh:
            fh.write(text)
    return Path(path)
