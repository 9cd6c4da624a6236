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

__all__ = ["merge_links", "merge_groups", "merge_components", "merged_origin",
           "pair_correlations", "SPATIAL_THRESHOLDS"]

#: (support overlap, corr of C, corr of S) that must all be reached.
SPATIAL_THRESHOLDS = ((0.8, 0.4, -np.inf), (0.9, -np.inf, -np.inf))


def pair_correlations(C: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Pearson correlation of the traces of every pair marked in ``pairs``.

    ``pairs`` is a boolean (K, K); other entries are 0. Only the marked
    pairs are computed, a row at a time, so no K x T temporary is made
    (``np.corrcoef`` would make two in float64).
    """
    K, T = C.shape
    corr = np.zeros((K, K))
    if T < 2:
        return corr
    mean = np.zeros(K)
    norm = np.zeros(K)
    for k in range(K):
        c = np.asarray(C[k], np.float64)
        mean[k] = c.mean()
        norm[k] = np.sqrt(max(float(np.dot(c, c)) - T * mean[k] ** 2, 0.0))
    for i in range(K):
        js = np.flatnonzero(pairs[i, i + 1:]) + i + 1
        if not len(js) or norm[i] == 0:
            continue
        ci = np.asarray(C[i], np.float64)
        dots = np.asarray(C[js], np.float64) @ ci - T * mean[js] * mean[i]
        den = norm[js] * norm[i]
        corr[i, js] = np.where(den > 0, dots / np.where(den > 0, den, 1.0), 0.0)
    return corr + corr.T


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
    close = touch
    if shape is not None and dmin > 0:
        centers = fp.centers_of(A, shape)
        dist = np.hypot(*(centers[:, None, :] - centers[None, :, :]).transpose(2, 0, 1))
        close = touch | (dist <= dmin)
    # only pairs a test can link need their trace correlations (no K x T copies)
    candidates = close | (overlap >= min(t[0] for t in SPATIAL_THRESHOLDS))
    np.fill_diagonal(candidates, False)
    c_corr = pair_correlations(C, candidates)
    s_corr = pair_correlations(S, candidates) if S is not None else np.zeros((K, K))
    link = close & (c_corr > merge_thr)
    for a_thr, c_thr, s_thr in SPATIAL_THRESHOLDS:
        link |= (overlap >= a_thr) & (c_corr >= c_thr) & (s_corr >= s_thr)
    np.fill_diagonal(link, False)
    return link | link.T


def merge_groups(A: sparse.csc_matrix, C: np.ndarray, link: np.ndarray, alloc=None):
    """Replace each linked group by one component (rank-1 start, see module doc).

    ``alloc(shape)`` makes the new (K', T) float32 trace array (default
    ``np.zeros``; the extraction passes its memory plan's allocator).

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
    first = np.full(n, K)
    np.minimum.at(first, labels, np.arange(K))
    for lab in np.argsort(first, kind="stable"):  # by smallest member: see merged_origin
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
    C_new = (alloc or (lambda shape: np.zeros(shape, np.float32)))((len(traces), C.shape[1]))
    for i, c in enumerate(traces):
        C_new[i] = c
    return fp.from_columns(cols, vals, A.shape[0]), C_new, groups


def merged_origin(K: int, groups) -> np.ndarray:
    """Where each component after `merge_groups` came from: (K',) int, the old
    index of a component kept as it was, -1 for one made from a group.

    `merge_groups` lists its new components in the order of their smallest
    old member.

    >>> merged_origin(5, [np.array([1, 3])]).tolist()
    [0, -1, 2, 4]
    """
    merged = np.zeros(K, bool)
    units = []
    for g in groups:
        merged[g] = True
        units.append((int(np.min(g)), -1))
    units += [(k, k) for k in range(K) if not merged[k]]
    return np.array([origin for _, origin in sorted(units)], np.int64)


def merge_components(A: sparse.csc_matrix, C: np.ndarray, merge_thr: float,
                     shape: tuple | None = None, S: np.ndarray | None = None,
                     dmin: float = 0.0, alloc=None):
    """Merge the components the three tests link (see the module doc).

    Returns
    -------
    A, C, merged : new footprints and traces, and the merged groups.
    """
    link = merge_links(A, C, S, shape, merge_thr, dmin)
    return merge_groups(A, C, link, alloc)


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
