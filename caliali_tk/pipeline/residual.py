"""Residual summary images: Cn and PNR of ``Y - A C - B``, for missed neurons.

A neuron the extraction missed is still in the movie once every found
neuron and the background are taken out, so the residual's correlation and
peak-to-noise images show it as a bright spot where the original images
showed a crowd. They are computed in one streaming pass at the end of the
extraction (the ring background exists only then), with the same filter and
the same definitions as :mod:`caliali_tk.core.summary`.

The noise level σ is the movie's own (the summary images'): the model taken
out is slow in time, so it leaves the noise of every pixel as it was. The
baseline is the temporal median of the filtered residual at the frames
:func:`~caliali_tk.core.noise_pass.baseline_frames` picks (64 frames).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from caliali_tk.core.filters import make_spatial_filter
from caliali_tk.core.noise import temporal_median
from caliali_tk.core.noise_pass import NoiseResult, baseline_frames, noise_frame_plan
from caliali_tk.core.summary import SummaryImages, SummaryPass
from caliali_tk.pipeline.common import Stage, check

__all__ = ["residual_images", "ResidualFrames"]


class ResidualFrames:
    """``Y - A C - B`` for chunks of frames, in display orientation.

    Parameters
    ----------
    A : csc_matrix (d, K)
        Final footprints (pixels row-major).
    C : ndarray (K, T)
        Final denoised traces.
    bg : caliali_tk.core.cnmfe.background.Background
        The fitted ring background.
    D : csr_matrix (d_ds, d)
        Block-mean operator of the background's grid.
    shape : (int, int)
        Frame shape (H, W).
    """

    def __init__(self, A, C, bg, D, shape):
        self.A = sparse.csr_matrix(A, dtype=np.float32)
        self.A_ds = sparse.csc_matrix(D @ A)
        self.C, self.bg, self.shape = np.asarray(C, np.float32), bg, tuple(shape)

    def __call__(self, frames: np.ndarray, start: int) -> np.ndarray:
        """Residual of `frames` (n, H, W), the first of which is frame `start`."""
        n = len(frames)
        Y = np.asarray(frames, np.float32).reshape(n, -1)
        C = self.C[:, start:start + n]
        R = self.bg.remove(Y, self.A_ds, C)
        if self.A.shape[1]:
            R -= (self.A @ C).T
        return R.reshape((n,) + self.shape)


def residual_images(vf, residual: ResidualFrames, summary: SummaryImages, chunk: int,
                    stage: Stage | None = None, cancel=None) -> tuple:
    """Cn and PNR of the residual movie, in one pass over `vf`.

    Parameters
    ----------
    vf : caliali_tk.io.video.VideoFile
        The open movie.
    residual : ResidualFrames
    summary : SummaryImages
        The movie's summary images (σ, gSig and the filter flag are reused).
    chunk : int
        Frames read at a time.
    stage : Stage, optional
        Progress.
    cancel : threading.Event, optional

    Returns
    -------
    (Cn_residual, PNR_residual) : float32 (H, W) each
    """
    stage = stage or Stage(None, 0.0, 1.0)
    T = vf.n_frames
    filt = make_spatial_filter(residual.shape, summary.gSig, summary.spatial_filter)
    picks = baseline_frames(noise_frame_plan(T))
    base = [filt(residual(vf.read(int(t), int(t) + 1), int(t)))[0] for t in picks]
    noise = NoiseResult(sn=np.asarray(summary.sn, np.float32),
                        baseline=temporal_median(np.stack(base)), gSig=summary.gSig,
                        spatial_filter=summary.spatial_filter, n_segments=0, plan=[])
    spass = SummaryPass(noise)
    for start, frames in vf.iter_chunks(chunk):
        check(cancel)
        spass.add(residual(frames, start))
        stage((start + len(frames)) / T, "residual images")
    out = spass.finish()
    return out.Cn, out.PNR
