"""The alternating CNMF-E updates: temporal, spatial, merge, clean-up.

Each takes the products that a streaming pass over the movie produced
(``A^T (Y - B)``, ``(Y - B) C^T`` on the search areas), so nothing here
needs the movie itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from caliali_tk.core.deconv import DeconvSettings, deconvolve_trace
from caliali_tk.core.cnmfe import footprints as fp
from caliali_tk.core.cnmfe.kernels import entries_by_pixel, hals_spatial


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


def temporal_update(AtYb: np.ndarray, AtA: np.ndarray, C: np.ndarray,
                    settings: DeconvSettings | None = None, n_sweeps: int = 2) -> Traces:
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
    """
    settings = DeconvSettings() if settings is None else settings
    K, T = AtYb.shape
    C = np.array(C, np.float64)
    C_raw = np.zeros((K, T))
    S = np.zeros((K, T))
    sn = np.zeros(K)
    g = np.zeros((K, 2))
    kernel = [(None, None)] * K
    for sweep in range(n_sweeps):
        for k in range(K):
            akk = AtA[k, k]
            if akk <= 0:
                continue
            raw = C[k] + (AtYb[k] - AtA[k] @ C) / akk
            d = deconvolve_trace(raw, settings, *kernel[k])
            kernel[k] = (d.g, d.sn)
            C[k] = d.c
            C_raw[k] = raw - d.b
            S[k], sn[k], g[k] = d.s, d.sn, np.pad(d.g, (0, 2 - d.g.size))
    return Traces(C.astype(np.float32), C_raw.astype(np.float32),
                  S.astype(np.float32), sn.astype(np.float32), g)


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


def merge_components(A: sparse.csc_matrix, C: np.ndarray, merge_thr: float,
                     shape: tuple | None = None):
    """Merge components whose footprints touch and traces correlate.

    Two footprints touch when they overlap or, given the frame ``shape``,
    are 8-neighbours somewhere (one neuron split in two pieces by the
    initialisation does not overlap itself). Groups are the connected
    pieces of the graph "touch and corr(C) > merge_thr". Each group becomes
    one component: the best rank-1 non-negative fit of the group's summed
    ``a c^T``.

    Returns
    -------
    A, C, merged : new footprints and traces; ``merged`` is the list
    of groups (index arrays) that were merged.
    """
    K = A.shape[1]
    if K < 2:
        return A, C, []
    grown = A if shape is None else fp.search_areas(A, shape, 1.5, max(shape))
    overlap = (grown.T @ (A > 0).astype(np.float32)).toarray() > 0
    overlap |= overlap.T
    corr = np.corrcoef(C) if C.shape[1] > 1 else np.eye(K)
    corr = np.nan_to_num(corr)
    link = overlap & (corr > merge_thr)
    np.fill_diagonal(link, False)
    n, labels = connected_components(sparse.csr_matrix(link), directed=False)
    if n == K:
        return A, C, []
    cols, vals, traces, groups = [], [], [], []
    for lab in range(n):
        members = np.flatnonzero(labels == lab)
        if len(members) == 1:  # unmerged: kept as it is
            k = members[0]
            a_idx, a_val, c = A.indices[A.indptr[k]:A.indptr[k + 1]], \
                A.data[A.indptr[k]:A.indptr[k + 1]], C[k]
        else:
            a_idx, a_val, c = _rank1(A, C, members)
            groups.append(members)
        cols.append(a_idx)
        vals.append(a_val)
        traces.append(c)
    A_new = fp.from_columns(cols, vals, A.shape[0])
    C_new = np.array(traces, np.float32)
    return A_new, C_new, groups


def _rank1(A, C, members, n_iter=10):
    """Rank-1 NMF of ``sum_k a_k c_k^T`` over the members' pixels."""
    sub = A[:, members]
    idx = np.unique(sub.indices)
    M = sub[idx, :].toarray()
    Y = M @ C[members]
    a = M.sum(axis=1)
    c = np.maximum(a @ Y / max(a @ a, 1e-12), 0)
    for _ in range(n_iter):
        a = np.maximum(Y @ c / max(c @ c, 1e-12), 0)
        c = np.maximum(a @ Y / max(a @ a, 1e-12), 0)
    peak = a.max() if a.max() > 0 else 1.0
    return idx.astype(np.int64), (a / peak).astype(np.float32), (c * peak).astype(np.float32)


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
