"""CNMF-E extraction of one video file, out of core.

The movie is never held whole. The passes over the file are:

1. the summary images (cached; two streaming passes);
2. one pass that keeps a copy binned in time (to a size set by
   ``max_memory_gb``) for the initialisation and the background fit, and
   measures each pixel's noise;
3. per round, a temporal pass (``A^T (Y - B)``) and a spatial pass
   (``(Y - B) C^T`` on each footprint's search area), each followed by its
   HALS update; then merging, clean-up and a background refit;
4. a last temporal pass so that the traces match the final footprints.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from scipy import sparse

from caliali_tk import __version__
from caliali_tk.core.cnmfe import footprints as fp
from caliali_tk.core.cnmfe import update
from caliali_tk.core.cnmfe.merging import merge_components, merged_origin
from caliali_tk.core.cnmfe.quality import ConsistencyPass
from caliali_tk.core.cnmfe.initialize import MEDIAN_FRAMES, greedy_init
from caliali_tk.core.cnmfe.kernels import accumulate_AtY, accumulate_YCt
from caliali_tk.core.cnmfe.ring import ds_shape
from caliali_tk.core.filters import make_spatial_filter, centered_gaussian_kernel
from caliali_tk.core.noise import temporal_median
from caliali_tk.core.noise_pass import DiffNoise
from caliali_tk.core.scratch import scratch
from caliali_tk.io.params import FileParams
from caliali_tk.io.precedence import resolve_params
from caliali_tk.io.results import Result, results_path, source_info
from caliali_tk.io.results_mat import write_with_mat
from caliali_tk.pipeline.finish import finished_result
from caliali_tk.io.orientation import MATLAB, to_display
from caliali_tk.io.video import VideoFile
from caliali_tk.core.cnmfe.background import block_mean_operator, fit_background
from caliali_tk.core.trace_baseline import TraceBaseline
from caliali_tk.pipeline import trace_ops as kt
from caliali_tk.pipeline.common import Stage, check
from caliali_tk.pipeline.memory import plan_memory, trace_allocator
from caliali_tk.pipeline.frames import CleanVideo, measure_video
from caliali_tk.pipeline.residual import ResidualFrames, ResidualPass
from caliali_tk.pipeline.sessions import resolve_sessions, session_video
from caliali_tk.pipeline.summary import compute_summary, seeds_for
from caliali_tk.pipeline.traces import deconv_settings, finish_traces

CONVERGED = 0.99  # stop when 95% of the traces have this cosine with the last round's
MIN_DILATE = 2.0  # pixels a footprint's search area grows by, at least (else gSig)


def extract(video_path, params: FileParams | None = None, progress=None, cancel=None,
            out_path=None, use_cache: bool = True) -> Result:
    """Extract every neuron of a video: footprints A, traces C, spikes S.

    Parameters
    ----------
    video_path : path
        ``.h5`` / ``.mat`` video.
    params : FileParams, optional
        Thresholds and settings; if None, the sidecar's, CaliAli's options
        and the defaults (``caliali_tk.io.precedence.resolve_params``).
    progress : callable(fraction, message), optional
        Called at every stage and chunk.
    cancel : threading.Event, optional
        Checked between chunks; when set, `Cancelled` is raised and no
        output file is left behind.
    out_path : path, optional
        Results file; default ``<stem>_cnmfe.h5`` beside the video, with its
        MATLAB twin ``<stem>_cnmfe.mat``. Pass ``False`` to skip writing.
    use_cache : bool
        Use the summary-image cache.

    Returns
    -------
    Result
    """
    t0 = time.time()
    if params is None:  # thresholds not given anywhere start from the suggestion
        from caliali_tk.pipeline.suggest import start_suggestion
        params = resolve_params(video_path, suggest=start_suggestion).params
    params.validate()
    stage = Stage(progress, 0.0, 1.0)
    stage(0.0, "summary images")
    with VideoFile(video_path, params.layout) as vf:
        sessions = resolve_sessions(vf, params.frames_per_session, stage.sub(0.0, 0.03),
                                    cancel, use_cache)
    summary = compute_summary(video_path, params.gSig, params.spatial_filter,
                              progress=stage.sub(0.03, 0.15), cancel=cancel,
                              use_cache=use_cache, layout=params.layout,
                              sessions=sessions.counts, line_noise=params.line_noise)
    seeds = seeds_for(summary, params.min_corr, params.min_pnr, params.mask)
    # frames as stored: every pass skips the turn of each chunk, the results turn once
    with VideoFile(video_path, params.layout, stored=True) as vf:
        lines = summary.lines  # measured once, for every pass (older caches: here)
        if lines is None:
            lines = measure_video(vf, params.gSig, params.line_noise)
        # stripes come off the raw frames, as in the summary images; then the sessions
        svf = session_video(CleanVideo(vf, lines), sessions, cancel)
        folder = Path(out_path).parent if out_path else Path(video_path).parent
        run = _Run(svf, params, cancel, folder)
        at, seen = np.stack([seeds.rows, seeds.cols], 1), summary
        if vf.transposed:  # seeds and images as the reader sees the frames
            at, seen = at[:, ::-1], summary.transposed()
        A, traces, b0, spatial_corr = run.fit(at, stage.sub(0.15, 0.99), seen)
        if vf.transposed:
            A, b0, run.residual = _shown(A, b0, run.residual)
    fps_session = list(sessions.counts) if sessions.n_sessions > 1 else None
    # after the residual images, which need the traces in movie units
    A, traces, info = finish_traces(A, traces, params, fps_session, run.dense_alloc)
    attrs = dict(source_info(video_path), version=__version__, fps=params.fps,
                 elapsed_s=round(time.time() - t0, 3), n_seeds=int(seeds.count),
                 frames_per_session=fps_session, **_session_attrs(sessions, svf))
    if summary.line_noise is not None:
        attrs["line_noise"] = summary.line_noise
    result = finished_result(A, traces, spatial_corr[info.order], b0, summary, params, attrs,
                             alloc=run.dense_alloc, info=info)
    result.attrs["file_layout"] = vf.layout  # issue 12: results keep the input's layout
    result.Cn_residual, result.PNR_residual = run.residual
    check(cancel)
    if out_path is not False:
        stage(0.99, "writing results")
        write_with_mat(out_path or results_path(video_path), result)
    stage(1.0, f"done: {result.K} neurons")
    return result


class _Run:
    """State of one extraction: the file, settings, footprints, background."""

    def __init__(self, vf, params: FileParams, cancel, folder=None):
        self.vf = vf  # stripes removed and sessions levelled (see `extract`)
        self.params, self.cancel, self.folder = params, cancel, folder
        self.shape = (vf.height, vf.width)
        self.T = vf.n_frames
        plan = plan_memory(self.shape, self.T, params.max_memory_gb, fps=params.fps)
        self.chunk, self.bins = plan.chunk, plan.bins(self.T)
        self.alloc = trace_allocator(False)
        self.dense_alloc = None
        self.baseline = TraceBaseline.of(vf.frames_per_session or [self.T], params.fps,
                                         params.detrend_s)
        self.ds = int(params.bg_downsample)
        self.D, self.up = block_mean_operator(self.shape, self.ds)
        self.shape_ds = ds_shape(self.shape, self.ds)
        self.deconv = deconv_settings(params)

    # ------------------------------------------------------------ stages --

    def fit(self, seeds, stage: Stage, summary=None):
        """Initialise, then alternate updates; returns A, Traces and b0.

        With the movie's ``summary`` images, the last pass also makes the
        residual images (``self.residual``, issue 13).
        """
        p = self.params
        Ybin, noise = self._binned(stage.sub(0.0, 0.1))
        b0_full = Ybin.mean(axis=0).ravel()
        Yds_bin = self._downsample(Ybin)
        stage(0.1, f"initialising from {len(seeds)} seeds")
        A, C_bin = self._initialise(Ybin, seeds)
        del Ybin
        check(self.cancel)
        on_disk = plan_memory(self.shape, self.T, p.max_memory_gb, A.shape[1]).traces_on_disk
        self.alloc = trace_allocator(on_disk, self.folder)
        self.dense_alloc = self.alloc if on_disk else None
        C = self._unbin(C_bin)
        bg = self._background(Yds_bin, A, C_bin, b0_full)
        n_rounds = max(1, int(p.max_iter))
        g = None  # each neuron's kernel, kept from the round that fitted it
        for it in range(n_rounds):
            s = stage.sub(0.15 + 0.8 * it / n_rounds, 0.15 + 0.8 * (it + 1) / n_rounds)
            C_prev = C
            traces = self._temporal(A, C, bg, s.sub(0, 0.45), f"round {it + 1}", kernels=g)
            A, traces = self._drop_bad(A, traces)
            if A.shape[1] == 0:
                C = traces.C  # no components left: nothing to refit
                break
            # merged groups get their footprint from the spatial pass right after
            K = A.shape[1]
            A, C, groups = merge_components(A, traces.C, p.merge_thr, self.shape, traces.S,
                                            p.dmin, alloc=self.alloc)
            g = _carried(traces.g, merged_origin(K, groups))
            A = self._spatial(A, C, bg, noise, s.sub(0.45, 0.9), f"round {it + 1}")
            A, C = kt.normalize_inplace(A, C)
            keep = np.diff(A.indptr) >= p.min_pixels
            A, C, g = A[:, keep], kt.take_rows(C, keep, self.alloc), g[keep]
            bg = self._background(Yds_bin, A, self._bin(C), b0_full)
            if _converged(C_prev, C, traces):
                break
        consistency = ConsistencyPass(A, C, self.shape, bg.up)  # issue 10: quality
        extras = [consistency]
        if summary is not None:  # residual of the traces this pass starts from
            extras.append(ResidualPass(self.vf, ResidualFrames(A, C, bg, self.D, self.shape),
                                       summary))
        traces = self._temporal(A, C, bg, stage.sub(0.95, 1.0), "final traces", extras,
                                kernels=g)
        spatial_corr = consistency.finish(traces.C, bg.b0)
        self.residual = extras[1].finish() if summary is not None else None
        return A, traces, bg.b0.reshape(self.shape), spatial_corr

    def _binned(self, stage: Stage):
        """Movie averaged over its kept bins (`self.bins`); each pixel's noise sd.

        Only the frames of kept bins are read; the noise comes from the
        differences of successive frames within them.
        """
        bins = self.bins
        Ybin = np.zeros((bins.n,) + self.shape, np.float32)
        counts = np.zeros(len(Ybin))
        noise = DiffNoise(self.shape)
        for a, b in bins.stretches():
            noise.restart()
            for start, frames in self.vf.iter_chunks(self.chunk, a, b, reuse=True):
                check(self.cancel)
                bins.add(Ybin, counts, frames, start)
                noise.add(frames)
                stage((start + len(frames)) / self.T, "reading the movie")
        Ybin /= counts[:, None, None]
        return Ybin, noise.finish().ravel()

    def _initialise(self, Ybin, seeds):
        """Greedy initialisation on the binned movie (filtered twin made here)."""
        p = self.params
        filt = make_spatial_filter(self.shape, p.gSig, True, gSiz=p.gsiz)
        Yf = filt(Ybin)
        Yf -= temporal_median(Yf, MEDIAN_FRAMES)[None]
        kernel = centered_gaussian_kernel(p.gSig, p.gsiz)
        init = greedy_init(Ybin, Yf, seeds, p.gsiz, kernel, p.min_pixels, self.cancel)
        return update.normalize(init.A, init.C)

    def _background(self, Yds_bin, A, C_bin, b0_full):
        """Ring background fitted on the binned movie minus the neurons."""
        check(self.cancel)
        A_ds = sparse.csc_matrix(self.D @ A)
        b0 = b0_full - (A @ C_bin.mean(axis=1) if A.shape[1] else 0.0)
        radius = self.params.ring_factor * self.params.gsiz / self.ds
        return fit_background(Yds_bin, A_ds, C_bin, b0, self.D, self.up,
                              self.shape_ds, radius)

    def _temporal(self, A, C, bg, stage: Stage, label, extras=(), kernels=None):
        """One pass for ``A^T (Y - B)``, then HALS on the traces.

        ``A^T B = A^T b0 + (U^T A)^T F``, with ``F`` the background
        fluctuation on the down-sampled grid and ``U^T A`` the footprints
        summed over each block, so no full-resolution background is built.
        Each of ``extras`` (`ConsistencyPass`, `ResidualPass`) also sees
        every chunk through its ``add(start, Y, F)``.
        """
        A_ds = sparse.csc_matrix(self.D @ A)
        A_up = sparse.csr_matrix(sparse.diags(np.bincount(bg.up).astype(np.float32)) @ A_ds)
        W_rows = None
        if not extras:  # the background is needed under the footprints only
            rows = np.flatnonzero(np.diff(A_up.indptr))
            A_up, W_rows = A_up[rows], bg.W[rows]
        A_up = sparse.csc_matrix(A_up)
        n_grid = (bg.W if W_rows is None else W_rows).shape[0]
        K = A.shape[1]
        AtY = self.alloc((K, self.T))
        AtF = np.zeros((K, self.chunk), np.float32)
        Atb0 = (A.T @ bg.b0).astype(np.float32)[:, None]
        ind = _csc_arrays(A)
        ind_up = _csc_arrays(A_up)
        for start, frames in self.vf.iter_chunks(self.chunk, reuse=True):
            check(self.cancel)
            n = len(frames)
            Y = frames.reshape(n, -1)
            F = bg.fluctuation(Y, A_ds, C[:, start:start + n], W_rows,
                               scratch("fluctuation", (n, n_grid)))
            accumulate_AtY(*ind, Y, AtY, start)
            accumulate_AtY(*ind_up, F, AtF, 0)
            AtY[:, start:start + n] -= AtF[:, :n] + Atb0
            for extra in extras:
                extra.add(start, Y, F)
            stage((start + n) / self.T, f"{label}: traces")
        AtA = (A.T @ A).toarray()
        return update.temporal_update(AtY, AtA, C, self.deconv, baseline=self.baseline,
                                      alloc=self.alloc, kernels=kernels)

    def _spatial(self, A, C, bg, noise, stage: Stage, label):
        """One pass for ``(Y - B) C^T`` on the search areas, then HALS.

        As in `_temporal`, the background enters through its down-sampled
        fluctuation: entry (p, k) takes ``sum_t F[t, up[p]] C[k, t]`` and
        ``b0[p] sum_t C[k, t]``.
        """
        p = self.params
        pattern = fp.search_areas(A, self.shape, dilate=max(MIN_DILATE, p.gSig),
                                  limit=p.gsiz)
        A_ds = sparse.csc_matrix(self.D @ A)
        rows = pattern.indices.astype(np.int64)
        indptr = pattern.indptr.astype(np.int64)
        grid = np.unique(bg.up[rows])  # the background is needed on the search areas only
        W_rows = bg.W[grid]
        up_rows = np.searchsorted(grid, bg.up[rows]).astype(np.int64)
        P = np.zeros(pattern.nnz, np.float64)
        PF = np.zeros(pattern.nnz, np.float64)
        for start, frames in self.vf.iter_chunks(self.chunk, reuse=True):
            check(self.cancel)
            n = len(frames)
            Y = frames.reshape(n, -1)
            Cn = np.ascontiguousarray(C[:, start:start + n])
            F = bg.fluctuation(Y, A_ds, Cn, W_rows, scratch("fluctuation", (n, len(grid))))
            accumulate_YCt(indptr, rows, Y, Cn, 0, P)
            accumulate_YCt(indptr, up_rows, F, Cn, 0, PF)
            stage((start + n) / self.T, f"{label}: footprints")
        comp = np.repeat(np.arange(A.shape[1]), np.diff(indptr))
        P -= PF + bg.b0[rows] * kt.row_sums(C)[comp]
        CCt = kt.gram(C)
        return update.spatial_update(A, pattern, P, CCt, self.shape, noise)

    def _drop_bad(self, A, traces):
        p = self.params
        bad = update.bad_components(A, traces, p.min_pixels, p.min_trace_pnr)
        keep = ~bad
        take = lambda X: kt.take_rows(X, keep, self.alloc)  # noqa: E731
        levels = None if traces.baselines is None else traces.baselines[keep]
        return A[:, keep], update.Traces(take(traces.C), take(traces.C_raw),
                                         take(traces.S), traces.sn[keep],
                                         traces.g[keep], levels)

    # ----------------------------------------------------------- helpers --

    def _downsample(self, Ybin):
        """``D Y`` (d_ds, Tb) of the binned movie, a few frames at a time (no copy of it)."""
        flat = Ybin.reshape(len(Ybin), -1)
        out = np.empty((self.D.shape[0], len(Ybin)), np.float32)
        for a in range(0, len(Ybin), 64):
            out[:, a:a + 64] = self.D @ np.ascontiguousarray(flat[a:a + 64]).T
        return out

    def _bin(self, C):
        """Traces averaged over the same bins as the binned movie."""
        return self.bins.mean(C, axis=1)

    def _unbin(self, C_bin):
        return self.bins.spread(C_bin, self.T, self.alloc)


def _shown(A, b0, residual):
    """Footprints, b0 and residual images of a transposed reading, as displayed."""
    turn = lambda image: np.ascontiguousarray(to_display(image, MATLAB))  # noqa: E731
    shown = turn(np.arange(b0.size).reshape(b0.shape)).ravel()  # stored pixel of each shown one
    A = sparse.csc_matrix(A[shown])
    A.sort_indices()
    return A, turn(b0), None if residual is None else tuple(turn(x) for x in residual)


def _csc_arrays(M):
    """``(indptr, indices, data)`` of a csc matrix in the kernels' dtypes."""
    return (M.indptr.astype(np.int64), M.indices.astype(np.int64),
            M.data.astype(np.float32))


def _carried(g: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Kernels (K', 2) after a merge: a kept neuron's own, NaN for a merged one."""
    out = np.full((len(origin), g.shape[1]), np.nan)
    kept = origin >= 0
    out[kept] = g[origin[kept]]
    return out


def _converged(C_prev, C, traces) -> bool:
    """Traces barely changed since the last round (same components).

    A few traces of dim neurons keep moving a little for many rounds while
    their footprints no longer change; waiting for every last one would
    double the run time for no visible change, so 95% is the bar.
    """
    if C_prev.shape != C.shape:
        return False
    return bool(np.percentile(kt.row_cosines(C_prev, C), 5) > CONVERGED)


def _session_attrs(sessions, svf) -> dict:
    """Where the sessions came from and each one's gain and offset (issue 9)."""
    out = {"session_source": sessions.source}
    if sessions.n_sessions > 1 and svf is not None:
        out.update(session_gain=np.asarray(svf.gains, np.float64),
                   session_offset=np.asarray(svf.offsets, np.float64))
    return out
