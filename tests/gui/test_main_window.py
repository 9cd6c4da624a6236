"""Main window: loading, in-place editing, Change all, Remove, Done!, error dialogs."""

from __future__ import annotations

import json
import os

import pytest

from caliali_tk.io.params import FileParams, load_params, save_params, sidecar_path
from gui_helpers import cell_centre, click, press_key, pump, settle, type_text

pytestmark = pytest.mark.gui


def test_display_is_virtual(display):
    """pytest-xvfb gives the tests their own display (never the user's screen)."""
    assert display.startswith(":")
    assert os.environ.get("DISPLAY") == display


def test_load_adds_one_row_per_video_and_refuses_bad_files(app, small_video, tmp_path,
                                                           dialog_log, monkeypatch):
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"not an hdf5 file at all")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    from caliali_tk.gui import dialogs
    monkeypatch.setattr(dialogs, "ask_open_videos",
                        lambda parent, initialdir=None: [str(small_video), str(bad), str(text)])
    app.buttons["load"].invoke()
    settle(app.root)
    assert app.table.iids() == ["row0"]
    cells = {c: app.table.cell("row0", c) for c in ("file", "pnr", "corr", "gsig", "fps")}
    d = FileParams()
    assert cells == {"file": "mouse1.h5", "pnr": f"{d.min_pnr:g}", "corr": f"{d.min_corr:g}",
                     "gsig": f"{d.gSig:g}", "fps": f"{d.fps:g}"}
    # one dialog, one line, naming the first bad file; no traceback anywhere visible
    (message,) = dialog_log.of("error")
    assert "broken.h5" in message and "\n" not in message and "Traceback" not in message
    assert "and 1 more" in message
    assert "broken.h5" in app.status.message and "\n" not in app.status.message
    assert "notes.txt: not a video file" in app.log_pane.contents()


def test_values_come_from_the_sidecar(app, small_video):
    save_params(small_video, FileParams(min_pnr=6.5, min_corr=0.7, gSig=3.0, fps=20.0))
    (iid,) = app.add_files([small_video])
    assert [app.table.cell(iid, c) for c in ("pnr", "corr", "gsig", "fps")] == \
        ["6.5", "0.7", "3", "20"]


def edit_cell(app, iid, column, text, key="Return"):
    """Double-click a cell, select all, type `text`, press `key`."""
    tree = app.table.tree
    x, y = cell_centre(tree, iid, column)
    click(tree, x, y, double=True)
    editor = app.table.editor
    assert editor is not None, "double-click did not open the cell editor"
    editor.focus_force()
    editor.select_range(0, "end")
    editor.icursor("end")
    type_text(editor, text)
    press_key(editor, key)
    settle(app.root)
    return editor


def test_edit_cell_in_place_validates(app, small_video):
    (iid,) = app.add_files([small_video])
    edit_cell(app, iid, "pnr", "6.5")
    assert app.table.editor is None
    assert app.table.cell(iid, "pnr") == "6.5"
    assert app.rows[iid].params.min_pnr == 6.5 and app.rows[iid].dirty

    edit_cell(app, iid, "pnr", "abc")                 # not a number: refused
    assert app.table.cell(iid, "pnr") == "6.5"
    assert app.rows[iid].params.min_pnr == 6.5
    assert "PNR" in app.status.message and "not a number" in app.status.message

    edit_cell(app, iid, "corr", "1.5")                # out of range: refused
    assert app.table.cell(iid, "corr") == f"{FileParams().min_corr:g}"
    assert "between" in app.status.message or "from 0 to 1" in app.status.message

    edit_cell(app, iid, "gsig", "4", key="Escape")    # Escape: nothing changes
    assert app.table.cell(iid, "gsig") == f"{FileParams().gSig:g}" and app.table.editor is None

    edit_cell(app, iid, "fps", "30")
    assert app.rows[iid].params.fps == 30.0


