"""The GUI's Tk-free parts: cell parsing, time-left text, batch messages, CSV, contours."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from caliali_tk.errors import ParamsError, VideoError
from caliali_tk.io.params import FileParams
from caliali_tk.pipeline import Cancelled
from caliali_tk.gui.batch import FileJob, batch_job
from caliali_tk.io.export_csv import csv_paths, write_trace_table
from caliali_tk.gui.model import parse_cell
from caliali_tk.gui.results_plot import footprint_contours, neuron_at
from caliali_tk.gui.runner import Eta, ThrottledProgress, format_seconds
from caliali_tk.gui.threshold import thin_polygon

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("key, text, field, value", [
    ("pnr", "7,5", "min_pnr", 7.5), ("corr", " 0.65", "min_corr", 0.65),
    ("gsig", "15", "gSig", 15.0), ("fps", "30", "fps", 30.0)])
def test_parse_cell_accepts(key, text, field, value):
    assert getattr(parse_cell(FileParams(), key, text), field) == value


@pytest.mark.parametrize("key, text, words", [
    ("pnr", "-1", "PNR: -1 is out of range"), ("corr", "1.01", "Corr: 1.01 is out of range"),
    ("gsig", "0.2", "from 0.5 to 15"), ("fps", "0", "Frame rate"), ("pnr", "nan", "PNR"),
    ("corr", "abc", "'abc' is not a number")])
def test_parse_cell_refuses_with_one_line(key, text, words):
    with pytest.raises(ParamsError) as err:
        parse_cell(FileParams(), key, text)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_time_left():
    eta = Eta(start=100.0)
    assert eta.seconds_left(0.01, now=110.0) is None         # too early to tell
    assert eta.seconds_left(0.25, now=110.0) == pytest.approx(30.0)
    assert format_seconds(30) == "about 30 s left" and format_seconds(None) == ""


def test_throttled_progress_keeps_stage_changes():
    posts = []
    progress = ThrottledProgress(lambda kind, p: posts.append(p), interval=10.0, extra=0)
    for f in np.linspace(0, 0.5, 50):
        progress(f, "a")
    progress(0.6, "b")
    progress(1.0, "b")
    assert [p[2] for p in posts] == ["a", "b", "b"]


def run_batch(outcomes, tmp_path):
    """Run batch_job with a fake extract whose outcome per file is given."""
    class R:
        K = 3
    jobs = [FileJob(f"r{i}", tmp_path / f"v{i}.h5", FileParams()) for i in range(len(outcomes))]
    cancel = threading.Event()

    def fake_extract(path, params, progress, cancel, out_path):
        outcome = outcomes[int(path.stem[1:])]
        progress(0.5, "half")
        if outcome == "cancel":
            cancel.set()
            raise Cancelled()
        if outcome == "user":
            raise VideoError(f"{path.name}: cannot read frames")
        if outcome == "bug":
            raise KeyError("oops")
        return R()
    posts = []
    batch_job(jobs, fake_extract)(lambda kind, p=None: posts.append((kind, p)), cancel)
    return [(k, p if not isinstance(p, tuple) else p[0]) for k, p in posts if k != "progress"]


def test_batch_reports_each_file_and_goes_on_after_a_failure(tmp_path):
    assert run_batch(["ok", "user", "bug", "ok"], tmp_path) == [
        ("start", 0), ("done", 0), ("start", 1), ("file_failed", 1),
        ("start", 2), ("file_error", 2), ("start", 3), ("done", 3)]


def test_batch_cancel_marks_the_rest_cancelled(tmp_path):
    assert run_batch(["ok", "cancel", "ok"], tmp_path) == [
        ("start", 0), ("done", 0), ("start", 1), ("file_cancelled", 1), ("file_cancelled", 2)]


def test_csv_export(tmp_path):
    C = np.arange(12, dtype=float).reshape(3, 4)
    paths = csv_paths(tmp_path / "m_C.csv")
    assert paths["S"].name == "m_S.csv" and paths["C_raw"].name == "m_C_raw.csv"
    c_path = write_trace_table(paths["C"], C, [1, 2, 5], "C", fps=20.0,
                               frames_per_session=[2, 2])
    lines = c_path.read_text().splitlines()
    assert lines[0] == "time_s,session,session_time_s,C_1,C_2,C_5" and len(lines) == 5
    assert lines[2].split(",")[:4] == ["0.05", "1", "0.05", "1"]
    assert lines[3].split(",")[:4] == ["0.1", "2", "0", "2"]      # session 2 starts at 0
    assert [p.name for p in tmp_path.iterdir()] == ["m_C.csv"]   # no temporary left


def test_contours_and_picking():
    A = np.zeros((2, 20, 20), np.float32)
    A[0, 3:8, 3:8] = 1.0
    A[1, 12:17, 10:15] = 1.0
    lines = footprint_contours(A)
    assert len(lines) == 2 and all(len(per) == 1 for per in lines)
    ring = lines[1][0]
    assert np.allclose(ring[0], ring[-1])                         # closed
    assert 9 < ring[:, 0].min() < 10.5 and 13.5 < ring[:, 0].max() < 15    # x = col
    centers = np.array([[5, 5], [14, 12]], float)
    assert neuron_at(A, centers, x=12, y=14) == 1
    assert neuron_at(A, centers, x=9.5, y=5) == 0                 # near the centre
    assert neuron_at(A, centers, x=19, y=0) is None


def test_thin_polygon_drops_repeated_points():
    pts = thin_polygon([(0, 0), (0.1, 0.1), (1, 0), (1, 1.00001), (0, 1), (0.05, 1)])
    assert pts == [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]


def test_picking_among_listed_footprints_only():
    A = np.zeros((3, 20, 20), np.float32)
    A[0, 3:8, 3:8] = 1.0
    A[2, 3:8, 3:8] = 0.5                                        # under 0, but 0 is not listed
    centers = np.array([[5, 5], [14, 12], [5, 5]], float)
    assert neuron_at(A, centers, x=5, y=5) == 0
    ids = np.array([1, 2])
    assert neuron_at(A, centers[ids], x=5, y=5, ids=ids) == 1   # position of neuron 2
    assert neuron_at(A, centers[ids], x=19, y=0, ids=ids) is None
