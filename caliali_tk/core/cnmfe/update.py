"""The alternating CNMF-E updates: temporal, spatial, clean-up (merging is
in :mod:`caliali_tk.core.cnmfe.merging`).

Each takes the products that a streaming pass over the movie produced
(``A^T (Y - B)``, ``(Y - B) C^T`` on the search areas), so nothing here
needs the movie itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from caliali_tk.core.deconv import DeconvSettings, deconvolve_trace, kernel_noise, trim_ar
from caliali_tk.core.cnmfe import footprints as fp
from caliali_tk.core.cnmfe.kernels import entries_by_pixel, hals_spatial
from caliali_tk.core.threads import run_in_order


@dataclass
class Traces:
    """Denoised ``C``, raw ``C_raw`` (baseline removed), spikes ``S`` and the
    per-trace noise ``sn`` and AR coefficients ``g`` (K x 2; ``g[:, 1] = 0``
    for an AR(1) kernel)."""

    C: np.ndarray
    C_raw: np.ndarray
    S: np.ndarray
    sn: np.ndarray
    g: np.ndarray
    baselines: np.ndarray | None = None  # issue 9: (K, n_sessions) levels removed


def temporal_update(AtYb: np.ndarray, AtA: np.ndarray, C: np.ndarray,
                    settings: DeconvSettings | None = None, n_sweeps: int = 2,
                    baseline=None, alloc=None, kernels=None) -> Traces:
    """HALS on the traces, each one deconvolved with OASIS as it is updated.

    Parameters
    ----------
    AtYb : ndarray (K, T)
        ``A^T (Y - B)`` from the streaming pass.
    AtA : ndarray (K, K)
        Gram matrix of the footprints.
    C : ndarray (K, T)
        Current traces (the starting point).
    settings : DeconvSettings, optional
        How each trace is deconvolved (:func:`deconvolve_trace`); the
        defaults if None. The kernel and noise found for a neuron in the
        first sweep are kept for the later ones.
    n_sweeps : int
        HALS sweeps over the components.
    baseline : callable, optional
        ``raw -> (raw without its baseline, levels)``, applied to each raw
        trace before its deconvolution (issue 9: a baseline per session and
        the slow drift, :class:`caliali_tk.core.trace_baseline.TraceBaseline`).
    alloc : callable, optional
        ``alloc(shape) -> float32 zeros`` for the (K, T) outputs (default
        in memory; the pipeline passes one that may spill to disk).
    kernels : ndarray (K, 2), optional
        AR coefficients found for these neurons in an earlier round (as
        ``Traces.g``; a row of NaN: not known). A known kernel is kept and
        only σ is taken anew (:func:`~caliali_tk.core.deconv.kernel_noise`):
        the kernel fit is most of a temporal update's time, and a neuron's
        kernel does not change when its footprint is refined.

    The K x T arrays are float32 (each trace is deconvolved in float64),
    and only the footprints that overlap trace ``k`` enter its update, so
    memory is three K x T float32 arrays and time is linear in T.
    """
    settings = DeconvSettings() if settings is None else settings
    K, T = AtYb.shape
    alloc = alloc or (lambda shape: np.zeros(shape, np.float32))
    C_in, C = C, alloc((K, T))
    C[...] = C_in
    C_raw, S = alloc((K, T)), alloc((K, T))
    sn = np.zeros(K)
    g = np.zeros((K, 2))
    kernel = [(None, None)] * K
    start_b = [None] * K
    known = [None] * K
    if kernels is not None:
        known = [trim_ar(row) if np.isfinite(row).all() else None for row in np.asarray(kernels)]
    levels = np.zeros((K, baseline.n_sessions)) if baseline is not None else None
    near = [np.flatnonzero(AtA[k]) for k in range(K)]

    def update(k):
        akk = AtA[k, k]
        if akk <= 0:
            return
        nk = near[k]
        raw = C[k] + (AtYb[k] - AtA[k, nk] @ C[nk]) / akk
        lv = None
        if baseline is not None:
            raw, lv = baseline(raw)
        if kernel[k][0] is None and known[k] is not None:
            kernel[k] = (known[k], kernel_noise(raw, known[k]))
        d = deconvolve_trace(raw, settings, *kernel[k], b=start_b[k])
        kernel[k], start_b[k] = (d.g, d.sn), d.b  # the next sweep starts here
        C[k] = d.c
        C_raw[k] = raw - d.b
        S[k], sn[k], g[k] = d.s, d.sn, np.pad(d.g, (0, 2 - d.g.size))
        if levels is not None:
            levels[k] = lv + d.b

    for sweep in range(n_sweeps):
        # overlapping traces in index order, the others side by side
        run_in_order(update, K, near)
    return Traces(C, C_raw, S, sn.astype(np.float32), g, levels)


def spatial_update(A: sparse.csc_matrix, pattern: sparse.csc_matrix,
                   P: np.ndarray, CCt: np.ndarray, shape: tuple[int, int],
                   pixel_noise: np.ndarray, n_sweeps: int = 3,
                   noise_factor: float = 3.0) -> sparse.csc_matrix:
    """HALS on the footprints within their search areas, then clean-up.

    ``P`` holds ``(Y - B) C^T`` at the entries of ``pattern``. A pixel stays
    in footprint ``k`` when its value exceeds ``noise_factor`` times the
    noise of the estimate there, ``sigma_i / ||c_k||``.
    """
    d = shape[0] * shape[1]
    val = fp.on_pattern(A, pattern).astype(np.float64)
    ptr, order = entries_by_pixel(pattern.indices.astype(np.int64), d)
    hals_spatial(pattern.indptr.astype(np.int64), pattern.indices.astype(np.int64),
                 P.astype(np.float64), CCt.astype(np.float64), val, ptr, order,
                 n_sweeps)
    new = sparse.csc_matrix((val.astype(np.float32), pattern.indices, pattern.indptr),
                            shape=pattern.shape)
    norms = np.sqrt(np.maximum(np.diag(CCt), 1e-12))
    floor = np.zeros(A.shape[1])
    for k in range(A.shape[1]):
        s, e = new.indptr[k], new.indptr[k + 1]
        if e > s:
            floor[k] = noise_factor * np.median(pixel_noise[new.indices[s:e]]) / norms[k]
    return fp.clean_footprints(new, shape, floor)


def normalize(A: sparse.csc_matrix, C: np.ndarray, *others):
    """Scale each footprint to peak 1 and its traces by the same factor."""
    peaks = np.asarray(A.max(axis=0).todense()).ravel().astype(np.float32)
    peaks[peaks <= 0] = 1.0
    A = A @ sparse.diags(1.0 / peaks).astype(np.float32)
    scaled = [x * peaks[:, None] for x in (C,) + others]
    return (sparse.csc_matrix(A, dtype=np.float32), *scaled)


def bad_components(A: sparse.csc_matrix, traces: Traces, min_pixels: int,
                   min_trace_pnr: float) -> np.ndarray:
    """Boolean (K,) of components to drop: too small, or no real transient.

    The trace's peak-to-noise ratio ``max(C_raw) / sn`` must reach
    ``min_trace_pnr`` and the deconvolution must have found a spike.
    """
    n_pix = np.diff(A.indptr)
    pnr = traces.C_raw.max(axis=1) / np.maximum(traces.sn, 1e-12) \
        if traces.C_raw.shape[1] else np.zeros(A.shape[1])
    no_spikes = traces.S.max(axis=1) <= 0 if traces.S.shape[1] else np.ones(A.shape[1], bool)
    return (n_pix < min_pixels) | (pnr < min_trace_pnr) | no_spikes
