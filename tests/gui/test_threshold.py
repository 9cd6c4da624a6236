"""The Get window: spinboxes, gSig recompute, lasso mask, Ok! / Cancel, blitted redraws."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from caliali_tk.core.mask import mask_from_polygons
from caliali_tk.core.seeds import SeedFinder
from caliali_tk.core.summary import SummaryImages
from caliali_tk.io.params import FileParams, sidecar_path
from gui_helpers import canvas_xy, cell_centre, click, drag, press_key, pump, settle, type_text

pytestmark = pytest.mark.gui
DEFAULT = FileParams()


def open_get(app, iid, timeout=30):
    """Click the row's Get cell and wait for the images and dots."""
    tree = app.table.tree
    click(tree, *cell_centre(tree, iid, "get"))
    win = app.threshold_windows[iid]
    assert pump(app.root, lambda: win.seeds is not None, timeout), "summary images not shown"
    settle(app.root, 0.1)
    return win


def set_spin(win, key, text):
    """Type a value into a spinbox and press Return."""
    spin = win.spins[key]
    spin.focus_force()
    spin.selection_range(0, "end")
    spin.icursor("end")
    type_text(spin, text)
    press_key(spin, "Return")


def expected_count(win, mask=None):
    p = win.params
    return SeedFinder(win.summary.Cn, win.summary.PNR, win.summary.gSig).find(
        p.min_corr, p.min_pnr, mask).count


def lasso(win, points_xy):
    """Draw a closed lasso through image points with real pointer events."""
    widget = win.canvas.get_tk_widget()
    ax = win.plot.ax_cn
    win.canvas.draw()
    pixels = [canvas_xy(win.canvas, ax, x, y, draw=False) for x, y in points_xy]
    path = []
    for (x0, y0), (x1, y1) in zip(pixels, pixels[1:] + pixels[:1]):
        path += [(int(x0 + (x1 - x0) * t), int(y0 + (y1 - y0) * t))
                 for t in np.linspace(0, 1, 8, endpoint=False)]
    drag(widget, path + [pixels[0]])


def test_get_thresholds_lasso_ok_done(app, small_video):
    (iid,) = app.add_files([small_video])
    win = open_get(app, iid)
    assert win.seeds.count == expected_count(win) > 0
    assert win.plot.seed_title.get_text() == f"PNR × Cn: {win.seeds.count} seeds"
    assert win.seed_label.cget("text") == f"Seeds: {win.seeds.count}"

    start = win.params.min_pnr  # no saved thresholds: the suggestion (issue 10)
    win.spins["pnr"].event_generate("<<Increment>>")    # the spinbox's up arrow
    settle(app.root)
    pnr = start + 0.5
    assert win.params.min_pnr == pnr and win.spin_vars["pnr"].get() == f"{pnr:g}"
    set_spin(win, "corr", "0.6")
    assert win.params.min_corr == 0.6
    before = win.seeds.count
    assert before == expected_count(win)
    assert len(win.plot.dots[2].get_xdata()) == before

    # exclude the left half of the field of view with the lasso on the correlation image
    H, W = win.summary.Cn.shape
    win.mode.set("exclude")
    lasso(win, [(0, 0), (W / 2, 0), (W / 2, H - 1), (0, H - 1)])
    settle(app.root)
    assert len(win.polygons) == 1 and win.polygons[0]["mode"] == "exclude"
    mask = mask_from_polygons((H, W), win.polygons)
    assert 0.4 < (~mask).mean() < 0.6
    assert win.seeds.count == expected_count(win, mask) < before
    assert np.all(win.seeds.cols >= W / 2 - 1)
    assert win.plot.shades[0].get_array()[~mask][:, 3].min() > 0   # shaded on all images

    win.ok_button.invoke()
    settle(app.root)
    row = app.rows[iid]
    assert iid not in app.threshold_windows
    assert (row.params.min_pnr, row.params.min_corr) == (pnr, 0.6)
    assert row.params.mask == win.polygons
    assert app.table.cell(iid, "seeds") == str(win.seeds.count)
    assert app.table.cell(iid, "pnr") == f"{pnr:g}" and app.table.cell(iid, "corr") == "0.6"

    app.buttons["done"].invoke()
    saved = json.loads(sidecar_path(small_video).read_text())["params"]
    assert saved["mask"][0]["mode"] == "exclude" and len(saved["mask"][0]["points"]) >= 3
    assert saved["min_pnr"] == pnr


