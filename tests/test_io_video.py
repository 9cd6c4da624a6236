"""VideoFile: orientation, lazy float32 reads, read-only access, one-line errors."""
import hashlib

import h5py
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from caliali_tk.errors import VideoError
from caliali_tk.io.video import VideoFile, from_display, open_video, to_display

T, H, W = 12, 6, 9  # H != W so a transposition cannot go unnoticed


def matlab_layout(display):
    """(T, H, W) display frames -> what MATLAB's d1 x d2 x T looks like to h5py."""
    return np.ascontiguousarray(np.asarray(display).transpose(0, 2, 1))


def write_h5(path, datasets, **create_kw):
    """Write {name: array} into a new HDF5 file and return its path."""
    with h5py.File(path, "w") as f:
        for name, data in datasets.items():
            f.create_dataset(name, data=data, **create_kw)
    return path


def ramp_movie(n=T, dtype=np.uint16):
    """Display-orientation frames whose every value is distinct."""
    return np.arange(n * H * W).reshape(n, H, W).astype(dtype)


def file_state(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


# ---------------------------------------------------------------- orientation

def test_marker_lands_at_row1_col5_in_display_orientation(tmp_path):
    raw = np.zeros((T, W, H), np.uint16)  # MATLAB d1 x d2 x T, i.e. (T, d2, d1)
    raw[:, 5, 1] = 1000                   # MATLAB Y(2, 6, t): row 1, col 5 (0-based)
    path = write_h5(tmp_path / "marker.h5", {"Object": raw})
    with VideoFile(path) as video:
        assert video.shape == (T, H, W)
        assert (video.height, video.width) == (H, W)
        frames = video.read(0, T)
    assert frames.shape == (T, H, W)
    expected = np.zeros((H, W), np.float32)
    expected[1, 5] = 1000
    for frame in frames:
        np.testing.assert_array_equal(frame, expected)


def test_to_display_and_from_display_are_inverse_views():
    block = np.arange(2 * W * H).reshape(2, W, H)
    shown = to_display(block)
    assert shown.shape == (2, H, W)
    assert shown[1, 1, 5] == block[1, 5, 1]
    np.testing.assert_array_equal(from_display(shown), block)
    assert np.shares_memory(shown, block)
    image = block[0]
    np.testing.assert_array_equal(to_display(image), image.T)


# ---------------------------------------------------------------- reading

@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32", "float64"])
def test_supported_dtypes_read_as_contiguous_float32(tmp_path, dtype):
    movie = (ramp_movie() % 200).astype(dtype)
    path = write_h5(tmp_path / "m.h5", {"Object": matlab_layout(movie)})
    with VideoFile(path) as video:
        assert video.dtype == np.dtype(dtype)
        frames = video.read(3, 7)
    assert frames.dtype == np.float32 and frames.flags.c_contiguous
    np.testing.assert_array_equal(frames, movie[3:7].astype(np.float32))


@pytest.mark.parametrize("layout_name", ["matlab", "python"])
@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_reused_chunks_are_the_plain_chunks_in_one_buffer(tmp_path, layout_name, dtype):
    movie = (ramp_movie(23) % 300).astype(dtype)
    stored = matlab_layout(movie) if layout_name == "matlab" else movie
    path = write_h5(tmp_path / "m.h5", {"Object": stored}, chunks=(5,) + stored.shape[1:])
    with VideoFile(path, layout_name) as video:
        plain = [(s, f.copy()) for s, f in video.iter_chunks(7, 2, 20)]
        reused, buffers = [], set()
        for s, f in video.iter_chunks(7, 2, 20, reuse=True):
            reused.append((s, f.copy()))
            buffers.add(f.__array_interface__["data"][0])
    assert [s for s, _ in reused] == [s for s, _ in plain] == [2, 9, 16]
    for (_, a), (_, b) in zip(plain, reused):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.concatenate([b for _, b in reused]),
                                  movie[2:20].astype(np.float32))
    assert len(buffers) == 1  # every block in the same array


def test_reused_buffers_outlive_a_pass(tmp_path):
    """The summary images read several stretches (the noise plan) and then the
    whole movie: one buffer of the largest block serves them all."""
    movie = (ramp_movie(40) % 300).astype("uint16")
    path = write_h5(tmp_path / "m.h5", {"Object": matlab_layout(movie)})
    with VideoFile(path) as video:
        seen = set()
        for a, b in [(0, 6), (20, 26), (0, 40)]:
            for s, f in video.iter_chunks(8, a, b, reuse=True):
                np.testing.assert_array_equal(f, movie[s:s + len(f)].astype(np.float32))
                seen.add(f.base.__array_interface__["data"][0] if f.base is not None
                         else f.__array_interface__["data"][0])
        assert len(seen) == 1


def test_properties(tmp_path):
    path = write_h5(tmp_path / "m.h5", {"Object": matlab_layout(ramp_movie())})
    with open_video(path) as video:
        assert video.path == path
        assert video.dataset_name == "/Object"
        assert (video.n_frames, video.height, video.width) == (T, H, W)
        assert video.frames_per_session is None


