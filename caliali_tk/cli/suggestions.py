"""What ``info`` and ``extract`` say about suggested thresholds and line noise (issue 10)."""

from __future__ import annotations

import functools

from caliali_tk.io.precedence import SOURCE_SUGGESTED


def suggestion_layer(progress=None):
    """The precedence's suggestion layer, its summary images reporting to ``progress``."""
    from caliali_tk.pipeline.suggest import start_suggestion

    return functools.partial(start_suggestion, progress=progress)


def suggested_note(resolved) -> str:
    """``"suggested thresholds: ..."`` when the thresholds came from the suggestion, else ""."""
    names = [n for n in ("min_corr", "min_pnr") if resolved.sources.get(n) == SOURCE_SUGGESTED]
    if not names:
        return ""
    values = ", ".join(f"{n} {getattr(resolved.params, n):g}" for n in names)
    return f"suggested thresholds (no saved ones): {values}"


def info_rows(video, params) -> list:
    """``info``'s rows: the video's line noise and the full suggestion (gSig too)."""
    from caliali_tk.pipeline import compute_summary
    from caliali_tk.pipeline.suggest import suggest_params

    summary = compute_summary(video, params.gSig, params.spatial_filter,
                              layout=params.layout, line_noise=params.line_noise)
    rows = [("line noise", line_noise_text(summary.line_noise, params.line_noise))]
    found = suggest_params(summary)
    if found:
        text = (f"min_corr {found['min_corr']:g}, min_pnr {found['min_pnr']:g}, gSig "
                f"{found['gSig']:g} (from the local maxima of Cn and PNR at gSig "
                f"{params.gSig:g}; a video without saved thresholds starts from them)")
    else:
        text = "none (too few local maxima); the defaults are used"
    return rows + [("suggestion", text)]


def line_noise_text(lines, mode: str) -> str:
    """One line about the stripes found (and whether they are removed)."""
    if lines is None:
        return "not measured (line_noise = off)"
    parts = []
    for name, ratio, on in (("rows", lines["row_ratio"], lines["rows"]),
                            ("columns", lines["col_ratio"], lines["cols"])):
        parts.append(f"{name} {ratio:.2f} x pixel noise" + (" (removed)" if on else ""))
    return ", ".join(parts) + f"; line_noise = {mode}"
