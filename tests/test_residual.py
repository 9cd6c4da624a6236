"""Residual summary images: a neuron left out of the model stands out, found ones fade."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from caliali_tk.core.cnmfe.background import Background, block_mean_operator
from caliali_tk.core.filters import make_spatial_filter
from caliali_tk.core.noise_pass import baseline_frames, noise_frame_plan
from caliali_tk.core.summary import summary_images
from caliali_tk.demo.files import write_simulated, write_video
from caliali_tk.demo.simulate import simulate
from caliali_tk.io.params import FileParams
from caliali_tk.io.results import load_results
from caliali_tk.io.video import VideoFile
from caliali_tk.pipeline.residual import ResidualFrames, residual_images


def flat_background(b0, shape, ds=2) -> Background:
    """The ring model with no ring: ``B = b0``."""
    D, up = block_mean_operator(shape, ds)
    n = D.shape[0]
    return Background(b0=b0.ravel().astype(np.float32), b0_ds=np.zeros(n, np.float32),
                      W=sparse.csr_matrix((n, n), dtype=np.float32), D=D, up=up)


@pytest.mark.parametrize("fps", [5.0, 20.0])
def test_left_out_neuron_stands_out_in_the_residual(tmp_path, fps):
    T = int(60 * fps)
    Y, truth = simulate(48, 48, T, n_neurons=6, gSig=2.5, fps=fps, snr=4.0, seed=5,
                        background_ratio=1.0)
    path = tmp_path / "m.h5"
    write_video(path, Y, truth)
    with VideoFile(path) as vf:
        Y = vf.read(0, T)                   # as the pass reads it (uint16 rounding)
    shape = Y.shape[1:]
    summary = summary_images(Y, 2.5)
    j = 2
    keep = np.arange(truth.K) != j
    A = sparse.csc_matrix(truth.A[keep].reshape(keep.sum(), -1).T)
    C = truth.C[keep]
    b0 = np.median(Y - np.einsum("khw,kt->thw", truth.A, truth.C), axis=0)
    D, _ = block_mean_operator(shape, 2)
    residual = ResidualFrames(A, C, flat_background(b0, shape), D, shape)

    # the residual of a chunk is Y - A C - b0, frame by frame
    R = residual(Y[10:20], 10)
    expect = Y[10:20] - np.einsum("khw,kt->thw", truth.A[keep], C[:, 10:20]) - b0
    assert np.allclose(R, expect, atol=1e-2)

    with VideoFile(path) as vf:
        Cn_r, PNR_r = residual_images(vf, residual, summary, chunk=97)
    # PNR twin: max over time of the filtered residual minus its baseline, over σ
    filt = make_spatial_filter(shape, 2.5)
    full = filt(Y - np.einsum("khw,kt->thw", truth.A[keep], C) - b0)
    base = np.median(full[baseline_frames(noise_frame_plan(T))], axis=0)
    twin = (full - base).max(axis=0) / summary.sn
    assert np.allclose(PNR_r, twin, rtol=1e-3, atol=1e-3)

    rows, cols = np.round(truth.centers).astype(int).T
    assert PNR_r[rows[j], cols[j]] > 0.8 * summary.PNR[rows[j], cols[j]]   # still there
    assert Cn_r[rows[j], cols[j]] > 0.5
    found = keep.nonzero()[0]
    assert np.median(PNR_r[rows[found], cols[found]] / summary.PNR[rows[found], cols[found]]) \
        < 0.5                                                               # explained away
    assert np.median(Cn_r[rows[found], cols[found]]) < 0.5 * np.median(
        summary.Cn[rows[found], cols[found]])


def test_extraction_stores_residual_images(tmp_path):
    path = tmp_path / "m.h5"
    write_simulated(path, 48, 48, 300, n_neurons=6, gSig=2.5, seed=3)
    result = load_results(_extract(path))
    assert result.Cn_residual.shape == result.PNR_residual.shape == (48, 48)
    rows, cols = np.round(result.centers).astype(int).T
    assert np.median(result.PNR_residual[rows, cols] / result.PNR[rows, cols]) < 0.6


def _extract(path):
    from caliali_tk.pipeline import extract
    from caliali_tk.io.results import results_path
    extract(path, FileParams(), use_cache=False)
    return results_path(path)
