"""Conversion and range checks of each FileParams field (what a sidecar may hold).

:data:`CONVERT` maps a field name to the function that turns a JSON value
into the field's type (raising :class:`~caliali_tk.errors.ParamsError` with
the field's name); :data:`RANGES` holds each numeric field's allowed range
and the rule a message quotes; :data:`LEGACY_KEYS` are keys of older
sidecars read without a warning and ignored. :class:`caliali_tk.io.params.FileParams`
uses them in ``validate`` and ``from_dict``.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

from ..errors import ParamsError
from .orientation import LAYOUTS

__all__ = ["CONVERT", "RANGES", "LEGACY_KEYS", "MASK_MODES"]

MASK_MODES = ("include", "exclude")


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


CONVERT: Dict[str, Callable[[str, Any], Any]] = {
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
LEGACY_KEYS = {"ar_order"}


def _finite(v: float) -> bool:
    return math.isfinite(v)


RANGES: Dict[str, Tuple[Callable[[Any], bool], str]] = {
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
