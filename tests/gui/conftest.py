"""Fixtures for the GUI tests (the real-event helpers are in gui_helpers.py).

pytest-xvfb starts a virtual X display for the whole session (Xvfb must be
installed: ``tools/install-system-deps.sh``); `display` below checks that a
display is there and skips the GUI tests otherwise. Modal dialogs are
replaced by recorders (`dialog_log`), so no test can block on one, and every
wait is bounded by a timeout.
"""

from __future__ import annotations

import gc
import os
import shutil
import tkinter as tk

import pytest

from caliali_tk.demo.files import write_simulated

SMALL = dict(height=64, width=64, n_frames=300, n_neurons=8, gSig=2.5, seed=3)
MEDIUM = dict(height=128, width=128, n_frames=1500, n_neurons=30, gSig=2.5, seed=4)


def _screen_size():
    root = tk.Tk()
    try:
        return root.winfo_screenwidth(), root.winfo_screenheight()
    finally:
        root.destroy()


@pytest.fixture(scope="session")
def display():
    """An X display of at least 1280 x 800 for the GUI tests.

    pytest-xvfb starts a virtual display for the session, 800 x 600 by
    default (its ``xvfb_width`` / ``xvfb_height`` ini options). The windows
    are sized for 1280 x 800, so when the display is smaller this fixture
    starts its own Xvfb of that size for the GUI tests and restores DISPLAY
    afterwards. Skips when there is no display at all.
    """
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display (install Xvfb; pytest-xvfb then provides one)")
    try:
        width, height = _screen_size()
    except tk.TclError as exc:
        pytest.skip(f"Tk cannot open the display: {exc}")
    own = None
    if width < 1280 or height < 800:
        from pyvirtualdisplay import Display
        own = Display(backend="xvfb", size=(1280, 800), color_depth=24)
        own.start()  # sets DISPLAY; stop() restores it
    try:
        yield os.environ["DISPLAY"]
    finally:
        if own is not None:
            own.stop()


@pytest.fixture(scope="session")
def small_master(tmp_path_factory):
    """A 64 x 64 x 300 simulated movie with 8 neurons (written once)."""
    path = tmp_path_factory.mktemp("videos") / "small.h5"
    write_simulated(path, **SMALL)
    return path


@pytest.fixture(scope="session")
def medium_master(tmp_path_factory):
    """A 128 x 128 x 1500 movie: its extraction runs long enough to cancel."""
    path = tmp_path_factory.mktemp("videos") / "medium.h5"
    write_simulated(path, **MEDIUM)
    return path


@pytest.fixture(scope="session")
def warm_kernels(tmp_path_factory, small_master):
    """Run one small extraction so numba's kernels are compiled / loaded.

    Compiling or loading a numba kernel holds the GIL for up to a few hundred
    milliseconds, once per process; the event-loop latency test measures the
    steady state after that.
    """
    from caliali_tk.io.params import FileParams
    from caliali_tk.pipeline import extract
    dst = tmp_path_factory.mktemp("warm") / "warm.h5"
    shutil.copy(small_master, dst)
    extract(dst, FileParams(), out_path=False, use_cache=False)


@pytest.fixture
def small_video(tmp_path, small_master):
    """A private copy of the small movie (its sidecar and results stay in tmp_path)."""
    dst = tmp_path / "mouse1.h5"
    shutil.copy(small_master, dst)
    return dst


@pytest.fixture
def medium_video(tmp_path, medium_master):
    """A private copy of the medium movie."""
    dst = tmp_path / "mouse_long.h5"
    shutil.copy(medium_master, dst)
    return dst


class DialogLog:
    """Records every dialog; answers questions from `answers` (default Yes)."""

    def __init__(self):
        self.calls = []
        self.answers = {}

    def record(self, kind, *args):
        self.calls.append((kind,) + tuple(a for a in args if isinstance(a, str)))
        return self.answers.get(kind, True)

    def of(self, kind):
        """Messages of the dialogs of one kind."""
        return [c[-1] for c in self.calls if c[0] == kind]


@pytest.fixture
def dialog_log(monkeypatch):
    """Replace every modal dialog with a recorder."""
    from caliali_tk.gui import dialogs
    log = DialogLog()
    for name in ("error", "info", "ask_yes_no", "ask_yes_no_cancel"):
        monkeypatch.setattr(dialogs, name,
                            lambda parent, title, msg, _n=name: log.record(_n, title, msg))
    monkeypatch.setattr(dialogs, "ask_open_videos",
                        lambda parent, initialdir=None: log.record("ask_open_videos") or [])
    monkeypatch.setattr(dialogs, "ask_open_results",
                        lambda parent, initialdir=None: log.record("ask_open_results"))
    monkeypatch.setattr(dialogs, "ask_save_csv",
                        lambda parent, d, f: log.record("ask_save_csv", f))
    monkeypatch.setattr(dialogs, "ask_save_nwb",
                        lambda parent, d, f: log.record("ask_save_nwb", f))
    return log


@pytest.fixture
def app(display, dialog_log):
    """The main window on a fresh Tk root; torn down cleanly (worker joined)."""
    from caliali_tk.gui.app import MainWindow
    root = tk.Tk()
    window = MainWindow(root)
    root.update()
    yield window
    if window.batch is not None:
        window.batch.worker.cancel()
        assert window.batch.worker.join(30), "extraction worker did not stop"
    workers = [w.worker for w in window.threshold_windows.values() if w.worker is not None]
    window._close_children()
    for worker in workers:
        assert worker.join(30), "summary worker did not stop"
    try:
        root.destroy()
    except tk.TclError:
        pass
    del window, root
    gc.collect()  # free this test's Tk objects here, not in a later test's worker thread
