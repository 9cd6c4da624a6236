"""The results window's neuron list: number, accepted or rejected, quality values.

A ``ttk.Treeview`` with one row per neuron in the curation's list; a click
on a column heading sorts by it (again: the other way round). Rows are
identified by the neuron number, several can be selected (Shift / Ctrl) for
a merge, rejected rows are shown in orange, and a double-click on a row's
✓ / ✗ accepts or rejects it.
"""

from __future__ import annotations

from tkinter import ttk
from typing import Callable, Dict, List, Optional

import numpy as np

__all__ = ["NeuronList", "METRIC_TITLES"]

#: Column titles of the quality metrics (only those with values are shown).
METRIC_TITLES: Dict[str, str] = {"snr": "SNR", "spatial_corr": "corr", "size": "size",
                                 "compactness": "compact", "elongation": "elong",
                                 "n_events": "events"}
REJECTED_FG = "#c05000"
_TITLES = {"number": "#", "state": "ok", **METRIC_TITLES}
_WIDTHS = {"number": 44, "state": 34, "size": 46}


class NeuronList(ttk.Frame):
    """Sortable list of neurons with their quality values.

    Parameters
    ----------
    parent : widget
    metrics : list of str
        The quality columns (keys of :data:`METRIC_TITLES`).
    on_select : callable(list of int)
        Called with the selected neuron numbers (the focused one first).
    """

    def __init__(self, parent, metrics: List[str], on_select: Callable,
                 on_toggle: Optional[Callable] = None):
        super().__init__(parent)
        self.metrics, self.on_select, self.on_toggle = list(metrics), on_select, on_toggle
        cols = ["number", "state"] + self.metrics
        self.tree = ttk.Treeview(self, columns=cols, show="headings", selectmode="extended",
                                 height=16)
        for col in cols:
            self.tree.heading(col, text=_TITLES[col], command=lambda c=col: self.sort(c))
            self.tree.column(col, width=_WIDTHS.get(col, 54), minwidth=30, anchor="e",
                             stretch=True)
        self.tree.column("state", anchor="center")
        self.tree.tag_configure("rejected", foreground=REJECTED_FG)
        bar = ttk.Scrollbar(self, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=bar.set)
        self.tree.pack(side="left", fill="both", expand=True)
        bar.pack(side="left", fill="y")
        self.tree.bind("<<TreeviewSelect>>", self._selected)
        self.tree.bind("<Double-Button-1>", self._double_click)
        self.sort_key, self.descending = "number", False
        self._values: Dict[int, dict] = {}
        self._shown: List[int] = []  # the selection last set or reported

    # -- content ---------------------------------------------------------------------------
    def fill(self, numbers, accepted, quality: Dict[str, np.ndarray]) -> None:
        """Show these neurons (their metrics per list position), keeping the sort."""
        self.tree.delete(*self.tree.get_children())
        self._values = {}
        for i, n in enumerate(numbers):
            vals = {m: float(quality[m][i]) for m in self.metrics}
            vals.update(number=int(n), state=bool(accepted[i]))
            self._values[int(n)] = vals
            self.tree.insert("", "end", iid=str(int(n)), values=self._row(vals),
                             tags=() if accepted[i] else ("rejected",))
        self.sort(self.sort_key, toggle=False)

    @staticmethod
    def _row(vals: dict) -> list:
        out = [vals["number"], "✓" if vals["state"] else "✗"]
        for k, v in vals.items():
            if k in ("number", "state"):
                continue
            out.append("" if not np.isfinite(v) else
                       (f"{v:.0f}" if k in ("size", "n_events") else f"{v:.2f}"
                        if abs(v) < 10 else f"{v:.1f}"))
        return out

    def sort(self, key: str, toggle: bool = True) -> None:
        """Sort the rows by column `key` (a second click on it reverses the order)."""
        if toggle:
            self.descending = (not self.descending) if key == self.sort_key else \
                key not in ("number", "state")
        self.sort_key = key

        def value(n):
            v = self._values[n][key]
            v = float(v) if not isinstance(v, bool) else float(v)
            return (np.isnan(v), -v if self.descending else v)
        order = sorted(self._values, key=value)
        for i, n in enumerate(order):
            self.tree.move(str(n), "", i)
        arrow = " ▼" if self.descending else " ▲"
        for col in ["number", "state"] + self.metrics:
            self.tree.heading(col, text=_TITLES[col] + (arrow if col == key else ""))

    # -- selection -------------------------------------------------------------------------
    def order(self) -> List[int]:
        """Neuron numbers in the order shown."""
        return [int(i) for i in self.tree.get_children()]

    def selection(self) -> List[int]:
        """Selected neuron numbers, the focused one first."""
        sel = [int(i) for i in self.tree.selection()]
        focus = self.tree.focus()
        if focus and int(focus) in sel:
            sel.remove(int(focus))
            sel.insert(0, int(focus))
        return sel

    def show_selection(self, numbers: List[int]) -> None:
        """Select `numbers` (the first focused and scrolled into view) without
        reporting it back through `on_select`."""
        items = [str(n) for n in numbers if self.tree.exists(str(n))]
        self._shown = [int(i) for i in items]
        self.tree.selection_set(items)
        if items:
            self.tree.focus(items[0])
            self.tree.see(items[0])

    def size(self) -> int:
        """Number of rows."""
        return len(self.tree.get_children())

    def _selected(self, _event=None) -> None:
        sel = self.selection()
        if sorted(sel) != sorted(self._shown) or (sel[:1] != self._shown[:1]):
            self._shown = sel
            self.on_select(sel)

    def _double_click(self, event) -> Optional[str]:
        row = self.tree.identify_row(event.y)
        col = self.tree.identify_column(event.x)
        if row and self.on_toggle is not None and col == "#2":  # the ok column
            self.on_toggle(int(row))
            return "break"
        return None
