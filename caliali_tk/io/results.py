"""The extraction results file ``<video>_cnmfe.h5``: write and read.

Layout (all plain HDF5, readable by h5py, MATLAB ``h5read`` and HDF5 viewers):

============  =============================  ==================================
dataset       as h5py sees it                meaning
============  =============================  ==================================
``A``         (K, W, H) float32, gzip        spatial footprints
``C``         (K, T) float32                 denoised traces
``C_raw``     (K, T) float32                 raw traces (before deconvolution)
``S``         (K, T) float32                 deconvolved activity
``b0``        (W, H) float32                 constant background
``Cn``        (W, H) float32                 local-correlation image
``PNR``       (W, H) float32                 peak-to-noise image
``centers``   (K, 2) float32                 (row, col), 0-based, display
``sn``        (K,) float32                   trace noise level
============  =============================  ==================================

Optional (issue 9): ``session_baseline`` (K, n_sessions) float32, the baseline
removed from each session of each trace before its deconvolution; root
attributes ``session_source``, ``session_gain``, ``session_offset``.

Images are stored like the input movie (via
:func:`~caliali_tk.io.orientation.from_display` with the input's layout,
root attribute ``file_layout``; files without it are MATLAB layout): for a
MATLAB-written input h5py sees (K, W, H) as above and MATLAB's
``h5read(f, '/A')`` gives H x W x K oriented as CaliAli shows the frames;
for a Python-written (T, H, W) input h5py sees (K, H, W).

Optional (issue 13): ``Cn_residual``, ``PNR_residual`` (W, H) float32, the
summary images of ``Y - A C - B`` (missed neurons show there), and the
``curation`` group (:mod:`caliali_tk.io.curation_file`), which the writer
here never touches: rewriting the extraction starts a new curation.

Per-trace datasets written since issue 11 (absent from older files, which
load with these fields ``None``):

===============  ==========================  ==================================
dataset          as h5py sees it             meaning
===============  ==========================  ==================================
``g``            (K, 2) float32              AR coefficients (g2 = 0: AR(1))
``tau_decay``    (K,) float32                kernel decay time constant, s
``tau_rise``     (K,) float32                kernel rise time constant, s
``snr``          (K,) float32                var(C) / var(C_raw − C)
``trace_scale``  (K, n_sessions) float32     noise σ of each trace per session
``order``        (K,) int64                  index before the SNR ordering
===============  ==========================  ==================================

With the parameter ``scale_to_noise`` (CaliAli's) C, C_raw and S are stored
divided by ``trace_scale`` (noise units); multiply to get movie units back.
Read and written by :mod:`caliali_tk.io.results_traces`.

Root attributes: ``format``, ``format_version``, ``version`` (tool),
``created``, ``params`` (JSON), each scalar parameter, ``source_file``,
``source_size``, ``source_mtime``, ``fps``, ``frames_per_session`` (if known)
and any other metadata of :attr:`Result.attrs`.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import h5py
import numpy as np

from .. import __version__
from ..errors import UserError
from .atomic import atomic_path
from .results_traces import read_trace_info, write_trace_info  # issue 11
from .orientation import from_display, to_display
from .results_groups import read_groups, write_groups

RESULTS_FORMAT = "caliali-tk-results"
RESULTS_VERSION = 1
RESULTS_SUFFIX = "_cnmfe.h5"
IMAGE_NAMES = ("b0", "Cn", "PNR")
TRACE_NAMES = ("C", "C_raw", "S")
RESIDUAL_NAMES = ("Cn_residual", "PNR_residual")  # issue 13, optional
SESSION_BASELINE = "session_baseline"  # issue 9, optional
#: Result fields with one row per neuron (what :meth:`Result.take` takes).
PER_NEURON = ("A", "C", "C_raw", "S", "sn", "centers", SESSION_BASELINE,
              "g", "tau_decay", "tau_rise", "snr", "trace_scale", "order")
_FORMAT_ATTRS = ("format", "format_version", "params")
_METADATA_NAMES = ("fps", "frames_per_session")  # also parameters, kept in Result.attrs too
LAYOUT_ATTR = "file_layout"  # issue 12: the input's layout, "matlab" when absent


class ResultsError(UserError):
    """A results file cannot be read (missing, damaged, not a results file)."""


@dataclass
class Result:
    """Everything an extraction produces, in display orientation.

    Attributes
    ----------
    A : ndarray, float32 (K, H, W)
        Spatial footprints.
    C, C_raw, S : ndarray, float32 (K, T)
        Denoised traces, raw traces, deconvolved activity.
    b0, Cn, PNR : ndarray, float32 (H, W)
        Constant background, local-correlation and peak-to-noise images.
    centers : ndarray, float (K, 2)
        Footprint centres as (row, col).
    sn : ndarray, float (K,)
        Noise level of each trace.
    params : dict
        The parameters used (``FileParams.to_dict()``).
    attrs : dict
        Metadata: tool version, source file name/size/mtime, fps,
        frames_per_session (or None), elapsed seconds, ...
    quality : dict
        Metric name -> (K,) values (``/quality``; see
        :mod:`caliali_tk.io.results_groups`); empty for older files.
    rejected : Result or None
        The components the quality tests rejected, same layout
        (``/rejected``); None for older files.
    reason : list of str
        Of a rejected Result: the failed test of each component.
    g, tau_decay, tau_rise, snr, trace_scale, order : ndarray or None
        Per-trace kernel (AR coefficients, time constants in s), SNR, noise
        σ per session (the factor between noise and movie units) and index
        before the SNR order; see the module docstring. None when not known
        (older files).
    """

    A: np.ndarray
    C: np.ndarray
    C_raw: np.ndarray
    S: np.ndarray
    b0: np.ndarray
    Cn: np.ndarray
    PNR: np.ndarray
    centers: np.ndarray
    sn: np.ndarray
    params: Dict[str, Any] = field(default_factory=dict)
    attrs: Dict[str, Any] = field(default_factory=dict)
    # issue 13: residual summary images (H, W), None in older files
    Cn_residual: Optional[np.ndarray] = None
    PNR_residual: Optional[np.ndarray] = None
    session_baseline: Optional[np.ndarray] = None  # issue 9: (K, n_sessions)
    quality: Dict[str, np.ndarray] = field(default_factory=dict)  # issue 10
    rejected: Optional["Result"] = None
    reason: List[str] = field(default_factory=list)
    # issue 11: per-trace kernel, SNR, noise scale and order (None: not stored)
    g: Optional[np.ndarray] = None
    tau_decay: Optional[np.ndarray] = None
    tau_rise: Optional[np.ndarray] = None
    snr: Optional[np.ndarray] = None
    trace_scale: Optional[np.ndarray] = None
    order: Optional[np.ndarray] = None

    @property
    def K(self) -> int:
        """Number of neurons."""
        return int(np.shape(self.A)[0])

    def take(self, idx) -> "Result":
        """The same result with only the neurons ``idx`` (indices or a mask), in that order.

        Every per-neuron field is taken (footprints, traces, centres, noise,
        session baselines, quality, the per-trace kernel and SNR); images,
        parameters and the rejected group stay as they are.
        """
        idx = np.flatnonzero(idx) if np.asarray(idx).dtype == bool else np.asarray(idx, int)
        rows = {n: (None if getattr(self, n) is None else np.asarray(getattr(self, n))[idx])
                for n in PER_NEURON}
        quality = {k: np.asarray(v)[idx] for k, v in self.quality.items()}
        reason = [self.reason[i] for i in idx] if len(self.reason) == self.K else []
        return dataclasses.replace(self, **rows, quality=quality, reason=reason)

    @property
    def T(self) -> int:
        """Number of frames."""
        return int(np.shape(self.C)[1])

    @property
    def H(self) -> int:
        """Frame height (rows)."""
        return int(np.shape(self.b0)[0])

    @property
    def W(self) -> int:
        """Frame width (columns)."""
        return int(np.shape(self.b0)[1])


def results_path(video: "str | os.PathLike[str]") -> Path:
    """Where a video's results go: ``movie.h5`` -> ``movie_cnmfe.h5`` (same folder)."""
    video = Path(video)
    return video.with_name(video.stem + RESULTS_SUFFIX)


