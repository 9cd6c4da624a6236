"""Is a component a neuron? Quality metrics and the rejection of the weak ones.

Computed for every component at the end of the extraction (issue 10):

``snr``
    Peak of ``C_raw`` over its noise ``sn``.
``spatial_corr``
    Pearson correlation, over the footprint's support grown by a few pixels,
    between the footprint and the mean residual ``Y - B - (other
    components)`` in the frames where the component is active. A soma lights
    up the same pixels every time it fires; a stripe, a compression block or
    a piece of background does not look like the footprint fitted to it.
    It needs one streaming pass (:class:`ConsistencyPass`), run together
    with the extraction's last temporal pass.
``size``
    The footprint's spatial sd (mean of its two principal sd) over gSig.
``compactness``
    Share of the footprint's mass within ``3 gSig`` of its centre.
``elongation``
    Ratio of its principal sd, long over short (1 for a disc).
``n_events``
    Number of times the denoised trace ``C`` rises through ``3 sn``.

:func:`reject` applies the thresholds (``FileParams`` fields) and names the
first failed test of every rejected component.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy import sparse

from caliali_tk.core.cnmfe import footprints as fp
from caliali_tk.core.threads import run_blocks

__all__ = ["QUALITY_NAMES", "ConsistencyPass", "shape_metrics", "count_events",
           "component_quality", "reject", "active_frames"]

QUALITY_NAMES = ("snr", "spatial_corr", "size", "compactness", "elongation", "n_events")
ACTIVE_SHARE = 0.5  # a frame is active when C reaches this share of its peak
EVENT_SIGMA = 3.0  # an event is a rise of C through this many sn
COMPACT_RADIUS = 3.0  # gSig; radius of the disc compactness is measured in
AREA_GROW = 2.0  # pixels the support grows by for the spatial correlation


def active_frames(C: np.ndarray, share: float = ACTIVE_SHARE) -> np.ndarray:
    """Weights (K, T) float64: 1 where ``C[k]`` reaches ``share`` of its peak."""
    C = np.asarray(C, np.float64)
    peak = C.max(axis=1, initial=0.0)[:, None]
    return ((C >= share * peak) & (peak > 0)).astype(np.float64)


class ConsistencyPass:
    """Streaming sums for ``spatial_corr``.

    Per component ``k`` and pixel ``p`` of its area, the pass adds
    ``sum_t w_k(t) (Y - B)[t, p]`` with ``w_k`` its active frames; the other
    components are subtracted at the end, from the final traces.

    Parameters
    ----------
    A : csc_matrix (d, K)
        Footprints.
    C : ndarray (K, T)
        Traces that choose the active frames (those the pass's background
        uses).
    shape : (H, W)
    up : ndarray (d,) int
        Down-sampled background block of each pixel (``Background.up``).
    """

    def __init__(self, A: sparse.csc_matrix, C: np.ndarray, shape, up: np.ndarray):
        self.A, self.shape = A, tuple(shape)
        self.area = fp.search_areas(A, self.shape, AREA_GROW, max(self.shape))
        self.W = active_frames(C)
        # the active frames of each component, as lists (a few % of all frames)
        act = sparse.csr_matrix(self.W)
        self.act_ptr, self.act_t = act.indptr.astype(np.int64), act.indices.astype(np.int64)
        self.rows = self.area.indices.astype(np.int64)
        self.indptr = self.area.indptr.astype(np.int64)
        self.up_rows = np.asarray(up)[self.rows].astype(np.int64)
        self.P = np.zeros(self.area.nnz)
        self.PF = np.zeros(self.area.nnz)

    def add(self, start: int, Y: np.ndarray, F: np.ndarray) -> None:
        """A chunk: frames ``Y`` (n, d) and background fluctuation ``F`` (n, d_ds)."""
        Y, F = np.ascontiguousarray(Y, np.float32), np.ascontiguousarray(F, np.float32)
        args = (self.indptr, self.rows, self.up_rows, self.act_ptr, self.act_t, Y, F,
                int(start), self.P, self.PF)
        run_blocks(lambda a, b: _add_active(a, b, *args), len(self.indptr) - 1,
                   min_block=8, weights=np.diff(self.indptr))

    def finish(self, C: np.ndarray, b0: np.ndarray) -> np.ndarray:
        """``spatial_corr`` (K,) given the final traces ``C`` and constant ``b0``."""
        K = self.A.shape[1]
        comp = np.repeat(np.arange(K), np.diff(self.indptr))
        M = self.P - self.PF - b0[self.rows] * self.W.sum(axis=1)[comp]
        CW = np.asarray(C, np.float64) @ self.W.T  # (j, k): sum_t c_j w_k
        np.fill_diagonal(CW, 0.0)
        A_csr = sparse.csr_matrix(self.A, dtype=np.float64)
        a_on = fp.on_pattern(self.A, self.area).astype(np.float64)
        out = np.zeros(K, np.float32)
        for k in range(K):
            s, e = self.indptr[k], self.indptr[k + 1]
            if e - s < 3:
                continue
            others = A_csr[self.rows[s:e]] @ CW[:, k]
            out[k] = _pearson(M[s:e] - others, a_on[s:e])
        return out


@numba.njit(nogil=True, cache=True)
def _add_active(k0, k1, indptr, rows, up_rows, act_ptr, act_t, Y, F, start, P, PF):
    """Components k0..k1-1: add each active frame of the chunk over the area."""
    n = Y.shape[0]
    for k in range(k0, k1):
        for q in range(act_ptr[k], act_ptr[k + 1]):
            t = act_t[q] - start
            if t < 0 or t >= n:
                continue
            for j in range(indptr[k], indptr[k + 1]):
                P[j] += Y[t, rows[j]]
                PF[j] += F[t, up_rows[j]]


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    den = np.sqrt((x @ x) * (y @ y))
    return float(x @ y / den) if den > 0 else 0.0


def shape_metrics(A: sparse.csc_matrix, shape, gSig: float):
    """``size``, ``compactness``, ``elongation`` (each (K,)) of the footprints.

    From the footprint's weighted second moments around its centroid:
    ``size`` is the mean principal sd over gSig, ``elongation`` the ratio
    of the principal sd, ``compactness`` the share of the mass within
    ``COMPACT_RADIUS * gSig`` of the centroid.
    """
    K = A.shape[1]
    W = shape[1]
    size = np.zeros(K, np.float32)
    compact = np.zeros(K, np.float32)
    elong = np.ones(K, np.float32)
    for k in range(K):
        s, e = A.indptr[k], A.indptr[k + 1]
        v = A.data[s:e].astype(np.float64)
        if e <= s or v.sum() <= 0:
            continue
        r, c = np.divmod(A.indices[s:e].astype(np.float64), W)
        m = v / v.sum()
        dr, dc = r - m @ r, c - m @ c
        cov = np.array([[m @ (dr * dr), m @ (dr * dc)], [m @ (dr * dc), m @ (dc * dc)]])
        lam = np.sqrt(np.clip(np.linalg.eigvalsh(cov), 0.25 / 12, None))  # a pixel's own sd
        size[k] = 0.5 * (lam[0] + lam[1]) / gSig
        elong[k] = lam[1] / lam[0]
        compact[k] = m[np.hypot(dr, dc) <= COMPACT_RADIUS * gSig].sum()
    return size, compact, elong


def count_events(C: np.ndarray, sn: np.ndarray, sigma: float = EVENT_SIGMA) -> np.ndarray:
    """Rises of each denoised trace through ``sigma * sn`` (K,) float32."""
    C = np.asarray(C, np.float64)
    if C.shape[1] == 0:
        return np.zeros(len(C), np.float32)
    above = C >= sigma * np.asarray(sn, np.float64)[:, None]
    rises = above[:, 1:] & ~above[:, :-1]
    return (rises.sum(axis=1) + above[:, 0]).astype(np.float32)


def component_quality(A: sparse.csc_matrix, C: np.ndarray, C_raw: np.ndarray,
                      sn: np.ndarray, spatial_corr: np.ndarray, shape,
                      gSig: float) -> dict:
    """Every metric of ``QUALITY_NAMES`` as a (K,) float32 array."""
    sn = np.maximum(np.asarray(sn, np.float64), 1e-12)
    peak = C_raw.max(axis=1) if C_raw.shape[1] else np.zeros(len(C_raw))
    size, compact, elong = shape_metrics(A, shape, gSig)
    return {"snr": (peak / sn).astype(np.float32),
            "spatial_corr": np.asarray(spatial_corr, np.float32),
            "size": size, "compactness": compact, "elongation": elong,
            "n_events": count_events(C, sn)}


def reject(quality: dict, n_pixels: np.ndarray, limits: dict):
    """Which components fail a test, and why.

    Parameters
    ----------
    quality : dict
        From :func:`component_quality`.
    n_pixels : ndarray (K,)
        Footprint sizes in pixels.
    limits : dict
        ``min_pixels``, ``min_snr``, ``min_spatial_corr``, ``min_size``,
        ``max_size``, ``min_compactness``, ``max_elongation``, ``min_events``.

    Returns
    -------
    keep : ndarray bool (K,)
    reasons : list of str
        For each component, the first failed test ("" when kept).
    """
    tests = [("too few pixels", np.asarray(n_pixels) < limits["min_pixels"]),
             ("low snr", quality["snr"] < limits["min_snr"]),
             ("no events", quality["n_events"] < limits["min_events"]),
             ("low spatial_corr", quality["spatial_corr"] < limits["min_spatial_corr"]),
             ("too small", quality["size"] < limits["min_size"]),
             ("too large", quality["size"] > limits["max_size"]),
             ("not compact", quality["compactness"] < limits["min_compactness"]),
             ("elongated", quality["elongation"] > limits["max_elongation"])]
    K = len(quality["snr"])
    reasons = [""] * K
    for name, failed in reversed(tests):  # the first test in the list wins
        for k in np.flatnonzero(failed):
            reasons[k] = name
    keep = np.array([r == "" for r in reasons], bool)
    return keep, reasons
