"""Line noise: the numba offsets against a numpy twin, detection and removal on
simulated stripes (ground truth known) at several frame rates."""

import numpy as np
import pytest
from scipy import ndimage

from caliali_tk.core.stripes import (_raw_offsets, line_offsets, measure_line_noise,
                                     smooth_window)
from caliali_tk.demo import artefacts
from caliali_tk.demo.simulate import simulate


def offsets_twin(frames, baseline, smooth):
    """Plain numpy: row medians, column medians of the rest, slow part removed."""
    D = frames.astype(np.float64) - baseline
    rows = np.median(D, axis=2)
    cols = np.median(D - rows[:, :, None], axis=1)
    rows -= ndimage.median_filter(rows, size=(1, min(smooth, rows.shape[1]) | 1), mode="nearest")
    cols -= ndimage.median_filter(cols, size=(1, min(smooth, cols.shape[1]) | 1), mode="nearest")
    return rows, cols


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 8, 6), (4, 33, 17), (2, 1, 1), (1, 2, 2)])
def test_raw_offsets_match_numpy_medians(shape):
    rng = np.random.default_rng(sum(shape))
    Y = rng.standard_normal(shape).astype(np.float32)
    Y[0] = np.round(Y[0])  # ties, as integer movies have
    b = rng.standard_normal(shape[1:]).astype(np.float32)
    rows = np.empty(shape[:2], np.float32)
    cols = np.empty((shape[0], shape[2]), np.float32)
    _raw_offsets(Y, b, rows, cols)
    D = Y - b
    r = np.median(D, axis=2)
    np.testing.assert_allclose(rows, r, atol=1e-6)
    np.testing.assert_allclose(cols, np.median(D - r[:, :, None], axis=1), atol=1e-6)


def test_line_offsets_match_the_twin():
    rng = np.random.default_rng(1)
    Y = rng.standard_normal((5, 40, 50)).astype(np.float32) + rng.standard_normal((5, 40, 1))
    b = np.median(Y, axis=0)
    rows, cols = line_offsets(Y, b, 15)
    r2, c2 = offsets_twin(Y, b, 15)
    np.testing.assert_allclose(rows, r2, atol=1e-5)
    np.testing.assert_allclose(cols, c2, atol=1e-5)


def test_smooth_window_is_odd_and_wide():
    for g in (1.0, 2.5, 4.0):
        w = smooth_window(g)
        assert w % 2 == 1 and w >= 8 * 4 * g - 1 and w >= 15


@pytest.mark.parametrize("fps", [5.0, 10.0, 30.0])
def test_stripes_are_found_and_removed(fps):
    kw = dict(n_neurons=20, seed=3, fps=fps)
    Y0, truth = simulate(96, 96, 300, **kw)
    Y, _ = simulate(96, 96, 300, line_noise=1.0, **kw)
    stripes = Y - Y0  # exactly the simulated row offsets
    assert np.allclose(stripes, stripes[:, :, :1], atol=1e-3)
    lines = measure_line_noise(Y[::2], truth.gSig)
    assert lines.rows and not lines.cols
    assert 0.7 < lines.row_ratio < 1.4
    rows, cols = line_offsets(Y, lines.baseline, lines.smooth)
    true_rows = stripes[:, :, 0]  # what is removed: the row-to-row part
    true_rows = true_rows - ndimage.median_filter(true_rows, size=(1, lines.smooth if
                                                  lines.smooth < 96 else 95), mode="nearest")
    r = np.corrcoef(rows.ravel(), true_rows.ravel())[0, 1]
    assert r > 0.95
    left = (true_rows - rows).std() / truth.noise
    assert left < 0.25  # was 1.0


def test_clean_movies_are_left_alone():
    for kw in ({}, {"bg_removed": True}, {"cell_spacing_um": 8.0}):
        Y, truth = simulate(96, 96, 200, n_neurons=30, seed=2, **kw)
        lines = measure_line_noise(Y, truth.gSig)
        assert not lines.active, (kw, lines.describe())


def test_modes_on_and_off():
    Y, truth = simulate(64, 64, 100, n_neurons=5, seed=1)
    assert measure_line_noise(Y, 2.5, "on").rows
    assert not measure_line_noise(Y, 2.5, "off").active


def test_column_stripes_are_found():
    Y, truth = simulate(96, 96, 200, n_neurons=10, seed=4, col_noise=0.8)
    lines = measure_line_noise(Y, truth.gSig)
    assert lines.cols and not lines.rows and 0.5 < lines.col_ratio < 1.2
    assert "columns" in lines.describe() and "(removed)" in lines.describe()


def test_line_offsets_of_the_artefact_function():
    rng = np.random.default_rng(0)
    off = artefacts.line_offsets(rng, (50, 20, 30), 2.0, 0.0)
    assert np.allclose(off, off[:, :, :1]) and 1.5 < off[:, :, 0].std() < 2.5


def test_stripes_are_measured_once_per_extraction_and_cached(tmp_path, monkeypatch):
    """The summary images measure the stripes; the cache keeps them (baseline
    included), and an extraction after a cached summary does not measure again."""
    from caliali_tk.demo.files import write_video
    from caliali_tk.io.params import FileParams
    import importlib

    from caliali_tk.pipeline import frames, summary as summary_mod
    extract_mod = importlib.import_module("caliali_tk.pipeline.extract")

    Y, truth = simulate(64, 64, 300, n_neurons=8, seed=2, line_noise=1.0)
    path = tmp_path / "striped.h5"
    write_video(path, Y, truth)
    calls = []
    real = frames.measure_video

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(summary_mod, "measure_video", counting)
    monkeypatch.setattr(extract_mod, "measure_video", counting)
    first = summary_mod.compute_summary(path, truth.gSig)
    assert first.lines is not None and first.lines.rows and len(calls) == 1
    again = summary_mod.compute_summary(path, truth.gSig)  # from the cache
    assert len(calls) == 1 and again.lines.rows == first.lines.rows
    np.testing.assert_array_equal(again.lines.baseline, first.lines.baseline)
    assert again.lines.smooth == first.lines.smooth
    result = extract_mod.extract(path, FileParams(gSig=truth.gSig), out_path=False)
    assert len(calls) == 1 and result.attrs["line_noise"]["rows"]