def source_info(video: "str | os.PathLike[str]") -> Dict[str, Any]:
    """``source_file`` (name), ``source_size`` (bytes), ``source_mtime`` (s) of a video."""
    st = os.stat(video)
    return {"source_file": Path(video).name, "source_size": int(st.st_size),
            "source_mtime": float(st.st_mtime)}


def _float32(name: str, value: Any, shape: tuple) -> np.ndarray:
    """`value` as float32 of `shape` (empty arrays are reshaped), else ValueError."""
    arr = np.asarray(value, dtype=np.float32)
    if arr.size == 0 and np.prod(shape) == 0:
        arr = arr.reshape(shape)
    if arr.shape != shape:
        raise ValueError(f"Result.{name} has shape {arr.shape}, expected {shape}")
    return arr


def _checked_arrays(result: Result) -> Dict[str, np.ndarray]:
    """Every array as float32 with consistent shapes, in display orientation."""
    K, T, (H, W) = np.shape(result.A)[0], np.shape(result.C)[1], np.shape(result.b0)
    arrays = {"A": _float32("A", result.A, (K, H, W)),
              "centers": _float32("centers", result.centers, (K, 2)),
              "sn": _float32("sn", result.sn, (K,))}
    arrays.update({n: _float32(n, getattr(result, n), (K, T)) for n in TRACE_NAMES})
    arrays.update({n: _float32(n, getattr(result, n), (H, W)) for n in IMAGE_NAMES})
    arrays.update({n: _float32(n, getattr(result, n), (H, W)) for n in RESIDUAL_NAMES
                   if getattr(result, n, None) is not None})
    base = result.session_baseline
    if base is not None and np.ndim(base) == 2 and np.shape(base)[0] == K:
        # (a Result whose neurons were taken or edited without it loses it)
        arrays[SESSION_BASELINE] = np.asarray(base, np.float32)
    return arrays


