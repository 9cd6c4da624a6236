"""Parameters a movie file holds: CaliAli_options (MATLAB's HDF5 conventions) and
frame-rate attributes."""
import h5py
import numpy as np
import pytest

from caliali_tk.core.mask import mask_from_polygons
from caliali_tk.io.caliali_options import (file_values, frame_rate_attr, read_matlab,
                                           read_options)
from caliali_tk.io.video import VideoFile

from matlab_files import caliali_options, write_mat73

T, H, W = 6, 12, 20


def movie():
    return np.zeros((H, W, T), np.uint16)  # MATLAB's d1 x d2 x T


def values_of(path, layout="auto"):
    with VideoFile(path, layout) as vf:
        return file_values(vf.h5file, vf.movie_dataset, vf.shape[1:], vf.layout, path.name)


def test_read_matlab_follows_matlab_conventions(tmp_path):
    mask = np.zeros((H, W), bool)
    mask[1, 2] = True
    path = write_mat73(tmp_path / "m.mat", {"s": {
        "scalar": 4.0, "row": np.array([1000.0, 1000.0, 1000.0]), "text": "ar1",
        "flag": np.array([[True]]), "mask": mask, "empty": None,
        "inner": {"x": np.uint16(3)}}})
    with h5py.File(path, "r") as f:
        assert f["s/row"].shape == (3, 1) and f["s/mask"].shape == (W, H)
        s = read_matlab(f["s"])
    assert s["scalar"].shape == (1, 1) and s["scalar"].item() == 4.0
    np.testing.assert_array_equal(s["row"].ravel(), [1000, 1000, 1000])
    assert s["text"] == "ar1" and s["empty"] is None
    assert s["flag"].dtype == bool and s["flag"].item() is True
    assert s["mask"].dtype == bool and s["mask"].shape == (W, H) and s["mask"][2, 1]
    assert s["inner"]["x"].item() == 3


def test_caliali_options_map_onto_file_params(tmp_path):
    opts = caliali_options(min_pnr=6.0, min_corr=0.6, gSig=4.0, sf=20.0, gSiz=17.0,
                           merge_thr=0.7)
    path = write_mat73(tmp_path / "c.mat", {"Y": movie(), "CaliAli_options": opts})
    got = values_of(path)
    assert got.values == {"min_pnr": 6.0, "min_corr": 0.6, "gSig": 4.0, "gSiz": 17,
                          "fps": 20.0, "merge_thr": 0.7}
    assert got.sources["min_pnr"] == "CaliAli_options.cnmf.min_pnr"
    assert got.sources["fps"] == "CaliAli_options.cnmf.sf"
    assert got.alignment_gSig == 2.5 and got.notes == []
    with h5py.File(path, "r") as f:
        assert read_options(f)["inter_session_alignment"]["F"].ravel().tolist() == [1000.0]


def test_missing_cnmf_values_fall_back_to_the_other_substructs(tmp_path):
    opts = caliali_options(gSig=None, sf=None)
    opts["inter_session_alignment"].update(gSig=3.0, sf=None)
    opts["preprocessing"]["sf"] = 15.0
    path = write_mat73(tmp_path / "c.mat", {"Y": movie(), "CaliAli_options": opts})
    got = values_of(path)
    assert got.values["gSig"] == 3.0
    assert got.sources["gSig"] == "CaliAli_options.inter_session_alignment.gSig"
    assert got.values["fps"] == 15.0
    assert got.sources["fps"] == "CaliAli_options.preprocessing.sf"
    assert "gSiz" not in got.values  # [] in CaliAli: its default


def test_out_of_range_or_odd_values_are_noted_and_left_out(tmp_path):
    opts = caliali_options(min_corr=1.5, min_pnr=np.array([5.0, 6.0]), gSig=40.0)
    path = write_mat73(tmp_path / "odd.mat", {"Y": movie(), "CaliAli_options": opts})
    got = values_of(path)
    assert "min_corr" not in got.values and "min_pnr" not in got.values
    assert got.values["gSig"] == 2.5  # cnmf.gSig 40 refused, the alignment's taken
    notes = "\n".join(got.notes)
    assert "CaliAli_options.cnmf.min_corr ignored (min_corr = 1.5 is out of range" in notes
    assert "CaliAli_options.cnmf.min_pnr ignored (not a single number)" in notes
    assert "CaliAli_options.cnmf.gSig ignored" in notes
    assert all(n.startswith("odd.mat: ") for n in got.notes)


