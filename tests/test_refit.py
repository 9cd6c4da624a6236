"""Merging and adding neurons from the movie, checked against simulated ground truth.

The "extraction" here is the ground truth itself (footprints at peak 1,
b0 the movie's mean minus the neurons'), so what is measured is the refit:
a neuron split in two and merged back, or left out and added back by a
click near it, must find the true footprint and trace again, at several
frame rates.
"""

from __future__ import annotations

import numpy as np
import pytest

from caliali_tk.core.cnmfe.refit import LocalFit, box_around, merged_footprint
from caliali_tk.core.filters import centered_gaussian_kernel, spatial_filter
from caliali_tk.core.noise import robust_noise, temporal_median
from caliali_tk.demo.files import write_video
from caliali_tk.demo.simulate import simulate
from caliali_tk.io.curation import Curation, CurationError
from caliali_tk.io.results import Result
from caliali_tk.pipeline.curate import add_neuron, merge


def truth_result(Y, truth, fps, drop=()) -> Result:
    """A Result holding the ground truth (minus neurons `drop`)."""
    peak = truth.A.reshape(truth.K, -1).max(axis=1)
    A = truth.A / peak[:, None, None]
    C = truth.C * peak[:, None]
    b0 = Y.mean(axis=0) - np.einsum("khw,k->hw", A, C.mean(axis=1))
    keep = np.setdiff1d(np.arange(truth.K), drop)
    return Result(A=A[keep], C=C[keep], C_raw=C[keep], S=truth.S[keep],
                  b0=b0.astype(np.float32), Cn=np.zeros_like(b0), PNR=np.zeros_like(b0),
                  centers=truth.centers[keep], sn=np.ones(len(keep), np.float32),
                  params={"gSig": 2.5, "fps": fps, "min_pixels": 5}, attrs={"fps": fps})


def clearest(Y, truth) -> int:
    """The neuron whose centre peaks highest in the filtered movie (a seed for sure)."""
    Yf = spatial_filter(Y, centered_gaussian_kernel(2.5))
    Yf -= temporal_median(Yf)[None]
    pnr = Yf.max(axis=0) / robust_noise(Yf)
    rows, cols = np.round(truth.centers).astype(int).T
    return int(np.argmax(pnr[rows, cols]))


