"""Per-trace datasets of the results file (issue 11): kernel, SNR, noise scale, order.

Optional in the file (older files do not have them; their fields load as
None): ``g`` (K, 2), ``tau_decay`` and ``tau_rise`` (K,) in seconds,
``snr`` (K,), ``trace_scale`` (K, n_sessions), ``order`` (K,) int64. The
layout is described in :mod:`caliali_tk.io.results`.
"""
from __future__ import annotations

from typing import Dict

import h5py
import numpy as np

__all__ = ["TRACE_INFO", "trace_info_arrays", "write_trace_info", "read_trace_info"]

#: name -> (dtype, ndim) of each per-trace dataset.
TRACE_INFO = {"g": (np.float32, 2), "tau_decay": (np.float32, 1), "tau_rise": (np.float32, 1),
              "snr": (np.float32, 1), "trace_scale": (np.float32, 2), "order": (np.int64, 1)}


def trace_info_arrays(result) -> Dict[str, np.ndarray]:
    """The per-trace fields of a Result that are set, checked against its K.

    Raises
    ------
    ValueError
        A field has the wrong number of rows or dimensions.
    """
    out = {}
    for name, (dtype, ndim) in TRACE_INFO.items():
        value = getattr(result, name, None)
        if value is None:
            continue
        arr = np.asarray(value, dtype=dtype)
        if arr.ndim != ndim or arr.shape[0] != result.K:
            raise ValueError(f"Result.{name} has shape {arr.shape}, expected {result.K} rows")
        out[name] = arr
    return out


def write_trace_info(f: h5py.File, result) -> None:
    """Write the per-trace fields that are set as root datasets of `f`."""
    for name, arr in trace_info_arrays(result).items():
        f.create_dataset(name, data=arr)


def read_trace_info(f: h5py.File, result) -> None:
    """Set the per-trace fields of `result` from `f` (those it has)."""
    for name, (dtype, _) in TRACE_INFO.items():
        if isinstance(f.get(name), h5py.Dataset):
            setattr(result, name, np.asarray(f[name][()], dtype=dtype))
    trace_info_arrays(result)  # raises ValueError on inconsistent shapes
