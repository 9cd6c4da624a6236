"""Local refits for curation: traces of a few components, a new footprint.

After the extraction the ring background is gone (it is not kept in the
results), so a curation edit works on a box of the movie around the
components it touches. In that box every frame is modelled as

    Y(t) - b0 - sum_fixed a_j c_j(t) = sum_targets a_k c_k(t) + smooth(t)

where the fixed components are the other neurons reaching into the box
(their traces known), and ``smooth(t)`` is a quadratic surface over the box
(6 coefficients per frame) standing in for the local background
fluctuation: over a box a few neurons wide, the out-of-focus background of
one-photon data is that smooth. The traces are the per-frame least-squares
coefficients, one small matrix product per chunk of frames, then each is
deconvolved with OASIS as the extraction does.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from caliali_tk.core.cnmfe.initialize import greedy_init
from caliali_tk.core.cnmfe.merging import _rank1  # moved there by issue 10
from caliali_tk.core.deconv import DeconvSettings, deconvolve_trace
from caliali_tk.core.filters import centered_gaussian_kernel, spatial_filter
from caliali_tk.core.noise import robust_noise, temporal_median

__all__ = ["box_around", "LocalFit", "deconvolve_traces", "merged_footprint",
           "footprint_in_box"]

N_SMOOTH = 6  # 1, x, y, x², xy, y²
PEAK_MARGIN = 1.0  # a clicked seed must peak this many sd above what noise alone reaches


def noise_peak(n_frames: int) -> float:
    """How high, in noise sd, the peak of `n_frames` of Gaussian noise gets: sqrt(2 ln T).

    Examples
    --------
    >>> round(noise_peak(1000), 2)
    3.72
    """
    return float(np.sqrt(2.0 * np.log(max(int(n_frames), 2))))


def box_around(footprints: np.ndarray, pad: int, shape) -> tuple:
    """``(rows, cols)`` slices of the bounding box of ``footprints > 0`` plus `pad`.

    Parameters
    ----------
    footprints : ndarray (n, H, W) or (H, W)
    pad : int
    shape : (int, int)
        Frame shape, the box is clipped to it.
    """
    support = np.asarray(footprints).reshape((-1,) + tuple(shape)).max(axis=0) > 0
    rows, cols = np.nonzero(support)
    if not len(rows):
        raise ValueError("box_around: empty footprints")
    H, W = shape
    return (slice(max(0, rows.min() - pad), min(H, rows.max() + pad + 1)),
            slice(max(0, cols.min() - pad), min(W, cols.max() + pad + 1)))


def _smooth_basis(h: int, w: int) -> np.ndarray:
    """(h·w, 6) quadratic surface basis on the box, coordinates scaled to [-1, 1]."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    y = (2 * y / max(h - 1, 1)) - 1
    x = (2 * x / max(w - 1, 1)) - 1
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], -1).reshape(h * w, -1)


class LocalFit:
    """Per-frame least squares of a box on target footprints plus a smooth surface.

    Parameters
    ----------
    targets : ndarray (n, h, w)
        Footprints whose traces are wanted, cropped to the box.
    fixed : ndarray (m, h, w)
        Other footprints reaching into the box (their traces are given).
    b0 : ndarray (h, w)
        Constant background in the box.

    Examples
    --------
    >>> a = np.zeros((1, 9, 9)); a[0, 3:6, 3:6] = 1
    >>> fit = LocalFit(a, np.zeros((0, 9, 9)), np.zeros((9, 9)))
    >>> Y = 2.0 * a + 5.0        # one frame: trace 2 on a flat background 5
    >>> np.round(fit.traces(Y, np.zeros((0, 1))), 6).tolist()
    [[2.0]]
    """

    def __init__(self, targets: np.ndarray, fixed: np.ndarray, b0: np.ndarray):
        n, h, w = targets.shape
        X = np.concatenate([targets.reshape(n, -1).T.astype(np.float64),
                            _smooth_basis(h, w)], axis=1)
        self.P = np.linalg.pinv(X)[:n].astype(np.float32)  # (n, h·w)
        self.fixed = np.asarray(fixed, np.float32).reshape(len(fixed), h * w)
        self.b0 = np.asarray(b0, np.float32).ravel()

    def traces(self, Ybox: np.ndarray, C_fixed: np.ndarray) -> np.ndarray:
        """Target traces (n, t) of a chunk ``Ybox`` (t, h, w) given the fixed traces (m, t)."""
        t = len(Ybox)
        R = np.asarray(Ybox, np.float32).reshape(t, -1) - self.b0
        if len(self.fixed):
            R -= np.asarray(C_fixed, np.float32).T @ self.fixed
        return self.P @ R.T


