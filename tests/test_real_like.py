"""The simulator's artefacts of real recordings, the results' quality and
rejected groups, and extraction through line noise."""

import h5py
import numpy as np
import pytest
from scipy import fft

from caliali_tk.demo import artefacts
from caliali_tk.demo.files import write_simulated
from caliali_tk.demo.selftest import score_against_truth
from caliali_tk.demo.simulate import simulate
from caliali_tk.gui.threshold_layout import arrange
from caliali_tk.io.params import FileParams
from caliali_tk.io.results import load_results, write_results
from caliali_tk.pipeline import extract


def test_clean_movies_do_not_change_with_the_options_off():
    a, _ = simulate(48, 48, 120, n_neurons=5, seed=3)
    b, _ = simulate(48, 48, 120, n_neurons=5, seed=3, line_noise=0.0, block_q=0.0)
    np.testing.assert_array_equal(a, b)


def test_dense_population_spacing():
    _, truth = simulate(128, 128, 50, n_neurons=200, seed=1, cell_spacing_um=8.0,
                        um_per_px=1.5)
    c = truth.centers
    d = np.hypot(*(c[:, None] - c[None]).transpose(2, 0, 1)) + np.eye(len(c)) * 1e9
    assert d.min() >= 8.0 / 1.5 - 1e-9
    assert np.median(d.min(axis=1)) < 1.6 * 8.0 / 1.5  # packed, not spread out


def test_background_removed_low_range():
    Y, truth = simulate(64, 64, 400, n_neurons=10, seed=2, bg_removed=True)
    assert Y.min() >= 0 and np.percentile(Y, 99.9) <= 40 and Y.max() <= 255
    assert np.median(Y) < 5


def test_block_compression_quantises_8x8_dct():
    rng = np.random.default_rng(0)
    Y = rng.normal(100, 10, (2, 16, 24)).astype(np.float32)
    out = artefacts.block_compress(Y, 5.0)
    coef = fft.dctn(out[0, :8, :8].astype(np.float64), norm="ortho")
    assert abs(coef[0, 0] / 5.0 - round(coef[0, 0] / 5.0)) < 1e-3
    assert np.abs(out - Y).std() > 1.0


def test_single_event_cells_fire_once():
    _, truth = simulate(64, 64, 600, n_neurons=10, seed=4, single_event=0.5)
    n_spiking = (truth.S > 0).sum(axis=1)
    assert (n_spiking == 1).sum() == 5


def test_aperture_darkens_the_edge_and_holds_the_cells():
    Y, truth = simulate(96, 96, 50, n_neurons=10, seed=5, aperture=0.8)
    mean = Y.mean(axis=0)
    assert mean[48, 48] - 200 > 5 * (mean[2, 2] - 200)
    r = np.hypot(truth.centers[:, 0] - 47.5, truth.centers[:, 1] - 47.5)
    assert r.max() < 0.8 * 47.5


def test_bg_removed_file_is_uint8(tmp_path):
    path = tmp_path / "u8.h5"
    write_simulated(path, 48, 48, 100, n_neurons=4, seed=1, bg_removed=True)
    with h5py.File(path, "r") as f:
        assert f["Object"].dtype == np.uint8
        assert f["ground_truth"].attrs["bg_removed"]


@pytest.fixture(scope="module")
def striped(tmp_path_factory):
    path = tmp_path_factory.mktemp("lines") / "lines.h5"
    truth = write_simulated(path, 96, 96, 800, n_neurons=20, seed=7, fps=5.0,
                            line_noise=1.5)
    return path, truth


def test_extraction_through_line_noise(striped):
    path, truth = striped
    on = extract(path, FileParams(fps=5.0), out_path=False)
    off = extract(path, FileParams(fps=5.0, line_noise="off"), out_path=False)
    s_on, s_off = score_against_truth(on, truth), score_against_truth(off, truth)
    assert s_on["f1"] >= 0.95, s_on
    assert s_on["median_r"] > s_off["median_r"]
    assert on.attrs["line_noise"]["rows"]


def test_results_hold_quality_and_rejected(striped, tmp_path):
    path, _ = striped
    result = extract(path, FileParams(fps=5.0, min_pnr=3.0, min_corr=0.3,
                                      min_spatial_corr=0.9), out_path=False)
    assert set(result.quality) == {"snr", "spatial_corr", "size", "compactness",
                                   "elongation", "n_events"}
    assert all(len(v) == result.K for v in result.quality.values())
    rej = result.rejected
    assert rej is not None and len(rej.reason) == rej.K
    assert np.all(result.quality["spatial_corr"] >= 0.9)
    # best first, by CaliAli's SNR (orderROIs('snr'), issue 11: result.snr)
    assert np.all(result.snr[:-1] >= result.snr[1:]) and len(result.snr) == result.K
    out = write_results(tmp_path / "r_cnmfe.h5", result)
    back = load_results(out)
    np.testing.assert_allclose(back.quality["snr"], result.quality["snr"])
    assert back.rejected.K == rej.K and back.rejected.reason == rej.reason
    np.testing.assert_allclose(back.rejected.A, rej.A)
    with h5py.File(out, "r") as f:
        assert f["quality/snr"].shape == (result.K,)
        assert f["rejected/C_raw"].shape == (rej.K, result.T)
        assert f["rejected/quality/n_events"].dtype == np.float32


def test_old_results_without_groups_still_load(striped, tmp_path):
    path, _ = striped
    result = extract(path, FileParams(fps=5.0), out_path=False)
    out = write_results(tmp_path / "old_cnmfe.h5", result)
    with h5py.File(out, "a") as f:
        del f["quality"], f["rejected"]
    back = load_results(out)
    assert back.quality == {} and back.rejected is None and back.K == result.K


@pytest.mark.parametrize("size, shape", [((1260, 540), (480, 752)), ((1260, 540), (256, 256)),
                                          ((600, 900), (256, 256))])
def test_threshold_layout_fits_and_grows(size, shape):
    cells = arrange(*size, shape)
    bigger = arrange(size[0] * 1.5, size[1] * 1.5, shape)
    for name, (image, bar) in cells.items():
        left, bottom, w, h = image
        assert left >= 0 and bottom >= 0 and left + w <= size[0] + 1e-6
        assert bottom + h <= size[1] + 1e-6
        assert abs(w / h - shape[1] / shape[0]) < 1e-6
        assert bar[1] + bar[3] <= bottom and bar[2] == w
        assert bigger[name][0][2] > w
