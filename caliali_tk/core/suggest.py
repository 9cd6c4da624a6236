"""Suggested seed thresholds and neuron size from a video's summary images.

Most local maxima of Cn·PNR are noise; the cells' maxima form a tail above
them. For each of Cn and PNR the noise maxima's mode and spread are found
robustly (the half-sample mode, and the spread of the values below it, which
cells do not reach) and the threshold is put ``NOISE_SD`` such sd above the
mode, so a video starts from thresholds fitted to its own noise instead of
fixed numbers (issue 10).

gSig comes from the cells' size in the summary images: the area of each
strong maximum's blob in Cn above half its height gives its sd, from which
the spatial filter's own width (the images were made with some gSig) is
taken out. (The PNR blobs are dominated by the filter's width; Cn's follow
the cells more.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from caliali_tk.core.seeds import SeedFinder

__all__ = ["Suggestion", "suggest", "noise_cut", "half_sample_mode", "blob_sd"]

# Thresholds sit this many lower-side sd above the noise maxima's mode. The
# maxima follow an extreme-value law whose upper tail is about twice as long
# as the lower side it is measured on, so 5 is ~3 sd of the upper tail; at 3,
# minisim movies got thresholds below the defaults and more false components.
NOISE_SD = 5.0
PNR_LIMITS = (3.0, 12.0)
CORR_LIMITS = (0.3, 0.7)
GSIG_LIMITS = (1.0, 10.0)
MIN_MAXIMA = 20  # fewer maxima than this: no suggestion
N_BLOBS = 100  # strongest cell maxima measured for gSig
HALF_AREA = math.pi * 2.0 * math.log(2.0)  # area above half height / sd^2
# A cell of sd g in Cn made with filter width g0 is a blob of sd^2 about
# FILTER_SHARE g0^2 + CELL_SHARE g^2 (fitted on simulated cells of sd 1.5-5
# at g0 2-3.5; within ~20 %).
FILTER_SHARE = 0.40
CELL_SHARE = 0.62


@dataclass
class Suggestion:
    """Suggested ``min_corr``, ``min_pnr`` and ``gSig``, and what they rest on.

    Attributes
    ----------
    min_corr, min_pnr, gSig : float
    n_maxima : int
        Local maxima the thresholds were fitted to.
    n_cells : int
        Maxima above both thresholds.
    """

    min_corr: float
    min_pnr: float
    gSig: float
    n_maxima: int
    n_cells: int

    def as_dict(self) -> dict:
        """``{"min_corr", "min_pnr", "gSig"}``, rounded as the window shows them."""
        return {"min_corr": round(self.min_corr, 2), "min_pnr": round(self.min_pnr, 1),
                "gSig": round(self.gSig * 2) / 2}


def half_sample_mode(values: np.ndarray) -> float:
    """The densest point of a sample (Bickel's half-sample mode).

    Repeatedly keep the half of the sorted values with the smallest range;
    insensitive to a long tail on one side.

    >>> half_sample_mode(np.r_[np.zeros(60), np.arange(1, 41.0)])
    0.0
    """
    v = np.sort(np.asarray(values, np.float64))
    while len(v) > 3:
        h = (len(v) + 1) // 2
        widths = v[h - 1:] - v[:len(v) - h + 1]
        i = int(np.argmin(widths))
        v = v[i:i + h]
    return float(np.median(v)) if len(v) else float("nan")


def noise_cut(values: np.ndarray, k: float = NOISE_SD) -> float:
    """``mode + k * sd`` of the noise part of ``values`` (see the module doc).

    The sd comes from the values below the mode only: for a normal bump,
    31.7 % of them lie more than one sd below it.
    """
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    mode = half_sample_mode(v)
    left = v[v <= mode]
    sd = mode - np.percentile(left, 31.73) if len(left) >= 3 else 0.0
    return float(mode + k * max(sd, 1e-6))


def blob_sd(image: np.ndarray, rows, cols, half: int) -> np.ndarray:
    """sd of each blob at ``(rows, cols)`` from its area above half height.

    The height is over the median of a ``2 half + 1`` box around the peak;
    only the part connected to the peak counts.
    """
    H, W = image.shape
    out = []
    for r, c in zip(rows, cols):
        box = image[max(0, r - half):r + half + 1, max(0, c - half):c + half + 1]
        base = np.median(box)
        peak = image[r, c]
        if not peak > base:
            continue
        labels, _ = ndimage.label(box >= base + 0.5 * (peak - base))
        lab = labels[r - max(0, r - half), c - max(0, c - half)]
        out.append(math.sqrt((labels == lab).sum() / HALF_AREA))
    return np.array(out)


def suggest(Cn: np.ndarray, PNR: np.ndarray, gSig: float) -> Suggestion | None:
    """Thresholds and gSig for a video from its summary images (made with ``gSig``).

    Returns None when there are too few local maxima to fit (tiny images).
    """
    finder = SeedFinder(Cn, PNR, gSig)
    if len(finder.rows) < MIN_MAXIMA:
        return None
    min_corr = float(np.clip(noise_cut(finder.cn), *CORR_LIMITS))
    min_pnr = float(np.clip(noise_cut(finder.pnr), *PNR_LIMITS))
    cells = np.flatnonzero((finder.cn >= min_corr) & (finder.pnr >= min_pnr))
    g = float(gSig)
    strong = cells[np.argsort(-finder.score[cells])][:N_BLOBS]
    if len(strong) >= 5:
        sd = np.median(blob_sd(Cn, finder.rows[strong], finder.cols[strong],
                               int(math.ceil(4 * gSig))))
        g = math.sqrt(max(sd ** 2 - FILTER_SHARE * gSig ** 2, 0.0) / CELL_SHARE)
    return Suggestion(min_corr, min_pnr, float(np.clip(g, *GSIG_LIMITS)),
                      int(len(finder.rows)), int(len(cells)))
