"""Per-component numbers for the curation list: SNR, size, event count.

The real-recordings work (issue 10) stores richer quality metrics in the
results file (``/quality``); these three are what every result has, so the
list can show and sort them for any file, and for the components curation
makes (merges, added neurons).
"""

from __future__ import annotations

import numpy as np

__all__ = ["basic_quality", "event_counts", "BASIC_METRICS"]

BASIC_METRICS = ("snr", "size", "n_events")


def event_counts(S: np.ndarray) -> np.ndarray:
    """Number of runs of ``S > 0`` in each row of `S` (K, T): one per transient.

    OASIS may spread one transient over consecutive frames; those count once.

    Examples
    --------
    >>> event_counts(np.array([[0, 1, 2, 0, 0, 3], [0, 0, 0, 0, 0, 0]])).tolist()
    [2, 0]
    """
    on = np.asarray(S) > 0
    if on.shape[0] == 0 or on.shape[-1] == 0:
        return np.zeros(on.shape[0], np.int64)
    starts = on[:, 1:] & ~on[:, :-1]
    return (on[:, 0].astype(np.int64) + starts.sum(axis=1)).astype(np.int64)


def basic_quality(A: np.ndarray, C_raw: np.ndarray, S: np.ndarray,
                  sn: np.ndarray) -> dict:
    """``snr`` (max C_raw / sn), ``size`` (pixels of A > 0), ``n_events``.

    Parameters
    ----------
    A : ndarray (K, H, W)
    C_raw, S : ndarray (K, T)
    sn : ndarray (K,)

    Returns
    -------
    dict of str -> float32 (K,)
    """
    K = len(A)
    C_raw = np.asarray(C_raw, np.float64)
    peak = C_raw.max(axis=1) if K and C_raw.shape[1] else np.zeros(K)
    sn = np.asarray(sn, np.float64).reshape(K)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(sn > 0, peak / np.where(sn > 0, sn, 1.0), 0.0)
    A = np.asarray(A)
    size = (A.reshape(K, int(np.prod(A.shape[1:]))) > 0).sum(axis=1)
    return {"snr": snr.astype(np.float32), "size": size.astype(np.float32),
            "n_events": event_counts(np.asarray(S)).astype(np.float32)}
