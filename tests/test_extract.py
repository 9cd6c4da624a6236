"""End-to-end CNMF-E extraction on simulated movies with ground truth."""

import threading

import h5py
import numpy as np
import pytest

from caliali_tk.errors import UserError
from caliali_tk.io.params import FileParams
from caliali_tk.io.results import load_results, results_path
from caliali_tk.pipeline import Cancelled, extract
from caliali_tk.demo.selftest import score_against_truth
from caliali_tk.demo.files import write_simulated


@pytest.fixture(scope="module")
def movie(tmp_path_factory):
    path = tmp_path_factory.mktemp("extract") / "movie.h5"
    truth = write_simulated(path, 96, 96, 1000, n_neurons=20, seed=7,
                            frames_per_session=[400, 600])
    return path, truth


@pytest.fixture(scope="module")
def extracted(movie):
    path, truth = movie
    steps = []
    result = extract(path, FileParams(), progress=lambda f, m: steps.append((f, m)))
    return result, steps


def test_finds_the_simulated_neurons(movie, extracted):
    result, _ = extracted
    score = score_against_truth(result, movie[1])
    assert score["f1"] >= 0.9, score
    assert score["median_r"] >= 0.9, score


def test_outputs_are_consistent(movie, extracted):
    result, _ = extracted
    K, T = result.K, 1000
    assert result.A.shape == (K, 96, 96)
    assert result.C.shape == result.C_raw.shape == result.S.shape == (K, T)
    assert np.all(result.A >= 0) and np.all(result.S >= 0)
    assert np.allclose(result.A.reshape(K, -1).max(axis=1), 1.0)
    assert np.all(result.sn > 0)
    # the centre of each footprint lies on the footprint
    for k in range(K):
        r, c = np.round(result.centers[k]).astype(int)
        assert result.A[k, r, c] > 0


def test_results_file_round_trip(movie, extracted):
    path, _ = movie
    result, _ = extracted
    out = results_path(path)
    assert out.exists()
    loaded = load_results(out)
    np.testing.assert_allclose(loaded.A, result.A)
    np.testing.assert_allclose(loaded.C, result.C)
    assert loaded.attrs["frames_per_session"] is not None
    assert list(np.ravel(loaded.attrs["frames_per_session"])) == [400, 600]
    assert loaded.params["min_pnr"] == FileParams().min_pnr
    with h5py.File(out, "r") as f:  # plain HDF5, readable without us
        assert f["C"].dtype == np.float32 and "params" in f.attrs


def test_progress_is_monotone_and_complete(extracted):
    _, steps = extracted
    fractions = [f for f, _ in steps]
    assert fractions[-1] == 1.0
    assert all(b >= a - 1e-9 for a, b in zip(fractions, fractions[1:]))
    messages = " ".join(m for _, m in steps)
    for stage in ("reading the movie", "initialising", "traces", "footprints"):
        assert stage in messages


@pytest.mark.parametrize("stage", ["noise level", "correlation", "reading the movie",
                                   "initialising", "traces", "footprints", "final traces"])
def test_cancel_in_every_stage_leaves_nothing(tmp_path, movie, stage):
    path = tmp_path / "c.h5"
    path.write_bytes(movie[0].read_bytes())
    cancel = threading.Event()
    seen = []

    def progress(fraction, message):
        seen.append(message)
        if stage in message:
            cancel.set()

    before = threading.active_count()
    with pytest.raises(Cancelled):
        extract(path, FileParams(), progress=progress, cancel=cancel, use_cache=False)
    assert any(stage in m for m in seen)
    assert not results_path(path).exists()
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    assert threading.active_count() <= before


def test_mask_excluding_everything_gives_no_neurons(tmp_path, movie):
    path = tmp_path / "m.h5"
    path.write_bytes(movie[0].read_bytes())
    everything = [{"mode": "exclude", "points": [[-1, -1], [97, -1], [97, 97], [-1, 97]]}]
    result = extract(path, FileParams(mask=everything))
    assert result.K == 0
    assert load_results(results_path(path)).K == 0


def test_pure_noise_movie_gives_few_neurons(tmp_path):
    path = tmp_path / "noise.h5"
    write_simulated(path, 64, 64, 500, n_neurons=0, seed=3)
    result = extract(path, FileParams(), out_path=False)
    assert result.K <= 2


def test_bad_file_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_text("not a movie")
    with pytest.raises(UserError, match="bad.h5"):
        extract(bad, FileParams())
    assert not results_path(bad).exists()
