"""A CaliAli .mat in the window: its row starts from CaliAli_options, the seed mask
is drawn as editable polygons and saved in the sidecar; Python movies keep their shape."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from caliali_tk.core.mask import mask_from_polygons
from caliali_tk.demo.simulate import simulate
from caliali_tk.gui.model import open_row
from caliali_tk.io.params import sidecar_path
from gui_helpers import cell_centre, click, pump, settle

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from matlab_files import caliali_options, movie_for_matlab, write_mat73  # noqa: E402

pytestmark = pytest.mark.gui
H, W = 48, 80


@pytest.fixture
def caliali_mat(tmp_path):
    Y, _ = simulate(H, W, 300, 8, gSig=3, fps=20, snr=3, seed=2)
    mask = np.ones((H, W), bool)
    mask[30:, :40] = False                        # bottom-left block forbidden
    opts = caliali_options(mask, min_pnr=6.0, min_corr=0.6, gSig=3.0, sf=20.0)
    opts["inter_session_alignment"].update(F=np.array([100.0, 100.0, 100.0]), gSig=3.0)
    path = write_mat73(tmp_path / "mouse.mat", {"Y": movie_for_matlab(Y),
                                                "CaliAli_options": opts})
    return path, mask


def test_open_row_starts_from_caliali_options(caliali_mat):
    path, mask = caliali_mat
    row, warning = open_row(path)
    assert warning is None
    assert row.cells()["pnr"] == "6" and row.cells()["corr"] == "0.6"
    assert row.cells()["gsig"] == "3" and row.cells()["fps"] == "20"
    assert row.shape == (300, H, W)
    assert row.sources["min_pnr"] == "CaliAli_options.cnmf.min_pnr"
    np.testing.assert_array_equal(mask_from_polygons((H, W), row.params.mask), mask)


def test_seed_mask_is_drawn_edited_and_saved(app, caliali_mat):
    path, mask = caliali_mat
    (iid,) = app.add_files([path])
    assert [app.table.cell(iid, c) for c in ("pnr", "corr", "gsig", "fps")] == [
        "6", "0.6", "3", "20"]
    tree = app.table.tree
    click(tree, *cell_centre(tree, iid, "get"))
    win = app.threshold_windows[iid]
    assert pump(app.root, lambda: win.seeds is not None, 30), "summary images not shown"
    settle(app.root, 0.1)
    assert win.summary.Cn.shape == (H, W)
    np.testing.assert_array_equal(win.mask, mask)
    assert win.plot.shades[0].get_array()[~mask][:, 3].min() > 0   # shaded where forbidden
    assert win.seeds.count > 0 and mask[win.seeds.rows, win.seeds.cols].all()
    assert len(win.plot.outlines) == len(win.polygons) == 1   # its outline is drawn
    win.mode.set("exclude")                        # edit: forbid the top-right corner too
    win._lasso_done([(60, 0), (79, 0), (79, 10), (60, 10)])
    settle(app.root)
    assert len(win.polygons) == len(win.plot.outlines) == 2
    win.ok_button.invoke()
    app.buttons["done"].invoke()
    saved = json.loads(sidecar_path(path).read_text())["params"]
    edited = mask.copy()
    edited[0:11, 60:80] = False
    np.testing.assert_array_equal(mask_from_polygons((H, W), saved["mask"]), edited)
    assert saved["min_pnr"] == 6.0 and saved["fps"] == 20.0


def test_python_landscape_movie_keeps_its_shape(app, tmp_path):
    Y, _ = simulate(H, W, 200, 6, gSig=2.5, fps=20, snr=3, seed=4)
    path = tmp_path / "acq.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("frames", data=Y.astype(np.float32)).attrs["frame_rate"] = 20.0
    (iid,) = app.add_files([path])
    assert app.rows[iid].shape == (200, H, W) and app.table.cell(iid, "fps") == "20"
