"""Start-up work in the background: the demo video and the kernel warm-up."""

import threading
import time

import pytest

from caliali_tk.bundle import frozen
from caliali_tk.gui import startup as startup_module

pytestmark = pytest.mark.gui


def _pump(root, until, timeout=60.0):
    end = time.monotonic() + timeout
    while not until() and time.monotonic() < end:
        root.update()
        time.sleep(0.02)
    assert until(), "timed out"


def test_demo_is_loaded_and_kernels_warmed_in_the_background(app, tmp_path, monkeypatch):
    import caliali_tk.demo.files as sim
    demo = tmp_path / "demo.h5"
    sim.write_simulated(demo, 48, 48, 200, n_neurons=4, seed=1)
    calls = []
    release = threading.Event()
    monkeypatch.setattr(sim, "demo_video", lambda: demo)
    monkeypatch.setattr(frozen, "kernels_ready", lambda: False)

    def fake_warm_up(progress=None, cancel=None):
        release.wait(30)  # held until the window has shown it is not blocked
        for f in (0.0, 0.5, 1.0):
            progress(f, "x")
            calls.append(f)
        return 0.0

    monkeypatch.setattr(frozen, "warm_up", fake_warm_up)
    s = startup_module.Startup(app, demo=True).start()
    # start() returned while the work waits, and the event loop still runs
    ran = []
    app.root.after(10, lambda: ran.append(True))
    _pump(app.root, lambda: ran, timeout=10)
    assert s.thread.is_alive() and not calls
    release.set()
    _pump(app.root, lambda: "Ready" in app.status.message)
    assert calls == [0.0, 0.5, 1.0]
    assert [r.path.name for r in app.rows.values()] == ["demo.h5"]
    s.thread.join(5)
    assert not s.thread.is_alive()


def test_start_up_error_is_one_line_in_the_window(app, monkeypatch):
    monkeypatch.setattr(frozen, "kernels_ready", lambda: False)

    def broken(progress=None, cancel=None):
        raise OSError("disk full")

    monkeypatch.setattr(frozen, "warm_up", broken)
    startup_module.Startup(app).start()
    _pump(app.root, lambda: "disk full" in app.status.message)
    assert "\n" not in app.status.message


def test_nothing_to_prepare_starts_no_thread(app, monkeypatch):
    monkeypatch.setattr(frozen, "kernels_ready", lambda: True)
    s = startup_module.Startup(app).start()
    assert not s.thread.is_alive() and s.thread.ident is None
