"""Results file: round trip (incl. K = 0), on-disk layout, errors."""
import json

import h5py
import numpy as np
import pytest

from caliali_tk import __version__
from caliali_tk.errors import UserError
from caliali_tk.io.params import FileParams
from caliali_tk.io.results import (Result, ResultsError, load_results, results_path,
                                   source_info, write_results)

H, W, T = 6, 9, 20
ARRAY_NAMES = ("A", "C", "C_raw", "S", "b0", "Cn", "PNR", "centers", "sn")


def make_result(K=3, seed=0, video=None):
    rng = np.random.default_rng(seed)
    attrs = {"fps": 15.0, "frames_per_session": [8, 12], "elapsed_s": 1.25,
             "n_seeds": 7}
    if video is not None:
        attrs.update(source_info(video))
    return Result(
        A=rng.random((K, H, W), dtype=np.float32), C=rng.random((K, T), dtype=np.float32),
        C_raw=rng.random((K, T), dtype=np.float32), S=rng.random((K, T), dtype=np.float32),
        b0=rng.random((H, W), dtype=np.float32), Cn=rng.random((H, W), dtype=np.float32),
        PNR=rng.random((H, W), dtype=np.float32),
        centers=rng.random((K, 2)) * [H, W], sn=rng.random(K),
        params=FileParams(fps=15.0, mask=[{"mode": "include",
                                           "points": [[0, 0], [8, 0], [4, 5]]}]).to_dict(),
        attrs=attrs)


def assert_results_equal(got, expected):
    for name in ARRAY_NAMES:
        arr = getattr(got, name)
        assert arr.dtype == np.float32 and arr.flags.c_contiguous, name
        np.testing.assert_allclose(arr, np.asarray(getattr(expected, name), np.float32),
                                   err_msg=name)
    assert got.params == expected.params
    for key, value in expected.attrs.items():
        assert got.attrs[key] == pytest.approx(value), key


def test_results_path(tmp_path):
    assert results_path(tmp_path / "movie.h5") == tmp_path / "movie_cnmfe.h5"
    assert results_path("x/rec.session1.mat").as_posix() == "x/rec.session1_cnmfe.h5"


@pytest.mark.parametrize("K", [3, 1, 0])
def test_round_trip(tmp_path, K):
    video = tmp_path / "movie.h5"
    video.write_bytes(b"0123456789")
    result = make_result(K, video=video)
    path = write_results(results_path(video), result)
    loaded = load_results(path)
    assert (loaded.K, loaded.T, loaded.H, loaded.W) == (K, T, H, W)
    assert loaded.A.shape == (K, H, W) and loaded.C.shape == (K, T)
    assert loaded.centers.shape == (K, 2) and loaded.sn.shape == (K,)
    assert_results_equal(loaded, result)
    assert loaded.attrs["source_file"] == "movie.h5"
    assert loaded.attrs["source_size"] == 10
    assert loaded.attrs["version"] == __version__
    assert sorted(p.name for p in tmp_path.iterdir()) == ["movie.h5", "movie_cnmfe.h5"]


def test_empty_arrays_of_any_shape_are_accepted_for_k0(tmp_path):
    result = make_result(0)
    result.A, result.centers, result.sn = np.zeros(0), [], np.zeros((0, 5))
    loaded = load_results(write_results(tmp_path / "r.h5", result))
    assert loaded.A.shape == (0, H, W) and loaded.centers.shape == (0, 2)
    assert loaded.sn.shape == (0,) and loaded.C.shape == (0, T)


def test_layout_is_plain_hdf5_in_matlab_orientation(tmp_path):
    result = make_result(2)
    result.Cn[:] = 0
    result.Cn[1, 5] = 7.0        # asymmetric marker: display row 1, col 5
    result.A[:] = 0
    result.A[1, 1, 5] = 3.0
    path = write_results(tmp_path / "r.h5", result)
    with h5py.File(path, "r") as f:
        assert set(f) == set(ARRAY_NAMES)
        for name in ARRAY_NAMES:
            assert f[name].dtype == np.float32 and f[name].dtype.kind == "f"
        # MATLAB h5read reverses the axes: Cn becomes H x W, A becomes H x W x K.
        assert f["Cn"].shape == (W, H) and f["Cn"][5, 1] == 7.0
        assert f["A"].shape == (2, W, H) and f["A"][1, 5, 1] == 3.0
        assert f["A"].compression == "gzip" and f["A"].chunks == (1, W, H)
        assert f["C"].shape == (2, T) and f["centers"].shape == (2, 2)


def test_python_layout_input_keeps_its_own_orientation(tmp_path):
    result = make_result(2)
    result.attrs["file_layout"] = "python"
    result.Cn[:] = 0
    result.Cn[1, 5] = 7.0
    result.A[:] = 0
    result.A[1, 1, 5] = 3.0
    path = write_results(tmp_path / "r.h5", result)
    with h5py.File(path, "r") as f:  # as the (T, H, W) movie: no transposition
        assert f["Cn"].shape == (H, W) and f["Cn"][1, 5] == 7.0
        assert f["A"].shape == (2, H, W) and f["A"][1, 1, 5] == 3.0
        assert f.attrs["file_layout"] == "python"
    loaded = load_results(path)
    np.testing.assert_array_equal(loaded.Cn, result.Cn)
    np.testing.assert_array_equal(loaded.A, result.A)
    assert loaded.attrs["file_layout"] == "python"


