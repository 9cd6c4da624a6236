"""Seeds: local maxima of Cn·PNR, thresholds, mask; recall on simulated movies."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from caliali_tk.core.seeds import SeedFinder, find_seeds, local_maxima, seed_radius


def _images(H=60, W=70, seed=0):
    rng = np.random.default_rng(seed)
    Cn = ndimage.gaussian_filter(rng.random((H, W)), 1.5)
    Cn = (Cn - Cn.min()) / (Cn.max() - Cn.min())
    PNR = 20 * ndimage.gaussian_filter(rng.random((H, W)), 1.0)
    return Cn.astype(np.float32), PNR.astype(np.float32)


def test_seed_radius():
    assert [seed_radius(g) for g in (0.5, 1, 1.5, 2.5, 3, 4, 5, 6, 8)] == [1, 1, 1, 1, 1, 2, 2, 3, 4]


@pytest.mark.parametrize("r", [1, 2, 3])
def test_maxima_match_maximum_filter_without_ties(r):
    rng = np.random.default_rng(r)
    img = ndimage.gaussian_filter(rng.random((50, 61)), 1.0)
    rows, cols = local_maxima(img, r, border=1)
    ref = img == ndimage.maximum_filter(img, size=2 * r + 1, mode="constant", cval=-np.inf)
    ref[[0, -1], :] = ref[:, [0, -1]] = False
    got = np.zeros_like(ref)
    got[rows, cols] = True
    assert np.array_equal(got, ref)


@pytest.mark.parametrize("shape", ["square", "line", "big", "u"])
def test_plateau_yields_one_seed(shape):
    Cn = np.zeros((40, 40), np.float32)
    PNR = np.full((40, 40), 10.0, np.float32)
    if shape == "square":
        Cn[10:13, 20:23] = 0.9
    elif shape == "line":
        Cn[15, 5:30] = 0.9
    elif shape == "big":
        Cn[5:35, 5:35] = 0.9
    else:  # a U: the two arms are further apart than the window
        Cn[10:20, 10] = Cn[10:20, 18] = Cn[19, 10:19] = 0.9
    s = find_seeds(Cn, PNR, 0.8, 8, gSig=2.5)
    assert s.count == 1
    assert Cn[s.rows[0], s.cols[0]] == np.float32(0.9)
    if shape == "square":
        assert (s.rows[0], s.cols[0]) == (11, 21)  # the centre of the plateau


def test_equal_maxima_far_apart_both_kept():
    Cn = np.zeros((30, 30), np.float32)
    Cn[10, 10] = Cn[10, 20] = 0.9
    s = find_seeds(Cn, np.full_like(Cn, 10), 0.8, 8, gSig=2.5)
    assert s.count == 2


def test_whole_image_constant_and_nan():
    s = find_seeds(np.full((9, 9), 0.9), np.full((9, 9), 10.0), 0.8, 8, gSig=2.5)
    assert s.count == 1
    Cn, PNR = _images()
    Cn[20:25, 20:25] = np.nan
    s = find_seeds(Cn, PNR, 0.0, 0.0, gSig=2.5)
    assert np.all(np.isfinite(Cn[s.rows, s.cols]))


def test_border_is_never_a_seed():
    Cn = np.zeros((20, 20), np.float32)
    Cn[0, 5] = Cn[19, 19] = Cn[10, 0] = 1.0
    Cn[10, 10] = 0.9
    s = find_seeds(Cn, np.full_like(Cn, 10), 0.8, 8, gSig=2.5)
    assert list(zip(s.rows, s.cols)) == [(10, 10)]
    assert find_seeds(Cn, np.full_like(Cn, 10), 0.8, 8, gSig=2.5, border=0).count == 4


def test_masked_region_yields_none():
    Cn, PNR = _images()
    everything = find_seeds(Cn, PNR, 0.0, 0.0, gSig=2.5)
    mask = np.ones(Cn.shape, bool)
    mask[:, :35] = False
    s = find_seeds(Cn, PNR, 0.0, 0.0, gSig=2.5, mask=mask)
    assert s.count > 0 and np.all(s.cols >= 35)
    assert not s.both[:, :35].any()
    assert s.count == int((everything.cols >= 35).sum())
    # the per-threshold maps ignore the mask; `both` does not
    assert s.cn_pass[:, :35].any() and np.array_equal(s.cn_pass, everything.cn_pass)
    assert find_seeds(Cn, PNR, 0.0, 0.0, 2.5, mask=np.zeros_like(mask)).count == 0
    with pytest.raises(ValueError):
        find_seeds(Cn, PNR, 0.0, 0.0, 2.5, mask=np.ones((3, 3), bool))


def test_seeds_sorted_and_maps_consistent():
    Cn, PNR = _images(seed=3)
    s = find_seeds(Cn, PNR, 0.3, 5.0, gSig=2.5)
    assert s.count == s.rows.size == s.cols.size == s.score.size
    assert np.all(np.diff(s.score) <= 0)
    assert np.allclose(s.score, Cn[s.rows, s.cols] * PNR[s.rows, s.cols], rtol=1e-6)
    assert np.all(Cn[s.rows, s.cols] >= 0.3) and np.all(PNR[s.rows, s.cols] >= 5.0)
    assert np.array_equal(s.both, s.cn_pass & s.pnr_pass)
    assert int(s.both.sum()) == s.count and s.both[s.rows, s.cols].all()
    assert np.all(Cn[s.cn_pass] >= 0.3) and np.all(PNR[s.pnr_pass] >= 5.0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 1000), c1=st.floats(0, 1), c2=st.floats(0, 1),
       p1=st.floats(0, 20), p2=st.floats(0, 20))
def test_thresholds_are_monotone(seed, c1, c2, p1, p2):
    Cn, PNR = _images(30, 30, seed)
    f = SeedFinder(Cn, PNR, 2.5)
    lo = f.find(min(c1, c2), min(p1, p2))
    hi = f.find(max(c1, c2), max(p1, p2))
    assert not (hi.both & ~lo.both).any()
    assert not (f.find(max(c1, c2), p1).both & ~f.find(min(c1, c2), p1).both).any()


# ------------------------------------------------- simulated ground truth ---

def _recall(height, width, n_frames, n_neurons, seed, min_corr=None, min_pnr=None,
            **sim):
    """Seed recall and count; the thresholds default to FileParams' defaults."""
    from caliali_tk.core.summary import summary_images
    from caliali_tk.io.params import FileParams
    from caliali_tk.demo.simulate import simulate

    min_corr = FileParams().min_corr if min_corr is None else min_corr
    min_pnr = FileParams().min_pnr if min_pnr is None else min_pnr
    Y, truth = simulate(height, width, n_frames, n_neurons=n_neurons, seed=seed, **sim)
    s = summary_images(Y, truth.gSig)
    seeds = find_seeds(s.Cn, s.PNR, min_corr, min_pnr, gSig=truth.gSig)
    pts = np.stack([seeds.rows, seeds.cols], 1).astype(float)
    d = np.sqrt(((truth.centers[:, None, :] - pts[None]) ** 2).sum(-1)).min(1)
    return float((d <= 2.0).mean()), seeds.count, truth.K


@pytest.mark.parametrize("n_neurons, seed, sim", [
    (25, 0, {}), (100, 1, {}),
    (40, 2, {"snr": 2.0}),  # dimmer neurons
    (40, 3, {"gSig": 1.5}),  # smaller somata (the filter follows gSig)
    (20, 4, {"gSig": 4.0}),  # larger somata
    (40, 5, {"background_ratio": 12.0, "firing_rate": 0.1}),  # bright glow, rare firing
])
def test_default_thresholds_find_simulated_neurons(n_neurons, seed, sim):
    recall, count, K = _recall(128, 128, 1000, n_neurons, seed, **sim)
    assert recall >= 0.9
    assert K / 2 <= count <= 2 * K
