"""Merging: one neuron split in two is merged by each test, two neurons are not."""

import numpy as np
from scipy import sparse

from caliali_tk.core.cnmfe.merging import merge_components, merge_links

SHAPE = (40, 40)


def blob(center, sd=2.5, cut=0.05):
    rr, cc = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    a = np.exp(-0.5 * ((rr - center[0]) ** 2 + (cc - center[1]) ** 2) / sd ** 2)
    a[a < cut] = 0
    return a.ravel()


def trace(rng, T=500):
    s = (rng.random(T) < 0.03) * rng.uniform(1, 2, T)
    return np.convolve(s, 0.85 ** np.arange(30))[:T]


def test_split_cell_is_merged_and_distinct_cells_are_not():
    rng = np.random.default_rng(0)
    c, other = trace(rng), trace(rng)
    A = sparse.csc_matrix(np.stack([blob((10, 10)), blob((12, 11)), blob((30, 30))], 1)
                          .astype(np.float32))
    C = np.stack([c, 0.8 * c + 0.05 * rng.standard_normal(500), other]).astype(np.float32)
    A2, C2, groups = merge_components(A, C, 0.65, SHAPE, dmin=5.0)
    assert A2.shape[1] == 2 and [list(g) for g in groups] == [[0, 1]]
    assert np.corrcoef(C2[0], c)[0, 1] > 0.99
    assert np.isclose(A2[:, 0].max(), 1.0)


def test_close_centres_merge_without_touching():
    rng = np.random.default_rng(1)
    c = trace(rng)
    A = sparse.csc_matrix(np.stack([blob((10, 10), 1.0, 0.5), blob((10, 14), 1.0, 0.5)], 1)
                          .astype(np.float32))
    C = np.stack([c, c + 0.1 * rng.standard_normal(500)])
    far = merge_links(A, C, None, SHAPE, 0.65, dmin=2.0)
    close = merge_links(A, C, None, SHAPE, 0.65, dmin=5.0)
    assert not far[0, 1] and close[0, 1]


def test_same_support_merges_whatever_the_traces():
    rng = np.random.default_rng(2)
    a = blob((20, 20))
    A = sparse.csc_matrix(np.stack([a, 0.5 * a], 1).astype(np.float32))
    C = np.stack([trace(rng), trace(rng)])
    S = np.diff(C, axis=1, prepend=0)
    assert merge_links(A, C, S, None, 0.99, dmin=0.0)[0, 1]  # overlap 1.0 >= 0.9


def test_neighbours_with_independent_traces_stay_apart():
    rng = np.random.default_rng(3)
    A = sparse.csc_matrix(np.stack([blob((20, 17)), blob((20, 23))], 1).astype(np.float32))
    C = np.stack([trace(rng), trace(rng)])
    assert not merge_links(A, C, None, SHAPE, 0.65, dmin=5.0).any()


def test_merged_origin_names_where_each_new_component_came_from():
    """merge_groups orders its output by smallest member; merged_origin says
    which old component each kept one is (so a kernel can follow it)."""
    from caliali_tk.core.cnmfe.merging import merged_origin

    rng = np.random.default_rng(3)
    c, d, e = trace(rng), trace(rng), trace(rng)
    # 0 and 3 are one cell split in two; 1, 2, 4 are distinct
    centres = [(8, 8), (30, 8), (8, 30), (10, 9), (30, 30)]
    A = sparse.csc_matrix(np.stack([blob(p) for p in centres], 1).astype(np.float32))
    C = np.stack([c, d, e, 0.9 * c + 0.05 * rng.standard_normal(500),
                  trace(rng)]).astype(np.float32)
    A2, C2, groups = merge_components(A, C, 0.65, SHAPE, dmin=5.0)
    origin = merged_origin(5, groups)
    assert [list(g) for g in groups] == [[0, 3]] and origin.tolist() == [-1, 1, 2, 4]
    for new, old in enumerate(origin):
        if old >= 0:
            assert np.array_equal(C2[new], C[old])
            assert np.allclose(A2[:, new].toarray(), A[:, old].toarray())
