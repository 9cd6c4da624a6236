"""atomic_path / atomic_write_text: all or nothing, never a stray temp file."""
import os

import pytest

from caliali_tk.io.atomic import atomic_path, atomic_write_text


class Cancelled(Exception):
    """Stands in for the pipeline's cancellation exception."""


def test_success_replaces_target_and_leaves_only_it(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".") and tmp.name.endswith(".tmp")
        assert target.read_text() == "old"  # untouched until the block ends
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt, Cancelled])
def test_exception_mid_write_keeps_old_file_and_removes_temp(tmp_path, exc_type):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(exc_type):
        with atomic_path(target) as tmp:
            tmp.write_text("half of the new cont")
            raise exc_type()
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_exception_without_previous_file_creates_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "new.h5") as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_text_failing_mid_write_leaves_nothing(tmp_path):
    target = tmp_path / "params.json"
    target.write_text("{}")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "valid start, then a lone surrogate \udc80")
    assert target.read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["params.json"]


def test_atomic_write_text_writes_utf8(tmp_path):
    target = atomic_write_text(tmp_path / "t.txt", "µm ok\n")
    assert target.read_bytes() == "µm ok\n".encode("utf-8")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_written_file_gets_normal_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    target = atomic_write_text(tmp_path / "t.txt", "x")
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
