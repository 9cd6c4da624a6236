"""Run extraction over several files, one after another, off the GUI thread.

`batch_job` is what runs in the worker thread (plain Python, no Tk): it
calls :func:`caliali_tk.pipeline.extract` for each file and posts what
happens. `BatchRun` lives on the GUI thread and turns those posts into the
Status column, the progress bar and the log.
"""

from __future__ import annotations

import dataclasses
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

from caliali_tk.errors import UserError
from caliali_tk.io.params import FileParams, save_params
from caliali_tk.io.results import results_path
from caliali_tk.pipeline import Cancelled, extract
from caliali_tk.pipeline.suggest import start_suggestion
from caliali_tk.gui.threshold_suggest import starts_from_suggestion
from caliali_tk.gui.runner import Eta, ThrottledProgress, Worker, format_seconds, one_line

__all__ = ["FileJob", "snapshot_jobs", "batch_job", "BatchRun"]


@dataclass(frozen=True)
class FileJob:
    """One file to extract, with a snapshot of its parameters."""

    iid: str
    path: Path
    params: FileParams
    suggest: bool = False  # issue 10: no saved thresholds, start from the suggestion


def snapshot_jobs(rows: dict, log: Callable) -> List[FileJob]:
    """Jobs for rows (iid -> FileRow), saving each row's sidecar first.

    The parameters are copied now, so edits during the run do not change it,
    and the sidecar matches the results file. A sidecar that cannot be
    written is logged, not fatal.
    """
    jobs = []
    for iid, row in rows.items():
        jobs.append(FileJob(iid, row.path, row.params, starts_from_suggestion(row)))
        if jobs[-1].suggest:
            continue  # saved by the worker, once the thresholds are suggested
        try:
            save_params(row.path, row.params)
            row.dirty = False
        except (UserError, OSError) as exc:
            log(f"{row.name}: parameters not saved ({exc})", "error")
    return jobs


def _suggested(fj: FileJob, post, i: int, cancel, progress) -> FileParams:
    """The job's parameters with the suggested thresholds; saved to its sidecar."""
    found = start_suggestion(fj.path, fj.params, progress=progress, cancel=cancel)
    params = dataclasses.replace(fj.params, **found)
    try:
        save_params(fj.path, params)
    except (UserError, OSError):
        pass  # the results file records the parameters all the same
    post("suggested", (i, params))
    return params


def batch_job(jobs: List[FileJob], extract_fn: Callable = extract) -> Callable:
    """The worker-thread function extracting `jobs` in order.

    Posts ``("start", i)``, ``("progress", (i, fraction, message))``,
    ``("done", (i, result, out_path))``, ``("file_failed", (i, message))``,
    ``("file_error", (i, message, traceback))`` and, when cancelled,
    ``("file_cancelled", i)`` for the running file and every queued one. A
    file that fails does not stop the others; cancelling stops them all.
    """
    def job(post, cancel):
        for i, fj in enumerate(jobs):
            if cancel.is_set():
                return _cancel_rest(post, i, len(jobs))
            post("start", i)
            progress = ThrottledProgress(post, extra=i)
            try:
                params = _suggested(fj, post, i, cancel, progress) if fj.suggest else fj.params
                out = results_path(fj.path)
                result = extract_fn(fj.path, params, progress=progress, cancel=cancel,
                                    out_path=out)
            except Cancelled:
                return _cancel_rest(post, i, len(jobs))
            except UserError as exc:
                post("file_failed", (i, one_line(exc)))
            except Exception as exc:  # a bug in one file must not lose the others
                post("file_error", (i, f"{type(exc).__name__}: {one_line(exc)}",
                                    traceback.format_exc()))
            else:
                post("done", (i, result, out))
        return len(jobs)
    return job


def _cancel_rest(post, first: int, n: int) -> int:
    for j in range(first, n):
        post("file_cancelled", j)
    return first


