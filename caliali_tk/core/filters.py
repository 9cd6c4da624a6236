"""Spatial high-pass filter used before the summary images (CNMF-E).

One-photon frames are dominated by a bright, smooth, out-of-focus background.
CNMF-E removes it by correlating every frame with a *centred* Gaussian: a
Gaussian of width ``gSig`` cut to a disc and shifted so that it sums to zero.
A constant (or slowly varying) background then filters to ~0 while a soma of
about ``gSig`` turns into a positive bump.

The filter is the hot loop of the summary pass, so it runs as an FFT
convolution of an edge-padded batch of frames (scipy.fft, two workers) in
float32, with the per-frame mean removed first (a zero-sum kernel ignores a
constant, and removing it keeps float32 round-off small).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft

__all__ = [
    "centered_gaussian_kernel",
    "default_gSiz",
    "spatial_filter",
    "SpatialFilter",
    "make_spatial_filter",
]

#: FFT worker threads (the target machines have >= 2 cores).
FFT_WORKERS = 2
#: Frames per FFT batch: bounds the complex temporaries to ~16 frames.
_BATCH = 16


def default_gSiz(gSig: float) -> int:
    """Kernel size for ``gSig``: the smallest odd integer >= 4·gSig, at least 3."""
    k = max(3, int(math.ceil(4.0 * float(gSig) - 1e-9)))
    return k if k % 2 == 1 else k + 1


def centered_gaussian_kernel(gSig: float, gSiz: int | None = None) -> np.ndarray:
    """Zero-sum disc-shaped Gaussian kernel (CNMF-E's "centred" kernel).

    Parameters
    ----------
    gSig : float
        Standard deviation of the Gaussian in pixels (about a soma's radius/2).
    gSiz : int, optional
        Kernel size (odd). Default :func:`default_gSiz` (smallest odd >= 4·gSig).

    Returns
    -------
    kernel : ndarray, float64, shape (gSiz, gSiz)
        Entries of the Gaussian at least as large as the largest value on the
        kernel's outer edge (a disc), minus their mean; all other entries 0.
        The kernel therefore sums to ~0 and is symmetric.

    Examples
    --------
    >>> k = centered_gaussian_kernel(2.5)
    >>> k.shape, abs(k.sum()) < 1e-12
    ((11, 11), True)
    """
    if not gSig > 0:
        raise ValueError(f"gSig must be > 0, got {gSig!r}")
    size = default_gSiz(gSig) if gSiz is None else int(gSiz)
    if size < 3 or size % 2 == 0:
        raise ValueError(f"gSiz must be an odd integer >= 3, got {gSiz!r}")
    half = size // 2
    x = np.arange(-half, half + 1, dtype=np.float64)
    g1 = np.exp(-(x**2) / (2.0 * float(gSig) ** 2))
    g = np.outer(g1, g1)
    g /= g.sum()
    edge = max(g[0, :].max(), g[-1, :].max(), g[:, 0].max(), g[:, -1].max())
    keep = g >= edge * (1.0 - 1e-12)
    kernel = np.zeros_like(g)
    kernel[keep] = g[keep] - g[keep].mean()
    return kernel


class SpatialFilter:
    """Reusable FFT correlation of frames with one kernel, replicated border.

    Precomputes the kernel's spectrum for a frame shape so that a caller that
    filters many chunks (the summary passes, the extraction core) pays for it
    once. Calling the object filters a batch of frames.

    Parameters
    ----------
    shape : (int, int)
        Frame shape (H, W).
    kernel : ndarray (k, k)
        Odd-sized kernel, e.g. :func:`centered_gaussian_kernel`.
    workers : int, optional
        scipy.fft worker threads (default :data:`FFT_WORKERS`).
    """

    def __init__(self, shape, kernel, workers: int | None = None):
        kernel = np.asarray(kernel, dtype=np.float64)
        if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
            raise ValueError("kernel must be 2-D with odd sides")
        self.shape = (int(shape[0]), int(shape[1]))
        self.kernel = kernel
        self.workers = FFT_WORKERS if workers is None else int(workers)
        self._ry, self._rx = kernel.shape[0] // 2, kernel.shape[1] // 2
        ph = self.shape[0] + 2 * self._ry
        pw = self.shape[1] + 2 * self._rx
        self._fshape = (sfft.next_fast_len(ph, real=True), sfft.next_fast_len(pw, real=True))
        # Convolving with the flipped kernel == correlating with the kernel.
        self._kf = sfft.rfft2(kernel[::-1, ::-1].astype(np.float32), s=self._fshape)
        self._ksum = float(kernel.sum())

    def __call__(self, frames: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Filter ``frames`` (n, H, W) or (H, W); returns float32 of the same shape."""
        frames = np.asarray(frames)
        single = frames.ndim == 2
        if single:
            frames = frames[None]
        if frames.shape[1:] != self.shape:
            raise ValueError(f"frames of shape {frames.shape[1:]} given, filter built for {self.shape}")
        if out is None:
            out = np.empty(frames.shape, dtype=np.float32)
        ry, rx = self._ry, self._rx
        H, W = self.shape
        for s in range(0, frames.shape[0], _BATCH):
            blk = frames[s : s + _BATCH].astype(np.float32)
            mean = blk.mean(axis=(1, 2), dtype=np.float64, keepdims=True)
            blk -= mean.astype(np.float32)
            pad = np.pad(blk, ((0, 0), (ry, ry), (rx, rx)), mode="edge")
            spec = sfft.rfft2(pad, s=self._fshape, workers=self.workers, overwrite_x=True)
            spec *= self._kf
            full = sfft.irfft2(spec, s=self._fshape, workers=self.workers, overwrite_x=True)
            out[s : s + _BATCH] = full[:, 2 * ry : 2 * ry + H, 2 * rx : 2 * rx + W]
            if abs(self._ksum) > 1e-9:  # a kernel that does not ignore the mean
                out[s : s + _BATCH] += (mean * self._ksum).astype(np.float32)
        return out[0] if single else out


def spatial_filter(frames: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate every frame with ``kernel``, replicating the border.

    Same result as ``scipy.ndimage.correlate(frame, kernel, mode='nearest')``
    frame by frame (up to float32 round-off), computed by FFT.

    Parameters
    ----------
    frames : ndarray (n, H, W) or (H, W)
        Frames, any real dtype.
    kernel : ndarray (k, k)
        Odd-sized kernel, e.g. ``centered_gaussian_kernel(gSig)``.

    Returns
    -------
    ndarray float32, same shape as ``frames``.

    Notes
    -----
    For many chunks of one movie build a :class:`SpatialFilter` once instead.
    Each frame's mean is taken out before the FFT (less float32 round-off)
    and its filtered value ``mean * kernel.sum()`` added back, which is ~0
    for the centred kernel.
    """
    frames = np.asarray(frames)
    return SpatialFilter(frames.shape[-2:], kernel)(frames)


def _as_float32(frames: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    frames = np.asarray(frames)
    if out is None:
        return frames.astype(np.float32)
    out[...] = frames
    return out


def make_spatial_filter(shape, gSig: float, enabled: bool = True):
    """The per-chunk filter of the summary passes, for reuse elsewhere.

    Parameters
    ----------
    shape : (int, int)
        Frame shape (H, W).
    gSig : float
        Width of the centred Gaussian kernel.
    enabled : bool
        ``False`` gives a function that only converts to float32.

    Returns
    -------
    callable ``f(frames, out=None) -> float32``
        Accepts (n, H, W) chunks or single (H, W) frames; a
        :class:`SpatialFilter` with :func:`centered_gaussian_kernel` when
        enabled.

    Examples
    --------
    >>> f = make_spatial_filter((64, 64), 2.5)
    >>> f(np.ones((3, 64, 64))).shape
    (3, 64, 64)
    """
    if not enabled:
        return _as_float32
    return SpatialFilter(shape, centered_gaussian_kernel(gSig))