def test_results_without_a_layout_are_matlab_layout(tmp_path):
    result = make_result(2)
    path = write_results(tmp_path / "r.h5", result)
    with h5py.File(path, "a") as f:  # as written before layouts were recorded
        assert "file_layout" not in f.attrs
    np.testing.assert_array_equal(load_results(path).A, result.A)


def test_root_attributes(tmp_path):
    result = make_result(2)
    with h5py.File(write_results(tmp_path / "r.h5", result), "r") as f:
        attrs = dict(f.attrs)
    assert json.loads(attrs["params"]) == result.params
    for name, value in result.params.items():
        if isinstance(value, bool):
            assert attrs[name] == int(value), name
        elif name != "mask" and value is not None:
            assert attrs[name] == pytest.approx(value), name
    assert "gSiz" not in attrs and "mask" not in attrs  # None / non-scalar: JSON only
    assert attrs["version"] == __version__ and attrs["fps"] == 15.0
    assert attrs["frames_per_session"].dtype.kind == "i"
    assert list(attrs["frames_per_session"]) == [8, 12]
    assert isinstance(attrs["created"], str) and attrs["created"][:2] == "20"


def test_unknown_frames_per_session_is_not_written(tmp_path):
    result = make_result(1)
    result.attrs["frames_per_session"] = None
    path = write_results(tmp_path / "r.h5", result)
    with h5py.File(path, "r") as f:
        assert "frames_per_session" not in f.attrs
    assert load_results(path).attrs["frames_per_session"] is None


def test_inconsistent_shapes_raise_and_write_nothing(tmp_path):
    result = make_result(3)
    result.C = result.C[:2]
    with pytest.raises(ValueError, match="Result.C "):
        write_results(tmp_path / "r.h5", result)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    import caliali_tk.io.results as results

    path = write_results(tmp_path / "r.h5", make_result(2, seed=1))
    before = path.read_bytes()

    def fail(_result):
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "_root_attrs", fail)
    with pytest.raises(KeyboardInterrupt):
        write_results(path, make_result(3, seed=2))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.h5"]


def _h5_without_format(p):
    with h5py.File(p, "w") as f:
        f["Object"] = np.zeros((3, 4, 5), np.uint16)


def _newer(p):
    write_results(p, make_result(1))
    with h5py.File(p, "r+") as f:
        f.attrs["format_version"] = 99


def _missing_dataset(p):
    write_results(p, make_result(1))
    with h5py.File(p, "r+") as f:
        del f["C"]


def _bad_shape(p):
    write_results(p, make_result(2))
    with h5py.File(p, "r+") as f:
        del f["sn"]
        f["sn"] = np.zeros(5, np.float32)


def _truncated(p):
    write_results(p, make_result(4))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


BAD_RESULTS = {
    "missing": (None, "not found"),
    "text": (lambda p: p.write_text("hello"), "not an HDF5 file"),
    "a video": (_h5_without_format, "not a caliali-tk results file"),
    "missing dataset": (_missing_dataset, "not a caliali-tk results file"),
    "newer": (_newer, "newer caliali-tk"),
    "bad shape": (_bad_shape, "damaged"),
    "truncated": (_truncated, "damaged"),
}


@pytest.mark.parametrize("case", list(BAD_RESULTS))
def test_bad_results_file_gives_one_line_error(tmp_path, case):
    make, fragment = BAD_RESULTS[case]
    path = tmp_path / "movie_cnmfe.h5"
    if make is not None:
        make(path)
    with pytest.raises(ResultsError) as err:
        load_results(path)
    msg = str(err.value)
    assert isinstance(err.value, UserError)
    assert msg.startswith("movie_cnmfe.h5: ") and fragment in msg and "\n" not in msg


def test_session_baselines_round_trip_and_older_files(tmp_path):
    """Issue 9: per-session baselines (K, n) are stored; files without them load."""
    res = make_result(K=3)
    res.session_baseline = np.arange(6, dtype=np.float32).reshape(3, 2)
    res.attrs.update(session_source="file", session_gain=[1.0, 1.2],
                     session_offset=[0.0, -4.0])
    path = write_results(tmp_path / "s_cnmfe.h5", res)
    got = load_results(path)
    np.testing.assert_array_equal(got.session_baseline, res.session_baseline)
    assert got.attrs["session_source"] == "file"
    assert got.attrs["session_gain"] == pytest.approx([1.0, 1.2])
    assert load_results(write_results(tmp_path / "o_cnmfe.h5", make_result(K=3))) \
        .session_baseline is None
    res.session_baseline = res.session_baseline[:2]  # neurons taken without it
    assert load_results(write_results(tmp_path / "d_cnmfe.h5", res)).session_baseline is None
