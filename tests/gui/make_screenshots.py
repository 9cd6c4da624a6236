"""Screenshots of the windows for the docs: main, threshold (Get), results, curation.

Run on a 1280 x 800 virtual screen (it starts one with xvfb-run itself when
there is no DISPLAY)::

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python tests/gui/make_screenshots.py

It simulates a demo-like movie (256 x 256 pixels, 1000 frames, 60 neurons)
in a temporary folder, copies it as three "sessions", extracts the first,
and shows a second one mid-run. Each window is captured from the X screen
with ImageMagick's ``import`` and cropped to the window, into
``docs/screenshots/{main,threshold,results}.png``. Takes a few minutes (one
real extraction).

``--only curation`` makes the curation screenshots instead, on a movie with
280 neurons (384 x 384 x 1000, two sessions; ``--big VIDEO`` reuses one):
an extraction with strict thresholds leaves neurons out, the list is sorted
by SNR with the dimmest rejected (``curation.png``), and one missed neuron
is added by a click on the residual PNR layer (``residual.png``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tkinter as tk
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT = REPO / "docs" / "screenshots"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))


def _reexec_under_xvfb() -> None:
    if os.environ.get("DISPLAY") or os.environ.get("CALIALI_SCREENSHOT_CHILD"):
        return
    env = dict(os.environ, CALIALI_SCREENSHOT_CHILD="1")
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable] + sys.argv
    sys.exit(subprocess.call(cmd, env=env))


def capture(win: tk.Misc, path: Path) -> None:
    """Raise `win`, let it draw, and save the screen area it covers."""
    win.lift()
    win.update()
    time.sleep(0.3)
    win.update()
    # the window's outer corner (a menu bar sits above the client area)
    x, y = (int(v) for v in win.wm_geometry().split("+")[1:3])
    w = win.winfo_width()
    h = win.winfo_rooty() + win.winfo_height() - y
    path.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("import"):
        subprocess.run(["import", "-window", "root", "-crop", f"{w}x{h}+{x}+{y}", "+repage",
                        str(path)], check=True)
    else:  # no ImageMagick: Pillow reads the X screen too
        from PIL import ImageGrab
        ImageGrab.grab(bbox=(x, y, x + w, y + h), xdisplay=None).save(path)
    print(f"saved {path.relative_to(REPO)} ({w} x {h} at +{x}+{y})")


def make_videos(folder: Path, frames: int) -> list:
    """Three sessions of one simulated mouse (copies, so one simulation)."""
    from caliali_tk.demo.files import write_simulated
    first = folder / "mouse07_day1.h5"
    write_simulated(first, 256, 256, frames, n_neurons=60, gSig=2.5, seed=7)
    paths = [first]
    for day in (2, 3):
        p = folder / f"mouse07_day{day}.h5"
        shutil.copy(first, p)
        paths.append(p)
    return paths


def main() -> int:
    _reexec_under_xvfb()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--only", choices=["windows", "curation"], default="windows")
    parser.add_argument("--big", metavar="VIDEO", help="the 280-neuron movie to reuse")
    args = parser.parse_args()
    if args.only == "curation":
        from curation_screenshots import curation_screenshots
        return curation_screenshots(args.big, capture, OUT)

    from gui_helpers import canvas_xy, drag, pump, settle
    from caliali_tk.gui.app import MainWindow
    from caliali_tk.io.params import FileParams, save_params

    folder = Path(tempfile.mkdtemp(prefix="caliali-shots-"))
    try:
        paths = make_videos(folder, args.frames)
        save_params(paths[2], FileParams(min_pnr=7.5, min_corr=0.75, fps=20.0))
        root = tk.Tk(className="caliali-tk")
        app = MainWindow(root)
        iids = app.add_files(paths)
        settle(root, 0.2)

        # the first session: thresholds by eye, a mask, then a real extraction
        win = app.open_threshold(iids[0])
        assert pump(root, lambda: win.seeds is not None, 120), "no summary images"
        win.spin_vars["pnr"].set("7")
        win.spin_changed("pnr")
        H, W = win.summary.Cn.shape
        win.mode.set("exclude")
        win.canvas.draw()
        corners = [(W * 0.62, 0), (W - 1, 0), (W - 1, H * 0.3), (W * 0.8, H * 0.38)]
        pts = [canvas_xy(win.canvas, win.plot.ax_cn, x, y, draw=False) for x, y in corners]
        drag(win.canvas.get_tk_widget(), pts + [pts[0]])
        win.canvas.get_tk_widget().event_generate("<Leave>")
        win.toolbar.set_message("")
        settle(root, 0.5)
        capture(win, OUT / "threshold.png")
        win.ok()

        app.table.tree.selection_set(iids[0])
        app.run_extraction()
        assert pump(root, lambda: not app.batch.running, 1800), "extraction did not finish"
        view = app.results.windows[-1]
        view.select(min(4, view.result.K - 1))
        settle(root, 0.5)
        capture(view, OUT / "results.png")
        view.close()

        # the other two sessions mid-run, for the main window's progress display
        app.table.tree.selection_set(iids[1:])
        app.run_extraction()
        assert pump(root, lambda: app.batch.stage.startswith("round"), 600), "run stalled"
        app.table.tree.selection_set(iids[0])
        settle(root, 0.3)
        capture(root, OUT / "main.png")
        app.cancel_run()
        pump(root, lambda: not app.batch.running, 60)
        root.destroy()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
