"""The curation screenshots (``make_screenshots.py --only curation``).

A 384 x 384 x 1000 movie with 280 neurons in two sessions, extracted with
strict thresholds (PNR 14, Corr 0.85) so that about a third of the neurons
are left out, like a first pass on a real recording. Then, in the results
window, the dimmest are rejected, the list is sorted by SNR and one neuron
is selected (``curation.png``); the residual PNR layer is shown and a
missed neuron is added by a click on its brightest spot (``residual.png``).
"""

from __future__ import annotations

import tempfile
import tkinter as tk
from pathlib import Path

import numpy as np
from scipy import ndimage

STRICT = dict(min_pnr=14.0, min_corr=0.85, fps=10.0)


def _movie(big) -> Path:
    if big:
        return Path(big)
    from caliali_tk.demo.files import write_simulated
    path = Path(tempfile.mkdtemp(prefix="caliali-curation-")) / "mouse280.h5"
    write_simulated(path, 384, 384, 1000, n_neurons=280, gSig=2.5, fps=10.0, seed=13,
                    frames_per_session=[500, 500])
    return path


def _results(video: Path) -> Path:
    from caliali_tk.io.params import FileParams
    from caliali_tk.pipeline import extract
    out = video.with_name(video.stem + "_strict_cnmfe.h5")
    if not out.exists():
        extract(video, FileParams(**STRICT), out_path=out)
    return out


def _missed_spot(result):
    """The brightest residual Cn·PNR pixel away from every found footprint."""
    score = np.maximum(result.Cn_residual, 0) * np.maximum(result.PNR_residual, 0)
    taken = ndimage.binary_dilation(result.A.max(axis=0) > 0, iterations=3)
    score[taken] = 0
    return np.unravel_index(int(np.argmax(score)), score.shape)


def curation_screenshots(big, capture, out_dir: Path) -> int:
    """Make ``curation.png`` and ``residual.png`` in `out_dir`."""
    import shutil
    from gui_helpers import canvas_xy, click, pump, settle
    from caliali_tk.gui.results_view import ResultsWindows
    from caliali_tk.gui.widgets import setup_style

    video = _movie(big)
    results = _results(video)
    work = Path(tempfile.mkdtemp(prefix="caliali-curation-shots-"))
    (work / video.name).symlink_to(video.resolve())
    shutil.copy(results, work / results.name)   # a fresh curation each run
    root = tk.Tk(className="caliali-tk")
    root.withdraw()
    setup_style(root)
    windows = ResultsWindows(root, say=print, log=lambda *a: None)
    win = windows.open(work / results.name)
    settle(root, 0.3)
    snr = win.cur.metric("snr")
    win.panel.below_value.set(f"{np.percentile(snr, 8):.0f}")
    win.panel.buttons["reject_below"].invoke()
    tree = win.neuron_list.tree
    box = tree.bbox(tree.get_children()[0], "snr")
    click(tree, box[0] + box[2] // 2, 8)                       # sort by SNR
    rejected = [int(n) for n in win.cur.numbers[~win.cur.accepted]]
    win.select_numbers([rejected[0]])
    settle(root, 0.5)
    capture(win, out_dir / "curation.png")

    win.panel.layer.set("Residual PNR")
    win.set_layer("Residual PNR")
    row, col = _missed_spot(win.result)
    win.plot.overview.zoom(2.2, col, row)
    win.panel.add_mode.set(True)
    x, y = canvas_xy(win.canvas, win.plot.ax_img, col, row)
    click(win.canvas.get_tk_widget(), x, y)
    assert pump(root, lambda: win.worker is not None and win.worker.finished, 600), \
        "adding the neuron did not finish"
    settle(root, 0.5)
    print(win.status.message)
    capture(win, out_dir / "residual.png")
    windows.close_all()
    root.destroy()
    shutil.rmtree(work, ignore_errors=True)
    return 0
