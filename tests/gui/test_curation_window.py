"""Curation in the results window, with real clicks and key presses.

The results come from a real extraction of the small simulated movie, with
one neuron taken out so that there is a missed neuron to add back by click.
"""

from __future__ import annotations

import shutil
import tkinter as tk

import numpy as np
import pytest

from gui_helpers import canvas_xy, cell_centre, click, press_key, pump, settle, worker_threads
from caliali_tk.io.curation_file import load_curation
from caliali_tk.io.params import FileParams
from caliali_tk.io.results import write_results

pytestmark = pytest.mark.gui

MISSING = 2  # 0-based index of the extracted neuron taken out of the results


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, small_master):
    """The small movie and its results minus one neuron (extracted once)."""
    from caliali_tk.pipeline import extract
    folder = tmp_path_factory.mktemp("curation")
    video = folder / "mouse1.h5"
    shutil.copy(small_master, video)
    full = extract(video, FileParams(), use_cache=False)
    keep = np.arange(full.K) != MISSING
    write_results(folder / "mouse1_cnmfe.h5", full.take(keep))
    return folder, full


@pytest.fixture
def view(display, dialog_log, extracted, tmp_path):
    """A results window on a private copy of the results (and the movie beside them)."""
    from caliali_tk.gui.results_view import ResultsWindows
    from caliali_tk.gui.widgets import setup_style
    folder, _ = extracted
    for name in ("mouse1.h5", "mouse1_cnmfe.h5"):
        shutil.copy(folder / name, tmp_path / name)
    root = tk.Tk()
    setup_style(root)
    windows = ResultsWindows(root, say=lambda text, error=False: None,
                             log=lambda text, level="info": None)
    win = windows.open(tmp_path / "mouse1_cnmfe.h5")
    settle(root, 0.2)
    yield win, windows, root
    windows.close_all()
    assert not worker_threads(), "a curation worker is still running"
    root.destroy()


def _click_row(win, number: int) -> None:
    tree = win.neuron_list.tree
    x, y = cell_centre(tree, str(number), "number")
    click(tree, x, y)


def _click_image(win, row: float, col: float, state: int = 0) -> None:
    x, y = canvas_xy(win.canvas, win.plot.ax_img, col, row)
    w = win.canvas.get_tk_widget()
    w.event_generate("<Motion>", x=x, y=y, state=state)
    w.event_generate("<ButtonPress-1>", x=x, y=y, state=state)
    w.event_generate("<ButtonRelease-1>", x=x, y=y, state=state | 0x100)
    w.update()


def _ctrl_z(widget) -> None:
    press_key(widget, "Shift_L")                                # takes the keyboard focus
    widget.event_generate("<Control-KeyPress-z>", when="tail")
    widget.update()


def _peak(win, number: int):
    pid = int(win.cur.state.ids[win.cur.position(number)])
    return np.unravel_index(int(np.argmax(win.cur.pool.A[pid])), win.cur.pool.A[pid].shape)


def _wait_worker(win, root, timeout=120):
    assert pump(root, lambda: win.worker is not None and not win.worker.alive
                and win.worker.finished, timeout), "merge / add did not finish"
    settle(root, 0.1)


