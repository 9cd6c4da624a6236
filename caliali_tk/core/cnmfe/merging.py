"""Merging components that are one neuron (split by the initialisation).

Three tests, as CaliAli runs them every round (issue 10), each linking a
pair of components; the groups are the connected pieces of the union:

1. *touch*: the footprints overlap or are 8-neighbours, and the traces C
   correlate above ``merge_thr``;
2. *close* (CNMF-E's ``merge_neurons_dist_corr``): the centres lie within
   ``dmin`` pixels and the traces correlate above ``merge_thr``;
3. *same shape* (CNMF-E's ``merge_high_corr``): the supports overlap
   strongly, ``|a_i ∩ a_j| / sqrt(|a_i| |a_j|)``, with thresholds
   ``SPATIAL_THRESHOLDS`` on (overlap, corr of C, corr of S): 0.8 with a
   trace correlation of 0.4, or 0.9 whatever the traces.

A group starts as the best rank-1 non-negative fit of its members' summed
``a c^T`` over their union; the extraction then refits its footprint and
trace on the data (the spatial pass right after, the next temporal pass),
so what is kept comes from the movie, not from averaging the members.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from caliali_tk.core.cnmfe import footprints as fp

__all__ = ["merge_links", "merge_groups", "merge_components", "SPATIAL_THRESHOLDS"]

#: (support overlap, corr of C, corr of S) that must all be reached.
SPATIAL_THRESHOLDS = ((0.8, 0.4, -np.inf), (0.9, -np.inf, -np.inf))


def _corr(X: np.ndarray) -> np.ndarray:
    """Row correlations with NaN (constant rows) as 0 and a zero diagonal."""
    K = len(X)
    if X.shape[1] < 2:
        return np.zeros((K, K))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.nan_to_num(np.corrcoef(X))
    np.fill_diagonal(r, 0.0)
    return r


def merge_links(A: sparse.csc_matrix, C: np.ndarray, S: np.ndarray | None,
                shape: tuple | None, merge_thr: float, dmin: float) -> np.ndarray:
    """Boolean (K, K) symmetric matrix: pairs that one of the tests links.

    Without the frame ``shape`` footprints touch only where they overlap
    and the distance test is skipped.
    """
    K = A.shape[1]
    if K < 2:
        return np.zeros((K, K), bool)
    support = (A > 0).astype(np.float32)
    grown = support if shape is None else fp.search_areas(A, shape, 1.5, max(shape))
    touch = (grown.T @ support).toarray() > 0
    touch |= touch.T
    n_pix = np.maximum(np.asarray(support.sum(axis=0)).ravel(), 1)
    overlap = (support.T @ support).toarray() / np.sqrt(np.outer(n_pix, n_pix))
    c_corr = _corr(C)
    s_corr = _corr(S) if S is not None else np.zeros((K, K))
    close = touch
    if shape is not None and dmin > 0:
        centers = fp.centers_of(A, shape)
        dist = np.hypot(*(centers[:, None, :] - centers[None, :, :]).transpose(2, 0, 1))
        close = touch | (dist <= dmin)
    link = close & (c_corr > merge_thr)
    for a_thr, c_thr, s_thr in SPATIAL_THRESHOLDS:
        link |= (overlap >= a_thr) & (c_corr >= c_thr) & (s_corr >= s_thr)
    np.fill_diagonal(link, False)
    return link | link.T


def merge_groups(A: sparse.csc_matrix, C: np.ndarray, link: np.ndarray):
    """Replace each linked group by one component (rank-1 start, see module doc).

    Returns
    -------
    A, C : new footprints (peak 1) and traces
    groups : list of index arrays, the groups that were merged
    """
    K = A.shape[1]
    n, labels = connected_components(sparse.csr_matrix(link), directed=False)
    if n == K:
        return A, C, []
    cols, vals, traces, groups = [], [], [], []
    for lab in range(n):
        members = np.flatnonzero(labels == lab)
        if len(members) == 1:  # unmerged: kept as it is
            k = members[0]
            s, e = A.indptr[k], A.indptr[k + 1]
            a_idx, a_val, c = A.indices[s:e], A.data[s:e], C[k]
        else:
            a_idx, a_val, c = _rank1(A, C, members)
            groups.append(members)
        cols.append(a_idx)
        vals.append(a_val)
        traces.append(c)
    return fp.from_columns(cols, vals, A.shape[0]), np.array(traces, np.float32), groups


def merge_components(A: sparse.csc_matrix, C: np.ndarray, merge_thr: float,
                     shape: tuple | None = None, S: np.ndarray | None = None,
                     dmin: float = 0.0):
    """Merge the components the three tests link (see the module doc).

    Returns
    -------
    A, C, merged : new footprints and traces, and the merged groups.
    """
    link = merge_links(A, C, S, shape, merge_thr, dmin)
    return merge_groups(A, C, link)


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
