"""The threshold window's suggestion: thresholds (and gSig) fitted to the video.

A video without saved thresholds opens at the suggested ones (as
``caliali-tk extract`` starts there); *Suggest* applies the whole suggestion,
gSig too: when the suggested gSig differs, the images are recomputed at it
and the thresholds are suggested again from the new images (issue 10).
"""

from __future__ import annotations

import dataclasses

from caliali_tk.io.precedence import SOURCE_DEFAULT
from caliali_tk.pipeline.suggest import STARTS_FROM, suggest_params

__all__ = ["starts_from_suggestion", "apply_suggestion", "line_noise_text", "GSIG_STEP"]

GSIG_STEP = 0.5  # a suggested gSig this far from the current one recomputes the images


def starts_from_suggestion(row) -> bool:
    """Whether a row has no saved or given thresholds (they are the defaults)."""
    sources = getattr(row, "sources", None) or {}
    return bool(sources) and all(sources.get(n, SOURCE_DEFAULT) == SOURCE_DEFAULT
                                 for n in STARTS_FROM) and not getattr(row, "dirty", False)


def apply_suggestion(win, with_gsig: bool) -> str:
    """Set the window's thresholds (and gSig) to the suggestion; return the status text.

    Parameters
    ----------
    win : ThresholdWindow
        With its summary images shown.
    with_gsig : bool
        Also take the suggested gSig (recomputing the images when it differs).
    """
    found = suggest_params(win.summary) if win.summary is not None else {}
    if not found:
        return "No suggestion: too few local maxima in these images; thresholds kept."
    changes = {n: found[n] for n in STARTS_FROM}
    new_gsig = with_gsig and abs(found["gSig"] - win.params.gSig) >= GSIG_STEP
    if new_gsig:
        changes["gSig"] = found["gSig"]
    win.params = dataclasses.replace(win.params, **changes)
    for key, (_label, field, *_rest) in win.spin_specs().items():
        win.spin_vars[key].set(f"{getattr(win.params, field):g}")
    text = line_noise_text(win.summary) + (
            f"Suggested (fitted to this video's noise, check the dots): PNR "
            f"{found['min_pnr']:g}, Corr {found['min_corr']:g}, gSig {found['gSig']:g}.")
    if new_gsig:
        win.suggest_pending = "thresholds"  # again, from the new images
        win.load_images(win.params.gSig)
        return text + " Recomputing the images at the suggested gSig…"
    win.redraw_seeds()
    return text


def line_noise_text(summary) -> str:
    """What the summary images found about stripes, as a sentence (or "")."""
    lines = getattr(summary, "line_noise", None)
    if not lines:
        return ""
    found = [name for name, key in (("row", "rows"), ("column", "cols")) if lines.get(key)]
    if not found:
        return "No line noise. "
    ratio = max(lines["row_ratio"] if lines["rows"] else 0, lines["col_ratio"] if lines["cols"] else 0)
    return (f"Line noise: {' and '.join(found)} stripes up to {ratio:.2f} x the pixel noise, "
            "removed. ")
