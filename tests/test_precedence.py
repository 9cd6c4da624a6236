"""resolve_params: flags > sidecar > the file (CaliAli_options, attributes) >
suggestion > defaults, with the source of every value."""
import h5py
import numpy as np
import pytest

from caliali_tk.errors import ParamsError
from caliali_tk.io.params import FileParams, save_params
from caliali_tk.io.precedence import resolve_params

from matlab_files import caliali_options, write_mat73

T, H, W = 6, 12, 20


@pytest.fixture
def mat(tmp_path):
    mask = np.ones((H, W), bool)
    mask[:, 15:] = False
    opts = caliali_options(mask, min_pnr=6.0, min_corr=0.6, gSig=4.0, sf=20.0)
    opts["inter_session_alignment"]["F"] = np.array([2.0, 2.0, 2.0])
    return write_mat73(tmp_path / "rec.mat", {"Y": np.zeros((H, W, T), np.uint16),
                                              "CaliAli_options": opts})


def test_caliali_options_over_defaults(mat):
    r = resolve_params(mat)
    p = r.params
    assert (p.min_pnr, p.min_corr, p.gSig, p.fps) == (6.0, 0.6, 4.0, 20.0)
    assert p.mask and p.mask[0]["mode"] == "exclude"
    assert r.sources["min_pnr"] == "CaliAli_options.cnmf.min_pnr"
    assert r.sources["mask"] == "CaliAli_options.cnmf.seed_mask"
    assert r.sources["max_iter"] == "default" and r.sources["layout"] == "default"
    assert set(r.sources) == set(FileParams().to_dict())
    assert r.layout == "matlab" and r.shape == (T, H, W)
    assert r.frames_per_session == [2, 2, 2]


def test_gsig_differing_from_the_alignments_is_warned(mat):
    warnings = resolve_params(mat).warnings
    assert len(warnings) == 1
    assert warnings[0] == ("rec.mat: gSig 4 (CaliAli_options.cnmf.gSig) differs from "
                           "CaliAli_options.inter_session_alignment.gSig 2.5: CaliAli's "
                           "projections were computed with another neuron size")
    assert not resolve_params(mat, {"gSig": 2.5}).warnings


def test_sidecar_over_caliali_options_key_by_key(mat):
    sidecar = mat.with_name(mat.name + ".caliali.json")
    sidecar.write_text('{"format": "caliali-tk-params", "version": 1, '
                       '"params": {"min_pnr": 8, "mask": []}}')
    r = resolve_params(mat)
    assert r.params.min_pnr == 8.0 and r.params.mask == []
    assert r.sources["min_pnr"] == r.sources["mask"] == "sidecar rec.mat.caliali.json"
    assert r.params.min_corr == 0.6 and r.sources["min_corr"].startswith("CaliAli_options")


def test_flags_over_everything(mat):
    save_params(mat, FileParams(min_pnr=8.0, min_corr=0.7))
    r = resolve_params(mat, {"min_pnr": 9.0, "min_corr": None, "fps": 30.0})
    assert (r.params.min_pnr, r.params.min_corr, r.params.fps) == (9.0, 0.7, 30.0)
    assert r.sources["min_pnr"] == r.sources["fps"] == "command line"
    assert r.sources["min_corr"].startswith("sidecar")


def test_bad_flag_is_a_one_line_params_error(mat):
    with pytest.raises(ParamsError, match=r"^rec\.mat: gSig = 99\.0 is out of range"):
        resolve_params(mat, {"gSig": 99.0})


def test_layout_flag_and_sidecar_layout(tmp_path):
    path = tmp_path / "py.h5"
    with h5py.File(path, "w") as f:
        f["movie"] = np.zeros((T, H, W), np.uint8)
    assert resolve_params(path).layout == "python"
    assert resolve_params(path).shape == (T, H, W)
    r = resolve_params(path, {"layout": "matlab"})
    assert r.layout == "matlab" and r.shape == (T, W, H) and r.sources["layout"] == "command line"
    save_params(path, FileParams(layout="matlab"))
    assert resolve_params(path).shape == (T, W, H)
    assert resolve_params(path, {"layout": "auto"}).shape == (T, H, W)


def test_frame_rate_attribute_is_a_file_value(tmp_path):
    path = tmp_path / "py.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("movie", data=np.zeros((T, H, W), np.uint8)).attrs["fps"] = 20.0
    r = resolve_params(path)
    assert r.params.fps == 20.0 and r.sources["fps"] == "attribute fps of /movie"


def test_suggestion_fills_only_what_no_higher_layer_sets(mat):
    seen = []

    def suggest(video, so_far):
        seen.append((video.name, so_far.gSig))
        return {"min_pnr": 3.0, "max_iter": 7, "unknown": 1}

    r = resolve_params(mat, suggest=suggest)
    assert seen == [("rec.mat", 4.0)]       # gSig from CaliAli_options, before suggesting
    assert r.params.min_pnr == 6.0 and r.sources["min_pnr"].startswith("CaliAli_options")
    assert r.params.max_iter == 7 and r.sources["max_iter"] == "suggested"
    r = resolve_params(mat, suggest={"deconv_model": "ar5", "s_min": -2.0})
    assert r.params.deconv_model == "auto" and r.params.s_min == -2.0
    assert any("suggested deconv_model = 'ar5' is out of range" in w for w in r.warnings)


def test_damaged_sidecar_warns_and_the_file_values_stay(mat):
    mat.with_name(mat.name + ".caliali.json").write_text("{not json")
    r = resolve_params(mat)
    assert r.params.min_pnr == 6.0
    assert any(w.startswith("rec.mat.caliali.json: not valid JSON") for w in r.warnings)


def test_the_input_is_never_written(mat):
    before = mat.read_bytes(), mat.stat().st_mtime_ns
    resolve_params(mat, {"min_pnr": 7.0})
    assert (mat.read_bytes(), mat.stat().st_mtime_ns) == before
