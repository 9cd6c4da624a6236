"""The PyInstaller bundle's run-time set-up (caliali_tk.bundle.frozen) and, when a
bundle has been built (``make exe``), a smoke test of it."""

import os
import py_compile
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from caliali_tk.bundle import frozen

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "build" / "dist" / "caliali-tk" / (
    "caliali-tk-cli.exe" if os.name == "nt" else "caliali-tk")

# Pretends to be the bundle: sys.frozen, a _MEIPASS with the build id, and a
# numba kernel whose module exists only as a sourceless .pyc (as in the PYZ).
FAKE_FROZEN = textwrap.dedent("""
    import sys
    sys.frozen, sys._MEIPASS = True, {meipass!r}
    import caliali_tk.bundle.frozen as fz
    fz.setup()
    sys.path.insert(0, {mods!r})
    import numpy as np
    import kern
    assert kern.total(np.arange(4.0)) == 6.0
    print(sum(kern.total.stats.cache_hits.values()), sum(kern.total.stats.cache_misses.values()))
    print(fz.numba_cache_dir())
""")


def test_setup_does_nothing_outside_a_bundle(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_LOCATOR_CLASSES", raising=False)
    frozen.setup()
    assert "NUMBA_CACHE_LOCATOR_CLASSES" not in os.environ
    assert not frozen.is_frozen()
    assert frozen.icon_path() is not None and frozen.icon_path().name == "caliali-tk.png"


def test_kernels_ready_follows_the_kernel_cache(tmp_path, monkeypatch):
    """Checkout: compiled kernels (.nbi) in the cache; bundle: warm_up's mark."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert frozen.kernels_ready() is False
    (tmp_path / "caliali_tk").mkdir()
    (tmp_path / "caliali_tk" / "kern.total-5.py311.nbi").write_bytes(b"")
    assert frozen.kernels_ready() is True
    monkeypatch.setattr(frozen, "is_frozen", lambda: True)
    assert frozen.kernels_ready() is False  # a bundle waits for warm_up's mark
    frozen._mark_ready()
    assert (tmp_path / frozen.READY_MARK).is_file()
    assert frozen.kernels_ready() is True


def _fake_bundle(tmp_path):
    meipass = tmp_path / "meipass"
    meipass.mkdir()
    (meipass / frozen.BUILD_FILE).write_text("9.9.9+test\n")
    mods = tmp_path / "mods"
    mods.mkdir()
    src = mods / "kern.py"
    src.write_text("from numba import njit\n\n\n@njit(cache=True)\n"
                   "def total(x):\n    return x.sum()\n")
    py_compile.compile(str(src), cfile=str(mods / "kern.pyc"))
    src.unlink()  # no sources in a bundle
    return meipass, mods


def test_numba_cache_in_a_fake_bundle(tmp_path):
    meipass, mods = _fake_bundle(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    script = FAKE_FROZEN.format(meipass=str(meipass), mods=str(mods))
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True,
                           text=True, env=env, cwd=cwd, timeout=120)
            for cwd in (tmp_path, mods)]  # the current folder must not matter
    for run in runs:
        assert run.returncode == 0, run.stderr
    first, second = (run.stdout.splitlines() for run in runs)
    assert first[0] == "0 1"  # hits, misses: compiled
    assert second[0] == "1 0"  # loaded from the cache
    folder = Path(first[1])
    assert folder == tmp_path / "cache" / "caliali-tk" / "numba" / "9.9.9+test"
    assert list((folder / "kern").glob("kern.total-*.nbi"))


@pytest.mark.skipif(not BUNDLE.exists(), reason="no bundle built (make exe)")
def test_bundle_smoke(tmp_path):
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    if os.name == "nt":
        env = dict(os.environ)
    version = subprocess.run([str(BUNDLE), "--version"], capture_output=True,
                             text=True, env=env, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("caliali-tk ")
    movie = tmp_path / "m.h5"
    demo = subprocess.run([str(BUNDLE), "demo", "-o", str(movie), "--size", "32", "32",
                           "40", "--neurons", "2"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert demo.returncode == 0, demo.stderr
    info = subprocess.run([str(BUNDLE), "info", str(movie)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert info.returncode == 0 and "(40, 32, 32)" in info.stdout
