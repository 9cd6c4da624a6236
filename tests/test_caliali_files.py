"""CaliAli's files as CaliAli writes them, and Python-written movies, end to end:
``info`` and ``extract`` use the file's own parameters, orientation and frame rate."""
import re

import h5py
import mat73
import numpy as np
import pytest

from caliali_tk import cli
from caliali_tk.core.mask import mask_from_polygons
from caliali_tk.demo.selftest import score_against_truth
from caliali_tk.demo.simulate import simulate
from caliali_tk.io.results import load_results, results_path
from caliali_tk.pipeline import compute_summary, seeds_for

from matlab_files import caliali_options, movie_for_matlab, write_mat73

pytestmark = pytest.mark.slow
H, W = 48, 80          # landscape: shown 48 rows x 80 columns in both layouts
MASKED_FROM_COL = 56   # CaliAli's seed mask forbids columns 56.. (neurons there too)


@pytest.fixture(scope="module")
def caliali_mat(tmp_path_factory):
    """A .mat as CaliAli_save writes it: Y (d1 x d2 x T) and CaliAli_options."""
    Y, truth = simulate(H, W, 3000, 14, gSig=4, fps=20, snr=3, seed=3)
    seed_mask = np.ones((H, W), bool)
    seed_mask[:, MASKED_FROM_COL:] = False
    opts = caliali_options(seed_mask, min_pnr=6.0, min_corr=0.6, gSig=4.0, sf=20.0)
    opts["inter_session_alignment"]["F"] = np.array([1000.0, 1000.0, 1000.0])
    path = write_mat73(tmp_path_factory.mktemp("caliali") / "mouse.mat",
                       {"Y": movie_for_matlab(Y), "CaliAli_options": opts})
    return path, truth, seed_mask


@pytest.fixture(scope="module")
def caliali_extracted(caliali_mat):
    path, _, _ = caliali_mat
    before = path.read_bytes()
    assert cli.main(["extract", str(path)]) == 0
    assert path.read_bytes() == before          # the input is never written
    return load_results(results_path(path))


def test_info_reports_caliali_values_with_their_sources(caliali_mat, capsys):
    path, _, _ = caliali_mat
    assert cli.main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(T, H, W) = (3000, 48, 80)" in out
    assert "sessions    3 sessions (from the file's F): 1000, 1000, 1000 frames" in out
    assert re.search(r"^layout +matlab \(MATLAB v7\.3 \.mat\)", out, re.M)
    for name, value, option in (("min_pnr", "6", "cnmf.min_pnr"),
                                ("min_corr", "0.6", "cnmf.min_corr"),
                                ("gSig", "4", "cnmf.gSig"), ("fps", "20", "cnmf.sf")):
        assert re.search(rf"^ +{name} +{re.escape(value)} +CaliAli_options\.{option}$",
                         out, re.M), name
    assert re.search(r"^ +mask +1 polygon\(s\), 1152 of 3840 pixels masked out +"
                     r"CaliAli_options\.cnmf\.seed_mask$", out, re.M)
    assert "none saved" not in out
    # CaliAli's warning: the projections were computed with gSig 2.5
    assert re.search(r"^warning +mouse\.mat: gSig 4 .*inter_session_alignment\.gSig 2\.5",
                     out, re.M)


def test_extract_uses_caliali_values_and_seed_mask(caliali_mat, caliali_extracted):
    path, truth, seed_mask = caliali_mat
    r = caliali_extracted
    assert (r.params["min_pnr"], r.params["min_corr"], r.params["gSig"],
            r.params["fps"]) == (6.0, 0.6, 4.0, 20.0)
    assert r.attrs["fps"] == 20.0
    np.testing.assert_array_equal(mask_from_polygons((H, W), r.params["mask"]), seed_mask)
    assert r.attrs["frames_per_session"] == [1000, 1000, 1000]
    assert r.K >= 8 and r.A.shape == (r.K, H, W)
    rows, cols = np.rint(r.centers).astype(int).T
    assert seed_mask[rows, cols].all(), "a neuron is centred in the masked-out region"
    # without the mask there are seeds in that region: the mask did the work
    summary = compute_summary(path, 4.0)
    assert (seeds_for(summary, 0.6, 6.0).cols >= MASKED_FROM_COL).sum() >= 3
    allowed = [k for k, (_, c) in enumerate(truth.centers) if c < MASKED_FROM_COL - 2]
    inside = type(truth)(**{**truth.__dict__, "A": truth.A[allowed], "C": truth.C[allowed],
                            "S": truth.S[allowed], "centers": truth.centers[allowed],
                            "g": truth.g[allowed]})
    assert score_against_truth(r, inside)["f1"] >= 0.8


