"""The file's own orientation: MATLAB (T, d2, d1) or Python (T, H, W), detected,
overridable, and the one rule (to_display / from_display) for each layout."""
import h5py
import numpy as np
import pytest

from caliali_tk.cli.main import LAYOUTS as CLI_LAYOUTS
from caliali_tk.errors import VideoError
from caliali_tk.io.orientation import (LAYOUTS, detect_layout, from_display, is_mat73,
                                       time_axis_warning, to_display)
from caliali_tk.io.video import VideoFile

from matlab_files import write_mat73

T, H, W = 7, 48, 80  # landscape: a transposition shows as 80 rows x 48 columns


def pattern():
    """Display frames with an L-shaped marker: unique under any flip or transpose."""
    Y = np.zeros((T, H, W), np.uint16)
    Y[:, 2, 3:9] = 500   # a horizontal bar on row 2
    Y[:, 2:6, 3] = 900   # a vertical bar on column 3, below it
    Y[:, 40, 70] = 7     # one pixel near the bottom-right corner
    Y += np.arange(T, dtype=np.uint16)[:, None, None]  # frames differ
    return Y


def stored_as(layout, display):
    """What h5py sees in a file of `layout` holding `display` frames."""
    return np.ascontiguousarray(display.transpose(0, 2, 1) if layout == "matlab" else display)


def write_plain(path, name, data, **attrs):
    with h5py.File(path, "w") as f:
        ds = f.create_dataset(name, data=data)
        ds.attrs.update(attrs)
    return path


# one file of each kind that occurs, with its expected layout
def _mat(tmp_path, display):
    return write_mat73(tmp_path / "caliali.mat", {"Y": display.transpose(1, 2, 0)}), "matlab"


def _caliali_h5(tmp_path, display):
    return write_plain(tmp_path / "caliali.h5", "Object", stored_as("matlab", display)), "matlab"


def _matlab_class_attr(tmp_path, display):
    path = write_plain(tmp_path / "m.h5", "movie", stored_as("matlab", display),
                       MATLAB_class=np.bytes_("uint16"))
    return path, "matlab"


def _python(tmp_path, display):
    return write_plain(tmp_path / "py.h5", "movie", stored_as("python", display)), "python"


def _python_y(tmp_path, display):  # /Y without MATLAB's marks: an h5py script
    return write_plain(tmp_path / "py_y.h5", "Y", stored_as("python", display)), "python"


KINDS = [_mat, _caliali_h5, _matlab_class_attr, _python, _python_y]


@pytest.mark.parametrize("make", KINDS, ids=lambda f: f.__name__.strip("_"))
def test_asymmetric_pattern_is_shown_as_recorded_in_each_layout(tmp_path, make):
    display = pattern()
    path, layout = make(tmp_path, display)
    with VideoFile(path) as video:
        assert video.layout == layout
        assert video.shape == (T, H, W) and (video.height, video.width) == (48, 80)
        frames = video.read(0, T)
    np.testing.assert_array_equal(frames, display.astype(np.float32))
    assert frames.flags.c_contiguous and frames.dtype == np.float32


@pytest.mark.parametrize("layout", ["matlab", "python"])
def test_override_reads_the_other_way(tmp_path, layout):
    display = pattern()
    path = write_plain(tmp_path / "m.h5", "movie", stored_as(layout, display))
    other = "python" if layout == "matlab" else "matlab"
    with VideoFile(path, layout=layout) as video:
        assert video.layout_reason == "given"
        np.testing.assert_array_equal(video.read(0, T), display)
    with VideoFile(path, layout=other) as video:
        assert video.shape == (T, W, H)
        np.testing.assert_array_equal(video.read(0, T), display.transpose(0, 2, 1))


def test_unknown_layout_is_a_one_line_video_error(tmp_path):
    path = write_plain(tmp_path / "m.h5", "movie", stored_as("python", pattern()))
    with pytest.raises(VideoError, match=r"^m\.h5: layout must be one of auto, matlab, python"):
        VideoFile(path, layout="sideways")


@pytest.mark.parametrize("layout", ["matlab", "python"])
def test_to_display_and_from_display_are_inverse_views(layout):
    block = stored_as(layout, pattern())
    shown = to_display(block, layout)
    np.testing.assert_array_equal(shown, pattern())
    assert np.shares_memory(shown, block)
    np.testing.assert_array_equal(from_display(shown, layout), block)
    image = block[0]
    np.testing.assert_array_equal(from_display(to_display(image, layout), layout), image)
    with pytest.raises(ValueError):
        to_display(block, "auto")


def test_detect_layout_reasons(tmp_path):
    display = pattern()
    for make in KINDS:
        path, layout = make(tmp_path, display)
        with h5py.File(path, "r") as f:
            name = "Y" if "Y" in f else ("Object" if "Object" in f else "movie")
            got, reason = detect_layout(f, f[name], path)
        assert got == layout and reason
    assert is_mat73(tmp_path / "caliali.mat") and not is_mat73(tmp_path / "py.h5")


def test_caliali_options_group_marks_matlab(tmp_path):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f["movie"] = stored_as("matlab", pattern())
        f["CaliAli_options/inter_session_alignment/F"] = np.array([[float(T)]])
    with VideoFile(path) as video:
        assert video.layout == "matlab" and video.shape == (T, H, W)


@pytest.mark.parametrize("stored, warned", [
    ((48, 80, 6000), True),     # (H, W, T)
    ((6000, 48, 80), False),    # (T, H, W)
    ((6000, 80, 48), False),    # (T, W, H)
    ((50, 480, 752), False),    # a short movie of large frames
    ((7, 48, 80), False),
])
def test_first_axis_not_time_warning(stored, warned):
    msg = time_axis_warning(stored, "m.h5")
    assert (msg is not None) == warned
    if warned:
        assert msg.startswith("m.h5: ") and "\n" not in msg and "(T, H, W)" in msg


def test_video_carries_the_axis_warning(tmp_path):
    path = write_plain(tmp_path / "hwt.h5", "movie", np.zeros((6, 8, 200), np.uint8))
    with VideoFile(path) as video:
        assert len(video.warnings) == 1 and "hwt.h5" in video.warnings[0]
    path = write_plain(tmp_path / "thw.h5", "movie", np.zeros((200, 6, 8), np.uint8))
    with VideoFile(path) as video:
        assert video.warnings == []


def test_cli_offers_the_same_layouts():
    assert tuple(CLI_LAYOUTS) == LAYOUTS
