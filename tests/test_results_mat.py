"""The MATLAB twin of the results: a v7.3 .mat with a struct ``neuron`` (read back
with mat73, an independent reader, and with Octave when it is installed)."""
import shutil
import subprocess

import h5py
import mat73
import numpy as np
import pytest

from caliali_tk.io.params import FileParams
from caliali_tk.io.results import Result, load_results, write_results
from caliali_tk.io.results_mat import mat_path, write_results_mat, write_with_mat

H, W, T = 6, 9, 20  # H != W: a transposition cannot go unnoticed


def make_result(K=3, layout=None, sessions=(8, 12)):
    rng = np.random.default_rng(0)
    A = np.zeros((K, H, W), np.float32)
    for k in range(K):
        A[k, k, 2 * k:2 * k + 3] = [1.0, 0.5, 0.25]   # an asymmetric footprint per neuron
    attrs = {"fps": 15.0, "frames_per_session": list(sessions) if sessions else None}
    if layout:
        attrs["file_layout"] = layout
    Cn = np.arange(H * W, dtype=np.float32).reshape(H, W)
    return Result(A=A, C=rng.random((K, T), dtype=np.float32),
                  C_raw=rng.random((K, T), dtype=np.float32),
                  S=rng.random((K, T), dtype=np.float32),
                  b0=Cn + 100, Cn=Cn, PNR=Cn * 2, centers=np.zeros((K, 2)), sn=np.ones(K),
                  params=FileParams(fps=15.0, gSig=3.0, min_corr=0.6, min_pnr=6.0).to_dict(),
                  attrs=attrs)


def test_mat_path():
    assert mat_path("x/movie_cnmfe.h5").as_posix() == "x/movie_cnmfe.mat"
    assert mat_path("x/out.mat").as_posix() == "x/out_neuron.mat"


@pytest.mark.parametrize("layout", ["matlab", None])  # None: older results, MATLAB layout
def test_neuron_struct_as_matlab_loads_it(tmp_path, layout):
    result = make_result(layout=layout)
    path = write_results_mat(tmp_path / "m_cnmfe.mat", result)
    assert path.read_bytes()[:19] == b"MATLAB 7.3 MAT-file"
    neuron = mat73.loadmat(str(path))["neuron"]
    assert {"A", "C", "C_raw", "S", "Cn", "PNR", "b0", "options", "F", "sf",
            "ids"} <= set(neuron)
    assert neuron["A"].shape == (H * W, 3)
    for k in range(3):  # column k, reshaped as MATLAB does (column-major), is footprint k
        np.testing.assert_array_equal(neuron["A"][:, k].reshape(H, W, order="F"), result.A[k])
    np.testing.assert_array_equal(neuron["Cn"], result.Cn)
    np.testing.assert_array_equal(neuron["PNR"], result.PNR)
    np.testing.assert_array_equal(neuron["b0"].reshape(H, W, order="F"), result.b0)
    for name in ("C", "C_raw", "S"):
        np.testing.assert_array_equal(neuron[name], getattr(result, name))
    assert neuron["A"].dtype == np.float32
    opts = neuron["options"]
    assert opts.pop("seed_mask").all()  # no mask: everything allowed
    assert {k: float(v) for k, v in opts.items()} == {
        "d1": H, "d2": W, "sf": 15.0, "gSig": 3.0, "gSiz": 13.0, "min_corr": 0.6,
        "min_pnr": 6.0, "merge_thr": 0.65}
    np.testing.assert_array_equal(np.ravel(neuron["F"]), [8, 12])
    assert float(neuron["sf"]) == 15.0
    np.testing.assert_array_equal(np.ravel(neuron["ids"]), [1, 2, 3])


def test_python_layout_input_gives_matlabs_view_of_that_file(tmp_path):
    """MATLAB sees a (T, H, W) h5py movie as W x H x T: so are A and Cn."""
    result = make_result(layout="python")
    neuron = mat73.loadmat(str(write_results_mat(tmp_path / "p.mat", result)))["neuron"]
    assert neuron["Cn"].shape == (W, H)
    np.testing.assert_array_equal(neuron["Cn"], result.Cn.T)
    assert (float(neuron["options"]["d1"]), float(neuron["options"]["d2"])) == (W, H)
    for k in range(3):
        np.testing.assert_array_equal(neuron["A"][:, k].reshape(W, H, order="F"),
                                      result.A[k].T)


