"""FileParams: defaults, validation, dict round trip and the sidecar file."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from caliali_tk.errors import ParamsError
from caliali_tk.io.params import (FileParams, gsiz_of, load_params, save_params,
                                  sidecar_path)

DEFAULTS = dict(min_pnr=5.0, min_corr=0.5, gSig=2.5, fps=10.0, gSiz=None,
                spatial_filter=True, mask=[], merge_thr=0.65, max_iter=5,
                s_min=-3.0, min_pixels=5, min_trace_pnr=5.0, ring_factor=1.5,
                bg_downsample=2, max_memory_gb=1.0, layout="auto",
                frames_per_session=None, detrend_s=20.0,  # issue 9
                # issue 10
                line_noise="auto", merge_dmin=None, min_spatial_corr=0.6, min_size=0.3,
                max_size=3.0, min_compactness=0.5, max_elongation=3.0, min_events=1,
                # issue 11
                deconv_model="auto", deconv_method="thresholded", deconv_lam=0.0,
                deconv_preset="none", tau_decay_min=0.1, tau_decay_max=5.0,
                scale_to_noise=False, order_by_snr=True)

TRIANGLE = {"mode": "exclude", "points": [[1.0, 2.0], [10.5, 2.0], [4.0, 8.25]]}


def test_defaults():
    assert FileParams().to_dict() == DEFAULTS
    FileParams().validate()


@pytest.mark.parametrize("gSig, size", [(2.5, 11), (3, 13), (2.25, 9), (0.5, 3), (4, 17)])
def test_gsiz_of_is_smallest_odd_at_least_4_gsig(gSig, size):
    assert gsiz_of(gSig) == size
    assert size % 2 == 1 and size >= 4 * gSig and size - 2 < 4 * gSig


def test_gsiz_property_uses_explicit_value_when_set():
    assert FileParams(gSig=3).gsiz == 13
    assert FileParams(gSig=3, gSiz=15).gsiz == 15


@pytest.mark.parametrize("field, value", [
    ("gSig", 0.4), ("gSig", 16.0), ("gSig", math.nan), ("min_corr", -0.1),
    ("min_corr", 1.5), ("min_pnr", -1.0), ("fps", 0.0), ("fps", math.inf),
    ("merge_thr", 1.2), ("max_iter", 0), ("min_pixels", 0),
    ("bg_downsample", 0), ("max_memory_gb", -2.0), ("gSiz", 0), ("layout", "sideways"),
    ("deconv_model", "ar3"), ("deconv_method", "oasis"), ("deconv_lam", -1.0),
    ("deconv_preset", "caiman"), ("tau_decay_min", 0.0), ("tau_decay_max", math.inf),
])
def test_out_of_range_value_names_field_and_value(field, value):
    params = FileParams(**{field: value})
    with pytest.raises(ParamsError) as err:
        params.validate()
    msg = str(err.value)
    assert msg.startswith(field) and repr(value) in msg and "\n" not in msg


@pytest.mark.parametrize("field, value", [
    ("gSig", "3"), ("fps", None), ("max_iter", 2.5), ("deconv_model", 2),
    ("spatial_filter", 1), ("gSiz", "auto"), ("mask", "everything"), ("layout", 3),
    ("scale_to_noise", "yes"), ("tau_decay_max", "1s"),
])
def test_wrong_type_is_a_params_error(field, value):
    with pytest.raises(ParamsError, match=field):
        FileParams.from_dict({field: value})


def test_decay_prior_bounds_must_be_ordered():
    with pytest.raises(ParamsError, match="tau_decay_min"):
        FileParams(tau_decay_min=2.0, tau_decay_max=1.0).validate()


def test_legacy_ar_order_is_ignored_without_a_warning(tmp_path):
    notes = []
    assert FileParams.from_dict({"ar_order": 1, "gSig": 3.0}, notes).gSig == 3.0
    assert notes == []
    video = tmp_path / "old.h5"
    sidecar_path(video).write_text(json.dumps(
        {"format": "caliali-tk-params", "version": 1,
         "params": {"min_pnr": 7.0, "ar_order": 1, "s_min": -3.0}}))
    params, warning = load_params(video)
    assert warning is None and params.min_pnr == 7.0 and params.deconv_model == "auto"


@pytest.mark.parametrize("mask", [
    [{"mode": "keep", "points": TRIANGLE["points"]}],
    [{"mode": "include", "points": [[0, 0], [1, 1]]}],
    [{"mode": "include", "points": [[0, 0], [1], [2, 2]]}],
    [{"mode": "include", "points": [[0, 0], [1, math.nan], [2, 2]]}],
    [{"mode": "include"}],
    [["include", [[0, 0], [1, 1], [2, 2]]]],
])
def test_malformed_mask_is_rejected(mask):
    with pytest.raises(ParamsError, match=r"mask\[0\]"):
        FileParams(mask=mask).validate()


def test_from_dict_fills_missing_and_reports_unknown_keys():
    notes = []
    params = FileParams.from_dict({"gSig": 4, "max_iter": 3.0, "colour": "red",
                                   "zoom": 2}, notes)
    assert params == FileParams(gSig=4.0, max_iter=3)
    assert isinstance(params.gSig, float) and isinstance(params.max_iter, int)
    assert notes == ["ignored unknown setting(s): colour, zoom"]


def test_to_dict_makes_numpy_values_json_ready():
    params = FileParams(max_iter=np.int64(3), gSig=np.float32(3.5),
                        mask=[{"mode": "include", "points": np.array([[0, 0], [5, 0], [0, 5]])}])
    d = json.loads(json.dumps(params.to_dict()))
    assert d["max_iter"] == 3 and d["gSig"] == 3.5
    assert d["mask"][0]["points"] == [[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]]


finite = dict(allow_nan=False, allow_infinity=False)
points = st.lists(st.tuples(st.floats(-1e4, 1e4, **finite), st.floats(-1e4, 1e4, **finite))
                  .map(list), min_size=3, max_size=8)
polygons = st.fixed_dictionaries({"mode": st.sampled_from(["include", "exclude"]),
                                  "points": points})
valid_params = st.builds(
    FileParams,
    min_pnr=st.floats(0, 100, **finite), min_corr=st.floats(0, 1),
    gSig=st.floats(0.5, 15), fps=st.floats(0.01, 1000),
    gSiz=st.none() | st.integers(1, 255), spatial_filter=st.booleans(),
    mask=st.lists(polygons, max_size=3), merge_thr=st.floats(0, 1),
    max_iter=st.integers(1, 50),
    s_min=st.floats(-10, 10), min_pixels=st.integers(1, 100),
    min_trace_pnr=st.floats(0, 50), ring_factor=st.floats(0.1, 5),
    bg_downsample=st.integers(1, 8), max_memory_gb=st.floats(0.1, 64),
    deconv_model=st.sampled_from(["auto", "ar1", "ar2"]),
    deconv_method=st.sampled_from(["thresholded", "foopsi", "constrained"]),
    deconv_lam=st.floats(0, 10), deconv_preset=st.sampled_from(["none", "caliali", "legacy"]),
    tau_decay_min=st.floats(0.01, 1.0), tau_decay_max=st.floats(1.0, 20.0),
    scale_to_noise=st.booleans(), order_by_snr=st.booleans())


@settings(max_examples=100, deadline=None)
@given(valid_params)
def test_dict_and_json_round_trip(params):
    params.validate()
    assert FileParams.from_dict(params.to_dict()) == params
    assert FileParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params


# ---------------------------------------------------------------- sidecar

def test_sidecar_path_appends_suffix(tmp_path):
    assert sidecar_path(tmp_path / "movie.h5") == tmp_path / "movie.h5.caliali.json"
    assert sidecar_path("a/b/rec.mat").name == "rec.mat.caliali.json"


def test_no_sidecar_gives_defaults_silently(tmp_path):
    assert load_params(tmp_path / "movie.h5") == (FileParams(), None)


def test_sidecar_round_trip_and_document_format(tmp_path):
    video = tmp_path / "movie.h5"
    params = FileParams(min_pnr=6.5, min_corr=0.7, gSig=3.0, fps=20.0, mask=[TRIANGLE])
    written = save_params(video, params)
    assert written == sidecar_path(video)
    doc = json.loads(written.read_text())
    assert doc["format"] == "caliali-tk-params" and doc["version"] == 1
    assert doc["params"]["min_pnr"] == 6.5 and doc["params"]["mask"] == [TRIANGLE]
    assert load_params(video) == (params, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["movie.h5.caliali.json"]


def test_save_params_refuses_invalid_values_and_keeps_old_sidecar(tmp_path):
    video = tmp_path / "movie.h5"
    save_params(video, FileParams(gSig=3.0))
    before = sidecar_path(video).read_bytes()
    with pytest.raises(ParamsError, match="gSig"):
        save_params(video, FileParams(gSig=99.0))
    assert sidecar_path(video).read_bytes() == before
    assert len(list(tmp_path.iterdir())) == 1


class _HalfWriter:
    """A text file that writes half of what it is given, then is interrupted."""

    def __init__(self, fh):
        self.fh = fh

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()

    def write(self, text):
        self.fh.write(text[: len(text) // 2])
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of the write


def test_save_params_interrupted_mid_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    import caliali_tk.io.atomic as atomic

    video = tmp_path / "movie.h5"
    save_params(video, FileParams(gSig=3.0))
    before = sidecar_path(video).read_bytes()
    monkeypatch.setattr(atomic, "open", lambda *a, **k: _HalfWriter(open(*a, **k)),
                        raising=False)
    with pytest.raises(KeyboardInterrupt):
        save_params(video, FileParams(gSig=4.0))
    monkeypatch.undo()
    assert sidecar_path(video).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["movie.h5.caliali.json"]
    assert load_params(video) == (FileParams(gSig=3.0), None)


BAD_SIDECARS = {
    "not json": ("{'min_pnr': 3", "not valid JSON"),
    "binary": (b"\xff\xfe\x00garbage", "not"),
    "a list": ("[1, 2, 3]", "not a caliali-tk parameter file"),
    "other format": ('{"format": "something-else", "version": 1, "params": {}}',
                     "not a caliali-tk parameter file"),
    "newer version": ('{"format": "caliali-tk-params", "version": 7, "params": {}}',
                      "newer caliali-tk"),
    "bad version": ('{"format": "caliali-tk-params", "version": "1", "params": {}}',
                    "format version"),
    "params not object": ('{"format": "caliali-tk-params", "version": 1, "params": 3}',
                          "'params'"),
    "bad value": ('{"format": "caliali-tk-params", "version": 1, "params": {"gSig": 80}}',
                  "gSig = 80.0"),
    "bad type": ('{"format": "caliali-tk-params", "version": 1, '
                 '"params": {"fps": "fast"}}', "fps must be a number"),
}


@pytest.mark.parametrize("case", list(BAD_SIDECARS))
def test_bad_sidecar_gives_defaults_and_a_warning_and_is_left_intact(tmp_path, case):
    content, fragment = BAD_SIDECARS[case]
    video = tmp_path / "movie.h5"
    side = sidecar_path(video)
    side.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = (side.read_bytes(), side.stat().st_mtime_ns)
    params, warning = load_params(video)
    assert params == FileParams()
    assert warning.startswith("movie.h5.caliali.json: ")
    assert fragment in warning and "\n" not in warning
    assert (side.read_bytes(), side.stat().st_mtime_ns) == before


def test_sidecar_with_unknown_keys_loads_with_a_warning(tmp_path):
    video = tmp_path / "movie.h5"
    sidecar_path(video).write_text(json.dumps(
        {"format": "caliali-tk-params", "version": 1,
         "params": {"min_pnr": 4.0, "future_knob": 1}}))
    params, warning = load_params(video)
    assert params == FileParams(min_pnr=4.0)
    assert warning == "movie.h5.caliali.json: ignored unknown setting(s): future_knob"


def test_unreadable_sidecar_is_a_warning(tmp_path):
    video = tmp_path / "movie.h5"
    sidecar_path(video).mkdir()  # a folder where the file should be
    params, warning = load_params(video)
    assert params == FileParams() and "cannot read" in warning


def test_frames_per_session_and_detrend_in_the_sidecar(tmp_path):
    """Issue 9: the sessions are editable in the sidecar and checked."""
    video = tmp_path / "m.h5"
    save_params(video, FileParams(frames_per_session=[300, 200], detrend_s=0.0))
    params, warning = load_params(video)
    assert warning is None and params.frames_per_session == [300, 200]
    assert params.detrend_s == 0.0
    for bad in ([0, 10], "300,200", [1.5]):
        with pytest.raises(ParamsError, match="frames_per_session"):
            FileParams.from_dict({"frames_per_session": bad})
    with pytest.raises(ParamsError, match="detrend_s"):
        FileParams.from_dict({"detrend_s": -1.0})
