"""Plain numpy/scipy twin of the streaming summary pass (tests only).

Whole movie in memory, float64 throughout, written straight from the
definitions in ``caliali_tk/core/noise.py`` and ``summary.py`` so that the
numba/FFT streaming path can be checked against it. Deliberately independent:
``scipy.ndimage.correlate`` for the filter, ``numpy.fft`` for the PSD, z-scored
traces and explicit neighbour shifts for the correlation image.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.signal.windows import tukey

from caliali_tk.core.filters import centered_gaussian_kernel


def reference_filter(movie, gSig):
    """Every frame correlated with the centred kernel, border replicated."""
    k = centered_gaussian_kernel(gSig)
    return np.stack([ndimage.correlate(f.astype(np.float64), k, mode="nearest") for f in movie])


def reference_noise(movie, plan, seg_len=128):
    """(sn, baseline): Welch over the planned blocks (Tukey(0.25) window,
    segments back to back, mean band PSD) and the median of 64 frames evenly
    spaced through them."""
    T = movie.shape[0]
    L = min(seg_len, T)
    w = tukey(L, 0.25, sym=False)
    k = np.arange(L // 2 + 1)
    band = (k >= L / 4) & (k <= L / 2)
    psds = []
    for b0, b1 in plan:
        for s in range(b0, b1 - L + 1, L):
            seg = movie[s : s + L].astype(np.float64)
            seg = seg - seg.mean(axis=0)
            X = np.fft.rfft(seg * w[:, None, None], axis=0)
            psd = 2.0 * np.abs(X) ** 2 / np.sum(w**2)  # one-sided PSD, fs = 1
            psds.append(psd[band].mean(axis=0))
    sn = np.sqrt(np.mean(psds, axis=0) / 2.0)
    # baseline: median of every step-th planned frame, at most 64 frames
    planned = np.concatenate([np.arange(b0, b1) for b0, b1 in plan])
    step = -(-planned.size // 64)
    return sn, np.median(movie[planned[::step]], axis=0)


def reference_cn(z):
    """Mean Pearson correlation (over time) with the 8 neighbours inside the frame."""
    T, H, W = z.shape
    m = z.mean(axis=0)
    sd = z.std(axis=0)
    ok = sd > 0
    zs = np.where(ok, (z - m) / np.where(ok, sd, 1.0), 0.0)
    total = np.zeros((H, W))
    count = np.zeros((H, W))
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr == 0 and dc == 0:
                continue
            rows = slice(max(0, -dr), H - max(0, dr))
            cols = slice(max(0, -dc), W - max(0, dc))
            nrows = slice(max(0, dr), H + min(0, dr))
            ncols = slice(max(0, dc), W + min(0, dc))
            total[rows, cols] += (zs[:, rows, cols] * zs[:, nrows, ncols]).mean(axis=0)
            count[rows, cols] += 1
    return total / count


def reference_summary(movie, gSig, spatial_filter=True, plan=None, seg_len=128):
    """Dict with Cn, PNR, sn, baseline computed the straightforward way."""
    from caliali_tk.core.noise_pass import noise_frame_plan

    movie = np.asarray(movie)
    if plan is None:
        plan = noise_frame_plan(movie.shape[0], seg_len)
    Y = reference_filter(movie, gSig) if spatial_filter else movie.astype(np.float64)
    sn, base = reference_noise(Y, plan, seg_len)
    x = Y - base
    PNR = np.where(sn > 0, x.max(axis=0) / np.where(sn > 0, sn, 1.0), 0.0)
    z = np.where(x >= 3.0 * sn, x, 0.0)
    return {"Cn": reference_cn(z), "PNR": PNR, "sn": sn, "baseline": base}