def test_change_all_sets_a_column_for_every_file(app, small_video, small_master):
    iids = app.add_files([small_video, small_master])
    dialog = app.change_all_dialog()
    settle(app.root)
    dialog.column.set("Frame rate")
    dialog._column_changed()
    dialog.entry.focus_force()
    dialog.entry.select_range(0, "end")
    type_text(dialog.entry, "-3")                     # refused: dialog stays, says why
    press_key(dialog.entry, "Return")
    assert dialog.winfo_exists() and "Frame rate" in dialog.message.get()
    assert [app.rows[i].params.fps for i in iids] == [10.0, 10.0]
    dialog.entry.select_range(0, "end")
    type_text(dialog.entry, "20")
    press_key(dialog.entry, "Return")
    settle(app.root)
    assert [app.table.cell(i, "fps") for i in iids] == ["20", "20"]
    assert [app.rows[i].params.fps for i in iids] == [20.0, 20.0]


def test_remove_takes_a_file_off_the_list(app, small_video, small_master):
    first, second = app.add_files([small_video, small_master])
    app.table.tree.selection_set(first)
    app.table.tree.focus_set()
    press_key(app.table.tree, "Delete")
    assert app.table.iids() == [second] and first not in app.rows
    assert small_video.exists()                       # removed from the list, not the disk


def test_done_saves_every_row_to_its_sidecar(app, small_video, small_master):
    iids = app.add_files([small_video, small_master])
    edit_cell(app, iids[0], "pnr", "7.5")
    app.buttons["done"].invoke()
    doc = json.loads(sidecar_path(small_video).read_text())
    assert doc["params"]["min_pnr"] == 7.5
    assert load_params(small_master)[0] == app.rows[iids[1]].params
    assert "Saved the parameters of 2 file(s)" in app.status.message
    assert not any(r.dirty for r in app.rows.values())


def test_exception_in_a_callback_is_a_one_line_dialog(app, dialog_log):
    app.root.after(1, lambda: 1 / 0)
    pump(app.root, lambda: dialog_log.of("error"), timeout=5)
    (message,) = dialog_log.of("error")
    assert message.startswith("Unexpected error: ZeroDivisionError") and "\n" not in message
    assert "Traceback" in app.log_pane.contents()     # details in the log only


def test_close_with_unsaved_changes_asks_to_save(app, small_video, dialog_log):
    (iid,) = app.add_files([small_video])
    edit_cell(app, iid, "corr", "0.65")
    dialog_log.answers["ask_yes_no_cancel"] = None    # Cancel: stay open
    app.on_close()
    assert app.root.winfo_exists()
    dialog_log.answers["ask_yes_no_cancel"] = True    # Yes: save, then close
    app.on_close()
    assert load_params(small_video)[0].min_corr == 0.65


def test_main_window_fits_1280x800(app, small_video):
    app.add_files([small_video])
    settle(app.root)
    assert app.root.winfo_reqwidth() <= 1280 and app.root.winfo_reqheight() <= 800
    assert app.root.winfo_width() <= 1280 and app.root.winfo_height() <= 800


def test_run_entry_point_opens_the_window_with_the_files(display, dialog_log, small_video,
                                                         tmp_path, monkeypatch):
    """``run(paths)`` (what ``caliali-tk FILES`` calls) loads the files, then the main loop."""
    import tkinter as tk
    from tkinter import ttk
    from caliali_tk.gui import app as app_module
    seen = {}

    def fake_mainloop(root, n=0):
        trees = [w for w in _descendants(root) if isinstance(w, ttk.Treeview)]
        seen["rows"] = [trees[0].set(i, "file") for i in trees[0].get_children()]
        seen["title"] = root.title()
        root.destroy()
    monkeypatch.setattr(tk.Tk, "mainloop", fake_mainloop)
    assert app_module.run([str(small_video), str(tmp_path / "missing.h5")]) == 0
    assert seen["rows"] == ["mouse1.h5"] and "caliali-tk" in seen["title"]
    (message,) = dialog_log.of("error")
    assert message.startswith("missing.h5: ")


def _descendants(widget):
    for child in widget.winfo_children():
        yield child
        yield from _descendants(child)


def test_selecting_a_row_shows_its_sessions(app, small_video):
    """Issue 9: the status line says how many sessions a file has and where from."""
    from caliali_tk.io.video import VideoFile
    with VideoFile(small_video) as vf:
        T = vf.n_frames
    save_params(small_video, FileParams(frames_per_session=[100, T - 100]))
    (iid,) = app.add_files([small_video])
    app.table.tree.selection_set(iid)
    settle(app.root)
    assert f"2 sessions (from the sidecar): 100, {T - 100} frames" in app.status.message
