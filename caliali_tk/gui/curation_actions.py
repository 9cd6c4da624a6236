"""The results window's curation: accept, reject, reject below, merge, add, undo.

A mixin of :class:`~caliali_tk.gui.results_view.ResultsWindow`. Every
operation goes through the :class:`~caliali_tk.io.curation.Curation` and is
saved into the results file at once (atomically), so closing the window
loses nothing. Merging and adding a neuron read the movie: they run in a
worker thread (:class:`~caliali_tk.gui.runner.Worker`) with progress and
Cancel, and the other curation keys wait until they are done.
"""

from __future__ import annotations

from typing import Optional

from caliali_tk.errors import UserError
from caliali_tk.io.curation_file import save_curation
from caliali_tk.gui.runner import ThrottledProgress, Worker
from caliali_tk.pipeline.curate import plan_add, plan_merge, source_video

__all__ = ["CurationActions"]


class CurationActions:
    """Accept / reject / merge / add / undo for the results window (a mixin).

    Expects ``self.cur``, ``self.path``, ``self.status``, ``self.progress``,
    ``self.refresh(select_numbers)``, ``self.selected_numbers()`` and
    ``self.log``.
    """

    worker: Optional[Worker] = None

    # -- without the movie -----------------------------------------------------------------
    def accept_selected(self) -> None:
        """Accept the selected neurons (key ``a``)."""
        self._set_selected(True)

    def reject_selected(self) -> None:
        """Reject the selected neurons (key ``r``)."""
        self._set_selected(False)

    def _set_selected(self, value: bool) -> None:
        numbers = self.selected_numbers()
        if not numbers or self._busy():
            return
        self.cur.set_accepted(numbers, value)
        verb = "Accepted" if value else "Rejected"
        self._changed(f"{verb} {_list(numbers)}.", numbers)

    def toggle(self, number: int) -> None:
        """Accept a rejected neuron or reject an accepted one (double-click on ✓ / ✗)."""
        if self._busy():
            return
        value = not bool(self.cur.accepted[self.cur.position(number)])
        self.cur.set_accepted([number], value)
        self._changed(f"{'Accepted' if value else 'Rejected'} neuron {number}.", [number])

    def reject_below(self, metric: str, text: str) -> None:
        """Reject every neuron whose `metric` is below the value typed in `text`."""
        if self._busy():
            return
        try:
            value = float(text)
        except ValueError:
            self.status.show(f"Reject below: {text!r} is not a number.", error=True)
            return
        try:
            numbers = self.cur.reject_below(metric, value)
        except UserError as exc:
            self.status.show(str(exc), error=True)
            return
        self._changed(f"Rejected {len(numbers)} neuron(s) with {metric} below {value:g}.",
                      self.selected_numbers())

    def undo(self) -> None:
        """Undo the last curation operation (Ctrl+Z)."""
        if self._busy():
            return
        op = self.cur.undo()
        if op is None:
            self.status.show("Nothing to undo.")
            return
        self._changed(f"Undone: {op.get('text', op.get('op'))}.", self.selected_numbers())

    # -- with the movie --------------------------------------------------------------------
    def merge_selected(self) -> Optional[Worker]:
        """Merge the selected neurons (two or more) in a worker thread (key ``m``)."""
        numbers = self.selected_numbers()
        if len(numbers) < 2:
            self.status.show("Select two or more neurons to merge (Ctrl- or Shift-click "
                             "in the list).", error=True)
            return None
        return self._run("merge " + "+".join(map(str, numbers)),
                         lambda video, progress, cancel:
                         plan_merge(self.cur, numbers, video, progress, cancel))

    def add_at(self, row: float, col: float) -> Optional[Worker]:
        """Add a neuron initialised from the movie near (row, col), in a worker thread."""
        self.plot.overview.mark(row, col)
        self.canvas.draw_idle()
        return self._run(f"add a neuron at row {row:.0f}, col {col:.0f}",
                         lambda video, progress, cancel:
                         plan_add(self.cur, row, col, video, progress, cancel))

    def cancel_work(self) -> None:
        """Cancel a running merge / add."""
        if self.worker is not None and self.worker.alive:
            self.worker.cancel()

    def _run(self, label: str, plan) -> Optional[Worker]:
        if self._busy():
            return None
        try:
            video = source_video(self.path, self.cur.result)
        except UserError as exc:
            self.status.show(str(exc), error=True)
            self.plot.overview.mark()
            return None

        def job(post, cancel):
            return plan(video, ThrottledProgress(post), cancel)

        self.progress.busy(True)
        self.progress.set(0.0, label)
        self.worker = Worker(self, job, lambda k, p: self._worker_message(label, k, p),
                             name="caliali-curate").start()
        self.status.show(f"Working: {label}…")
        return self.worker

    def _worker_message(self, label: str, kind: str, payload) -> None:
        if not self.alive:
            return
        if kind == "progress":
            fraction, message = payload
            self.progress.set(fraction, f"{label}: {message}")
        elif kind == "result":
            made = payload.apply(self.cur)
            refits = payload.numbers if payload.op.get("op") == "add" else []
            extra = f"; refitted {_list(refits)}" if refits else ""
            self._changed(f"Done: {label} → {_list(made)}{extra}.", made)
        elif kind in ("failed", "error"):
            message = payload if kind == "failed" else payload[0]
            self.status.show(f"{label} failed: {message}", error=True)
            self.log(f"{label} failed: {message}", "error")
            self.plot.overview.mark()
        elif kind == "cancelled":
            self.status.show(f"{label}: cancelled; nothing changed.")
            self.plot.overview.mark()
        elif kind == "exit":
            self.progress.busy(False)
            self.progress.set(0.0, "")
            self.canvas.draw_idle()

    def _busy(self) -> bool:
        if self.worker is not None and self.worker.alive:
            self.status.show("Wait until the running merge / add is done (or cancel it).",
                             error=True)
            return True
        return False

    # -- saving ----------------------------------------------------------------------------
    def _changed(self, message: str, select) -> None:
        """Save the curation, redraw the list and the image, say what happened."""
        self.refresh(select)
        try:
            save_curation(self.path, self.cur)
        except (OSError, UserError) as exc:
            message += f" Could not save it into {self.path.name}: {exc}"
            self.status.show(message, error=True)
            self.log(message, "error")
        else:
            self.status.show(message + " Saved.")
            self.log(f"{self.path.name}: {message}")


def _list(numbers) -> str:
    numbers = list(numbers)
    if len(numbers) > 8:
        return f"{len(numbers)} neurons"
    return ("neurons " if len(numbers) > 1 else "neuron ") + ", ".join(map(str, numbers)) \
        if numbers else "no neuron"