def test_reject_by_key_merge_by_clicks_undo_and_reopen(view):
    win, windows, root = view
    path = win.path
    K = win.result.K
    assert win.neuron_list.size() == K
    # the extraction stored its quality (issue 10): the list shows all of it
    assert win.neuron_list.metrics[:2] == ["snr", "spatial_corr"]
    assert {"size", "n_events"} <= set(win.neuron_list.metrics)

    _click_row(win, 3)                                          # the list, then the key r
    assert win.selected_numbers() == [3]
    press_key(win.neuron_list.tree, "r")
    assert not win.cur.accepted[win.cur.position(3)]
    assert "rejected" in win.neuron_list.tree.item("3", "tags")
    assert not load_curation(path).accepted[2]                  # saved at once
    assert len(win.plot.overview.rejected_lines.get_segments()) >= 1

    tree = win.neuron_list.tree                                 # double-click on ✓ / ✗
    x, y = cell_centre(tree, "6", "state")
    click(tree, x, y, double=True)
    assert not win.cur.accepted[win.cur.position(6)] and tree.set("6", "state") == "✗"
    assert win.selected_numbers() == [6]
    press_key(tree, "a")                                        # taken back with the key a
    assert win.cur.accepted[win.cur.position(6)] and tree.set("6", "state") == "✓"

    r1, c1 = _peak(win, 1)                                      # click, then ctrl-click
    r4, c4 = _peak(win, 4)
    _click_image(win, r1, c1)
    _click_image(win, r4, c4, state=0x4)
    assert win.selected_numbers() == [1, 4]
    press_key(win.canvas.get_tk_widget(), "m")
    assert win.worker is not None
    _wait_worker(win, root)
    merged = K + 1
    assert list(win.cur.numbers) == [2, 3, 5, 6, 7][:K - 2] + [merged]
    assert win.selected_numbers() == [merged] and "Done: merge 1+4" in win.status.message
    saved = load_curation(path)
    assert merged in saved.numbers and 1 not in saved.numbers

    _ctrl_z(win.canvas.get_tk_widget())                         # undo the merge
    assert list(win.cur.numbers) == list(range(1, K + 1))
    assert not win.cur.accepted[2]                              # the rejection stays

    tree = win.neuron_list.tree                                 # sort by SNR: a heading click
    x = tree.bbox(tree.get_children()[0], "snr")
    click(tree, x[0] + x[2] // 2, 8)
    snr = {int(n): v for n, v in zip(win.cur.numbers, win.cur.metric("snr"))}
    order = win.neuron_list.order()
    assert [snr[n] for n in order] == sorted(snr.values(), reverse=True)

    before = (list(win.cur.numbers), list(win.cur.accepted))
    windows.close_all()
    again = windows.open(path)                                  # reopening shows the same
    settle(root, 0.1)
    assert (list(again.cur.numbers), list(again.cur.accepted)) == before
    assert again.panel.counts.cget("text") == f"{K} neurons, {K - 1} accepted (curated)"


def test_reject_below_and_add_a_missed_neuron_by_click(view, extracted):
    win, windows, root = view
    _, full = extracted
    K = win.result.K
    snr = win.cur.metric("snr")
    cut = float(np.sort(snr)[2]) + 1e-3                         # the three lowest go
    win.panel.below_value.set(f"{cut:.4f}")
    win.panel.buttons["reject_below"].invoke()
    assert int((~win.cur.accepted).sum()) == 3
    assert "Rejected 3 neuron(s) with snr below" in win.status.message

    win.panel.layer.set("Residual PNR")
    win.set_layer("Residual PNR")
    assert win.plot.overview.image.get_array().shape == (win.result.H, win.result.W)
    win.panel.add_mode.set(True)
    row, col = np.unravel_index(int(np.argmax(full.A[MISSING])), full.A[MISSING].shape)
    _click_image(win, row + 1, col - 1)                         # a click near, not on, it
    _wait_worker(win, root)
    assert not win.panel.add_mode.get()
    new = int(win.cur.numbers[-1])
    assert new == K + 1 and win.selected_numbers()[0] == new
    pid = int(win.cur.state.ids[-1])
    a = win.cur.pool.A[pid]
    overlap = np.corrcoef(a.ravel(), full.A[MISSING].ravel())[0, 1]
    assert overlap > 0.8, overlap
    assert np.corrcoef(win.cur.pool.C[pid], full.C[MISSING])[0, 1] > 0.9
    assert f"Done: add a neuron at row {row + 1}" in win.status.message
    assert new in load_curation(win.path).numbers


def test_export_buttons_write_csv_and_nwb(view, dialog_log, tmp_path):
    import pynwb  # a test dependency (setup.cfg: test extra)
    win, _, root = view
    _click_row(win, 2)
    press_key(win.neuron_list.tree, "r")
    dialog_log.answers["ask_save_nwb"] = str(tmp_path / "out.nwb")
    dialog_log.answers["ask_save_csv"] = str(tmp_path / "out_C.csv")
    win.panel.buttons["nwb"].invoke()                           # accepted only (the default)
    win.panel.buttons["csv"].invoke()
    K = win.result.K
    with pynwb.NWBHDF5IO(str(tmp_path / "out.nwb"), "r") as io:
        ps = io.read().processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"]
        assert list(ps["neuron_number"][:]) == [n for n in range(1, K + 1) if n != 2]
    header = (tmp_path / "out_C.csv").read_text().splitlines()[0].split(",")
    assert header[3:] == [f"C_{n}" for n in range(1, K + 1) if n != 2]
    assert "out_neurons.csv" in win.status.message
