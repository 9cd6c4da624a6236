"""Run extraction from the main window: completion, failure, cancel, responsiveness, close."""

from __future__ import annotations

import csv
import time

import numpy as np
import pytest

from caliali_tk.io.results import load_results, results_path
from gui_helpers import cell_centre, click, press_key, pump, settle, worker_threads

pytestmark = pytest.mark.gui


def wait_running(app, timeout=30):
    """Wait until the worker reports progress inside the extraction itself."""
    assert pump(app.root, lambda: app.batch.stage and "running" in
                app.table.cell(app.batch.jobs[0].iid, "status"), timeout), "never started"


def wait_finished(app, timeout):
    assert pump(app.root, lambda: not app.batch.running, timeout), "run did not finish"


def no_temp_files(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_run_extraction_to_completion_then_view_and_export(app, small_video, dialog_log,
                                                           tmp_path):
    (iid,) = app.add_files([small_video])
    app.buttons["run"].invoke()
    assert app.table.cell(iid, "status") in ("queued", "running") \
        or app.table.cell(iid, "status").startswith("running")
    wait_finished(app, 90)
    out = results_path(small_video)
    result = load_results(out)
    assert app.table.cell(iid, "status") == f"done {result.K} neurons" and result.K > 0
    assert not worker_threads() and no_temp_files(tmp_path) == []
    assert "Finished: 1 done" in app.progress.text

    # a single-file run opens its results: contours, traces, arrow keys, click, CSV
    (view,) = app.results.windows
    settle(app.root, 0.2)
    assert view.current == 0 and view.neuron_list.size() == result.K
    press_key(view.canvas.get_tk_widget(), "Right")
    assert view.current == 1
    press_key(view.canvas.get_tk_widget(), "Left")
    press_key(view.canvas.get_tk_widget(), "Left")
    assert view.current == result.K - 1                     # wraps around
    t = view.plot.line_c.get_xdata()
    assert np.isclose(t[1] - t[0], 1 / view.fps)          # time axis in seconds
    assert np.allclose(view.plot.line_c.get_ydata(), result.C[result.K - 1])

    k = result.K // 2                                       # click the middle of a footprint
    row, col = np.unravel_index(np.argmax(result.A[k]), result.A[k].shape)
    from gui_helpers import canvas_xy
    x, y = canvas_xy(view.canvas, view.plot.ax_img, col, row)
    click(view.canvas.get_tk_widget(), x, y)
    assert view.current == k

    dialog_log.answers["ask_save_csv"] = str(tmp_path / "mouse1_C.csv")
    view.export_dialog()
    with open(tmp_path / "mouse1_C.csv") as fh:
        table = list(csv.reader(fh))
    assert table[0] == ["time_s", "session", "session_time_s"] + \
        [f"C_{j + 1}" for j in range(result.K)]
    assert len(table) == 1 + result.T
    assert float(table[2][0]) == pytest.approx(1 / view.fps)
    assert np.allclose([float(v) for v in table[1][3:]], result.C[:, 0], rtol=1e-5, atol=1e-6)
    s_rows = list(csv.reader(open(tmp_path / "mouse1_S.csv")))
    assert s_rows[0][3] == "S_1" and len(s_rows) == 1 + result.T
    raw = list(csv.reader(open(tmp_path / "mouse1_C_raw.csv")))
    assert raw[0][3] == "C_raw_1" and np.allclose([float(v) for v in raw[1][3:]],
                                                  result.C_raw[:, 0], rtol=1e-5, atol=1e-5)
    assert not no_temp_files(tmp_path)


def test_open_results_file_from_the_menu(app, small_video, dialog_log):
    from caliali_tk.io.params import FileParams
    from caliali_tk.pipeline import extract
    extract(small_video, FileParams())
    dialog_log.answers["ask_open_results"] = str(results_path(small_video))
    app.open_results_dialog()
    (view,) = app.results.windows
    assert view.result.K == load_results(results_path(small_video)).K
    assert view.title().startswith("Results — mouse1_cnmfe.h5")


def test_a_failing_file_does_not_stop_the_others(app, small_video, small_master, tmp_path):
    gone = tmp_path / "gone.h5"
    gone.write_bytes(small_master.read_bytes())
    first, second = app.add_files([gone, small_video])
    gone.unlink()                                           # vanishes after loading
    app.run_extraction()
    wait_finished(app, 90)
    status = app.table.cell(first, "status")
    assert status.startswith("failed: ") and "gone.h5" in status and "\n" not in status
    assert app.table.cell(second, "status").startswith("done ")
    assert "gone.h5 failed" in app.log_pane.contents()


def test_cancel_mid_run_leaves_no_results(app, medium_video, small_video, tmp_path):
    first, second = app.add_files([medium_video, small_video])
    app.run_extraction()
    assert app.table.cell(second, "status") == "queued"
    wait_running(app)
    pump(app.root, lambda: "%" in app.progress.text, 10)
    assert app.progress.text.startswith("file 1/2 · ")        # stage, % and time left
    app.progress.cancel.invoke()                            # the Cancel button
    wait_finished(app, 30)
    assert app.table.cell(first, "status") == "cancelled"
    assert app.table.cell(second, "status") == "cancelled"
    assert not results_path(medium_video).exists() and not results_path(small_video).exists()
    assert not no_temp_files(tmp_path)
    assert not app.batch.worker.alive and not worker_threads()
    assert "1 failed" not in app.progress.text and "0 done" in app.progress.text


def test_event_loop_stays_responsive_during_extraction(warm_kernels, app, medium_video):
    app.add_files([medium_video])
    app.run_extraction()
    wait_running(app)
    ticks = []

    def tick():
        ticks.append(time.perf_counter())
        if app.batch.running and len(ticks) < 2000:
            app.root.after(10, tick)
    app.root.after(10, tick)
    start = time.perf_counter()
    pump(app.root, lambda: time.perf_counter() - start > 3.0, timeout=10)
    still_running = app.batch.worker.alive
    app.cancel_run()
    wait_finished(app, 30)
    assert still_running, "the extraction ended before the measurement did"
    # the loop kept running its timer while the worker ran (the size of its
    # gaps is measured by benchmarks/bench_gui.py)
    assert len(ticks) > 50


def test_closing_during_a_run_asks_then_cancels_cleanly(app, medium_video, dialog_log):
    app.add_files([medium_video])
    app.run_extraction()
    wait_running(app)
    dialog_log.answers["ask_yes_no"] = False                # "No": keep running
    app.root.tk.call(app.root.wm_protocol("WM_DELETE_WINDOW"))
    settle(app.root, 0.2)
    assert app.batch.worker.alive and app.root.winfo_exists()
    dialog_log.answers["ask_yes_no"] = True                 # "Yes": cancel and close
    app.root.tk.call(app.root.wm_protocol("WM_DELETE_WINDOW"))
    assert len(dialog_log.of("ask_yes_no")) == 2
    worker = app.batch.worker
    assert pump(app.root, lambda: not worker.alive and worker.finished, 30)
    assert not worker_threads()
    assert not results_path(medium_video).exists()
    import tkinter as tk
    with pytest.raises(tk.TclError):
        app.root.winfo_exists()                             # the window is gone


def test_get_cell_click_and_status_double_click(app, small_video):
    """Double-click on Status opens the results once they exist."""
    (iid,) = app.add_files([small_video])
    tree = app.table.tree
    click(tree, *cell_centre(tree, iid, "status"), double=True)
    assert "no results yet" in app.status.message
