"""Suggested parameters of a video, and where a video without saved ones starts.

`suggest_params` turns a video's summary images into suggested ``min_corr``,
``min_pnr`` and ``gSig`` (:mod:`caliali_tk.core.suggest`). `start_suggestion`
is the suggestion layer of :func:`caliali_tk.io.precedence.resolve_params`:
for a video whose thresholds no flag, sidecar or CaliAli option sets, the
thresholds start from the suggestion (fitted at the gSig in force), so
``caliali-tk extract`` and the threshold window start there. gSig itself is
only offered (``info``, the *Suggest* buttons): its estimate from the images
is rougher than the thresholds' (on minisim's blurred cells it comes out
large), and a wrong gSig costs more than a wrong threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from caliali_tk.core.suggest import suggest
from caliali_tk.io.params import FileParams
from caliali_tk.pipeline.summary import compute_summary

__all__ = ["suggest_params", "start_suggestion", "start_params", "STARTS_FROM"]

#: The fields a video without saved parameters takes from the suggestion.
STARTS_FROM = ("min_corr", "min_pnr")


def suggest_params(summary) -> dict:
    """Suggested ``{"min_corr", "min_pnr", "gSig"}`` from a video's summary images.

    Parameters
    ----------
    summary : SummaryImages
        Cn and PNR, made with ``summary.gSig``.

    Returns
    -------
    dict
        Empty when the images have too few local maxima to fit (tiny movies);
        the caller then keeps the fixed defaults.
    """
    found = suggest(summary.Cn, summary.PNR, summary.gSig)
    return found.as_dict() if found is not None else {}


def start_suggestion(video, so_far: FileParams, progress=None, cancel=None) -> dict:
    """The thresholds a video starts from: suggested from its summary images.

    The images are computed at ``so_far.gSig`` (or read from the cache), so
    the extraction that follows reuses them.
    """
    summary = compute_summary(video, so_far.gSig, so_far.spatial_filter, progress=progress,
                              cancel=cancel, layout=so_far.layout,
                              line_noise=so_far.line_noise)
    found = suggest_params(summary)
    return {k: found[k] for k in STARTS_FROM if k in found}


def start_params(video, flags: Optional[dict] = None):
    """``(FileParams, sources)`` a video runs with when nothing is given but ``flags``."""
    from caliali_tk.io.precedence import resolve_params

    resolved = resolve_params(Path(video), flags, suggest=start_suggestion)
    return resolved.params, resolved.sources
