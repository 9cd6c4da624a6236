"""End-to-end self-test: simulate a small movie, extract it, score the result.

`score_against_truth` matches found neurons to the simulator's ground truth
(Hungarian matching on centroid distance) and is reused by the benchmarks
and the tests; `run_selftest` is what ``caliali-tk selftest`` runs, in a
source checkout or in the PyInstaller bundle.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

SIZE = (96, 96, 800)  # H, W, T of the self-test movie
N_NEURONS = 15
SEED = 7
GSIG = 2.5
MIN_CORR = 0.8
MIN_PNR = 6.0
MIN_F1 = 0.8  # pass thresholds
MIN_MEDIAN_R = 0.8
_FAR = 1e6  # cost of a pair farther apart than max_dist
S_SIGMA = 2.0  # frames: spikes are smoothed by this Gaussian before they are compared


def score_against_truth(result, truth, max_dist: float = 4.0) -> dict:
    """Match found neurons to true ones and score detection and traces.

    Parameters
    ----------
    result : object with ``.centers`` (K, 2) and ``.C`` (K, T)
        Found neurons, e.g. a :class:`caliali_tk.io.results.Result`.
    truth : object with ``.centers`` (N, 2) and ``.C`` (N, T)
        Ground truth, e.g. a :class:`caliali_tk.demo.simulate.GroundTruth`.
        Centres are (row, col) in both.
    max_dist : float
        Largest centroid distance (pixels) that counts as a match.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (floats in [0, 1]), ``median_r``
        (median Pearson correlation of matched traces C with the true
        fluorescence, 0 when nothing matched), ``median_r_C_raw`` (the same
        for ``result.C_raw``) and ``median_r_S`` (``result.S`` against
        ``truth.S``, both smoothed by a Gaussian of ``S_SIGMA`` frames), NaN
        when the result or the truth lacks them, and ``matches``: a list of
        ``(found, true, distance, r)``.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> C = np.random.default_rng(0).random((2, 50))
    >>> truth = NS(centers=np.array([[10., 10.], [30., 30.]]), C=C)
    >>> found = NS(centers=np.array([[31., 30.], [60., 60.]]), C=C[::-1])
    >>> s = score_against_truth(found, truth)
    >>> s["precision"], s["recall"], s["matches"][0][:2]
    (0.5, 0.5, (0, 1))
    """
    found = np.asarray(result.centers, dtype=float).reshape(-1, 2)
    true = np.asarray(truth.centers, dtype=float).reshape(-1, 2)
    pairs = _match(found, true, max_dist)
    matches = [(i, j, d, _pearson(np.asarray(result.C)[i], np.asarray(truth.C)[j]))
               for i, j, d in pairs]
    n = len(matches)
    precision = n / len(found) if len(found) else 0.0
    recall = n / len(true) if len(true) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if n else 0.0
    median_r = float(np.median([m[3] for m in matches])) if n else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "median_r": median_r, "matches": matches,
            "median_r_C_raw": _median_r(result, truth, pairs, "C_raw", "C"),
            "median_r_S": _median_r(result, truth, pairs, "S", "S", S_SIGMA)}


def _median_r(result, truth, pairs, found_name, true_name, sigma=0.0) -> float:
    """Median correlation of matched rows of two arrays (smoothed by ``sigma`` frames)."""
    found, true = getattr(result, found_name, None), getattr(truth, true_name, None)
    if found is None or true is None or not pairs:
        return float("nan")
    rs = []
    for i, j, _ in pairs:
        a, b = np.asarray(found[i], float), np.asarray(true[j], float)
        if sigma > 0:
            a, b = gaussian_filter1d(a, sigma), gaussian_filter1d(b, sigma)
        rs.append(_pearson(a, b))
    return float(np.median(rs))


def _match(found: np.ndarray, true: np.ndarray, max_dist: float) -> list:
    """Hungarian matching on centroid distance; pairs within `max_dist` only."""
    if not len(found) or not len(true):
        return []
    dist = cdist(found, true)
    cost = np.where(dist <= max_dist, dist, _FAR)
    rows, cols = linear_sum_assignment(cost)
    return [(int(i), int(j), float(dist[i, j]))
            for i, j in zip(rows, cols) if dist[i, j] <= max_dist]


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two traces; 0 when either is constant."""
    a = np.asarray(a, dtype=float) - np.mean(a)
    b = np.asarray(b, dtype=float) - np.mean(b)
    norm = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return float(np.dot(a, b) / norm) if norm > 0 else 0.0


@dataclass
class SelftestReport:
    """Outcome of :func:`run_selftest`.

    Attributes
    ----------
    ok : bool
        Whether F1 and the median trace correlation pass the thresholds.
    scores : dict
        :func:`score_against_truth` output.
    seconds : float
        Wall time, simulation included.
    found, true : int
        Neurons found and simulated.
    """

    ok: bool
    scores: dict
    seconds: float
    found: int
    true: int

    @property
    def line(self) -> str:
        """The one-line verdict ``selftest PASS: F1=0.95 median r=0.93 (12.3 s)``."""
        s = self.scores
        word = "PASS" if self.ok else "FAIL"
        return (f"selftest {word}: F1={s['f1']:.2f} median r={s['median_r']:.2f} "
                f"({self.found} found / {self.true} simulated, {self.seconds:.1f} s)")


def run_selftest(progress=None, cancel=None, folder=None) -> SelftestReport:
    """Simulate a small movie, compute its summary images, extract, score.

    Parameters
    ----------
    progress : callable(fraction, message), optional
    cancel : threading.Event, optional
    folder : path, optional
        Where to write the movie and results; a fresh temporary folder
        (deleted afterwards) by default.

    Returns
    -------
    SelftestReport
    """
    t0 = time.perf_counter()
    if folder is not None:
        return _run_in(Path(folder), progress, cancel, t0)
    with tempfile.TemporaryDirectory(prefix="caliali-selftest-") as tmp:
        return _run_in(Path(tmp), progress, cancel, t0)


def _run_in(folder: Path, progress, cancel, t0: float) -> SelftestReport:
    from caliali_tk.io.params import FileParams
    from caliali_tk.pipeline import compute_summary, extract
    from caliali_tk.pipeline.common import Stage
    from caliali_tk.demo.files import write_simulated

    stage = Stage(progress, 0.0, 1.0)
    stage(0.0, "simulating a test movie")
    H, W, T = SIZE
    video = folder / "selftest.h5"
    truth = write_simulated(video, H, W, T, n_neurons=N_NEURONS, gSig=GSIG, seed=SEED)
    compute_summary(video, GSIG, progress=stage.sub(0.05, 0.25), cancel=cancel)
    params = FileParams(min_corr=MIN_CORR, min_pnr=MIN_PNR, gSig=GSIG, fps=truth.fps)
    result = extract(video, params, progress=stage.sub(0.25, 1.0), cancel=cancel)
    scores = score_against_truth(result, truth)
    ok = scores["f1"] >= MIN_F1 and scores["median_r"] >= MIN_MEDIAN_R
    return SelftestReport(ok, scores, time.perf_counter() - t0, result.K, truth.K)
