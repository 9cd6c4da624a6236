"""Which way round a movie file stores its frames, and the one rule that turns them.

Two layouts exist in the wild:

``"matlab"``
    MATLAB writes a movie d1 x d2 x T (column-major); a C-order reader
    (h5py) sees it as (T, d2, d1). CaliAli's ``.mat`` (v7.3) and ``.h5``
    files are like this. Display orientation is (T, d1, d2), rows and
    columns as ``imagesc(Y(:, :, t))`` shows them in MATLAB.
``"python"``
    h5py, minian, CaImAn and acquisition scripts write (T, H, W) as the
    frames look; nothing is turned.

:func:`detect_layout` reads which one a file is from the file itself
(MATLAB's user block, ``MATLAB_class`` attributes, CaliAli's names);
:func:`to_display` and :func:`from_display` are the only place the rule
lives. Every writer of images (results, projections) uses
:func:`from_display` with the input's layout, so outputs keep the input's
own orientation.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import h5py
import numpy as np

#: Values a user may give (sidecar ``layout``, ``--layout``).
LAYOUTS = ("auto", "matlab", "python")
MATLAB, PYTHON, AUTO = "matlab", "python", "auto"
_MAT73_MAGIC = b"MATLAB 7.3 MAT-file"
_CALIALI_NAMES = ("Object", "CaliAli_options")  # written only by CaliAli (MATLAB)
#: The last stored axis this many times longer than both others looks like time.
TIME_AXIS_RATIO = 4


def to_display(raw: np.ndarray, layout: str = MATLAB) -> np.ndarray:
    """Turn frames as the file stores them into display orientation.

    Parameters
    ----------
    raw : ndarray, shape (n, a, b) or (a, b)
        A block of frames (or one image) as read from the file.
    layout : {"matlab", "python"}
        The file's layout (see :func:`detect_layout`).

    Returns
    -------
    ndarray, shape (n, H, W) or (H, W)
        A view (no copy): the last two axes swapped for ``"matlab"``, `raw`
        itself for ``"python"``.

    Examples
    --------
    >>> to_display(np.zeros((5, 3, 2))).shape, to_display(np.zeros((5, 3, 2)), "python").shape
    ((5, 2, 3), (5, 3, 2))
    """
    return np.swapaxes(raw, -1, -2) if _checked(layout) == MATLAB else raw


def from_display(frames: np.ndarray, layout: str = MATLAB) -> np.ndarray:
    """Inverse of :func:`to_display`: display orientation to the file's layout.

    Parameters
    ----------
    frames : ndarray, shape (n, H, W) or (H, W)
    layout : {"matlab", "python"}

    Returns
    -------
    ndarray
        A view; written with h5py it reads back like the input movie
        (MATLAB's ``h5read`` gives H x W x n for ``"matlab"``).
    """
    return np.swapaxes(frames, -1, -2) if _checked(layout) == MATLAB else frames


def _checked(layout: str) -> str:
    if layout not in (MATLAB, PYTHON):
        raise ValueError(f"layout must be 'matlab' or 'python', got {layout!r}")
    return layout


def is_mat73(path: "str | Path") -> bool:
    """True when the file starts with MATLAB's v7.3 user block."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(_MAT73_MAGIC)) == _MAT73_MAGIC
    except OSError:
        return False


def detect_layout(f: h5py.File, dataset: h5py.Dataset,
                  path: "str | Path | None" = None) -> Tuple[str, str]:
    """The layout of a movie file, and why.

    MATLAB's layout when the file is a MATLAB v7.3 ``.mat`` (its 512-byte
    user block), the movie carries a ``MATLAB_class`` attribute, or the
    file uses CaliAli's names (``/Object`` of its ``.h5`` files, written by
    MATLAB's ``h5write``; a ``CaliAli_options`` group); Python's otherwise.

    Returns
    -------
    layout : {"matlab", "python"}
    reason : str
        A few words for ``info`` (e.g. "MATLAB v7.3 .mat").
    """
    if path is not None and is_mat73(path):
        return MATLAB, "MATLAB v7.3 .mat"
    if "MATLAB_class" in dataset.attrs:
        return MATLAB, "MATLAB_class attribute"
    for name in _CALIALI_NAMES:
        if name in f:
            return MATLAB, f"CaliAli's /{name}"
    return PYTHON, "HDF5 written outside MATLAB"


def time_axis_warning(stored_shape: Tuple[int, ...], fname: str) -> Optional[str]:
    """A one-line warning when the first stored axis is evidently not time.

    A movie stored (H, W, T) (or MATLAB's T x d1 x d2) shows up with a short
    first axis and a last axis far longer than the other two.
    """
    first, middle, last = (int(n) for n in stored_shape)
    if last >= TIME_AXIS_RATIO * max(first, middle, 1):
        return (f"{fname}: the movie is stored {first} x {middle} x {last}; its last axis "
                f"looks like time, but frames are read along the first; save it as "
                f"(T, H, W) if the frames look wrong")
    return None