def _attr_value(value: Any) -> Any:
    """A value HDF5 (and MATLAB) can hold as an attribute, or None to skip it."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return np.uint8(value)  # MATLAB reads HDF5 enum booleans badly
    if isinstance(value, (int, float, str, np.number)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.dtype.kind in "uif" and arr.ndim == 1:
            return arr
    return json.dumps(value, default=str)


def _root_attrs(result: Result) -> Dict[str, Any]:
    attrs: Dict[str, Any] = {}
    for name, value in result.params.items():
        if not isinstance(value, (list, tuple, dict)):
            attrs[name] = value
    attrs.update({"version": __version__})
    attrs.update(result.attrs)
    if result.attrs.get("frames_per_session") is not None:
        attrs["frames_per_session"] = np.asarray(result.attrs["frames_per_session"],
                                                 dtype=np.int64)
    attrs.update({"format": RESULTS_FORMAT, "format_version": RESULTS_VERSION,
                  "params": json.dumps(result.params, default=_json_default),
                  "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds")})
    return {k: v for k, v in ((k, _attr_value(v)) for k, v in attrs.items()) if v is not None}


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def write_results(path: "str | os.PathLike[str]", result: Result) -> Path:
    """Write `result` to `path` atomically (see the module docstring for the layout).

    Its MATLAB twin is :func:`caliali_tk.io.results_mat.write_with_mat`'s.

    Raises
    ------
    ValueError
        The arrays' shapes disagree with each other (a programming error).
    """
    arrays = _checked_arrays(result)
    layout = file_layout(result.attrs)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, arr in arrays.items():
                if name == "A":
                    _write_footprints(f, arr, layout)
                elif name in IMAGE_NAMES + RESIDUAL_NAMES:
                    f.create_dataset(name, data=from_display(arr, layout))
                else:
                    f.create_dataset(name, data=arr)
            write_groups(f, result, layout)
            write_trace_info(f, result)
            f.attrs.update(_root_attrs(result))
    return Path(path)


def file_layout(attrs: Dict[str, Any]) -> str:
    """The input's layout recorded in a result's attrs ("matlab" when absent)."""
    layout = attrs.get(LAYOUT_ATTR) or "matlab"
    return layout.decode() if isinstance(layout, bytes) else str(layout)


def _write_footprints(f: h5py.File, A: np.ndarray, layout: str = "matlab") -> None:
    """``A`` in the input's layout, one footprint at a time (no copy of them all)."""
    K = A.shape[0]
    shape = from_display(A[:1], layout).shape[1:]
    if A.size == 0:
        f.create_dataset("A", data=np.zeros((K,) + shape, np.float32))  # no chunks when empty
        return
    dset = f.create_dataset("A", shape=(K,) + shape, dtype=np.float32, chunks=(1,) + shape,
                            compression="gzip", compression_opts=4, shuffle=True)
    for k in range(K):
        dset[k] = from_display(A[k:k + 1], layout)[0]


