"""The main window's rows: loading videos, editing their cells, saving them.

:class:`FileRowsMixin` is the file-list half of
:class:`caliali_tk.gui.app.MainWindow` (which provides ``root``, ``rows``,
``table``, ``status``, ``batch``, ``threshold_windows``, ``log`` and ``say``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional

from caliali_tk.errors import ParamsError, UserError
from caliali_tk.gui import dialogs
from caliali_tk.gui.model import COLUMNS, EDITABLE, open_row, parse_cell
from caliali_tk.io.params import save_params, sidecar_path

__all__ = ["FileRowsMixin"]


class FileRowsMixin:
    """Rows of the file table: add, remove, edit, *Change all*, *Done!*."""

    def set_status(self, iid: str, text: str) -> None:
        """Set a row's Status cell."""
        if iid in self.rows:
            self.rows[iid].status = text
            self.table.update(iid, {"status": text})

    def refresh_row(self, iid: str) -> None:
        """Redraw every cell of a row from its `FileRow`."""
        self.table.update(iid, self.rows[iid].cells())

    def add_files(self, paths: Iterable, interactive: bool = False) -> List[str]:
        """Add videos to the list; returns the new row ids.

        A file that cannot be opened is not added; its one-line reason goes
        to the status line and the log (and a dialog when `interactive`).
        """
        added, problems = [], []
        for p in paths:
            try:
                added.append(self._add_one(Path(p)))
            except UserError as exc:
                problems.append(str(exc).splitlines()[0])
                self.log(problems[-1], "error")
        if problems:
            more = f" (and {len(problems) - 1} more, see the log)" if len(problems) > 1 else ""
            self.status.show(problems[0] + more, error=True)
            if interactive:
                dialogs.error(self.root, "Cannot load file", problems[0] + more)
        elif added:
            self.status.show(f"Loaded {len(added)} file(s). Press Get to choose the "
                             "thresholds by eye, or edit the cells.")
        return added

    def _add_one(self, path: Path) -> str:
        resolved = path.expanduser().resolve()
        if any(r.path == resolved for r in self.rows.values()):
            raise ParamsError(f"{path.name}: already in the list")
        row, warning = open_row(resolved)
        for line in (warning or "").splitlines():
            self.log(line, "error")
        iid = f"row{self._next_id}"
        self._next_id += 1
        self.rows[iid] = row
        self.table.insert(iid, row.cells())
        T, H, W = row.shape
        self.log(f"Loaded {row.name}: {T} frames of {H} x {W} pixels"
                 + _origin(row.sources))
        return iid

    def load_dialog(self) -> None:
        """Ask for video files and add them."""
        paths = dialogs.ask_open_videos(self.root, self._last_folder())
        if paths:
            self.add_files(paths, interactive=True)

    def _last_folder(self) -> Optional[str]:
        rows = list(self.rows.values())
        return str(rows[-1].path.parent) if rows else None

    def remove_selected(self) -> None:
        """Remove the selected files from the list (not from disk)."""
        busy = self._busy_iids()
        for iid in self.table.selected():
            if iid in busy:
                self.say(f"{self.rows[iid].name}: it is being extracted; cancel first", True)
                continue
            win = self.threshold_windows.pop(iid, None)
            if win is not None:
                win.close()
            self.table.delete(iid)
            self.log(f"Removed {self.rows.pop(iid).name} from the list")

    def _busy_iids(self) -> set:
        if self.batch is None or not self.batch.running:
            return set()
        return {j.iid for j in self.batch.jobs}

    def _selection_changed(self, _event=None) -> None:
        sel = self.table.selected()
        if len(sel) == 1:
            row = self.rows[sel[0]]
            T, H, W = row.shape
            note = f", {row.sessions}" if row.sessions else ""
            self.status.show(f"{row.path}  —  {T} frames, {H} x {W} pixels{note}")

    # -- editing ----------------------------------------------------------------------
    def cell_edited(self, iid: str, key: str, text: str) -> Optional[str]:
        """Validate and apply a typed value; return the refusal message, if any."""
        row = self.rows[iid]
        try:
            new = parse_cell(row.params, key, text)
        except ParamsError as exc:
            self.say(f"{row.name}: {exc} — kept {self.table.cell(iid, key)}", error=True)
            self.root.bell()
            return str(exc)
        self._set_params(iid, new)
        self.status.show(f"{row.name}: {EDITABLE[key].title} set to {self.table.cell(iid, key)}")
        return None

    def _set_params(self, iid: str, params) -> None:
        row = self.rows[iid]
        if params != row.params:
            row.params, row.dirty = params, True
            row.recount_seeds()
        self.refresh_row(iid)

    def change_all(self, key: str, text: str) -> Optional[str]:
        """Set column `key` of every file; nothing changes if one value is refused."""
        try:
            new = {iid: parse_cell(r.params, key, text) for iid, r in self.rows.items()}
        except ParamsError as exc:
            self.say(str(exc), error=True)
            return str(exc)
        for iid, params in new.items():
            self._set_params(iid, params)
        self.say(f"{EDITABLE[key].title} set to {text.strip()} for {len(new)} file(s)")
        return None

    def change_all_dialog(self) -> Optional[dialogs.ChangeAllDialog]:
        """Open the Change all dialog (prefilled from the selected row)."""
        if not self.rows:
            self.say("Load files first.", error=True)
            return None
        sel = self.table.selected() or self.table.iids()
        columns = [(c.key, c.title) for c in COLUMNS if c.field]
        return dialogs.ChangeAllDialog(self.root, columns,
                                       initial=lambda key: self.table.cell(sel[0], key),
                                       apply=self.change_all)

    def save_all(self) -> int:
        """*Done!*: write every row's parameters to its sidecar; returns how many."""
        saved, failed = 0, []
        for row in self.rows.values():
            try:
                save_params(row.path, row.params)
                row.dirty = False
                saved += 1
            except (UserError, OSError) as exc:
                failed.append(f"{row.name}: cannot save parameters ({exc})")
                self.log(failed[-1], "error")
        if failed:
            dialogs.error(self.root, "Cannot save", failed[0])
            self.status.show(failed[0], error=True)
        else:
            self.say(f"Saved the parameters of {saved} file(s) beside each video "
                     f"(<video>{sidecar_path('x').name[1:]}).")
        return saved


def _origin(sources: dict) -> str:
    """A note for the log on where a row's main values came from (none: defaults)."""
    shown = ("min_pnr", "min_corr", "gSig", "fps", "mask")
    places = []
    for name in shown:
        where = sources.get(name, "default")
        where = "its sidecar" if where.startswith("sidecar") else (
            "CaliAli_options" if where.startswith("CaliAli_options") else where)
        if where != "default" and where not in places:
            places.append(where)
    return f" (parameters from {', '.join(places)})" if places else ""
