"""Per-video CNMF-E parameters and their sidecar file ``<video>.caliali.json``.

The sidecar keeps what the user chose by eye for one video (thresholds, gSig,
frame rate, the lasso mask) so that reopening the video restores it. A
damaged or unknown sidecar never stops the program: it is reported as a
one-line warning, left untouched on disk, and defaults are used instead.
"""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

from ..core.filters import default_gSiz
from ..errors import ParamsError
from .atomic import atomic_write_text
from .orientation import LAYOUTS

SIDECAR_SUFFIX = ".caliali.json"
SIDECAR_FORMAT = "caliali-tk-params"
SIDECAR_VERSION = 1
MASK_MODES = ("include", "exclude")
#: Frame rate (Hz) when neither the user nor the file gives one (CaliAli's default).
DEFAULT_FPS = 10.0


def gsiz_of(gSig: float) -> int:
    """Default neuron window size: the smallest odd integer >= 4 * gSig.

    >>> gsiz_of(2.5), gsiz_of(3), gsiz_of(2.25)
    (11, 13, 9)
    """
    return default_gSiz(gSig)


@dataclass
class FileParams:
    """Everything needed to extract one video, as the user chose it.

    Attributes
    ----------
    min_pnr, min_corr : float
        Seed thresholds on the peak-to-noise and local-correlation images.
    gSig : float
        Neuron radius in pixels (Gaussian sigma of the spatial filter).
    fps : float
        Frame rate, Hz.
    gSiz : int or None
        Neuron window size; None means ``gsiz_of(gSig)`` (see :attr:`gsiz`).
    spatial_filter : bool
        Filter frames before computing the summary images (CNMF-E default).
    mask : list of dict
        Lasso polygons ``{"mode": "include"|"exclude", "points": [[x, y], ...]}``
        applied in order; (x, y) = (col, row).
    merge_thr, max_iter, s_min, min_pixels, min_trace_pnr,
    ring_factor, bg_downsample, max_memory_gb
        Extraction settings; ``s_min < 0`` means multiples of the trace noise.
    layout : {"auto", "matlab", "python"}
        How the video file stores frames (see :mod:`.orientation`); "auto"
        reads it from the file.
    frames_per_session : list of int or None
        Frames in each concatenated session, in order (they must add up to
        the movie's length); None: CaliAli's ``F`` in the file, else
        detected from brightness steps.
    detrend_s : float
        Window (seconds) of the slow drift removed from each session of
        ``C_raw`` before the deconvolution; 0 turns it off.
    line_noise : {"auto", "on", "off"}
        Remove per-frame row / column offsets (stripes): when detected,
        always, or never.
    merge_dmin : float or None
        Components whose centres are this close (pixels) and whose traces
        correlate above ``merge_thr`` are merged; None means ``2 * gSig``.
    min_spatial_corr, min_size, max_size, min_compactness, max_elongation, min_events
        Quality limits a component must meet to be kept (see
        :mod:`caliali_tk.core.cnmfe.quality`; ``min_trace_pnr`` is the
        limit on its snr); the others go to the results' ``rejected`` group.
    deconv_model, deconv_method, deconv_lam, deconv_preset, tau_decay_min,
    tau_decay_max, scale_to_noise, order_by_snr
        Deconvolution and post-processing (issue 11): the calcium model
        ('auto', 'ar1', 'ar2'), the solver ('thresholded', 'foopsi',
        'constrained'), the L1 penalty of 'foopsi' (in noise σ), a named
        preset ('none': the fields; 'caliali': CaliAli's final pass, AR(2)
        'foopsi' s_min −5; 'legacy': before issue 11) that overrides model,
        method and s_min, the prior bounds of the decay time (s), traces
        stored in noise units (CaliAli's scale_to_noise; off by default so
        that A·C stays in movie units, which the residual images and
        curation need), neurons ordered by SNR. See
        :mod:`caliali_tk.core.deconv.settings`.
    """

    min_pnr: float = 5.0
    min_corr: float = 0.5
    gSig: float = 2.5
    fps: float = DEFAULT_FPS
    gSiz: Optional[int] = None
    spatial_filter: bool = True
    mask: List[dict] = field(default_factory=list)
    merge_thr: float = 0.65
    max_iter: int = 5
    s_min: float = -3.0
    min_pixels: int = 5
    min_trace_pnr: float = 5.0
    ring_factor: float = 1.5
    bg_downsample: int = 2
    max_memory_gb: float = 1.0  # issue 9: 1 GiB (was 2), measured in bench_sessions
    layout: str = "auto"  # issue 12: the file's layout, or "auto" (read from the file)
    # issue 9: frames per session (None: CaliAli's F in the file, else detected)
    frames_per_session: Optional[List[int]] = None
    # issue 9/11: window (s) of the per-session drift removal of C_raw, 0 = off
    detrend_s: float = 20.0
    # issue 10: line noise ("auto": removed when detected), merging, quality
    line_noise: str = "auto"
    merge_dmin: Optional[float] = None
    min_spatial_corr: float = 0.6
    min_size: float = 0.3
    max_size: float = 3.0
    min_compactness: float = 0.5
    max_elongation: float = 3.0
    min_events: int = 1

    @property
    def dmin(self) -> float:
        """The effective merging distance (merge_dmin, or 2 gSig)."""
        return float(self.merge_dmin) if self.merge_dmin is not None else 2.0 * self.gSig
    # issue 11: deconvolution settings and CaliAli's post-processing
    deconv_model: str = "auto"
    deconv_method: str = "thresholded"
    deconv_lam: float = 0.0
    deconv_preset: str = "none"
    tau_decay_min: float = 0.1
    tau_decay_max: float = 5.0
    scale_to_noise: bool = False
    order_by_snr: bool = True

    @property
    def gsiz(self) -> int:
        """The effective neuron window size (gSiz, or its default from gSig)."""
        return int(self.gSiz) if self.gSiz is not None else gsiz_of(self.gSig)

    def validate(self) -> None:
        """Raise ParamsError naming the first field whose value is wrong."""
        for f in dataclasses.fields(self):
            _CONVERT[f.name](f.name, getattr(self, f.name))
        for name, (ok, rule) in _RANGES.items():
            value = getattr(self, name)
            if not ok(value):
                raise ParamsError(f"{name} = {value!r} is out of range: {rule}")
        if self.tau_decay_min > self.tau_decay_max:  # issue 11
            raise ParamsError(f"tau_decay_min = {self.tau_decay_min!r} is out of range: "
                              f"must be <= tau_decay_max ({self.tau_decay_max!r})")

    def to_dict(self) -> Dict[str, Any]:
        """A plain, JSON-ready dict of every field (builtin types, mask as float lists).

        Raises ParamsError if a field holds a value of the wrong type.
        """
        return {f.name: _CONVERT[f.name](f.name, getattr(self, f.name))
                for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any],
                  notes: Optional[List[str]] = None) -> "FileParams":
        """Build validated parameters from a dict (e.g. a sidecar's ``params``).

        Parameters
        ----------
        d : mapping
            Field name -> value. Missing fields take their defaults.
        notes : list of str, optional
            If given, a one-line message about any unknown keys (which are
            ignored) is appended to it.

        Raises
        ------
        ParamsError
            A value has the wrong type or is out of range.
        """
        if not isinstance(d, Mapping):
            raise ParamsError(f"parameters must be a mapping, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in d if k not in known | _LEGACY_KEYS)
        if unknown and notes is not None:
            notes.append("ignored unknown setting(s): " + ", ".join(unknown))
        values = {k: _CONVERT[k](k, v) for k, v in d.items() if k in known}
        params = cls(**values)
        params.validate()
        return params


def _to_float(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParamsError(f"{name} must be a number, got {value!r}")
    return float(value)


def _to_int(name: str, value: Any) -> int:
    whole = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and float(value).is_integer())
    if isinstance(value, (bool, np.bool_)) or not whole:
        raise ParamsError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def _to_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ParamsError(f"{name} must be text, got {value!r}")
    return value


def _to_opt_int(name: str, value: Any) -> Optional[int]:
    return None if value is None else _to_int(name, value)


def _to_opt_int_list(name: str, value: Any) -> Optional[List[int]]:
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise ParamsError(f"{name} must be a list of whole numbers or null, got {value!r}")
    return [_to_int(name, v) for v in value] or None


def _to_opt_float(name: str, value: Any) -> Optional[float]:
    return None if value is None else _to_float(name, value)


def _to_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ParamsError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def _convert_point(where: str, point: Any) -> List[float]:
    try:
        x, y = point
    except (TypeError, ValueError):
        raise ParamsError(f"{where} must be an [x, y] pair, got {point!r}") from None
    xy = [_to_float(where, x), _to_float(where, y)]
    if not all(math.isfinite(c) for c in xy):
        raise ParamsError(f"{where} = {xy!r} is not finite")
    return xy


def _convert_mask(name: str, mask: Any) -> List[dict]:
    """Check the lasso polygons and return them as plain dicts of float lists."""
    if not isinstance(mask, (list, tuple)):
        raise ParamsError(f"{name} must be a list of polygons, got {mask!r}")
    out = []
    for i, poly in enumerate(mask):
        where = f"{name}[{i}]"
        if not isinstance(poly, Mapping):
            raise ParamsError(f"{where} must be an object with 'mode' and 'points'")
        mode = poly.get("mode")
        if mode not in MASK_MODES:
            raise ParamsError(f"{where}: mode must be 'include' or 'exclude', got {mode!r}")
        points = poly.get("points")
        if not hasattr(points, "__len__") or isinstance(points, str) or len(points) < 3:
            raise ParamsError(f"{where}: a polygon needs a list of at least 3 points")
        pts = [_convert_point(f"{where}.points[{j}]", p) for j, p in enumerate(points)]
        out.append({"mode": mode, "points": pts})
    return out


def _to_layout(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ParamsError(f"{name} must be one of {', '.join(LAYOUTS)}, got {value!r}")
    return value


_CONVERT: Dict[str, Callable[[str, Any], Any]] = {
    "min_pnr": _to_float, "min_corr": _to_float, "gSig": _to_float, "fps": _to_float,
    "gSiz": _to_opt_int, "spatial_filter": _to_bool, "mask": _convert_mask,
    "merge_thr": _to_float, "max_iter": _to_int,
    "s_min": _to_float, "min_pixels": _to_int, "min_trace_pnr": _to_float,
    "ring_factor": _to_float, "bg_downsample": _to_int, "max_memory_gb": _to_float,
    "layout": _to_layout,  # issue 12
    "frames_per_session": _to_opt_int_list, "detrend_s": _to_float,  # issue 9
    "line_noise": _to_str,  # issue 10
    "merge_dmin": _to_opt_float, "min_spatial_corr": _to_float, "min_size": _to_float,
    "max_size": _to_float, "min_compactness": _to_float, "max_elongation": _to_float,
    "min_events": _to_int,
    # issue 11
    "deconv_model": _to_str, "deconv_method": _to_str, "deconv_lam": _to_float,
    "deconv_preset": _to_str, "tau_decay_min": _to_float, "tau_decay_max": _to_float,
    "scale_to_noise": _to_bool, "order_by_snr": _to_bool,
}
#: Keys of older sidecars that are read without a warning and ignored:
#: ``ar_order`` (issue 11 replaced it by ``deconv_model``; it was never
#: offered in the window, so old files hold the old default, 1).
_LEGACY_KEYS = {"ar_order"}
assert set(_CONVERT) == {f.name for f in dataclasses.fields(FileParams)}


def _finite(v: float) -> bool:
    return math.isfinite(v)


_RANGES: Dict[str, Tuple[Callable[[Any], bool], str]] = {
    "min_pnr": (lambda v: _finite(v) and v >= 0, "must be >= 0"),
    "min_corr": (lambda v: 0 <= v <= 1, "must be between 0 and 1"),
    "gSig": (lambda v: 0.5 <= v <= 15, "must be between 0.5 and 15 pixels"),
    "fps": (lambda v: _finite(v) and v > 0, "must be > 0"),
    "gSiz": (lambda v: v is None or 1 <= v <= 255, "must be empty or 1 to 255 pixels"),
    "merge_thr": (lambda v: 0 <= v <= 1, "must be between 0 and 1"),
    "max_iter": (lambda v: v >= 1, "must be >= 1"),
    "s_min": (_finite, "must be a finite number"),
    "min_pixels": (lambda v: v >= 1, "must be >= 1"),
    "min_trace_pnr": (lambda v: _finite(v) and v >= 0, "must be >= 0"),
    "ring_factor": (lambda v: _finite(v) and v > 0, "must be > 0"),
    "bg_downsample": (lambda v: v >= 1, "must be >= 1"),
    "max_memory_gb": (lambda v: _finite(v) and v > 0, "must be > 0"),
    "layout": (lambda v: v in LAYOUTS, "must be " + ", ".join(LAYOUTS)),  # issue 12
    "frames_per_session": (lambda v: v is None or all(int(c) >= 1 for c in v),  # issue 9
                           "must be null or a list of frame counts >= 1"),
    "detrend_s": (lambda v: _finite(v) and v >= 0, "must be >= 0 (0 = off)"),
    "line_noise": (lambda v: v in ("auto", "on", "off"), "must be auto, on or off"),  # issue 10
    "merge_dmin": (lambda v: v is None or (_finite(v) and v >= 0), "must be empty or >= 0"),
    "min_spatial_corr": (lambda v: -1 <= v <= 1, "must be between -1 and 1"),
    "min_size": (lambda v: _finite(v) and v >= 0, "must be >= 0"),
    "max_size": (lambda v: v > 0, "must be > 0"),
    "min_compactness": (lambda v: 0 <= v <= 1, "must be between 0 and 1"),
    "max_elongation": (lambda v: v >= 1, "must be >= 1"),
    "min_events": (lambda v: v >= 0, "must be >= 0"),
    # issue 11
    "deconv_model": (lambda v: v in ("auto", "ar1", "ar2"), "must be 'auto', 'ar1' or 'ar2'"),
    "deconv_method": (lambda v: v in ("thresholded", "foopsi", "constrained"),
                      "must be 'thresholded', 'foopsi' or 'constrained'"),
    "deconv_lam": (lambda v: _finite(v) and v >= 0, "must be >= 0"),
    "deconv_preset": (lambda v: v in ("none", "caliali", "legacy"),
                      "must be 'none', 'caliali' or 'legacy'"),
    "tau_decay_min": (lambda v: _finite(v) and v > 0, "must be > 0 seconds"),
    "tau_decay_max": (lambda v: _finite(v) and v > 0, "must be > 0 seconds"),
}


def sidecar_path(video: "str | os.PathLike[str]") -> Path:
    """The parameter file beside a video: ``movie.h5`` -> ``movie.h5.caliali.json``."""
    video = Path(video)
    return video.with_name(video.name + SIDECAR_SUFFIX)


def save_params(video: "str | os.PathLike[str]", params: FileParams) -> Path:
    """Validate `params` and write them atomically to the video's sidecar.

    Returns
    -------
    pathlib.Path
        The sidecar path.
    """
    params.validate()
    doc = {"format": SIDECAR_FORMAT, "version": SIDECAR_VERSION,
           "params": params.to_dict()}
    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    return atomic_write_text(sidecar_path(video), text)


def load_params(video: "str | os.PathLike[str]") -> Tuple[FileParams, Optional[str]]:
    """Read the video's sidecar.

    Returns
    -------
    params : FileParams
        The saved parameters, or defaults when there is no usable sidecar.
    warning : str or None
        One line naming the sidecar and its problem (unreadable, not JSON,
        another format, a newer version, bad values, unknown keys), else
        None. The sidecar itself is never changed or deleted.
    """
    path = sidecar_path(video)
    if not path.exists():
        return FileParams(), None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        raw = _unwrap(doc)
        notes: List[str] = []
        params = FileParams.from_dict(raw, notes)
    except (ParamsError, OSError, ValueError) as exc:
        return FileParams(), f"{path.name}: {_problem(exc)}; using default parameters"
    return params, (f"{path.name}: {notes[0]}" if notes else None)


def _unwrap(doc: Any) -> Mapping[str, Any]:
    """The ``params`` object of a sidecar document, or ParamsError."""
    if not isinstance(doc, dict) or doc.get("format") != SIDECAR_FORMAT:
        raise ParamsError("not a caliali-tk parameter file")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ParamsError(f"unknown format version {version!r}")
    if version > SIDECAR_VERSION:
        raise ParamsError(f"written by a newer caliali-tk (format version {version})")
    raw = doc.get("params")
    if not isinstance(raw, dict):
        raise ParamsError("'params' is missing or not an object")
    return raw


def _problem(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON (line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, UnicodeDecodeError):
        return "not a text file"
    if isinstance(exc, OSError):
        return f"cannot read ({exc.strerror or exc})"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def load_sidecar(video: "str | os.PathLike[str]") -> Tuple[Dict[str, Any], Optional[str]]:
    """The settings a video's sidecar holds, only those (issue 12: precedence).

    Returns
    -------
    values : dict
        Field name -> validated value, for the keys the sidecar has; empty
        when there is no usable sidecar.
    warning : str or None
        As :func:`load_params`.
    """
    path = sidecar_path(video)
    if not path.exists():
        return {}, None
    try:
        raw = _unwrap(json.loads(path.read_text(encoding="utf-8")))
        notes: List[str] = []
        full = FileParams.from_dict(raw, notes).to_dict()
    except (ParamsError, OSError, ValueError) as exc:
        return {}, f"{path.name}: {_problem(exc)}; using default parameters"
    return ({k: full[k] for k in raw if k in full},
            f"{path.name}: {notes[0]}" if notes else None)
