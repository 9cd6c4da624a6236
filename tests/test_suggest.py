"""Suggested thresholds and gSig, checked against simulated ground truth at
several frame rates, and the pipeline's suggestion layer."""

import numpy as np
import pytest

from caliali_tk.core.seeds import SeedFinder
from caliali_tk.core.suggest import half_sample_mode, noise_cut, suggest
from caliali_tk.core.summary import summary_images
from caliali_tk.demo.simulate import simulate


def test_half_sample_mode_ignores_a_tail():
    rng = np.random.default_rng(0)
    v = np.r_[rng.normal(2.0, 0.3, 2000), rng.uniform(3, 20, 300)]
    assert abs(half_sample_mode(v) - 2.0) < 0.1


def test_noise_cut_sits_k_sd_above_the_noise():
    rng = np.random.default_rng(1)
    v = np.r_[rng.normal(4.0, 0.5, 3000), rng.uniform(8, 30, 200)]
    assert abs(noise_cut(v, 3.0) - 5.5) < 0.2


@pytest.mark.parametrize("fps, gSig", [(5.0, 2.5), (10.0, 2.5), (20.0, 3.5)])
def test_suggestion_keeps_the_cells_and_sizes_them(fps, gSig):
    Y, truth = simulate(128, 128, 600, n_neurons=30, gSig=gSig, fps=fps, seed=5)
    s = summary_images(Y, 2.5)
    found = suggest(s.Cn, s.PNR, 2.5)
    assert found is not None
    f = SeedFinder(s.Cn, s.PNR, 2.5)
    seeds = f.find(found.min_corr, found.min_pnr)
    d = np.hypot(seeds.rows[:, None] - truth.centers[:, 0], seeds.cols[:, None] - truth.centers[:, 1])
    recall = (d.min(axis=0) <= 2.5).mean()
    assert recall >= 0.95
    noise_seeds = (d.min(axis=1) > 4).sum()
    assert noise_seeds <= 0.2 * truth.K
    assert abs(found.gSig - gSig) / gSig < 0.3


def test_no_suggestion_for_a_tiny_image():
    rng = np.random.default_rng(0)
    Cn, PNR = rng.random((6, 6)).astype(np.float32), rng.random((6, 6)).astype(np.float32)
    assert suggest(Cn, PNR, 2.5) is None


def test_a_video_without_saved_thresholds_starts_from_the_suggestion(tmp_path):
    from caliali_tk.demo.files import write_simulated
    from caliali_tk.io.params import FileParams, save_params
    from caliali_tk.pipeline import compute_summary
    from caliali_tk.pipeline.suggest import start_params, suggest_params

    path = tmp_path / "m.h5"
    write_simulated(path, 96, 96, 400, n_neurons=15, seed=2)
    params, sources = start_params(path)
    found = suggest_params(compute_summary(path, params.gSig))
    assert (params.min_corr, params.min_pnr) == (found["min_corr"], found["min_pnr"])
    assert sources["min_pnr"] == sources["min_corr"] == "suggested"
    assert sources["gSig"] == "default"
    save_params(path, FileParams(min_pnr=9.0, min_corr=0.8))
    params, sources = start_params(path)
    assert (params.min_pnr, params.min_corr) == (9.0, 0.8)
    params, _ = start_params(path, {"min_pnr": 4.0})
    assert params.min_pnr == 4.0


def test_a_gui_run_of_a_row_without_saved_thresholds_uses_the_suggestion(tmp_path):
    from caliali_tk.demo.files import write_simulated
    from caliali_tk.gui.batch import FileJob, batch_job
    from caliali_tk.io.params import FileParams, load_params
    from caliali_tk.pipeline import compute_summary
    from caliali_tk.pipeline.suggest import suggest_params

    path = tmp_path / "g.h5"
    write_simulated(path, 96, 96, 400, n_neurons=15, seed=4)
    seen, posts = [], []

    def fake_extract(p, params, **kw):
        seen.append(params)
        return type("R", (), {"K": 0})()

    class Never:
        def is_set(self):
            return False

    job = batch_job([FileJob("a", path, FileParams(), suggest=True)], fake_extract)
    job(lambda kind, payload=None: posts.append(kind), Never())
    found = suggest_params(compute_summary(path, 2.5))
    assert (seen[0].min_pnr, seen[0].min_corr) == (found["min_pnr"], found["min_corr"])
    assert "suggested" in posts and "done" in posts
    assert load_params(path)[0].min_pnr == found["min_pnr"]  # saved to the sidecar
