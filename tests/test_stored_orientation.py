"""The extraction reads frames as the file stores them and turns its results once.

A MATLAB-layout movie is read transposed (no turn of every chunk of every
pass); the summary images, stripes, footprints, b0 and residual images come
out as displayed, the same as for the same movie written by Python.
"""
import h5py
import numpy as np
import pytest

from caliali_tk.core.cnmfe import ring
from caliali_tk.core.cnmfe.initialize import BACKGROUND_PIXELS, _spread_out
from caliali_tk.demo.simulate import simulate
from caliali_tk.io.params import FileParams
from caliali_tk.io.video import VideoFile
from caliali_tk.pipeline import compute_summary, extract
from caliali_tk.pipeline.frames import CleanVideo, measure_video

H, W, T = 40, 64, 1200  # landscape: a frame read the wrong way round has 64 rows


@pytest.fixture(scope="module")
def striped_pair(tmp_path_factory):
    """One striped movie written both ways: CaliAli's /Object (MATLAB layout)
    and a plain h5py (T, H, W) dataset."""
    Y, truth = simulate(H, W, T, n_neurons=10, gSig=2.5, fps=10.0, seed=11, line_noise=1.5)
    Y = np.clip(Y, 0, 65535).astype(np.uint16)
    folder = tmp_path_factory.mktemp("pair")
    matlab, python = folder / "matlab.h5", folder / "python.h5"
    with h5py.File(matlab, "w") as f:
        f["Object"] = np.ascontiguousarray(Y.transpose(0, 2, 1))
    with h5py.File(python, "w") as f:
        f["movie"] = Y
    return matlab, python, Y, truth


def test_stored_reader_reads_the_file_as_it_is(striped_pair):
    matlab, python, Y, _ = striped_pair
    with VideoFile(matlab, stored=True) as vf:
        assert vf.transposed and vf.shape == (T, W, H)
        np.testing.assert_array_equal(vf.read(3, 9), Y[3:9].transpose(0, 2, 1))
        out = np.empty((6, W, H), np.float32)
        assert vf.read(3, 9, out) is out
        np.testing.assert_array_equal(out, Y[3:9].transpose(0, 2, 1))
    with VideoFile(python, stored=True) as vf:  # nothing to turn
        assert not vf.transposed and vf.shape == (T, H, W)
        np.testing.assert_array_equal(vf.read(3, 9), Y[3:9])
    with VideoFile(matlab) as vf:
        assert not vf.transposed and vf.shape == (T, H, W)


def test_stripes_are_measured_and_removed_the_same_from_stored_frames(striped_pair):
    matlab, _, _, _ = striped_pair
    with VideoFile(matlab) as shown, VideoFile(matlab, stored=True) as stored:
        a, b = measure_video(shown, 2.5), measure_video(stored, 2.5)
        assert a.rows and (a.rows, a.cols) == (b.rows, b.cols)
        assert (a.row_ratio, a.col_ratio) == (b.row_ratio, b.col_ratio)
        np.testing.assert_array_equal(a.baseline, b.baseline)
        clean_shown, clean_stored = CleanVideo(shown, a), CleanVideo(stored, a)
        for start, frames in clean_stored.iter_chunks(500):  # offsets measured on first read
            np.testing.assert_allclose(frames.transpose(0, 2, 1),
                                       clean_shown.read(start, start + len(frames)),
                                       atol=1e-4)
        again = clean_stored.read(600, 610)  # and kept
        np.testing.assert_allclose(again.transpose(0, 2, 1), clean_shown.read(600, 610),
                                   atol=1e-4)


def test_summary_images_do_not_depend_on_the_layout(striped_pair):
    matlab, python, _, _ = striped_pair
    a = compute_summary(matlab, 2.5, use_cache=False)
    b = compute_summary(python, 2.5, use_cache=False)
    for name in ("Cn", "PNR", "sn", "baseline"):
        assert getattr(a, name).shape == (H, W)
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-5, atol=1e-5)
    assert a.line_noise == b.line_noise and a.line_noise["rows"]


def test_extraction_does_not_depend_on_the_layout(striped_pair):
    matlab, python, _, truth = striped_pair
    params = FileParams(fps=10.0)
    a = extract(matlab, params, out_path=False, use_cache=False)
    b = extract(python, params, out_path=False, use_cache=False)
    assert a.K == b.K >= 8
    assert np.asarray(a.A).shape == np.asarray(b.A).shape
    np.testing.assert_allclose(np.asarray(a.A), np.asarray(b.A), atol=2e-3)
    np.testing.assert_allclose(a.b0, b.b0, rtol=1e-4, atol=1e-2)
    C_a, C_b = np.asarray(a.C), np.asarray(b.C)
    r = [np.corrcoef(x, y)[0, 1] for x, y in zip(C_a, C_b)]
    assert min(r) > 0.9999, r
    np.testing.assert_allclose(a.Cn_residual, b.Cn_residual, atol=1e-3)
    np.testing.assert_allclose(a.PNR_residual, b.PNR_residual, rtol=1e-3, atol=1e-2)
    # the neurons are where they are shown: centres within a pixel of the truth
    A = np.asarray(a.A).reshape(a.K, -1)
    rr, cc = np.mgrid[:H, :W]
    centres = np.stack([(A * rr.ravel()).sum(1), (A * cc.ravel()).sum(1)], 1) / A.sum(1)[:, None]
    dist = np.linalg.norm(centres[:, None] - np.asarray(truth.centers)[None], axis=2)
    assert np.median(dist.min(axis=1)) < 1.0


@pytest.mark.parametrize("radius", [3.0, 6.5, 9.0, 12.25, 20.0])
def test_ring_is_unchanged_by_transposing_or_mirroring(radius):
    off = {tuple(o) for o in ring.ring_offsets(radius)}
    assert len(off) <= ring.MAX_RING
    assert off == {(c, r) for r, c in off}           # transposed
    assert off == {(-r, c) for r, c in off} == {(r, -c) for r, c in off}  # mirrored


def test_background_pixels_are_the_same_for_the_transposed_box():
    rng = np.random.default_rng(0)
    mask = rng.random((27, 21)) < 0.6
    seed = (9, 13)
    picked = _spread_out(mask, seed)
    assert 0 < len(picked) <= BACKGROUND_PIXELS and mask.ravel()[picked].all()
    rows, cols = np.divmod(picked, mask.shape[1])
    turned = _spread_out(mask.T, seed[::-1])
    t_rows, t_cols = np.divmod(turned, mask.shape[0])
    assert set(zip(rows, cols)) == set(zip(t_cols, t_rows))
    few = np.zeros((10, 10), bool)
    few[2, 3:8] = True  # under the limit: all of them
    assert len(_spread_out(few, (5, 5))) == 5