def test_include_polygons_and_clear_mask(app, small_video):
    (iid,) = app.add_files([small_video])
    win = open_get(app, iid)
    full = win.seeds.count
    H, W = win.summary.Cn.shape
    win.mode.set("include")
    lasso(win, [(5, 5), (25, 5), (25, 25), (5, 25)])
    lasso(win, [(35, 35), (58, 35), (58, 58), (35, 58)])
    assert len(win.polygons) == 2
    mask = mask_from_polygons((H, W), win.polygons)
    assert win.seeds.count == expected_count(win, mask) <= full
    win.clear_mask()
    assert win.polygons == [] and win.seeds.count == full


def test_gsig_change_recomputes_images_then_dots(app, small_video):
    (iid,) = app.add_files([small_video])
    win = open_get(app, iid)
    old_cn = win.summary.Cn
    set_spin(win, "gsig", "3.5")
    assert str(win.ok_button.cget("state")) == "disabled"       # until the images are back
    assert pump(app.root, lambda: win.summary.gSig == 3.5
                and str(win.ok_button.cget("state")) == "normal", 30)
    assert not np.array_equal(old_cn, win.summary.Cn)
    assert win.seeds.count == expected_count(win)
    win.ok_button.invoke()
    assert app.rows[iid].params.gSig == 3.5 and app.table.cell(iid, "gsig") == "3.5"


def test_bad_spin_value_is_refused(app, small_video):
    (iid,) = app.add_files([small_video])
    win = open_get(app, iid)
    corr = win.params.min_corr
    set_spin(win, "corr", "2")
    assert win.params.min_corr == corr and win.spin_vars["corr"].get() == f"{corr:g}"
    assert "Corr" in win.status.message and "0 to 1" in win.status.message
    set_spin(win, "gsig", "x")
    assert win.params.gSig == DEFAULT.gSig


def test_cancel_leaves_the_row_unchanged(app, small_video):
    (iid,) = app.add_files([small_video])
    before = app.rows[iid].params
    win = open_get(app, iid)
    set_spin(win, "pnr", "3.5")
    win.mode.set("exclude")
    lasso(win, [(5, 5), (30, 5), (30, 30)])
    win.cancel_button.invoke()
    settle(app.root)
    assert app.rows[iid].params == before
    assert app.table.cell(iid, "pnr") == f"{DEFAULT.min_pnr:g}"
    assert not app.rows[iid].dirty and iid not in app.threshold_windows


def synthetic_row(size=600):
    """A FileRow whose summary images (size x size) are already computed."""
    from caliali_tk.gui.model import FileRow
    rng = np.random.default_rng(0)
    Cn = ndimage.gaussian_filter(rng.random((size, size)), 2)
    Cn = ((Cn - Cn.min()) / np.ptp(Cn)).astype(np.float32)
    PNR = (ndimage.gaussian_filter(rng.random((size, size)), 2) * 40).astype(np.float32)
    summary = SummaryImages(Cn=Cn, PNR=PNR, sn=np.ones_like(Cn), baseline=np.zeros_like(Cn),
                            gSig=2.5, spatial_filter=True, n_frames=100)
    return FileRow(path=Path("synthetic.h5"), params=FileParams(min_corr=0.5, min_pnr=20),
                   shape=(100, size, size), summary=summary,
                   finder=SeedFinder(Cn, PNR, 2.5))


