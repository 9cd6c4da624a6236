"""What a movie file itself says about its parameters: CaliAli's saved options
and frame-rate attributes.

CaliAli's ``CaliAli_save`` writes a ``CaliAli_options`` struct into the
``.mat`` (MATLAB v7.3, HDF5 inside) beside the movie ``Y``. MATLAB's HDF5
conventions apply: a struct is a group with ``MATLAB_class = 'struct'``;
numbers are 2-D datasets (a scalar is 1 x 1, a 1 x n row vector is seen as
(n, 1)); a logical is uint8 with ``MATLAB_class = 'logical'``; a char array
is uint16 code points; an empty array stores its dimensions with
``MATLAB_empty = 1``. :func:`read_matlab` turns such objects into Python
values; :func:`file_values` maps CaliAli's options and any ``fps`` /
``frame_rate`` / ``sf`` / ``Fs`` attribute onto :class:`~.params.FileParams`
fields, each with the place it came from. Nothing is ever written here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import h5py
import numpy as np

from ..core.mask_outline import polygons_from_mask
from ..errors import ParamsError
from .orientation import to_display
from .params import FileParams

OPTIONS_GROUP = "CaliAli_options"
#: FileParams field -> CaliAli option paths, the first present one wins.
OPTION_PATHS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "min_pnr": (("cnmf", "min_pnr"),),
    "min_corr": (("cnmf", "min_corr"),),
    "gSig": (("cnmf", "gSig"), ("inter_session_alignment", "gSig"),
             ("preprocessing", "gSig")),
    "gSiz": (("cnmf", "gSiz"),),
    "fps": (("cnmf", "sf"), ("inter_session_alignment", "sf"), ("preprocessing", "sf")),
    "merge_thr": (("cnmf", "merge_thr"),),
}
SEED_MASK_PATH = ("cnmf", "seed_mask")
ALIGNMENT_GSIG_PATH = ("inter_session_alignment", "gSig")
#: Attribute names (any case) that give the frame rate, on the movie or the root.
FPS_ATTRS = ("fps", "frame_rate", "framerate", "sf", "fs")


@dataclass
class FileValues:
    """Parameters found in a movie file.

    Attributes
    ----------
    values : dict
        FileParams field -> value (validated one by one).
    sources : dict
        FileParams field -> where it came from, e.g.
        ``"CaliAli_options.cnmf.min_pnr"`` or ``"attribute fps of /movie"``.
    notes : list of str
        One-line warnings (an option that is out of range, a seed mask of
        the wrong size, ...); the value is then left out.
    alignment_gSig : float or None
        ``inter_session_alignment.gSig``: the neuron size CaliAli's
        projections were computed with.
    """

    values: Dict[str, Any] = field(default_factory=dict)
    sources: Dict[str, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    alignment_gSig: Optional[float] = None


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def matlab_class(obj: "h5py.Dataset | h5py.Group") -> str:
    """The ``MATLAB_class`` attribute of an HDF5 object ('' when absent)."""
    value = obj.attrs.get("MATLAB_class", b"")
    return _text(value.item() if isinstance(value, np.ndarray) else value)


def read_matlab(obj: "h5py.Dataset | h5py.Group") -> Any:
    """An object of a MATLAB v7.3 file as a Python value.

    Returns
    -------
    dict
        For a struct (group): field name -> value.
    str
        For a char array.
    None
        For an empty array, a cell array or references (not needed here).
    ndarray
        Otherwise, as stored (C order: MATLAB's axes reversed); logicals as
        bool.
    """
    if isinstance(obj, h5py.Group):
        return {name: read_matlab(child) for name, child in obj.items()}
    if int(np.ravel(obj.attrs.get("MATLAB_empty", 0))[0]) == 1 or obj.size == 0:
        return None
    cls = matlab_class(obj)
    if cls == "cell" or obj.dtype.kind in "OV" or h5py.check_dtype(ref=obj.dtype):
        return None
    data = obj[()]
    if cls == "char":
        return "".join(chr(int(c)) for c in np.ravel(data, order="F"))
    if cls == "logical":
        return np.asarray(data).astype(bool)
    return np.asarray(data)


def read_options(f: h5py.File) -> Optional[Dict[str, Any]]:
    """``CaliAli_options`` of an open file as nested dicts, None when absent."""
    group = f.get(OPTIONS_GROUP)
    if not isinstance(group, h5py.Group):
        return None
    return read_matlab(group)


def _lookup(options: h5py.Group, path: Tuple[str, str]) -> Any:
    """One option, read only when asked for (the struct also holds large images)."""
    sub = options.get(path[0])
    obj = sub.get(path[1]) if isinstance(sub, h5py.Group) else None
    return read_matlab(obj) if isinstance(obj, h5py.Dataset) else None


def _scalar(value: Any) -> Optional[float]:
    """A number from a 1 x 1 (or all-equal, e.g. [4 4]) numeric array, else None."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "uifb" or value.size == 0:
        return None
    flat = value.astype(np.float64).ravel()
    return float(flat[0]) if np.all(flat == flat[0]) else None


def _accept(out: FileValues, name: str, value: Any, source: str, fname: str) -> bool:
    """Store `value` for field `name` if FileParams accepts it; else note why not."""
    try:
        checked = FileParams.from_dict({name: value}).to_dict()[name]
    except ParamsError as exc:
        out.notes.append(f"{fname}: {source} ignored ({exc})")
        return False
    out.values[name], out.sources[name] = checked, source
    return True


def _options_values(out: FileValues, options: h5py.Group, fname: str) -> None:
    for name, paths in OPTION_PATHS.items():
        for path in paths:
            raw = _lookup(options, path)
            if raw is None:
                continue
            source = f"{OPTIONS_GROUP}.{path[0]}.{path[1]}"
            value = _scalar(raw)
            if value is None:
                out.notes.append(f"{fname}: {source} ignored (not a single number)")
            elif _accept(out, name, value, source, fname):
                break
    out.alignment_gSig = _scalar(_lookup(options, ALIGNMENT_GSIG_PATH))


def _seed_mask(out: FileValues, options: h5py.Group, shape: Tuple[int, int],
               layout: str, fname: str) -> None:
    """``cnmf.seed_mask`` (d1 x d2 logical) as lasso polygons of the display image."""
    raw = _lookup(options, SEED_MASK_PATH)
    if raw is None:
        return
    source = f"{OPTIONS_GROUP}.{SEED_MASK_PATH[0]}.{SEED_MASK_PATH[1]}"
    if not isinstance(raw, np.ndarray) or raw.ndim != 2 or raw.dtype.kind not in "uifb":
        out.notes.append(f"{fname}: {source} ignored (not a 2-D logical image)")
        return
    mask = to_display(raw, layout) != 0
    if mask.shape != tuple(shape):
        out.notes.append(f"{fname}: {source} ignored (its size {mask.shape[0]} x "
                         f"{mask.shape[1]} is not the frame size {shape[0]} x {shape[1]})")
        return
    out.values["mask"], out.sources["mask"] = polygons_from_mask(mask), source


def frame_rate_attr(f: h5py.File, dataset: h5py.Dataset) -> Optional[Tuple[float, str]]:
    """The frame rate from an ``fps`` / ``frame_rate`` / ``sf`` / ``Fs`` attribute.

    The movie dataset's attributes are looked at first, then the file
    root's; names in any case. Returns ``(value, source)`` or None.
    """
    for obj, where in ((dataset, f"of {dataset.name}"), (f, "of the file")):
        for key in obj.attrs:
            if key.lower() not in FPS_ATTRS:
                continue
            try:
                value = float(np.ravel(np.asarray(obj.attrs[key], dtype=np.float64))[0])
            except (TypeError, ValueError, IndexError):
                continue
            if np.isfinite(value) and value > 0:
                return value, f"attribute {key} {where}"
    return None


def file_values(f: h5py.File, dataset: h5py.Dataset, shape: Tuple[int, int],
                layout: str, fname: str) -> FileValues:
    """Every parameter a movie file holds, with its source.

    Parameters
    ----------
    f : h5py.File
        The open movie file (read only).
    dataset : h5py.Dataset
        The movie.
    shape : (int, int)
        Frame size (H, W) in display orientation.
    layout : {"matlab", "python"}
        The movie's layout (CaliAli's seed mask is turned like the frames).
    fname : str
        File name for messages.

    Returns
    -------
    FileValues
        CaliAli's options first, then a frame-rate attribute when CaliAli
        gave none.
    """
    out = FileValues()
    options = f.get(OPTIONS_GROUP)
    if isinstance(options, h5py.Group):
        try:
            _options_values(out, options, fname)
            _seed_mask(out, options, shape, layout, fname)
        except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            out.notes.append(f"{fname}: {OPTIONS_GROUP} cannot be read ({reason}); "
                             "not used")
            out.values.clear()
            out.sources.clear()
    if "fps" not in out.values:
        found = frame_rate_attr(f, dataset)
        if found is not None:
            _accept(out, "fps", found[0], found[1], fname)
    return out
