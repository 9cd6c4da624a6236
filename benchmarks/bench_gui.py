"""Responsiveness of the window: event-loop gaps during an extraction, threshold redraws.

Run: ``python benchmarks/bench_gui.py`` (needs a display; under ``make
bench`` without one, it starts ``Xvfb`` when installed, else says so).

- *event loop during extraction*: a 10 ms Tk timer is re-armed while a
  128 x 128 x 1500 simulated movie is extracted in the worker thread; the
  gaps between its ticks are how long the window was unresponsive.
- *threshold redraw*: a PNR spinbox step on a 600 x 600 threshold window
  (dots moved by blitting), from the key event to the end of the redraw.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _ensure_display():
    """A display for Tk: the current one, or a private Xvfb (returned to stop)."""
    if os.environ.get("DISPLAY"):
        return None
    if not shutil.which("Xvfb"):
        return False
    proc = subprocess.Popen(["Xvfb", ":97", "-screen", "0", "1280x800x24"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ["DISPLAY"] = ":97"
    time.sleep(1.0)
    return proc


def _event_loop_gaps(folder: Path) -> dict:
    import tkinter as tk
    from caliali_tk.bundle.frozen import warm_up
    from caliali_tk.demo.files import write_simulated
    from caliali_tk.gui.app import MainWindow

    warm_up()
    video = folder / "medium.h5"
    write_simulated(video, 128, 128, 1500, n_neurons=30, gSig=2.5, seed=4)
    root = tk.Tk()
    app = MainWindow(root)
    app.add_files([video])
    app.run_extraction()
    ticks = []

    def tick():
        ticks.append(time.perf_counter())
        if app.batch.running:
            root.after(10, tick)
    root.after(10, tick)
    while app.batch.running:
        root.update()
        time.sleep(0.002)
    root.update()
    root.destroy()
    gaps = np.diff(ticks) * 1e3
    return {"ticks": len(ticks), "median_ms": float(np.median(gaps)),
            "p99_ms": float(np.percentile(gaps, 99)), "max_ms": float(gaps.max())}


def _threshold_redraws(n: int = 24) -> dict:
    import tkinter as tk
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "gui"))
    from test_threshold import synthetic_row
    from caliali_tk.gui.threshold import ThresholdWindow
    from caliali_tk.gui.widgets import setup_style

    root = tk.Tk()
    setup_style(root)
    win = ThresholdWindow(root, synthetic_row(), on_ok=lambda c: None,
                          on_close=lambda: None, log=lambda *a: None)
    for _ in range(30):
        root.update()
        time.sleep(0.01)
    win.canvas.draw()
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        win.spins["pnr"].event_generate("<<Increment>>" if i % 2 == 0 else "<<Decrement>>")
        root.update_idletasks()
        times.append((time.perf_counter() - t0) * 1e3)
    win.close()
    root.destroy()
    return {"median_ms": statistics.median(times), "max_ms": max(times)}


def main(argv=None) -> None:
    xvfb = _ensure_display()
    if xvfb is False:
        print("bench_gui: no display and no Xvfb; skipped")
        return
    try:
        with tempfile.TemporaryDirectory() as tmp:
            loop = _event_loop_gaps(Path(tmp))
        redraw = _threshold_redraws()
    finally:
        if xvfb:
            xvfb.terminate()
    print("\n## Window responsiveness\n")
    print("| measurement | median | p99 | max |")
    print("|---|---|---|---|")
    print(f"| event loop during extraction (128x128x1500, {loop['ticks']} ticks of a 10 ms "
          f"timer) | {loop['median_ms']:.0f} ms | {loop['p99_ms']:.0f} ms | {loop['max_ms']:.0f} ms |")
    print(f"| threshold redraw, 600x600 (blit) | {redraw['median_ms']:.1f} ms | | "
          f"{redraw['max_ms']:.1f} ms |")


if __name__ == "__main__":
    main()