def test_threshold_change_on_600x600_moves_the_dots_by_blitting(display, dialog_log):
    """A threshold change redraws only the dots (blit), not the figure.

    How long that takes is measured by ``benchmarks/bench_gui.py``.
    """
    import tkinter as tk
    from caliali_tk.gui.threshold import ThresholdWindow
    from caliali_tk.gui.widgets import setup_style
    root = tk.Tk()
    try:
        setup_style(root)
        win = ThresholdWindow(root, synthetic_row(), on_ok=lambda c: None,
                              on_close=lambda: None, log=lambda *a: None)
        settle(root, 0.3)
        win.canvas.draw()
        root.update_idletasks()
        calls = {"draw": 0, "blit": 0}
        for name in calls:
            real = getattr(win.canvas, name)

            def counted(*a, _real=real, _name=name, **k):
                calls[_name] += 1
                return _real(*a, **k)
            setattr(win.canvas, name, counted)
        counts = []
        for i in range(6):
            win.spins["pnr"].event_generate("<<Increment>>" if i % 2 == 0 else "<<Decrement>>")
            root.update_idletasks()
            counts.append(win.seeds.count)
        assert len(set(counts)) == 2                          # the dots really changed
        assert calls["blit"] >= 6 and calls["draw"] == 0      # and only they were redrawn
        win.close()
    finally:
        root.destroy()


def test_get_on_an_unreadable_file_says_why_in_one_line(app, small_video, dialog_log):
    (iid,) = app.add_files([small_video])
    small_video.write_bytes(b"truncated")                   # damaged after loading
    tree = app.table.tree
    click(tree, *cell_centre(tree, iid, "get"))
    win = app.threshold_windows[iid]
    assert pump(app.root, lambda: dialog_log.of("error"), 30)
    (message,) = dialog_log.of("error")
    assert "mouse1.h5" in message and "\n" not in message and "Traceback" not in message
    assert str(win.ok_button.cget("state")) == "disabled" and win.status.message == message


def test_a_video_without_saved_thresholds_opens_at_the_suggestion(app, small_video):
    from caliali_tk.pipeline.suggest import suggest_params

    (iid,) = app.add_files([small_video])
    win = open_get(app, iid)
    found = suggest_params(win.summary)
    assert found, "the small video should have enough maxima for a suggestion"
    assert (win.params.min_pnr, win.params.min_corr) == (found["min_pnr"], found["min_corr"])
    assert win.spin_vars["pnr"].get() == f"{found['min_pnr']:g}"
    assert "Suggested" in win.status.message
    assert win.seeds.count == expected_count(win)
    # typed thresholds stay until Suggest is pressed again
    set_spin(win, "pnr", "9")
    assert win.params.min_pnr == 9.0
    win.suggest_button.invoke()
    settle(app.root)
    assert win.params.min_pnr == found["min_pnr"]


def test_saved_thresholds_are_kept(app, small_video):
    from caliali_tk.io.params import save_params

    save_params(small_video, FileParams(min_pnr=7.5, min_corr=0.65))
    (iid,) = app.add_files([small_video])
    win = open_get(app, iid)
    assert (win.params.min_pnr, win.params.min_corr) == (7.5, 0.65)


def test_threshold_dots_can_be_hidden_and_follow_the_image_scale(app, small_video):
    (iid,) = app.add_files([small_video])
    win = open_get(app, iid)
    win.show_dots.set(False)
    win._dots_toggled()
    settle(app.root)
    assert not win.plot.dots[0].get_visible() and not win.plot.dots[1].get_visible()
    assert win.plot.dots[2].get_visible()
    win.canvas.draw()
    before = win.plot.dots[1].get_markersize()
    H, W = win.summary.Cn.shape
    win.plot.ax_pnr.set_xlim(-0.5, 16 * W)  # zoom out a lot: the dots shrink
    win.canvas.draw()
    assert win.plot.dots[1].get_markersize() < before