def corr(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


@pytest.fixture(scope="module", params=[5.0, 10.0, 30.0], ids=lambda f: f"{f:g}Hz")
def movie(request, tmp_path_factory):
    fps = request.param
    T = int(60 * fps)
    Y, truth = simulate(64, 64, T, n_neurons=12, gSig=2.5, fps=fps, snr=3.0, seed=21)
    path = tmp_path_factory.mktemp("refit") / f"m{fps:g}.h5"
    write_video(path, Y, truth)
    return path, Y, truth, fps


def test_local_fit_matches_plain_least_squares():
    rng = np.random.default_rng(1)
    targets = rng.uniform(0, 1, (2, 12, 10))
    fixed = rng.uniform(0, 1, (1, 12, 10))
    b0 = rng.uniform(5, 6, (12, 10))
    C_true = rng.uniform(0, 3, (2, 7))
    C_fixed = rng.uniform(0, 3, (1, 7))
    y, x = np.mgrid[0:12, 0:10]
    tilt = [0.3 * t * x / 9 + 0.1 * y / 11 for t in range(7)]
    Y = np.stack([b0 + np.tensordot(C_true[:, t], targets, 1)
                  + np.tensordot(C_fixed[:, t], fixed, 1) + tilt[t] for t in range(7)])
    fit = LocalFit(targets, fixed, b0)
    assert np.allclose(fit.traces(Y, C_fixed), C_true, atol=1e-4)   # the surface absorbs the tilt
    for t in range(7):                                              # the same, frame by frame
        X = np.column_stack([targets.reshape(2, -1).T, np.ones(120), x.ravel(), y.ravel()])
        coef, *_ = np.linalg.lstsq(X, (Y[t] - b0 - C_fixed[0, t] * fixed[0]).ravel(),
                                   rcond=None)
        assert np.allclose(coef[:2], C_true[:, t], atol=1e-4)


def test_merged_footprint_of_two_halves_is_the_whole():
    a = np.zeros((20, 20))
    a[6:13, 5:14] = np.outer(np.hanning(7), np.hanning(9))
    left, right = a.copy(), a.copy()
    left[:, 10:] = 0
    right[:, :10] = 0
    c = np.abs(np.sin(np.arange(50) / 3))
    m = merged_footprint(np.stack([left, right]), np.stack([c, c]))
    assert m.max() == pytest.approx(1.0) and corr(m, a) > 0.999
    assert box_around(m, 2, (20, 20)) == (slice(5, 14), slice(4, 15))


def test_merge_of_a_split_neuron_recovers_its_trace(movie):
    path, Y, truth, fps = movie
    res = truth_result(Y, truth, fps)
    j = 4
    a = res.A[j]
    cols = np.arange(a.shape[1])[None, :] < truth.centers[j, 1]
    halves = np.stack([np.where(cols, a, 0), np.where(cols, 0, a)])
    split = Result(**{**res.__dict__,
                      "A": np.concatenate([np.delete(res.A, j, 0), halves]),
                      **{n: np.concatenate([np.delete(getattr(res, n), j, 0),
                                            getattr(res, n)[[j, j]]])
                         for n in ("C", "C_raw", "S", "sn", "centers")}})
    cur = Curation(split)
    K = split.K
    seen = []
    made = merge(cur, [K - 1, K], path, progress=lambda f, m: seen.append(f))
    assert made == K + 1 and K - 1 not in cur.numbers and K not in cur.numbers
    pid = cur.state.ids[cur.position(made)]
    assert corr(cur.pool.A[pid], truth.A[j]) > 0.97
    assert corr(cur.pool.C[pid], truth.C[j]) > 0.95
    assert corr(cur.pool.C_raw[pid], truth.C[j]) > 0.9
    assert seen and seen[-1] == pytest.approx(1.0)


def test_add_a_left_out_neuron_by_a_click_next_to_it(movie):
    path, Y, truth, fps = movie
    j = clearest(Y, truth)  # a click on a neuron too dim to be a seed fails (below)
    cur = Curation(truth_result(Y, truth, fps, drop=[j]))
    row, col = truth.centers[j]
    made, neighbours = add_neuron(cur, row + 1.2, col - 0.8, path)
    pid = cur.state.ids[cur.position(made)]
    assert corr(cur.pool.A[pid], truth.A[j]) > 0.85
    assert corr(cur.pool.C[pid], truth.C[j]) > 0.9
    for n in neighbours:                               # refitted, kept their numbers
        k = int(n) - 1 if n - 1 < j else int(n)        # truth index of list number n
        q = cur.state.ids[cur.position(n)]
        assert q >= cur.made_from and corr(cur.pool.C[q], truth.C[k]) > 0.9


def test_add_on_a_neuron_already_there(movie):
    path, Y, truth, fps = movie
    res = truth_result(Y, truth, fps)
    j = clearest(Y, truth)
    res.C[j] *= 0.3                                    # under-fitted: the residual keeps 70%
    cur = Curation(res)
    with pytest.raises(CurationError, match=f"neuron {j + 1} is already there"):
        add_neuron(cur, *truth.centers[j], path)
    assert len(cur.states) == 1


def test_add_where_there_is_nothing(movie):
    path, Y, truth, fps = movie
    cur = Curation(truth_result(Y, truth, fps))
    far = np.argmax(np.min(np.hypot(*(np.indices((64, 64)).reshape(2, -1, 1)
                                      - truth.centers.T[:, None, :])), axis=1))
    row, col = np.unravel_index(far, (64, 64))
    with pytest.raises(CurationError, match="no neuron found"):
        add_neuron(cur, row, col, path)
    assert len(cur.states) == 1                        # nothing changed