def test_seed_mask_becomes_polygons_in_display_orientation(tmp_path):
    mask = np.ones((H, W), bool)            # as MATLAB shows it: d1 x d2
    mask[2:5, 12:19] = False                # an excluded block, right of centre
    path = write_mat73(tmp_path / "m.mat", {"Y": movie(),
                                            "CaliAli_options": caliali_options(mask)})
    got = values_of(path)
    assert got.sources["mask"] == "CaliAli_options.cnmf.seed_mask"
    polygons = got.values["mask"]
    assert [p["mode"] for p in polygons] == ["exclude"]
    np.testing.assert_array_equal(mask_from_polygons((H, W), polygons), mask)


def test_seed_mask_follows_a_layout_override(tmp_path):
    mask = np.ones((H, W), bool)
    mask[0, :3] = False
    path = write_mat73(tmp_path / "m.mat", {"Y": movie(),
                                            "CaliAli_options": caliali_options(mask)})
    got = values_of(path, "python")          # frames read (W, H): the mask turns too
    np.testing.assert_array_equal(mask_from_polygons((W, H), got.values["mask"]), mask.T)


@pytest.mark.parametrize("seed_mask, expected", [(None, None), (np.ones((H, W), bool), [])])
def test_empty_or_full_seed_mask_is_no_mask(tmp_path, seed_mask, expected):
    path = write_mat73(tmp_path / "m.mat", {"Y": movie(),
                                            "CaliAli_options": caliali_options(seed_mask)})
    assert values_of(path).values.get("mask") == expected


def test_seed_mask_of_another_size_is_noted(tmp_path):
    path = write_mat73(tmp_path / "m.mat", {"Y": movie(), "CaliAli_options":
                                            caliali_options(np.ones((H + 1, W), bool))})
    got = values_of(path)
    assert "mask" not in got.values
    assert "its size 13 x 20 is not the frame size 12 x 20" in got.notes[0]


def test_damaged_options_are_noted_not_fatal(tmp_path):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f["Object"] = np.zeros((T, W, H), np.uint16)
        f["CaliAli_options/cnmf/min_pnr"] = h5py.Empty("f8")  # unreadable as an array
    got = values_of(path)
    assert got.values == {}
    assert len(got.notes) == 1 and got.notes[0].startswith("m.h5: CaliAli_options")


@pytest.mark.parametrize("where, key", [("dataset", "fps"), ("dataset", "Frame_Rate"),
                                        ("root", "sf"), ("root", "Fs"), ("dataset", "FPS")])
def test_frame_rate_attributes_any_case(tmp_path, where, key):
    path = tmp_path / "py.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("movie", data=np.zeros((T, H, W), np.uint8))
        (ds if where == "dataset" else f).attrs[key] = 20
        ds.attrs["units"] = "counts"
    got = values_of(path)
    assert got.values == {"fps": 20.0}
    assert got.sources["fps"] == (f"attribute {key} of /movie" if where == "dataset"
                                  else f"attribute {key} of the file")


def test_dataset_attribute_wins_over_root_and_bad_values_are_skipped(tmp_path):
    path = tmp_path / "py.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("movie", data=np.zeros((T, H, W), np.uint8))
        f.attrs["fps"] = 30.0
        ds.attrs["fps"] = 20.0
        with h5py.File(path.with_name("bad.h5"), "w") as g:
            d2 = g.create_dataset("movie", data=np.zeros((T, H, W), np.uint8))
            d2.attrs["fps"] = "fast"
            d2.attrs["frame_rate"] = -1.0
            g.attrs["Fs"] = np.array([12.5])
            assert frame_rate_attr(g, d2) == (12.5, "attribute Fs of the file")
        assert frame_rate_attr(f, ds) == (20.0, "attribute fps of /movie")


def test_caliali_frame_rate_wins_over_attributes(tmp_path):
    path = write_mat73(tmp_path / "c.mat", {"Y": movie(),
                                            "CaliAli_options": caliali_options(sf=20.0)})
    with h5py.File(path, "r+") as f:
        f["Y"].attrs["fps"] = 30.0
    assert values_of(path).values["fps"] == 20.0