def test_reading_leaves_file_bytes_and_mtime_unchanged(tmp_path):
    path = write_h5(tmp_path / "m.h5", {"Object": matlab_layout(ramp_movie())})
    before = file_state(path)
    with VideoFile(path) as video:
        video.read(0, T)
        list(video.iter_chunks(5))
    assert file_state(path) == before


def test_closed_video_refuses_reads(tmp_path):
    path = write_h5(tmp_path / "m.h5", {"Object": matlab_layout(ramp_movie())})
    with VideoFile(path) as video:
        pass
    video.close()  # twice is fine
    with pytest.raises(ValueError):
        video.read(0, 1)


def test_read_rejects_out_of_range(tmp_path):
    path = write_h5(tmp_path / "m.h5", {"Object": matlab_layout(ramp_movie())})
    with VideoFile(path) as video:
        assert video.read(4, 4).shape == (0, H, W)
        for start, stop in [(-1, 2), (3, 2), (0, T + 1)]:
            with pytest.raises(ValueError):
                video.read(start, stop)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_frame_is_reported_by_index(tmp_path, bad):
    movie = ramp_movie(dtype=np.float32)
    movie[6, 2, 3] = bad
    path = write_h5(tmp_path / "nan.h5", {"Object": matlab_layout(movie)})
    with VideoFile(path) as video:
        video.read(0, 6)  # frames before the bad one are fine
        with pytest.raises(VideoError) as err:
            video.read(4, T)
    msg = str(err.value)
    assert msg.startswith("nan.h5:") and "frame 6" in msg and "\n" not in msg


def test_float64_too_large_for_float32_is_an_error(tmp_path):
    movie = ramp_movie(dtype=np.float64)
    movie[2, 0, 0] = 1e300
    path = write_h5(tmp_path / "big.h5", {"Object": matlab_layout(movie)})
    with VideoFile(path) as video, pytest.raises(VideoError, match="frame 2"):
        video.read(0, T)


# ---------------------------------------------------------------- chunks

@pytest.fixture(scope="module")
def chunk_movie(tmp_path_factory):
    movie = ramp_movie(n=37)
    path = tmp_path_factory.mktemp("chunks") / "c.h5"
    write_h5(path, {"Object": matlab_layout(movie)})
    return path, movie.astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(chunk=st.integers(1, 45), start=st.integers(0, 37), length=st.integers(0, 37))
def test_iter_chunks_covers_each_frame_exactly_once(chunk_movie, chunk, start, length):
    path, movie = chunk_movie
    stop = min(start + length, 37)
    with VideoFile(path) as video:
        chunks = list(video.iter_chunks(chunk, start, stop))
    expected_starts = list(range(start, stop, chunk))
    assert [s for s, _ in chunks] == expected_starts
    assert all(0 < len(f) <= chunk for _, f in chunks)
    joined = np.concatenate([f for _, f in chunks]) if chunks else np.empty((0, H, W))
    np.testing.assert_array_equal(joined, movie[start:stop])


def test_iter_chunks_whole_movie_by_default(chunk_movie):
    path, movie = chunk_movie
    with VideoFile(path) as video:
        with pytest.raises(ValueError):
            next(video.iter_chunks(0))
        frames = np.concatenate([f for _, f in video.iter_chunks(10)])
    np.testing.assert_array_equal(frames, movie)


def test_chunk_frames_for(chunk_movie):
    path, _ = chunk_movie
    frame_bytes = H * W * 4
    with VideoFile(path) as video:
        assert video.chunk_frames_for(4 * frame_bytes) == 4
        assert video.chunk_frames_for(4 * frame_bytes + 7) == 4
        assert video.chunk_frames_for(10) == 1
        assert video.chunk_frames_for(1e12) == 37


# ---------------------------------------------------------------- finding the movie

def test_object_is_preferred_over_y(tmp_path):
    movie = ramp_movie()
    path = write_h5(tmp_path / "m.h5", {"Y": matlab_layout(movie[:5]),
                                        "Object": matlab_layout(movie)})
    with VideoFile(path) as video:
        assert video.dataset_name == "/Object" and video.n_frames == T


def test_y_is_used_before_a_lone_dataset(tmp_path):
    movie = ramp_movie()
    path = write_h5(tmp_path / "m.h5", {"Y": matlab_layout(movie),
                                        "other": matlab_layout(movie[:3])})
    with VideoFile(path) as video:
        assert video.dataset_name == "/Y" and video.n_frames == T


def test_lone_nested_dataset_is_found_and_ground_truth_ignored(tmp_path):
    movie = ramp_movie()
    path = write_h5(tmp_path / "sim.h5", {  # written by h5py: (T, H, W) as it looks
        "data/movie": movie,
        "ground_truth/A": np.zeros((3, H, W), np.float32),
        "ground_truth/C": np.zeros((3, T), np.float32),
        "notes": np.zeros((4, 4))})
    with VideoFile(path) as video:
        assert video.dataset_name == "/data/movie"
        np.testing.assert_array_equal(video.read(0, T), movie)


