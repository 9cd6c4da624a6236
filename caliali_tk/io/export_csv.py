"""CSV export of a curated result: traces with session-aware time, and a neuron table.

Three trace files, one row per frame::

    time_s, session, session_time_s, C_1, C_4, ...        x_C.csv
    time_s, session, session_time_s, C_raw_1, ...         x_C_raw.csv
    time_s, session, session_time_s, S_1, ...             x_S.csv

``time_s`` is the time from the first frame, ``session`` the session the
frame belongs to (1, 2, ...; 1 when the video has one), ``session_time_s``
the time from that session's first frame. Columns are named by the neuron
numbers the window shows. ``x_neurons.csv`` lists each exported neuron:
number, accepted, centre, the quality values and how it was made.
Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

from caliali_tk.io.atomic import atomic_path, atomic_write_text

__all__ = ["session_columns", "csv_paths", "write_trace_table", "write_csv_export",
           "frame_rate", "frames_per_session"]

TRACE_KINDS = ("C", "C_raw", "S")


def frame_rate(result) -> float:
    """The result's frame rate (attrs, then params, else the default 10 Hz)."""
    from caliali_tk.io.params import DEFAULT_FPS
    for source in (result.attrs, result.params):
        try:
            fps = float(source.get("fps"))
        except (TypeError, ValueError):
            continue
        if fps > 0:
            return fps
    return DEFAULT_FPS


def frames_per_session(result):
    """Frames of each session (list of int) from the result's attrs, or None."""
    value = result.attrs.get("frames_per_session")
    if value is None:
        return None
    counts = [int(n) for n in np.ravel(value)]
    return counts if counts and sum(counts) == result.T else None


def session_columns(n_frames: int, fps: float, frames_per_session=None) -> tuple:
    """``(time_s, session, session_time_s)`` for every frame.

    Parameters
    ----------
    n_frames : int
    fps : float
    frames_per_session : list of int, optional
        Frames of each session, in order; a total that differs from
        `n_frames` is ignored (one session).

    Examples
    --------
    >>> t, s, ts = session_columns(4, 2.0, [2, 2])
    >>> t.tolist(), s.tolist(), ts.tolist()
    ([0.0, 0.5, 1.0, 1.5], [1, 1, 2, 2], [0.0, 0.5, 0.0, 0.5])
    """
    frames = np.arange(int(n_frames))
    t = frames / float(fps)
    counts = [int(n) for n in (frames_per_session or [])]
    if not counts or sum(counts) != n_frames or min(counts) < 0:
        counts = [int(n_frames)]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    session = np.repeat(np.arange(1, len(counts) + 1), counts)
    return t, session, (frames - starts[session - 1]) / float(fps)


def csv_paths(c_path) -> Dict[str, Path]:
    """Where each file goes, from the C file's name: ``x_C.csv`` -> ``x_C_raw.csv``,
    ``x_S.csv``, ``x_neurons.csv``; another name ``y.csv`` -> ``y_C_raw.csv``...

    Examples
    --------
    >>> sorted(p.name for p in csv_paths("/d/m_C.csv").values())
    ['m_C.csv', 'm_C_raw.csv', 'm_S.csv', 'm_neurons.csv']
    """
    c_path = Path(c_path)
    stem = c_path.stem[:-2] if c_path.stem.endswith("_C") else c_path.stem
    suffix = c_path.suffix or ".csv"
    out = {"C": c_path}
    out.update({k: c_path.with_name(f"{stem}_{k}{suffix}") for k in ("C_raw", "S", "neurons")})
    return out


def write_trace_table(path, traces: np.ndarray, numbers: Sequence[int], name: str,
                      fps: float, frames_per_session=None) -> Path:
    """One trace file (see the module docstring): T rows of time columns and traces."""
    traces = np.asarray(traces, np.float64)
    traces = traces.reshape(len(numbers), traces.shape[-1])
    t, session, ts = session_columns(traces.shape[1], fps, frames_per_session)
    table = np.column_stack([t, session, ts, traces.T])
    header = ",".join(["time_s", "session", "session_time_s"]
                      + [f"{name}_{int(n)}" for n in numbers])
    fmt = ["%.6g", "%d", "%.6g"] + ["%.6g"] * len(numbers)
    with atomic_path(path) as tmp:
        np.savetxt(tmp, table, delimiter=",", header=header, comments="", fmt=fmt)
    return Path(path)


def write_csv_export(c_path, curation, fps: float, accepted_only: bool = False,
                     frames_per_session=None) -> Dict[str, Path]:
    """Write C, C_raw, S and the neuron table of a curation's list.

    Parameters
    ----------
    c_path : path
        The C file; the others go beside it (:func:`csv_paths`).
    curation : caliali_tk.io.curation.Curation
    fps : float
    accepted_only : bool
        Only the accepted neurons (else all in the list, with their flag).
    frames_per_session : list of int, optional

    Returns
    -------
    dict kind -> Path
    """
    paths = csv_paths(c_path)
    numbers, comps = curation.components(accepted_only)
    for kind in TRACE_KINDS:
        write_trace_table(paths[kind], getattr(comps, kind), numbers, kind, fps,
                          frames_per_session)
    atomic_write_text(paths["neurons"], neuron_table(curation, accepted_only))
    return paths


def neuron_table(curation, accepted_only: bool = False, metrics: Optional[list] = None) -> str:
    """The neuron table as CSV text: number, accepted, row, col, metrics, origin."""
    keep = curation.accepted if accepted_only else np.ones(len(curation.numbers), bool)
    metrics = metrics or [m for m, v in curation.quality.items()
                          if np.isfinite(v).any()]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["number", "accepted", "row", "col"] + metrics + ["origin"])
    ids = curation.state.ids
    for i in np.flatnonzero(keep):
        pid = ids[i]
        row, col = curation.pool.centers[pid]
        values = [_fmt(curation.quality[m][pid]) for m in metrics]
        w.writerow([int(curation.numbers[i]), int(curation.accepted[i]), f"{row:.1f}",
                    f"{col:.1f}"] + values + [curation.pool.origin[pid]])
    return out.getvalue()


def _fmt(v) -> str:
    return "" if not np.isfinite(v) else f"{float(v):.4g}"