class BatchRun:
    """The GUI side of a batch extraction.

    Parameters
    ----------
    widget : tkinter widget
        Schedules the queue poller.
    jobs : list of FileJob
    view : object
        The main window; it provides ``set_status(iid, text)``,
        ``progress`` (a ProgressPanel), ``log(text, level)`` and
        ``batch_file_done(iid, result, out_path)``,
        ``batch_finished(run)``.
    extract_fn : callable
        The extraction function (tests may pass a slower or failing one).
    """

    def __init__(self, widget, jobs: List[FileJob], view, extract_fn: Callable = extract):
        self.jobs, self.view = jobs, view
        self.counts = {"done": 0, "failed": 0, "cancelled": 0}
        self.eta: Optional[Eta] = None
        self.stage = ""
        self.worker = Worker(widget, batch_job(jobs, extract_fn), self._handle,
                             name="caliali-extract")

    def start(self) -> "BatchRun":
        """Mark every file queued and start the worker."""
        for fj in self.jobs:
            self.view.set_status(fj.iid, "queued")
        self.view.progress.busy(True)
        self.view.progress.set(0.0, f"starting: {len(self.jobs)} file(s)")
        self.eta = Eta()
        self.worker.start()
        return self

    def cancel(self) -> None:
        """Ask the worker to stop at its next check."""
        if self.worker.alive:
            self.worker.cancel()
            self.view.progress.set(self._overall(0, 0.0), "cancelling…")
            self.view.log("Cancelling extraction…")

    @property
    def running(self) -> bool:
        """True until every message of the worker has been handled."""
        return not self.worker.finished

    def _overall(self, i: int, fraction: float) -> float:
        return (i + max(0.0, min(1.0, fraction))) / max(1, len(self.jobs))

    def _handle(self, kind: str, payload) -> None:
        getattr(self, "_on_" + kind)(payload)

    def _on_start(self, i: int) -> None:
        fj = self.jobs[i]
        self.view.set_status(fj.iid, "running")
        self.view.log(f"Extracting {fj.path.name} (file {i + 1} of {len(self.jobs)})…")

    def _on_progress(self, payload) -> None:
        i, fraction, message = payload
        self.stage = message
        if self.worker.cancel_event.is_set():
            return
        overall = self._overall(i, fraction)
        parts = [f"file {i + 1}/{len(self.jobs)}", message, f"{overall:.0%}",
                 format_seconds(self.eta.seconds_left(overall))]
        self.view.progress.set(overall, " · ".join(p for p in parts if p))
        self.view.set_status(self.jobs[i].iid, f"running: {fraction:.0%} {message}")

    def _on_suggested(self, payload) -> None:
        i, params = payload
        fj = self.jobs[i]
        self.view.log(f"{fj.path.name}: no saved thresholds; suggested PNR {params.min_pnr:g}, "
                      f"Corr {params.min_corr:g} (saved to its sidecar)")
        used = getattr(self.view, "batch_params_used", None)
        if used is not None:
            used(fj.iid, params)

    def _on_done(self, payload) -> None:
        i, result, out = payload
        self.counts["done"] += 1
        fj = self.jobs[i]
        self.view.set_status(fj.iid, f"done {result.K} neurons")
        self.view.log(f"{fj.path.name}: {result.K} neurons, saved {Path(out).name}")
        self.view.batch_file_done(fj.iid, result, Path(out))

    def _on_file_failed(self, payload) -> None:
        i, message = payload
        self.counts["failed"] += 1
        self.view.set_status(self.jobs[i].iid, f"failed: {message}")
        self.view.log(f"{self.jobs[i].path.name} failed: {message}", "error")

    def _on_file_error(self, payload) -> None:
        i, message, details = payload
        self.counts["failed"] += 1
        self.view.set_status(self.jobs[i].iid, f"failed: {message}")
        self.view.log(f"{self.jobs[i].path.name} failed: {message}\n{details}", "error")

    def _on_file_cancelled(self, i: int) -> None:
        self.counts["cancelled"] += 1
        self.view.set_status(self.jobs[i].iid, "cancelled")

    def _on_result(self, _value) -> None:
        pass

    def _on_cancelled(self, _payload) -> None:
        pass

    def _on_failed(self, message) -> None:  # the job itself never raises these
        self.view.log(f"Extraction stopped: {message}", "error")

    def _on_error(self, payload) -> None:
        message, details = payload
        self.view.log(f"Extraction stopped: {message}\n{details}", "error")

    def _on_exit(self, _payload) -> None:
        self.view.progress.busy(False)
        c = self.counts
        text = f"Finished: {c['done']} done, {c['failed']} failed, {c['cancelled']} cancelled"
        self.view.progress.set(0.0, text)
        self.view.log(text)
        self.view.batch_finished(self)