def test_results_mat_holds_a_neuron_struct_for_matlab(caliali_mat, caliali_extracted):
    path, _, _ = caliali_mat
    r = caliali_extracted
    mat = results_path(path).with_suffix(".mat")
    neuron = mat73.loadmat(str(mat))["neuron"]
    assert neuron["A"].shape == (H * W, r.K)
    k = int(np.argmax(r.A.reshape(r.K, -1).max(axis=1)))
    np.testing.assert_array_equal(neuron["A"][:, k].reshape(H, W, order="F"), r.A[k])
    assert neuron["C"].shape == neuron["C_raw"].shape == neuron["S"].shape == (r.K, 3000)
    np.testing.assert_array_equal(np.ravel(neuron["F"]), [1000, 1000, 1000])
    assert (float(neuron["options"]["min_pnr"]), float(neuron["options"]["min_corr"]),
            float(neuron["options"]["gSig"]), float(neuron["options"]["sf"])) == (
                6.0, 0.6, 4.0, 20.0)
    assert neuron["Cn"].shape == (H, W)
    np.testing.assert_array_equal(neuron["options"]["seed_mask"], caliali_mat[2])


@pytest.fixture(scope="module")
def python_movie(tmp_path_factory):
    """A (T, H, W) movie written by h5py, its frame rate in an ``fps`` attribute."""
    Y, truth = simulate(H, W, 1000, 12, gSig=2.5, fps=20, snr=3, seed=5)
    path = tmp_path_factory.mktemp("python") / "acq.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("movie", data=np.clip(np.rint(Y), 0, 65535).astype(np.uint16),
                              chunks=(100, H, W))
        ds.attrs["fps"] = 20.0
    return path, truth


def test_python_movie_frame_rate_orientation_and_results(python_movie, capsys):
    path, truth = python_movie
    assert cli.main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(T, H, W) = (1000, 48, 80)" in out
    assert re.search(r"^ +fps +20 +attribute fps of /movie$", out, re.M)
    assert re.search(r"^layout +python ", out, re.M)
    assert cli.main(["projections", str(path)]) == 0
    with h5py.File(path.with_name("acq_projections.h5"), "r") as f:
        Cn = f["Cn"][()]
    assert Cn.shape == (H, W)                    # as the movie's frames: no transposition
    assert cli.main(["extract", str(path)]) == 0
    with h5py.File(results_path(path), "r") as f:
        assert f["A"].shape[1:] == (H, W) and f["Cn"].shape == f["b0"].shape == (H, W)
        assert f.attrs["fps"] == 20.0 and f.attrs["file_layout"] == "python"
        np.testing.assert_array_equal(f["Cn"][()], Cn)
    r = load_results(results_path(path))
    assert score_against_truth(r, truth)["f1"] >= 0.8   # footprints where the cells are
    neuron = mat73.loadmat(str(results_path(path).with_suffix(".mat")))["neuron"]
    assert neuron["Cn"].shape == (W, H)          # MATLAB sees this file W x H x T
    assert neuron["A"].shape == (H * W, r.K)


def test_layout_override_on_the_command_line(python_movie, capsys):
    path, _ = python_movie
    assert cli.main(["info", str(path), "--layout", "matlab"]) == 0
    out = capsys.readouterr().out
    assert "(T, H, W) = (1000, 80, 48)" in out
    assert re.search(r"^ +layout +matlab -> matlab \(given\) +command line$", out, re.M)