def test_matlab_v73_mat_with_userblock_and_sessions(tmp_path):
    path = tmp_path / "session.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        f["Y"] = matlab_layout(ramp_movie())
        f["CaliAli_options/inter_session_alignment/F"] = np.array([[5.0], [7.0]])
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .")
    with VideoFile(path) as video:
        assert video.dataset_name == "/Y"
        assert video.frames_per_session == [5, 7]


@pytest.mark.parametrize("sessions", [
    np.array([5, 6]),                 # sums to 11, not 12
    np.array([5.5, 6.5]),             # not whole numbers
    np.array([0, 12]),                # an empty session
    np.array([b"5", b"7"]),           # not numeric
    np.array([]),                     # empty
])
def test_bad_frames_per_session_is_ignored(tmp_path, sessions):
    path = write_h5(tmp_path / "m.h5", {"Object": matlab_layout(ramp_movie()),
                                        "CaliAli_options/inter_session_alignment/F": sessions})
    with VideoFile(path) as video:
        assert video.frames_per_session is None


def test_frames_per_session_as_group_is_ignored(tmp_path):
    path = write_h5(tmp_path / "m.h5", {"Object": matlab_layout(ramp_movie()),
                                        "CaliAli_options/inter_session_alignment/F/x": [1]})
    with VideoFile(path) as video:
        assert video.frames_per_session is None


# ---------------------------------------------------------------- bad inputs

def _text(p):
    p.write_text("frame,value\n1,2\n")


def _mat5(p):
    p.write_bytes(b"MATLAB 5.0 MAT-file, Platform: PCWIN64, Created on: Mon".ljust(128, b" ")
                  + b"\x00" * 256)


def _empty(p):
    p.write_bytes(b"")


def _h5(**datasets):
    return lambda p: write_h5(p, datasets)


def _truncated(p):
    rng = np.random.default_rng(0)
    write_h5(p, {"Object": rng.integers(0, 60000, (20, 32, 24), dtype=np.uint16)})
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


BAD_INPUTS = {
    "missing": (None, "not found"),
    "text file": (_text, "not an HDF5 file (MATLAB v7.3 .mat or .h5 expected)"),
    "matlab v5": (_mat5, "save it with -v7.3"),
    "empty file": (_empty, "empty"),
    "no datasets": (_h5(), "no datasets"),
    "Object 2-D": (_h5(Object=np.zeros((W, H))), "2-D"),
    "lone 2-D": (_h5(image=np.zeros((W, H))), "2-D"),
    "Object 4-D": (_h5(Object=np.zeros((T, 3, W, H))), "4-D"),
    "lone 4-D": (_h5(rgb=np.zeros((T, 3, W, H), np.uint8)), "4-D"),
    "no 3-D among many": (_h5(a=np.zeros(3), b=np.zeros((W, H))), "no 3-D"),
    "zero frames": (_h5(Object=np.zeros((0, W, H), np.uint16)), "zero frames"),
    "one frame": (_h5(Object=np.zeros((1, W, H), np.uint16)), "at least 2 frames"),
    "empty frames": (_h5(Object=np.zeros((T, 0, H), np.uint16)), "empty frames"),
    "strings": (_h5(Object=np.array([[[b"ab"] * H] * W] * T)), "not numeric"),
    "compound": (_h5(Object=np.zeros((T, W, H), dtype=[("re", "f4"), ("im", "f4")])),
                 "not numeric"),
    "int32": (_h5(Object=np.zeros((T, W, H), np.int32)), "unsupported type int32"),
    "two 3-D": (_h5(a=np.zeros((T, W, H)), b=np.zeros((T, W, H))), "several 3-D"),
    "truncated": (_truncated, "truncated or damaged"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_one_line_video_error_naming_the_file(tmp_path, case):
    make, fragment = BAD_INPUTS[case]
    path = tmp_path / "movie.h5"
    if make is not None:
        make(path)
    with pytest.raises(VideoError) as err:
        VideoFile(path)
    msg = str(err.value)
    assert msg.startswith("movie.h5: ")
    assert "\n" not in msg
    assert fragment in msg


def test_folder_is_not_a_video(tmp_path):
    with pytest.raises(VideoError, match="folder"):
        VideoFile(tmp_path)


def test_damaged_chunk_is_reported_at_read_time_and_reads_are_lazy(tmp_path):
    movie = ramp_movie(n=10)
    path = tmp_path / "damaged.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("Object", data=matlab_layout(movie), chunks=(1, W, H),
                              compression="gzip")
        info = ds.id.get_chunk_info_by_coord((7, 0, 0))
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset)
        fh.write(b"\xff" * info.size)
    with VideoFile(path) as video:
        np.testing.assert_array_equal(video.read(0, 7), movie[:7])
        with pytest.raises(VideoError) as err:
            video.read(5, 10)
    msg = str(err.value)
    assert msg.startswith("damaged.h5: ") and "frames 5-9" in msg and "\n" not in msg
