"""A movie cut into brighter and darker days gives the neurons of the continuous one."""

import numpy as np
import pytest

from caliali_tk.demo.files import write_simulated
from caliali_tk.demo.selftest import _match, score_against_truth
from caliali_tk.io.params import FileParams
from caliali_tk.pipeline import extract

SIZE = (80, 80, 1600)
FRAMES = [400, 400, 400, 400]
STEPS = dict(frames=FRAMES, gains=[1.0, 1.25, 0.85, 1.1], offsets=[0.0, 30.0, -20.0, 10.0])


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same recording twice: continuous, and cut into four days (no F:
    the sessions are found from the brightness steps)."""
    folder = tmp_path_factory.mktemp("sessions")
    H, W, T = SIZE
    cont, cut = folder / "cont.h5", folder / "cut.h5"
    truth = write_simulated(cont, H, W, T, n_neurons=16, seed=11)
    write_simulated(cut, H, W, T, n_neurons=16, seed=11, sessions=STEPS)
    params = FileParams(fps=10.0)
    return (extract(cont, params, out_path=False), extract(cut, params, out_path=False),
            truth)


def test_the_days_are_found_and_their_gains_measured(pair):
    _, cut, _ = pair
    assert cut.attrs["session_source"] == "detected"
    assert list(cut.attrs["frames_per_session"]) == FRAMES
    # the simulated background also drifts by a few % from day to day
    assert np.allclose(cut.attrs["session_gain"], STEPS["gains"], atol=0.06)
    assert cut.session_baseline.shape == (cut.K, 4)


def test_same_neurons_and_traces_as_the_continuous_recording(pair):
    cont, cut, truth = pair
    matched = _match(np.asarray(cut.centers, float), np.asarray(cont.centers, float), 2.0)
    # every neuron of one is in the other (one miss allowed either way)
    assert len(matched) >= max(cont.K, cut.K) - 1, (cont.K, cut.K, len(matched))
    # the same traces: 0.995 measured; 0.984 when the sessions are ignored
    r = [np.corrcoef(cut.C[i], cont.C[j])[0, 1] for i, j, _ in matched]
    assert np.median(r) >= 0.99
    s_cont, s_cut = score_against_truth(cont, truth), score_against_truth(cut, truth)
    assert s_cut["f1"] >= s_cont["f1"] - 0.07 and s_cut["f1"] >= 0.85, (s_cont, s_cut)
    assert s_cut["median_r"] >= s_cont["median_r"] - 0.01, (s_cont, s_cut)
