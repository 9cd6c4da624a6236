"""CSV export of extracted traces (no Tk): a time column, then one column per neuron.

Files are written atomically (temporary file, then rename), like every other
file the tool writes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Tuple

import numpy as np

from caliali_tk.io.atomic import atomic_path

__all__ = ["write_traces_csv", "export_paths", "time_axis"]


def time_axis(n_frames: int, fps: float) -> np.ndarray:
    """Frame times in seconds, first frame at 0.

    Examples
    --------
    >>> time_axis(3, 10.0).tolist()
    [0.0, 0.1, 0.2]
    """
    return np.arange(int(n_frames)) / float(fps)


def write_traces_csv(path: "str | os.PathLike[str]", traces: np.ndarray, fps: float,
                     name: str = "C") -> Path:
    """Write (K, T) traces as a T-row CSV: ``time_s, <name>_1, ..., <name>_K``.

    Parameters
    ----------
    path : path
        Output ``.csv``.
    traces : ndarray (K, T)
    fps : float
        Frame rate; sets the time column.
    name : str
        Column prefix (``C`` or ``S``); neurons are numbered from 1, as shown.

    Returns
    -------
    Path
    """
    traces = np.atleast_2d(np.asarray(traces, dtype=np.float64))
    K, T = traces.shape
    table = np.column_stack([time_axis(T, fps), traces.T])
    header = ",".join(["time_s"] + [f"{name}_{k + 1}" for k in range(K)])
    with atomic_path(path) as tmp:
        np.savetxt(tmp, table, delimiter=",", header=header, comments="", fmt="%.6g")
    return Path(path)


def export_paths(c_path: "str | os.PathLike[str]") -> Tuple[Path, Path]:
    """The C file as chosen and its S twin: ``x_C.csv`` -> ``x_S.csv``, else ``x_S.csv``.

    Examples
    --------
    >>> [p.name for p in export_paths("/d/movie_C.csv")]
    ['movie_C.csv', 'movie_S.csv']
    >>> [p.name for p in export_paths("/d/traces.csv")]
    ['traces.csv', 'traces_S.csv']
    """
    c_path = Path(c_path)
    stem = c_path.stem
    s_stem = stem[:-2] + "_S" if stem.endswith("_C") else stem + "_S"
    return c_path, c_path.with_name(s_stem + (c_path.suffix or ".csv"))
