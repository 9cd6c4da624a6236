"""CaliAli's post-processing (noise units, SNR order) and the traces of a
simulated extraction at several frame rates."""

import numpy as np
import pytest
from scipy import sparse

from caliali_tk.core.cnmfe import postprocess as post
from caliali_tk.core.cnmfe.update import Traces
from caliali_tk.core.deconv import ar_from_taus, impulse_response
from caliali_tk.core.noise import trace_noise
from caliali_tk.demo.files import write_simulated
from caliali_tk.demo.selftest import score_against_truth
from caliali_tk.io.params import FileParams
from caliali_tk.io.results import load_results, results_path
from caliali_tk.pipeline import extract
from caliali_tk.pipeline.traces import deconv_settings, finish_traces


def test_session_slices():
    assert post.session_slices(6) == [slice(0, 6)]
    assert post.session_slices(6, [2, 4]) == [slice(0, 2), slice(2, 6)]
    assert post.session_slices(6, [2, 2]) == [slice(0, 6)]  # does not add up
    assert post.session_slices(6, [6, 0]) == [slice(0, 6)]


def test_noise_scale_is_the_residual_noise_per_session():
    rng = np.random.default_rng(0)
    T = 2000
    C = np.zeros((2, T))
    noise = rng.standard_normal((2, T)) * np.r_[np.full(800, 2.0), np.full(1200, 0.5)]
    slices = post.session_slices(T, [800, 1200])
    scale = post.noise_scale(C + noise, C, slices)
    twin = np.array([[trace_noise(noise[k, sl]) for sl in slices] for k in range(2)])
    np.testing.assert_allclose(scale, twin, rtol=1e-5)
    assert scale[0, 0] == pytest.approx(2.0, rel=0.1) and scale[0, 1] == pytest.approx(0.5, rel=0.1)
    scaled = post.apply_scale(noise, scale, slices)
    np.testing.assert_allclose(scaled[:, :800] * scale[:, :1], noise[:, :800], rtol=1e-5)


def test_trace_snr_and_order_match_numpy():
    rng = np.random.default_rng(1)
    C = rng.random((4, 300)) * np.array([[1.0], [3.0], [0.5], [2.0]])
    C_raw = C + 0.3 * rng.standard_normal(C.shape)
    twin = C.var(axis=1) / (C_raw - C).var(axis=1)
    np.testing.assert_allclose(post.trace_snr(C, C_raw), twin, rtol=1e-5)
    assert list(post.snr_order(twin)) == list(np.argsort(-twin))
    assert post.trace_snr(np.zeros((1, 10)), np.ones((1, 10)))[0] == 0.0


def _traces(rng, K, T, fps):
    g = ar_from_taus(0.5, 0.05, fps)
    h = impulse_response(g, 100)
    amp = np.arange(1, K + 1, dtype=float)
    S = (rng.random((K, T)) < 0.03) * amp[:, None]
    C = np.array([np.convolve(s, h)[:T] for s in S])
    C_raw = C + 0.2 * rng.standard_normal((K, T))
    G = np.tile(g, (K, 1))
    return Traces(C.astype(np.float32), C_raw.astype(np.float32), S.astype(np.float32),
                  np.full(K, 0.2, np.float32), G)


@pytest.mark.parametrize("sessions", [None, [300, 500]])
def test_finish_traces_scale_recovers_movie_units_and_orders_by_snr(sessions):
    rng = np.random.default_rng(2)
    K, T, fps = 4, 800, 20.0
    traces = _traces(rng, K, T, fps)
    A = sparse.csc_matrix(np.eye(10, K, dtype=np.float32))
    params = FileParams(fps=fps, scale_to_noise=True)
    A2, out, info = finish_traces(A, traces, params, sessions)
    order = info.order
    assert sorted(order) == list(range(K))
    assert np.all(np.diff(info.snr) <= 0)  # decreasing SNR
    np.testing.assert_array_equal(A2.toarray(), A.toarray()[:, order])
    slices = post.session_slices(T, sessions)
    back = np.concatenate([out.C_raw[:, sl] * info.trace_scale[:, j:j + 1]
                           for j, sl in enumerate(slices)], axis=1)
    # C_raw in movie units again, up to the baseline of the re-deconvolution
    # (a constant in each session)
    for sl in slices:
        resid = back[:, sl] - traces.C_raw[order][:, sl]
        assert np.abs(resid - resid.mean(axis=1, keepdims=True)).max() < 1e-4
    for j, sl in enumerate(slices):  # noise 1 in every session
        assert np.allclose([trace_noise(r[sl]) for r in out.C_raw - out.C], 1.0, atol=0.15)
    assert info.tau_decay == pytest.approx(np.full(K, 0.5), rel=1e-6)
    assert info.tau_rise == pytest.approx(np.full(K, 0.05), rel=1e-6)
    assert info.g.shape == (K, 2)