def load_results(path: "str | os.PathLike[str]") -> Result:
    """Read a results file written by :func:`write_results`.

    Raises
    ------
    ResultsError
        One line naming the file: missing, not HDF5, not a results file,
        written by a newer version, or damaged.
    """
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"{path.name}: results file not found")
    if not h5py.is_hdf5(str(path)):
        raise ResultsError(f"{path.name}: not an HDF5 file, so not a caliali-tk results file")
    try:
        with h5py.File(path, "r") as f:
            _check_format(f, path.name)
            return _read(f)
    except ResultsError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResultsError(f"{path.name}: damaged results file ({reason})") from exc


def _check_format(f: h5py.File, name: str) -> None:
    fmt = f.attrs.get("format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode("utf-8", "replace")
    missing = [n for n in ("A",) + TRACE_NAMES + IMAGE_NAMES + ("centers", "sn")
               if not isinstance(f.get(n), h5py.Dataset)]
    if fmt != RESULTS_FORMAT or missing:
        raise ResultsError(f"{name}: not a caliali-tk results file")
    version = int(f.attrs.get("format_version", 0))
    if version > RESULTS_VERSION:
        raise ResultsError(f"{name}: written by a newer caliali-tk "
                           f"(results format {version}); please update")


def _read(f: h5py.File) -> Result:
    arrays = {n: np.asarray(f[n][()], dtype=np.float32) for n in ("A", "centers", "sn")
              + TRACE_NAMES}
    layout = file_layout({LAYOUT_ATTR: _py(f.attrs.get(LAYOUT_ATTR))})
    arrays["A"] = np.ascontiguousarray(to_display(arrays["A"], layout))
    for n in IMAGE_NAMES:
        arrays[n] = np.ascontiguousarray(to_display(np.asarray(f[n][()], dtype=np.float32),
                                                    layout))
    for n in RESIDUAL_NAMES:
        if isinstance(f.get(n), h5py.Dataset):
            arrays[n] = np.ascontiguousarray(to_display(np.asarray(f[n][()], np.float32),
                                                        layout))
    if isinstance(f.get(SESSION_BASELINE), h5py.Dataset):
        arrays[SESSION_BASELINE] = np.asarray(f[SESSION_BASELINE][()], dtype=np.float32)
    result = Result(**arrays, params=json.loads(_py(f.attrs.get("params", "{}"))))
    result.attrs = _metadata(f.attrs, result.params)
    read_trace_info(f, result)
    _checked_arrays(result)  # raises ValueError on inconsistent shapes
    read_groups(f, result, layout)
    return result


def _metadata(attrs: h5py.AttributeManager, params: Dict[str, Any]) -> Dict[str, Any]:
    skip = set(_FORMAT_ATTRS) | (set(params) - set(_METADATA_NAMES))
    meta = {k: _py(v) for k, v in attrs.items() if k not in skip}
    meta.setdefault("frames_per_session", None)
    return meta


def _py(value: Any) -> Any:
    """HDF5 attribute value as a plain Python value (str, int, float, list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
