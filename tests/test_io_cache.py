"""Summary-image cache: hits, misses on any change, corruption, fallback location."""
import os

import h5py
import numpy as np
import pytest

from caliali_tk.io.cache import (MAX_ENTRIES, cache_key, cache_paths, load_summary,
                                 save_summary)

ALGO = 1


@pytest.fixture
def video(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "data" / "movie.h5"
    path.parent.mkdir()
    path.write_bytes(b"pretend movie bytes")
    return path


def images(seed=0):
    rng = np.random.default_rng(seed)
    return {"Cn": rng.random((6, 9), dtype=np.float32),
            "PNR": rng.random((6, 9), dtype=np.float32) * 20,
            "sn": rng.random((6, 9))}


def assert_same(got, expected):
    assert got is not None and sorted(got) == sorted(expected)
    for name, arr in expected.items():
        np.testing.assert_array_equal(got[name], arr)
        assert got[name].dtype == arr.dtype


def test_miss_then_hit_beside_the_video(video):
    key = cache_key(video, 2.5, True, ALGO)
    assert load_summary(video, key) is None
    written = save_summary(video, key, images())
    assert written == video.with_name("movie.h5.caliali-cache.h5")
    assert_same(load_summary(video, key), images())
    assert sorted(p.name for p in video.parent.iterdir()) == [
        "movie.h5", "movie.h5.caliali-cache.h5"]


def test_key_changes_with_every_setting(video):
    base = cache_key(video, 2.5, True, ALGO)
    assert cache_key(video, 2.5, True, ALGO) == base
    others = {cache_key(video, 3.0, True, ALGO), cache_key(video, 2.5, False, ALGO),
              cache_key(video, 2.5, True, ALGO + 1)}
    assert base not in others and len(others) == 3


def test_mtime_change_is_a_miss_even_with_the_old_key(video):
    old_key = cache_key(video, 2.5, True, ALGO)
    save_summary(video, old_key, images())
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    new_key = cache_key(video, 2.5, True, ALGO)
    assert new_key != old_key
    assert load_summary(video, new_key) is None
    assert load_summary(video, old_key) is None  # stale: never trusted


def test_size_change_is_a_miss(video):
    key = cache_key(video, 2.5, True, ALGO)
    save_summary(video, key, images())
    st = video.stat()
    video.write_bytes(b"a different, longer movie")
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime, new size
    assert load_summary(video, key) is None


def test_gsig_change_is_a_miss_and_both_entries_coexist(video):
    k25, k30 = cache_key(video, 2.5, True, ALGO), cache_key(video, 3.0, True, ALGO)
    save_summary(video, k25, images(1))
    assert load_summary(video, k30) is None
    save_summary(video, k30, images(2))
    assert_same(load_summary(video, k25), images(1))
    assert_same(load_summary(video, k30), images(2))
    with h5py.File(cache_paths(video)[0], "r") as f:
        assert sorted(f) == sorted([k25, k30])


def test_at_most_max_entries_newest_kept(video):
    keys = [cache_key(video, 1.0 + 0.5 * i, True, ALGO) for i in range(MAX_ENTRIES + 3)]
    for i, key in enumerate(keys):
        save_summary(video, key, images(i))
    with h5py.File(cache_paths(video)[0], "r") as f:
        assert len(f) == MAX_ENTRIES
    assert load_summary(video, keys[0]) is None
    assert_same(load_summary(video, keys[-1]), images(len(keys) - 1))


def test_entries_of_an_older_video_are_dropped_on_save(video):
    old = cache_key(video, 2.5, True, ALGO)
    save_summary(video, old, images())
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    new = cache_key(video, 2.5, True, ALGO)
    save_summary(video, new, images(3))
    with h5py.File(cache_paths(video)[0], "r") as f:
        assert list(f) == [new]


@pytest.mark.parametrize("garbage", [b"", b"not hdf5 at all", b"\x89HDF\r\n\x1a\n" + b"\0" * 50])
def test_corrupt_cache_is_a_miss_and_is_replaced_on_save(video, garbage):
    key = cache_key(video, 2.5, True, ALGO)
    cache_paths(video)[0].write_bytes(garbage)
    assert load_summary(video, key) is None
    assert save_summary(video, key, images()) == cache_paths(video)[0]
    assert_same(load_summary(video, key), images())


def test_entry_without_source_stamp_is_a_miss(video):
    key = cache_key(video, 2.5, True, ALGO)
    with h5py.File(cache_paths(video)[0], "w") as f:
        f.create_group(key)["Cn"] = np.zeros((2, 2))
    assert load_summary(video, key) is None


def test_falls_back_to_user_cache_when_beside_is_unwritable(video, tmp_path):
    beside, user = cache_paths(video)
    beside.mkdir()  # a folder in the way: the file cannot be written there
    assert user.parent == tmp_path / "xdg" / "caliali-tk"
    key = cache_key(video, 2.5, True, ALGO)
    assert save_summary(video, key, images()) == user
    assert_same(load_summary(video, key), images())
    assert sorted(p.name for p in video.parent.iterdir()) == [
        "movie.h5", "movie.h5.caliali-cache.h5"]  # the folder, no temp file


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_read_only_folder_uses_user_cache(video):
    key = cache_key(video, 2.5, True, ALGO)
    video.parent.chmod(0o555)
    try:
        assert save_summary(video, key, images()) == cache_paths(video)[1]
        assert_same(load_summary(video, key), images())
    finally:
        video.parent.chmod(0o755)


def test_user_cache_name_depends_on_absolute_path(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    a = cache_paths(tmp_path / "one" / "movie.h5")[1]
    b = cache_paths(tmp_path / "two" / "movie.h5")[1]
    assert a != b and a.parent == b.parent and a.name.endswith(".caliali-cache.h5")


def test_nothing_writable_returns_none(video, monkeypatch):
    for path in cache_paths(video):
        path.mkdir(parents=True)
    assert save_summary(video, cache_key(video, 2.5, True, ALGO), images()) is None


def test_missing_video_is_a_miss_not_an_exception(tmp_path):
    key = cache_key(tmp_path / "gone.h5", 2.5, True, ALGO)
    assert load_summary(tmp_path / "gone.h5", key) is None
    assert save_summary(tmp_path / "gone.h5", key, images()) is None
    assert list(tmp_path.iterdir()) == []