def test_finish_traces_by_default_keeps_movie_units_and_stores_the_noise():
    rng = np.random.default_rng(3)
    traces = _traces(rng, 3, 500, 10.0)
    A = sparse.csc_matrix(np.eye(5, 3, dtype=np.float32))
    _, out, info = finish_traces(A, traces, FileParams(fps=10.0, order_by_snr=False))
    assert list(info.order) == [0, 1, 2]
    np.testing.assert_array_equal(out.C_raw, traces.C_raw)
    assert info.trace_scale == pytest.approx(np.full((3, 1), 0.2), rel=0.15)


def test_deconv_settings_follow_the_params_and_the_preset():
    s = deconv_settings(FileParams(fps=30.0, deconv_model="ar1", s_min=-2.0,
                                   tau_decay_min=0.2, tau_decay_max=2.0))
    assert (s.model, s.s_min, s.fps, s.tau_decay_range) == ("ar1", -2.0, 30.0, (0.2, 2.0))
    s = deconv_settings(FileParams(deconv_preset="caliali", s_min=-2.0))
    assert (s.model, s.method, s.s_min) == ("ar2", "foopsi", -5.0)


# ----------------------------------------------- extraction at several rates

@pytest.fixture(scope="module", params=[10.0, 20.0, 30.0])
def extracted(request, tmp_path_factory):
    fps = request.param
    path = tmp_path_factory.mktemp(f"traces{int(fps)}") / "movie.h5"
    truth = write_simulated(path, 64, 64, 900, n_neurons=10, seed=4, fps=fps)
    result = extract(path, FileParams(fps=fps))
    return path, truth, result


def test_c_follows_the_truth_at_least_as_well_as_c_raw(extracted):
    _, truth, result = extracted
    score = score_against_truth(result, truth)
    assert score["f1"] >= 0.9, score
    assert score["median_r"] >= score["median_r_C_raw"], score
    assert score["median_r"] >= 0.97, score
    assert score["median_r_S"] >= 0.8, score


def test_kernel_times_are_those_of_the_simulator(extracted):
    _, truth, result = extracted
    score = score_against_truth(result, truth)
    found = [result.tau_decay[i] for i, _, _, _ in score["matches"]]
    true = []
    for _, j, _, _ in score["matches"]:
        d = max(np.roots([1.0, -truth.g[j][0], -truth.g[j][1]]).real)
        true.append(-1.0 / (truth.fps * np.log(d)))
    assert np.median(np.asarray(found) / np.asarray(true)) == pytest.approx(1.0, abs=0.15)


def test_results_file_keeps_the_trace_info(extracted):
    path, _, result = extracted
    loaded = load_results(results_path(path))
    for name in ("g", "tau_decay", "tau_rise", "snr", "trace_scale", "order"):
        np.testing.assert_allclose(getattr(loaded, name), getattr(result, name))
    assert loaded.g.shape == (result.K, 2) and loaded.trace_scale.shape == (result.K, 1)
    assert np.all(np.diff(loaded.snr) <= 0)
    # trace_scale is the noise of each trace (movie units by default)
    resid_noise = np.array([trace_noise(r) for r in loaded.C_raw - loaded.C])
    np.testing.assert_allclose(loaded.trace_scale[:, 0], resid_noise, rtol=1e-4)


def test_curation_refuses_edits_of_traces_in_noise_units(extracted):
    from caliali_tk.io.curation import Curation, CurationError
    from caliali_tk.pipeline.curate import plan_merge

    path, _, result = extracted
    loaded = load_results(results_path(path))
    loaded.params["scale_to_noise"] = True
    with pytest.raises(CurationError, match="noise units"):
        plan_merge(Curation(loaded), [1, 2], path)
