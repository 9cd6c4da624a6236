"""The file table: a ttk.Treeview whose parameter cells are edited in place.

Double-click (or F2 / Return on a row) opens an entry over the cell; Return
or leaving the cell commits, Escape cancels. The table does not judge a value
itself: it hands the text to ``on_edit``, which refuses a bad one by
returning a message, and the old value stays.
"""

from __future__ import annotations

from tkinter import ttk
from typing import Callable, Optional

from caliali_tk.gui.model import COLUMNS, EDITABLE

__all__ = ["ParamTable", "CellEditor"]

STRETCH = ("file", "status")   # columns that take up (or give back) the spare width
MIN_STRETCH = 110


class CellEditor(ttk.Entry):
    """An entry placed over one cell; commits once, on Return or focus-out."""

    def __init__(self, table: "ParamTable", iid: str, key: str):
        tree = table.tree
        super().__init__(tree, font="TkDefaultFont")
        self.table, self.iid, self.key = table, iid, key
        self.insert(0, tree.set(iid, key))
        self.select_range(0, "end")
        self._done = False
        x, y, w, h = tree.bbox(iid, key)
        self.place(x=x, y=y, width=w, height=h)
        self.focus_set()
        self.bind("<Return>", lambda e: self.commit())
        self.bind("<KP_Enter>", lambda e: self.commit())
        self.bind("<Tab>", lambda e: self.commit())
        self.bind("<Escape>", lambda e: self.cancel())
        self.bind("<FocusOut>", lambda e: self.commit())

    def commit(self) -> str:
        """Hand the text to the table and close."""
        if not self._done:
            self._done = True
            text = self.get()
            self._close()
            self.table.cell_edited(self.iid, self.key, text)
        return "break"

    def cancel(self) -> str:
        """Close without changing anything."""
        if not self._done:
            self._done = True
            self._close()
        return "break"

    def _close(self) -> None:
        self.table.editor = None
        self.table.tree.focus_set()
        self.destroy()


class ParamTable(ttk.Frame):
    """One row per video; columns from :data:`caliali_tk.gui.model.COLUMNS`.

    Parameters
    ----------
    parent : widget
    on_edit : callable(iid, key, text) -> str or None
        Called when a cell's edit is committed; return an error message to
        refuse the value (the old one stays), None to accept.
    on_get : callable(iid)
        The row's Get action (click on the Get cell, double-click on the
        file name, or Return).
    on_open : callable(iid)
        Double-click on the Status cell (e.g. open the results).
    """

    def __init__(self, parent, on_edit: Callable, on_get: Callable, on_open: Callable):
        super().__init__(parent)
        self.on_edit, self.on_get, self.on_open = on_edit, on_get, on_open
        self.editor: Optional[CellEditor] = None
        keys = [c.key for c in COLUMNS]
        self.tree = ttk.Treeview(self, columns=keys, show="headings", selectmode="extended",
                                 height=8)
        for c in COLUMNS:
            anchor = "w" if c.key in ("file", "status") else "center"
            self.tree.heading(c.key, text=c.title, anchor=anchor)
            self.tree.column(c.key, width=c.width, minwidth=50, anchor=anchor,
                             stretch=c.key in STRETCH)
        bar = ttk.Scrollbar(self, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=bar.set)
        self.tree.grid(row=0, column=0, sticky="nsew")
        bar.grid(row=0, column=1, sticky="ns")
        self.rowconfigure(0, weight=1)
        self.columnconfigure(0, weight=1)
        self.tree.tag_configure("get", foreground="#1b7a1b")
        self._bind()

    def _bind(self) -> None:
        t = self.tree
        t.bind("<Double-Button-1>", self._double_click)
        t.bind("<ButtonRelease-1>", self._click)
        t.bind("<Return>", self._return_key)
        t.bind("<F2>", self._f2_key)
        t.bind("<Configure>", self._fit_columns, add="+")
        for seq in ("<ButtonPress-1>", "<MouseWheel>", "<Button-4>", "<Button-5>"):
            t.bind(seq, self._end_edit, add="+")

    def _fit_columns(self, event) -> None:
        """Share the width left by the number columns between File and Status."""
        fixed = sum(c.width for c in COLUMNS if c.key not in STRETCH)
        spare = max(event.width - fixed - 4, 0)
        total = sum(c.width for c in COLUMNS if c.key in STRETCH)
        for c in COLUMNS:
            if c.key in STRETCH:
                self.tree.column(c.key, width=max(MIN_STRETCH, int(spare * c.width / total)))

    # -- rows ------------------------------------------------------------------
    def insert(self, iid: str, cells: dict) -> None:
        """Add a row (cells: column key -> text)."""
        self.tree.insert("", "end", iid=iid, values=[cells[c.key] for c in COLUMNS])

    def update(self, iid: str, cells: dict) -> None:
        """Set some cells of a row."""
        for key, text in cells.items():
            self.tree.set(iid, key, text)

    def delete(self, iid: str) -> None:
        """Remove a row."""
        self.tree.delete(iid)

    def iids(self) -> list:
        """Every row id, top to bottom."""
        return list(self.tree.get_children())

    def selected(self) -> list:
        """Selected row ids, top to bottom."""
        sel = set(self.tree.selection())
        return [i for i in self.iids() if i in sel]

    def cell(self, iid: str, key: str) -> str:
        """A cell's text."""
        return str(self.tree.set(iid, key))

    # -- editing ----------------------------------------------------------------
    def edit(self, iid: str, key: str) -> Optional[CellEditor]:
        """Open the in-place editor on a cell (editable columns only)."""
        self._end_edit()
        if key not in EDITABLE:
            return None
        self.tree.see(iid)
        self.tree.update_idletasks()
        if not self.tree.bbox(iid, key):
            return None
        self.editor = CellEditor(self, iid, key)
        return self.editor

    def cell_edited(self, iid: str, key: str, text: str) -> None:
        """Called by the editor: pass the text on (the window validates)."""
        if self.tree.exists(iid):
            self.on_edit(iid, key, text)

    def _end_edit(self, _event=None) -> None:
        if self.editor is not None:
            self.editor.commit()

    def _where(self, event):
        if self.tree.identify_region(event.x, event.y) != "cell":
            return None, None
        iid = self.tree.identify_row(event.y)
        col = self.tree.identify_column(event.x)  # '#1'..
        if not iid or not col:
            return None, None
        return iid, COLUMNS[int(col[1:]) - 1].key

    def _double_click(self, event) -> str:
        iid, key = self._where(event)
        if iid is None:
            return "break"
        if key in EDITABLE:
            self.edit(iid, key)
        elif key == "status":
            self.on_open(iid)
        elif key == "file":
            self.on_get(iid)
        return "break"

    def _click(self, event) -> None:
        iid, key = self._where(event)
        if iid is not None and key == "get":
            self.on_get(iid)

    def _return_key(self, _event=None) -> str:
        focus = self.tree.focus()
        if focus:
            self.on_get(focus)
        return "break"

    def _f2_key(self, _event=None) -> str:
        focus = self.tree.focus()
        if focus:
            self.edit(focus, "pnr")
        return "break"