def deconvolve_traces(raw: np.ndarray, settings: DeconvSettings | None = None) -> tuple:
    """Each row of `raw` (n, T) deconvolved as the extraction does: ``(C, C_raw, S, sn)``.

    ``settings`` as for the extraction (:func:`deconvolve_trace`; defaults if
    None). ``C_raw`` is the raw trace minus the baseline OASIS found.
    """
    settings = DeconvSettings() if settings is None else settings
    n, T = raw.shape
    C, C_raw, S = (np.zeros((n, T), np.float32) for _ in range(3))
    sn = np.zeros(n, np.float32)
    for k in range(n):
        d = deconvolve_trace(np.asarray(raw[k], np.float64), settings)
        C[k], C_raw[k], S[k], sn[k] = d.c, raw[k] - d.b, d.s, d.sn
    return C, C_raw, S, sn


def merged_footprint(A: np.ndarray, C: np.ndarray) -> np.ndarray:
    """One footprint (H, W), peak 1, for components merged into one.

    The best rank-1 non-negative fit of ``sum_k a_k c_k^T`` over their
    pixels, as the extraction's own merging does.

    Parameters
    ----------
    A : ndarray (m, H, W)
    C : ndarray (m, T)
    """
    m, H, W = A.shape
    csc = sparse.csc_matrix(A.reshape(m, -1).T.astype(np.float32))
    idx, a, _ = _rank1(csc, np.asarray(C, np.float32), np.arange(m))
    out = np.zeros(H * W, np.float32)
    out[idx] = a
    return out.reshape(H, W)


def footprint_in_box(Ybox: np.ndarray, row: int, col: int, gSig: float, gSiz: int,
                     min_pixels: int = 5, min_pnr: float | None = None):
    """A new neuron's footprint near (row, col) of a residual box, or None.

    The seed is the pixel within ``gSig`` of (row, col) whose filtered trace
    peaks highest over its noise (a click is seldom on the exact centre);
    from there the extraction's own initialisation grows the footprint.

    Parameters
    ----------
    Ybox : ndarray (t, h, w) float32
        The movie in the box (binned in time if long) minus the known
        neurons; the background is still in it.
    row, col : int
        The clicked pixel, in box coordinates.
    gSig, gSiz : float, int
        The extraction's neuron size.
    min_pixels : int
    min_pnr : float, optional
        The seed's filtered trace must peak this many noise sd above its
        baseline, else there is no neuron. Default: ``PEAK_MARGIN`` above
        :func:`noise_peak` of the box's length, so that a click on pure
        noise finds nothing, while a neuron too dim for the extraction's
        seed threshold can still be added.

    Returns
    -------
    (footprint, (row, col)) : ndarray (h, w) float32 with peak 1 and the
    seed used, or None when the initialisation finds no neuron there (too
    dim, or too small).
    """
    kernel = centered_gaussian_kernel(gSig, gSiz)
    Yr = np.array(Ybox, np.float32)
    Yf = spatial_filter(Yr, kernel).astype(np.float32)
    Yf -= temporal_median(Yf)[None]
    pnr = Yf.max(axis=0) / np.maximum(robust_noise(Yf), 1e-12)
    h, w = pnr.shape
    rad = max(1, int(np.ceil(gSig)))
    rs = slice(max(0, row - rad), min(h, row + rad + 1))
    cs = slice(max(0, col - rad), min(w, col + rad + 1))
    i, j = np.unravel_index(int(np.argmax(pnr[rs, cs])), pnr[rs, cs].shape)
    seed = (rs.start + int(i), cs.start + int(j))
    floor = noise_peak(len(Yf)) + PEAK_MARGIN if min_pnr is None else min_pnr
    if pnr[seed] < floor:
        return None
    init = greedy_init(Yr, Yf, np.array([seed]), gSiz, kernel, min_pixels)
    if init.A.shape[1] == 0:
        return None
    return np.asarray(init.A[:, 0].toarray(), np.float32).reshape(Ybox.shape[1:]), seed
