"""Per-video CNMF-E parameters and their sidecar file ``<video>.caliali.json``.

The sidecar keeps what the user chose by eye for one video (thresholds, gSig,
frame rate, the lasso mask) so that reopening the video restores it. A
damaged or unknown sidecar never stops the program: it is reported as a
one-line warning, left untouched on disk, and defaults are used instead.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..core.filters import default_gSiz
from ..errors import ParamsError
from .atomic import atomic_write_text
from .param_fields import CONVERT, LEGACY_KEYS, RANGES

SIDECAR_SUFFIX = ".caliali.json"
SIDECAR_FORMAT = "caliali-tk-params"
SIDECAR_VERSION = 1
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
            CONVERT[f.name](f.name, getattr(self, f.name))
        for name, (ok, rule) in RANGES.items():
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
        return {f.name: CONVERT[f.name](f.name, getattr(self, f.name))
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
        unknown = sorted(str(k) for k in d if k not in known | LEGACY_KEYS)
        if unknown and notes is not None:
            notes.append("ignored unknown setting(s): " + ", ".join(unknown))
        values = {k: CONVERT[k](k, v) for k, v in d.items() if k in known}
        params = cls(**values)
        params.validate()
        return params


assert set(CONVERT) == {f.name for f in dataclasses.fields(FileParams)}


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
