"""Greedy CNMF-E initialisation from seed pixels ("peeling").

Seeds are visited in decreasing Cn·PNR. For each, the pixels in a box around
it whose filtered traces correlate with the seed's become the footprint's
support; the footprint itself is a regression of the raw box on the seed's
trace plus a local background trace; the neuron is then subtracted from the
data (raw and filtered) so that later seeds see what is left.

The movie given here is a temporally binned copy held in memory: footprints
need the spatial detail, not every frame, and the traces are recomputed at
full frame rate by the first temporal update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, sparse

from caliali_tk.core.cnmfe.footprints import from_columns
from caliali_tk.core.noise import robust_noise, temporal_median
from caliali_tk.core.threads import run_in_order

SUPPORT_CORR = 0.3  # a pixel joins the footprint above this correlation
CORE_CORR = 0.7  # pixels averaged into the seed's trace
BACKGROUND_CORR = 0.1  # pixels below this in the box give the local background
MIN_SEED_SNR = 3.0  # the seed's trace must rise this many noise sd above baseline
EXPLAINED = 0.5  # a seed whose peak the earlier neurons took this share of is done
MEDIAN_FRAMES = 400  # frames a baseline median is taken from
BACKGROUND_PIXELS = 64  # box pixels the local background trace is the median of


@dataclass
class InitResult:
    """Footprints ``A`` (csc, d x K, peak 1) and binned traces ``C`` (K x Tb)."""

    A: sparse.csc_matrix
    C: np.ndarray


def greedy_init(Yr: np.ndarray, Yf: np.ndarray, seeds: np.ndarray, gSiz: int,
                kernel: np.ndarray, min_pixels: int = 5,
                cancel=None) -> InitResult:
    """Initialise neurons from seeds by correlation and peeling.

    Parameters
    ----------
    Yr : ndarray (T, H, W) float32
        Raw movie (binned in time). Changed in place: neurons are peeled off.
    Yf : ndarray (T, H, W) float32
        The same movie spatially high-passed with ``kernel``, temporal
        median removed. Changed in place.
    seeds : ndarray (n, 2)
        Seed pixels (row, col), best first.
    gSiz : int
        Neuron diameter bound; the box is ``seed ± gSiz``.
    kernel : ndarray
        The spatial filter that made ``Yf`` (to peel a neuron from it).
    min_pixels : int
        Fewer footprint pixels than this and the seed is dropped.
    cancel : threading.Event, optional
        Checked between seeds; when set, returns what was found so far.

    Returns
    -------
    InitResult
    """
    T, H, W = Yr.shape
    sn = robust_noise(Yf, median=0.0)  # Yf's median (of the same frames) is out already
    Yr -= temporal_median(Yr, MEDIAN_FRAMES)[None]
    seeds = np.asarray(seeds, int).reshape(-1, 2)
    peak0 = Yf[:, seeds[:, 0], seeds[:, 1]].max(axis=0) if len(seeds) else []
    found = [None] * len(seeds)
    stopped = [False]

    def one_seed(k):
        if stopped[0] or (cancel is not None and cancel.is_set()):
            stopped[0] = True  # this seed and the later ones are not looked at
            return
        r, c = seeds[k]
        peak = Yf[:, r, c].max()
        if peak < MIN_SEED_SNR * sn[r, c] or peak < (1 - EXPLAINED) * peak0[k]:
            return
        found[k] = _one_neuron(Yr, Yf, r, c, gSiz, min_pixels)
        if found[k] is not None:
            _peel(Yr, Yf, *found[k], kernel)

    # a seed reads its box and peels within it and the kernel's reach: seeds
    # that far apart are independent, the others go in order
    run_in_order(one_seed, len(seeds), _overlapping_before(seeds, gSiz + kernel.shape[0] // 2))
    kept = [f for f in found if f is not None]
    cols, vals, traces = ([f[i] for f in kept] for i in range(3))
    A = from_columns(cols, vals, H * W)
    C = np.array(traces, np.float32).reshape(len(traces), T)
    return InitResult(A, C)


def _overlapping_before(seeds, reach):
    """For each seed, the earlier seeds whose squares of half-width ``reach`` meet its own."""
    out = []
    for k in range(len(seeds)):
        d = np.abs(seeds[:k] - seeds[k]).max(axis=1) if k else np.zeros(0)
        out.append(np.flatnonzero(d <= 2 * reach))
    return out


def _box(r, c, half, H, W):
    return (slice(max(0, r - half), min(H, r + half + 1)),
            slice(max(0, c - half), min(W, c + half + 1)))


def _one_neuron(Yr, Yf, r, c, gSiz, min_pixels):
    """Footprint (flat pixel indices, values with peak 1) and trace, or None."""
    T, H, W = Yr.shape
    rs, cs = _box(r, c, gSiz, H, W)
    F = Yf[:, rs, cs].reshape(T, -1)
    shape = (rs.stop - rs.start, cs.stop - cs.start)
    seed_pos = (r - rs.start) * shape[1] + (c - cs.start)
    corr = _corr_with(F, F[:, seed_pos]).reshape(shape)
    support = _connected(corr > SUPPORT_CORR, r - rs.start, c - cs.start)
    core = _connected(corr > CORE_CORR, r - rs.start, c - cs.start)
    if support.sum() < min_pixels:
        return None
    trace_f = F[:, core.ravel()].mean(axis=1)
    R = Yr[:, rs, cs].reshape(T, -1)
    a = _regress_footprint(R, trace_f, corr, support, (r - rs.start, c - cs.start))
    a = a.reshape(shape)
    a = _connected(a > 0, r - rs.start, c - cs.start) * a
    if (a > 0).sum() < min_pixels or a.max() <= 0:
        return None
    peak = a.max()
    rr, cc = np.nonzero(a)
    idx = (rr + rs.start) * W + (cc + cs.start)
    return idx, (a[rr, cc] / peak).astype(np.float32), (trace_f * peak).astype(np.float32)


def _corr_with(F, y):
    """Pearson correlation of every column of ``F`` with ``y``."""
    Fc = F - F.mean(axis=0)
    yc = y - y.mean()
    num = yc @ Fc
    den = np.sqrt((Fc ** 2).sum(axis=0) * (yc ** 2).sum()) + 1e-12
    return num / den


def _connected(mask, r, c):
    """The connected part of ``mask`` (8-connectivity) holding (r, c)."""
    if not mask[r, c]:
        out = np.zeros_like(mask)
        out[r, c] = True
        return out
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3)))
    return labels == labels[r, c]


def _regress_footprint(R, trace, corr, support, seed):
    """Least-squares ``R[:, i] ≈ a_i trace + b_i y_bg + const`` on the support.

    ``y_bg`` is the median raw trace of the box pixels that do not correlate
    with the seed: the local background, which one-photon data always has.
    ``corr`` and ``support`` are box images, ``seed`` the seed's place in the box.
    """
    bg = corr < BACKGROUND_CORR
    if bg.sum() < 5:
        bg = ~support
    X = [trace - trace.mean(), np.ones_like(trace)]
    if bg.sum() >= 5:
        y_bg = np.median(R[:, _spread_out(bg, seed)], axis=1)
        X.insert(1, y_bg - y_bg.mean())
    X = np.stack(X, axis=1).astype(np.float64)
    coef = _least_squares(X, R[:, support.ravel()])
    a = np.zeros(R.shape[1], np.float32)
    a[support.ravel()] = np.maximum(coef[0], 0.0)
    return a


def _spread_out(mask, seed):
    """Flat indices of the pixels of `mask` on every s-th row and column
    counted from `seed`, s the smallest that leaves at most BACKGROUND_PIXELS.

    A median needs no more pixels than that. The grid is the same for the
    transposed or mirrored box, so the choice does not depend on which way
    round the frames are stored.
    """
    rr, cc = np.nonzero(mask)
    dr, dc = rr - seed[0], cc - seed[1]
    step = 1
    on = np.ones(len(rr), bool)
    while on.sum() > BACKGROUND_PIXELS:
        step += 1
        on = (dr % step == 0) & (dc % step == 0)
    return rr[on] * mask.shape[1] + cc[on]


def _least_squares(X, B):
    """``argmin ||X coef - B||`` for a tall X of 2-3 columns, by its normal
    equations (a 3 x 3 solve instead of an SVD per seed); lstsq when X is
    rank deficient (a flat trace)."""
    G = X.T @ X
    if np.linalg.cond(G) < 1e10:
        return np.linalg.solve(G, X.T @ B)
    return np.linalg.lstsq(X, B, rcond=None)[0]


def _peel(Yr, Yf, idx, a, trace, kernel):
    """Subtract one neuron from the raw and the filtered movie, in place."""
    T, H, W = Yr.shape
    rows, cols = np.divmod(idx, W)
    Yr[:, rows, cols] -= trace[:, None] * a[None, :]
    half = kernel.shape[0] // 2
    r0, r1 = max(0, rows.min() - half), min(H, rows.max() + half + 1)
    c0, c1 = max(0, cols.min() - half), min(W, cols.max() + half + 1)
    img = np.zeros((r1 - r0, c1 - c0), np.float32)
    img[rows - r0, cols - c0] = a
    fimg = ndimage.correlate(img, kernel, mode="constant")
    Yf[:, r0:r1, c0:c1] -= trace[:, None, None] * fimg[None]
