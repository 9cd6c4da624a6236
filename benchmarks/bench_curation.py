"""Curation costs: the residual pass's share of the extraction, merge, add, save,
and the results window's response at that many neurons.

Prints a markdown table. One simulated movie (two sessions; 384 x 384 x 1000
with 280 neurons, the size the results window is built for), one extraction
with a progress callback that notes when each stage starts, then a merge of
two neurons and an add at a left-out neuron's place (each a streaming pass
over the movie), and saving the curation into the results file. With a
display (or Xvfb), the window's response from the event to the end of the
redraw: selecting the next neuron, rejecting it (saved at once), a wheel zoom.

    .venv/bin/python benchmarks/bench_curation.py [--quick]
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in argv
    H, T, K = (128, 600, 30) if quick else (384, 1000, 280)
    from caliali_tk.demo.files import write_simulated
    from caliali_tk.io.curation import Curation
    from caliali_tk.io.curation_file import load_curation, save_curation
    from caliali_tk.io.params import FileParams
    from caliali_tk.io.results import load_results, results_path, write_results
    from caliali_tk.pipeline import extract
    from caliali_tk.pipeline.curate import add_neuron, merge

    folder = Path(tempfile.mkdtemp(prefix="caliali-bench-curation-"))
    video = folder / "m.h5"
    write_simulated(video, H, H, T, n_neurons=K, seed=3, frames_per_session=[T // 2] * 2)
    warm = folder / "warm.h5"
    write_simulated(warm, 64, 64, 300, n_neurons=6, seed=1)
    extract(warm, FileParams(), use_cache=False, out_path=False)    # the kernels, compiled

    starts = {}

    def progress(fraction, message):
        starts.setdefault(message.split(":")[0], time.perf_counter())

    t0 = time.perf_counter()
    extract(video, FileParams(), progress=progress, use_cache=False)
    total = time.perf_counter() - t0
    residual = starts.get("writing results", t0 + total) - starts["residual images"]

    res = load_results(results_path(video))
    cur = Curation(res)
    t = time.perf_counter()
    merge(cur, [1, 2], video)
    t_merge = time.perf_counter() - t
    j = int(np.argmax(res.C_raw.max(axis=1) / res.sn))  # the clearest neuron, left out
    keep = np.arange(res.K) != j
    dropped = dataclasses.replace(res, **{n: getattr(res, n)[keep] for n in
                                          ("A", "C", "C_raw", "S", "sn", "centers")})
    cur2 = Curation(dropped)
    t = time.perf_counter()
    add_neuron(cur2, *res.centers[j], video)
    t_add = time.perf_counter() - t
    path = write_results(folder / "d_cnmfe.h5", dropped)
    c = load_curation(path)
    c.set_accepted([3], False)
    t = time.perf_counter()
    save_curation(path, c)
    t_save = time.perf_counter() - t

    print(f"\n### Curation ({H}x{H}x{T}, {res.K} neurons found, 2 sessions)\n")
    print("| step | seconds | vs. the extraction |")
    print("|---|---|---|")
    print(f"| extraction (all of it) | {total:.1f} | 1 |")
    print(f"| residual images pass (inside it) | {residual:.1f} | {residual / total:.3f} |")
    print(f"| merge 1+2 (refit from the movie) | {t_merge:.2f} | {t_merge / total:.3f} |")
    print(f"| add a neuron (init + refit) | {t_add:.2f} | {t_add / total:.3f} |")
    print(f"| save the curation ({os.path.getsize(path) / 2**20:.1f} MB file) "
          f"| {t_save:.3f} | {t_save / total:.4f} |")
    _window_table(results_path(video))


def _window_table(path) -> None:
    """Median response of the results window (needs a display)."""
    from bench_gui import _ensure_display
    display = _ensure_display()
    if display is False:
        print("\n(no display and no Xvfb: window timings skipped)")
        return
    import statistics
    import tkinter as tk
    from caliali_tk.gui.results_view import ResultsWindows
    from caliali_tk.gui.widgets import setup_style
    root = tk.Tk()
    setup_style(root)
    win = ResultsWindows(root, lambda *a: None, lambda *a: None).open(path)
    win.update()
    win.canvas.draw()

    def timed(action, n=10):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            action()               # schedules one idle redraw, as in the window
            win.canvas.draw_idle()
            win.update()
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1000

    t_next = timed(lambda: win.step(1))
    t_reject = timed(win.reject_selected)
    ov = win.plot.overview
    t_zoom = timed(lambda: ov.zoom(1.3, win.result.W / 2, win.result.H / 2))
    n = len(win.cur.numbers)
    print(f"\n### Results window, {n} neurons (median ms, event to end of redraw)\n")
    print("| action | ms |")
    print("|---|---|")
    print(f"| next neuron (arrow key) | {t_next:.0f} |")
    print(f"| reject (key r; saved into the file) | {t_reject:.0f} |")
    print(f"| wheel zoom step | {t_zoom:.0f} |")
    root.destroy()
    if display is not None:
        display.terminate()


if __name__ == "__main__":
    main()
