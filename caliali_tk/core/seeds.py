"""Seed pixels for the CNMF-E initialisation: local maxima of Cn·PNR.

A seed is a local maximum of ``Cn * PNR`` whose Cn passes ``min_corr``, whose
PNR passes ``min_pnr`` and which lies inside the user's mask. Exact rules:

- window: a pixel is a candidate when its value is >= every finite value in
  the ``(2r + 1) × (2r + 1)`` square around it (cut at the frame's edge),
  ``r = max(1, d // 2)`` with ``d = floor(gSig + 0.5)``: CNMF-E's
  ``d × d`` window (d = round(gSig)), made odd by rounding up so that it is
  centred. gSig 2.5 -> 3 × 3, gSig 4 -> 5 × 5. A wider window (e.g. r =
  round(gSig), 7 × 7) swallows somata closer than ~r + 1 pixels — neighbours
  1.5·gSig apart are common — while a ~gSig-wide window still gives one
  maximum per soma because the filtered Cn·PNR is smooth at that scale;
  NaN never wins;
- ties: candidates closer than the window (Chebyshev distance <= r) have the
  same value; each group of them linked that way (a plateau) gives one seed,
  the member nearest the group's centroid (first in raster order on a tie);
- border: pixels within ``border`` (default 1) of the frame's edge are never
  seeds: there Cn has only 3–5 neighbours and the high-pass filter sees a
  replicated edge, both of which inflate Cn·PNR.

The maxima do not depend on the thresholds, so :class:`SeedFinder` finds
them once and ``find`` only filters a short list (well under a millisecond
for a 600 × 600 image), fast enough to redraw while a threshold is dragged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["Seeds", "SeedFinder", "find_seeds", "seed_radius", "local_maxima"]


def seed_radius(gSig: float) -> int:
    """Half-width r of the local-maximum window ``2r + 1``.

    ``r = max(1, floor(gSig + 0.5) // 2)``: the window is CNMF-E's
    ``round(gSig)`` rounded up to an odd size (3 for gSig 2.5, 5 for 4).
    """
    return max(1, int(math.floor(float(gSig) + 0.5)) // 2)


@njit(nogil=True, cache=True)
def _local_maxima(v, r, border):  # pragma: no cover - numba
    H, W = v.shape
    cand = np.zeros((H, W), dtype=np.bool_)
    for i in range(border, H - border):
        for j in range(border, W - border):
            x = v[i, j]
            if not np.isfinite(x):
                continue
            ok = True
            for a in range(max(0, i - r), min(H, i + r + 1)):
                for b in range(max(0, j - r), min(W, j + r + 1)):
                    if v[a, b] > x:
                        ok = False
                        break
                if not ok:
                    break
            cand[i, j] = ok
    # one seed per group of candidates linked within the window (equal values)
    seen = np.zeros((H, W), dtype=np.bool_)
    stack = np.empty(H * W, dtype=np.int64)
    members = np.empty(H * W, dtype=np.int64)
    out_r = np.empty(H * W, dtype=np.int64)
    out_c = np.empty(H * W, dtype=np.int64)
    n_out = 0
    for i in range(H):
        for j in range(W):
            if not cand[i, j] or seen[i, j]:
                continue
            seen[i, j] = True
            top, n_mem = 1, 0
            stack[0] = i * W + j
            while top > 0:
                top -= 1
                p = stack[top]
                members[n_mem] = p
                n_mem += 1
                pi, pj = p // W, p % W
                for a in range(max(0, pi - r), min(H, pi + r + 1)):
                    for b in range(max(0, pj - r), min(W, pj + r + 1)):
                        if cand[a, b] and not seen[a, b]:
                            seen[a, b] = True
                            stack[top] = a * W + b
                            top += 1
            if n_mem == 1:
                best = members[0]
            else:
                cr, cc = 0.0, 0.0
                for m in range(n_mem):
                    cr += members[m] // W
                    cc += members[m] % W
                cr /= n_mem
                cc /= n_mem
                best, dbest = -1, np.inf
                for m in range(n_mem):
                    d = (members[m] // W - cr) ** 2 + (members[m] % W - cc) ** 2
                    if d < dbest or (d == dbest and members[m] < best):
                        best, dbest = members[m], d
            out_r[n_out] = best // W
            out_c[n_out] = best % W
            n_out += 1
    return out_r[:n_out], out_c[:n_out]


def local_maxima(image: np.ndarray, r: int, border: int = 1):
    """Rows and cols of the local maxima of ``image`` (rules in the module doc).

    Parameters
    ----------
    image : ndarray (H, W)
    r : int
        Window half-width (window ``2r + 1``).
    border : int
        Pixels this close to the edge are never maxima.

    Returns
    -------
    rows, cols : ndarray int64
        In raster order of each group's first pixel.
    """
    img = np.ascontiguousarray(image, dtype=np.float64)
    return _local_maxima(img, int(max(r, 1)), int(max(border, 0)))


@dataclass(frozen=True)
class Seeds:
    """Seeds at one pair of thresholds.

    Attributes
    ----------
    rows, cols : ndarray int64
        Seed pixels, sorted by ``score`` descending.
    score : ndarray float32
        Cn·PNR at the seeds.
    cn_pass, pnr_pass : ndarray bool (H, W)
        Local maxima with Cn >= min_corr, resp. PNR >= min_pnr (mask ignored).
    both : ndarray bool (H, W)
        The seeds: maxima passing both thresholds and inside the mask.
    """

    rows: np.ndarray
    cols: np.ndarray
    score: np.ndarray
    cn_pass: np.ndarray
    pnr_pass: np.ndarray
    both: np.ndarray

    @property
    def count(self) -> int:
        """Number of seeds."""
        return int(self.rows.size)


class SeedFinder:
    """Local maxima of Cn·PNR, found once; thresholds applied by :meth:`find`.

    Parameters
    ----------
    Cn, PNR : ndarray (H, W)
        Summary images.
    gSig : float
        Soma width; sets the window (:func:`seed_radius`).
    border : int
        Edge pixels that are never seeds (default 1).

    Examples
    --------
    >>> Cn = np.zeros((20, 20)); PNR = np.zeros((20, 20))
    >>> Cn[10, 10], PNR[10, 10] = 0.9, 12.0
    >>> SeedFinder(Cn, PNR, gSig=2.5).find(0.8, 8).count
    1
    """

    def __init__(self, Cn: np.ndarray, PNR: np.ndarray, gSig: float, border: int = 1):
        Cn = np.asarray(Cn, dtype=np.float32)
        PNR = np.asarray(PNR, dtype=np.float32)
        if Cn.shape != PNR.shape or Cn.ndim != 2:
            raise ValueError(f"Cn {Cn.shape} and PNR {PNR.shape} must be equal 2-D shapes")
        self.shape = Cn.shape
        score = Cn.astype(np.float64) * PNR
        rows, cols = local_maxima(score, seed_radius(gSig), border)
        order = np.argsort(-score[rows, cols], kind="stable")
        self.rows, self.cols = rows[order], cols[order]
        self.cn = Cn[self.rows, self.cols]
        self.pnr = PNR[self.rows, self.cols]
        self.score = score[self.rows, self.cols].astype(np.float32)

    def _map(self, sel: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape, dtype=bool)
        out[self.rows[sel], self.cols[sel]] = True
        return out

    def find(self, min_corr: float, min_pnr: float, mask: np.ndarray | None = None) -> Seeds:
        """Seeds with ``Cn >= min_corr``, ``PNR >= min_pnr``, inside ``mask``.

        Parameters
        ----------
        min_corr, min_pnr : float
            Thresholds.
        mask : ndarray bool (H, W), optional
            Allowed pixels (default: all).

        Returns
        -------
        Seeds
        """
        cn_ok = self.cn >= min_corr
        pnr_ok = self.pnr >= min_pnr
        sel = cn_ok & pnr_ok
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != self.shape:
                raise ValueError(f"mask shape {mask.shape} != image shape {self.shape}")
            sel &= mask[self.rows, self.cols]
        return Seeds(rows=self.rows[sel], cols=self.cols[sel], score=self.score[sel],
                     cn_pass=self._map(cn_ok), pnr_pass=self._map(pnr_ok), both=self._map(sel))


def find_seeds(Cn: np.ndarray, PNR: np.ndarray, min_corr: float, min_pnr: float,
               gSig: float, mask: np.ndarray | None = None, border: int = 1) -> Seeds:
    """Seeds of one image pair at one pair of thresholds.

    Shorthand for ``SeedFinder(Cn, PNR, gSig, border).find(min_corr, min_pnr, mask)``.

    Examples
    --------
    >>> Cn = np.full((9, 9), 0.9); PNR = np.full((9, 9), 10.0)
    >>> find_seeds(Cn, PNR, 0.8, 8, gSig=2.5).count  # a plateau: one seed
    1
    """
    return SeedFinder(Cn, PNR, gSig, border).find(min_corr, min_pnr, mask)
