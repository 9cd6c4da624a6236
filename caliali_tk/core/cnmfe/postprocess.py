"""CaliAli's post-processing of the final traces: noise units, SNR, order.

After the last temporal update CaliAli scales each trace to its noise
(``scale_to_noise``: C_raw divided by its σ, per session, the gain kept so
that movie units can be recovered), deconvolves again and orders the
neurons by SNR (CNMF-E's ``orderROIs('snr')``). These are the numerics;
:mod:`caliali_tk.pipeline.traces` applies them to an extraction.
"""

from __future__ import annotations

import numpy as np

from caliali_tk.core.noise import trace_noise

__all__ = ["session_slices", "noise_scale", "apply_scale", "trace_snr", "snr_order"]


def session_slices(n_frames, frames_per_session=None):
    """Frame ranges of the sessions: one slice per session, or one for all.

    A session list that does not add up to ``n_frames`` (or is empty) is
    treated as one session.

    Examples
    --------
    >>> session_slices(10, [4, 6])
    [slice(0, 4, None), slice(4, 10, None)]
    >>> session_slices(10, [4, 5])
    [slice(0, 10, None)]
    """
    counts = [int(n) for n in (frames_per_session or [])]
    if not counts or sum(counts) != n_frames or min(counts) <= 0:
        return [slice(0, int(n_frames))]
    edges = np.concatenate([[0], np.cumsum(counts)])
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def noise_scale(C_raw, C, slices):
    """Noise σ of each trace in each session, from the residual ``C_raw − C``.

    The residual of the deconvolution holds the noise without the calcium
    (whose power at low frame rates reaches the band the noise is read from);
    σ is its :func:`~caliali_tk.core.noise.trace_noise`. A σ that is not
    positive and finite (a flat trace) is 1.

    Parameters
    ----------
    C_raw, C : ndarray (K, T)
    slices : list of slice
        :func:`session_slices`.

    Returns
    -------
    scale : ndarray float32 (K, n_sessions)
    """
    K = C_raw.shape[0]
    scale = np.ones((K, len(slices)), np.float32)
    resid = np.asarray(C_raw, np.float64) - np.asarray(C, np.float64)
    for j, sl in enumerate(slices):
        for k in range(K):
            seg = resid[k, sl]
            sn = trace_noise(seg) if seg.size > 1 else 0.0
            if np.isfinite(sn) and sn > 0:
                scale[k, j] = sn
    return scale


def apply_scale(X, scale, slices):
    """``X`` (K, T) divided, session by session, by ``scale`` (K, n_sessions)."""
    out = np.array(X, np.float32, copy=True)
    for j, sl in enumerate(slices):
        out[:, sl] /= scale[:, j:j + 1]
    return out


def trace_snr(C, C_raw):
    """CNMF-E's SNR of each trace: ``var(C) / var(C_raw − C)``.

    0 for a flat C; ``inf`` is never returned (a zero residual counts as
    1e-12 of the signal's variance).

    Examples
    --------
    >>> C = np.array([[0., 1., 0., 1.]]); noise = np.array([[.1, -.1, .1, -.1]])
    >>> trace_snr(C, C + noise).round(1)
    array([25.])
    """
    C = np.asarray(C, np.float64)
    sig = C.var(axis=1) if C.shape[1] else np.zeros(C.shape[0])
    res = (np.asarray(C_raw, np.float64) - C).var(axis=1) if C.shape[1] else np.zeros(C.shape[0])
    return (sig / np.maximum(res, 1e-12 * np.maximum(sig, 1e-300))).astype(np.float32)


def snr_order(snr):
    """Indices that sort neurons by decreasing SNR (ties keep their order)."""
    return np.argsort(-np.asarray(snr, np.float64), kind="stable").astype(np.int64)
