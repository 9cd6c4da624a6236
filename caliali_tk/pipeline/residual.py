"""Residual summary images: Cn and PNR of ``Y - A C - B``, for missed neurons.

A neuron the extraction missed is still in the movie once every found
neuron and the background are taken out, so the residual's correlation and
peak-to-noise images show it as a bright spot where the original images
showed a crowd. The extraction computes them during its last pass over the
movie (the final traces pass: the ring background exists only then, and
that pass already has each chunk's background), from the traces that pass
starts from, with the same filter and the same definitions as
:mod:`caliali_tk.core.summary`.

The noise level σ is the movie's own (the summary images'): the model taken
out is slow in time, so it leaves the noise of every pixel as it was. The
baseline is the temporal median of the filtered residual at the frames
:func:`~caliali_tk.core.noise_pass.baseline_frames` picks (64 frames).
"""

from __future__ import annotations

import numba
import numpy as np
from scipy import sparse

from caliali_tk.core.filters import make_spatial_filter
from caliali_tk.core.noise import temporal_median
from caliali_tk.core.noise_pass import NoiseResult, baseline_frames, noise_frame_plan
from caliali_tk.core.scratch import scratch
from caliali_tk.core.summary import SummaryImages, SummaryPass
from caliali_tk.core.threads import run_blocks
from caliali_tk.pipeline.common import Stage, check

__all__ = ["residual_images", "ResidualFrames", "ResidualPass"]


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
        self._csr = (self.A.indptr.astype(np.int64), self.A.indices.astype(np.int64),
                     self.A.data)
        self.A_ds = sparse.csc_matrix(D @ A)
        self.C, self.bg, self.shape = np.asarray(C, np.float32), bg, tuple(shape)

    def __call__(self, frames: np.ndarray, start: int, F: np.ndarray | None = None,
                 out: np.ndarray | None = None) -> np.ndarray:
        """Residual of `frames` (n, H, W), the first of which is frame `start`.

        ``F`` is the chunk's background fluctuation when the caller already
        has it (the final traces pass does); ``out`` (float32, (n, H*W))
        receives the residual.
        """
        n = len(frames)
        Y = np.asarray(frames, np.float32).reshape(n, -1)
        C = self.C[:, start:start + n]
        if F is None:
            F = self.bg.fluctuation(Y, self.A_ds, C)
        R = np.empty_like(Y) if out is None else out
        (Ap, Ai, Ax), b0 = self._csr, self.bg.b0.astype(np.float32)
        up = self.bg.up.astype(np.int64)
        F = np.ascontiguousarray(F, np.float32)
        C = np.ascontiguousarray(C)
        run_blocks(lambda a, b: _residual(Y[a:b], b0, F[a:b], up, Ap, Ai, Ax, C[:, a:b],
                                          R[a:b]), n, min_block=4)
        return R.reshape((n,) + self.shape)


@numba.njit(nogil=True, cache=True)
def _residual(Y, b0, F, up, Ap, Ai, Ax, C, out):  # pragma: no cover - numba
    """``out[t, p] = Y[t, p] - b0[p] - F[t, up[p]] - sum_k A[p, k] C[k, t]`` (A as CSR)."""
    n, d = Y.shape
    for t in range(n):
        for p in range(d):
            s = Y[t, p] - b0[p] - F[t, up[p]]
            for j in range(Ap[p], Ap[p + 1]):
                s -= Ax[j] * C[Ai[j], t]
            out[t, p] = s


class ResidualPass:
    """Residual images from chunks another pass reads (the final traces pass).

    Built before that pass: the baseline of the filtered residual is taken
    at 64 frames read here (:func:`~caliali_tk.core.noise_pass.baseline_frames`).
    Then `add` sees every chunk once, with its background fluctuation, and
    `finish` gives ``(Cn_residual, PNR_residual)``.
    """

    def __init__(self, vf, residual: ResidualFrames, summary: SummaryImages):
        self.residual = residual
        filt = make_spatial_filter(residual.shape, summary.gSig, summary.spatial_filter)
        picks = baseline_frames(noise_frame_plan(vf.n_frames))
        base = [filt(residual(vf.read(int(t), int(t) + 1), int(t)))[0] for t in picks]
        noise = NoiseResult(sn=np.asarray(summary.sn, np.float32),
                            baseline=temporal_median(np.stack(base)), gSig=summary.gSig,
                            spatial_filter=summary.spatial_filter, n_segments=0, plan=[])
        self.spass = SummaryPass(noise)

    def add(self, start: int, Y: np.ndarray, F: np.ndarray | None = None) -> None:
        """Frames ``Y`` (n, d) or (n, H, W) from ``start``; ``F`` their fluctuation."""
        frames = Y.reshape((len(Y),) + self.residual.shape)
        self.spass.add(self.residual(frames, start, F, scratch("residual", (len(Y), Y[0].size))))

    def finish(self) -> tuple:
        out = self.spass.finish()
        return out.Cn, out.PNR


def residual_images(vf, residual: ResidualFrames, summary: SummaryImages, chunk: int,
                    stage: Stage | None = None, cancel=None) -> tuple:
    """Cn and PNR of the residual movie, in a pass of their own over `vf`.

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
    rpass = ResidualPass(vf, residual, summary)
    for start, frames in vf.iter_chunks(chunk):
        check(cancel)
        rpass.add(start, frames)
        stage((start + len(frames)) / T, "residual images")
    return rpass.finish()
