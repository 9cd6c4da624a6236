"""Which value each parameter of a video takes, and where it came from.

Layers, first one that has a value wins:

1. command-line flags (``--min-pnr 6``, ``--layout python``, ...);
2. the sidecar ``<video>.caliali.json`` (what the user chose with *Done!*);
3. the file itself: CaliAli's ``CaliAli_options`` (``cnmf.min_pnr``, ...,
   ``cnmf.seed_mask`` as the mask), then a frame-rate attribute;
4. a suggestion (a callable or a partial dict handed in by the front end,
   e.g. thresholds suggested from the summary images);
5. the defaults of :class:`~.params.FileParams`.

:func:`resolve_params` returns the parameters with the source of every
field, so ``info`` and the window can say where a value came from.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from ..errors import ParamsError
from .caliali_options import file_values
from .orientation import AUTO
from .params import FileParams, load_sidecar, sidecar_path
from .video import VideoFile

SOURCE_FLAG = "command line"
SOURCE_SUGGESTED = "suggested"
SOURCE_DEFAULT = "default"
#: Differences in gSig smaller than this are the same neuron size.
_GSIG_TOLERANCE = 1e-6

Suggestion = Union[Mapping[str, Any], Callable[[Path, FileParams], Mapping[str, Any]], None]


@dataclass
class ResolvedParams:
    """A video's parameters with the origin of each value.

    Attributes
    ----------
    params : FileParams
        The values to use (validated).
    sources : dict
        Field name -> where its value came from: ``"command line"``,
        ``"sidecar <name>"``, ``"CaliAli_options.cnmf.min_pnr"``,
        ``"attribute fps of /Y"``, ``"suggested"`` or ``"default"``.
    warnings : list of str
        One-line warnings (damaged sidecar, odd CaliAli options, gSig
        differing from the one CaliAli's projections used, movie axes).
    layout : {"matlab", "python"}
        The layout the movie is read with; `layout_reason` says why.
    shape : tuple of int
        (T, H, W) of the movie in display orientation.
    frames_per_session : list of int or None
    """

    params: FileParams
    sources: Dict[str, str]
    warnings: List[str] = field(default_factory=list)
    layout: str = "matlab"
    layout_reason: str = ""
    shape: tuple = ()
    frames_per_session: Optional[List[int]] = None


def resolve_params(video: "str | os.PathLike[str]",
                   flags: Optional[Mapping[str, Any]] = None,
                   suggest: Suggestion = None) -> ResolvedParams:
    """The parameters a video runs with, layer by layer (see the module docstring).

    Parameters
    ----------
    video : path
        The movie file (opened read-only; never written).
    flags : mapping, optional
        FileParams field -> value given on the command line; None values
        are "not given".
    suggest : mapping or callable(video, FileParams) -> mapping, optional
        Suggested values for fields no higher layer sets. A callable gets
        the parameters resolved so far (flags, sidecar, file, defaults), so
        a suggestion can depend on gSig. Bad suggested values are left out
        with a warning.

    Returns
    -------
    ResolvedParams

    Raises
    ------
    VideoError
        The video cannot be opened.
    ParamsError
        A command-line value is out of range.
    """
    video = Path(video)
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    sidecar, warning = load_sidecar(video)
    warnings = [warning] if warning else []
    layout = given.get("layout", sidecar.get("layout", AUTO))
    with VideoFile(video, layout) as vf:
        found = file_values(vf.h5file, vf.movie_dataset, vf.shape[1:], vf.layout,
                            video.name)
        out = ResolvedParams(FileParams(), {}, warnings + list(vf.warnings) + found.notes,
                             vf.layout, vf.layout_reason, vf.shape, vf.frames_per_session)
    side_label = f"sidecar {sidecar_path(video).name}"
    layers = [(given, {k: SOURCE_FLAG for k in given}),
              (sidecar, {k: side_label for k in sidecar}),
              (found.values, found.sources)]
    values, sources = _merge(layers)
    if suggest is not None:
        _add_suggestion(video, suggest, values, sources, out.warnings)
    try:
        out.params = FileParams(**values)
        out.params.validate()
    except (TypeError, ParamsError) as exc:
        raise ParamsError(f"{video.name}: {exc}") from None
    out.sources = {f.name: sources.get(f.name, SOURCE_DEFAULT)
                   for f in dataclasses.fields(FileParams)}
    gsig_note = _gsig_warning(video.name, out.params.gSig, out.sources["gSig"],
                              found.alignment_gSig)
    if gsig_note:
        out.warnings.append(gsig_note)
    return out


def _merge(layers) -> tuple:
    """Field -> value and field -> source, the first layer holding a field winning."""
    known = {f.name for f in dataclasses.fields(FileParams)}
    values: Dict[str, Any] = {}
    sources: Dict[str, str] = {}
    for layer, labels in layers:
        for name, value in layer.items():
            if name in known and name not in values:
                values[name], sources[name] = value, labels[name]
    return values, sources


def _add_suggestion(video: Path, suggest: Suggestion, values: Dict[str, Any],
                    sources: Dict[str, str], warnings: List[str]) -> None:
    """Fill the fields no higher layer set from the suggestion, if valid."""
    if callable(suggest):
        try:
            so_far = FileParams(**values)
            so_far.validate()
        except (TypeError, ParamsError):
            return  # the flags are bad: resolve_params reports it
        suggested = suggest(video, so_far) or {}
    else:
        suggested = suggest
    known = {f.name for f in dataclasses.fields(FileParams)}
    for name, value in suggested.items():
        if name in values or name not in known:
            continue
        try:
            values[name] = FileParams.from_dict({name: value}).to_dict()[name]
            sources[name] = SOURCE_SUGGESTED
        except ParamsError as exc:
            warnings.append(f"{video.name}: suggested {exc}; not used")


def _gsig_warning(fname: str, gSig: float, source: str,
                  alignment_gSig: Optional[float]) -> Optional[str]:
    """CaliAli's warning: gSig differs from the one of the alignment's projections."""
    if alignment_gSig is None or abs(gSig - alignment_gSig) <= _GSIG_TOLERANCE:
        return None
    return (f"{fname}: gSig {gSig:g} ({source}) differs from "
            f"CaliAli_options.inter_session_alignment.gSig {alignment_gSig:g}: CaliAli's "
            f"projections were computed with another neuron size")