@pytest.mark.parametrize("layout", ["matlab", "python"])
def test_seed_mask_goes_to_options_as_matlab_sees_the_frames(tmp_path, layout):
    result = make_result(layout=layout)
    result.params["mask"] = [{"mode": "exclude", "points": [[0, 0], [3, 0], [3, 1], [0, 1]]}]
    neuron = mat73.loadmat(str(write_results_mat(tmp_path / "m.mat", result)))["neuron"]
    shown = np.ones((H, W), bool)
    shown[0:2, 0:4] = False
    mask = neuron["options"]["seed_mask"]
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, shown if layout == "matlab" else shown.T)


def test_matlab_attributes_on_disk(tmp_path):
    path = write_results_mat(tmp_path / "m.mat", make_result(layout="matlab"))
    with h5py.File(path, "r") as f:
        assert f["neuron"].attrs["MATLAB_class"] == b"struct"
        assert f["neuron/A"].attrs["MATLAB_class"] == b"single"
        assert f["neuron/A"].shape == (3, H * W)          # MATLAB's A' as h5py sees it
        assert f["neuron/options/gSig"].shape == (1, 1)
        assert f["neuron/F"].shape == (2, 1)              # a 1 x 2 row vector
        assert f["neuron/options/seed_mask"].attrs["MATLAB_class"] == b"logical"
        assert f["neuron/options/seed_mask"].shape == (W, H)


def test_no_neurons_and_unknown_sessions(tmp_path):
    result = make_result(K=0, sessions=None)
    path = write_results_mat(tmp_path / "e.mat", result)
    neuron = mat73.loadmat(str(path))["neuron"]
    assert neuron["A"] is None and neuron["C"] is None   # mat73's empty arrays
    np.testing.assert_array_equal(np.ravel(neuron["F"]), [T])  # one session of T frames
    with h5py.File(path, "r") as f:  # MATLAB's empty: its dimensions, MATLAB_empty = 1
        assert f["neuron/A"].attrs["MATLAB_empty"] == 1
        assert list(f["neuron/A"][()]) == [H * W, 0] and list(f["neuron/C"][()]) == [0, T]


def test_write_results_writes_the_twin_only_when_asked(tmp_path):
    result = make_result(layout="python")
    write_results(tmp_path / "a_cnmfe.h5", result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_cnmfe.h5"]
    write_with_mat(tmp_path / "b_cnmfe.h5", result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_cnmfe.h5", "b_cnmfe.h5",
                                                          "b_cnmfe.mat"]
    loaded = load_results(tmp_path / "b_cnmfe.h5")
    np.testing.assert_array_equal(loaded.A, result.A)
    assert loaded.attrs["file_layout"] == "python"


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    import hdf5storage

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(hdf5storage, "savemat", broken)
    with pytest.raises(OSError):
        write_results_mat(tmp_path / "x.mat", make_result())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("octave") is None, reason="Octave is not installed")
def test_octave_loads_it(tmp_path):
    result = make_result(layout="matlab")
    path = write_results_mat(tmp_path / "o.mat", result)
    script = ("x = load('o.mat'); n = x.neuron; a = reshape(n.A(:, 2), n.options.d1, "
              "n.options.d2); [r, c] = find(a == max(a(:))); "
              "printf('%d %d %d %d %d %g\\n', size(n.A), r, c, numel(n.F), n.options.gSig);")
    out = subprocess.run(["octave", "--no-gui", "--no-window-system", "--quiet", "--eval",
                          script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    peak = np.unravel_index(np.argmax(result.A[1]), (H, W))
    assert out.stdout.split() == [str(H * W), "3", str(peak[0] + 1), str(peak[1] + 1), "2", "3"]


def test_estimated_parameters_go_to_neuron_P(tmp_path):
    """issue 11: neuron.P holds sn and, when known, the kernel, its times and the SNR."""
    result = make_result()
    result.g = np.array([[1.2, -0.3], [0.9, 0.0], [1.5, -0.56]], np.float32)
    result.tau_decay = np.array([0.5, 0.7, 0.9], np.float32)
    result.tau_rise = np.array([0.05, 0.0, 0.1], np.float32)
    result.snr = np.array([9.0, 5.0, 2.0], np.float32)
    result.trace_scale = np.array([[2.0, 3.0], [1.0, 1.5], [4.0, 4.5]], np.float32)
    P = mat73.loadmat(str(write_results_mat(tmp_path / "p.mat", result)))["neuron"]["P"]
    np.testing.assert_allclose(np.ravel(P["sn"]), result.sn)
    np.testing.assert_allclose(P["kernel_pars"], result.g, rtol=1e-6)
    np.testing.assert_allclose(np.ravel(P["tau_decay"]), result.tau_decay, rtol=1e-6)
    np.testing.assert_allclose(P["trace_scale"], result.trace_scale)
    plain = mat73.loadmat(str(write_results_mat(tmp_path / "q.mat", make_result())))
    assert set(plain["neuron"]["P"]) == {"sn"}  # an older result: only the noise
