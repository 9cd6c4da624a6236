"""Summary images (Cn, PNR) of a video file, streamed and cached."""

from __future__ import annotations

import numpy as np

from caliali_tk.core.mask import mask_from_polygons
from caliali_tk.core.noise_pass import NoisePass, SessionNoisePass
from caliali_tk.core.stripes import LineNoise
from caliali_tk.core.seeds import SeedFinder, Seeds
from caliali_tk.core.summary import SummaryImages, SummaryPass
from caliali_tk.io import cache
from caliali_tk.io.video import VideoFile
from caliali_tk.pipeline.common import Stage, check
from caliali_tk.pipeline.sessions import resolve_sessions
from caliali_tk.pipeline.frames import CleanVideo, measure_video

ALGO_VERSION = 4  # bump when the summary images change for the same input
CHUNK_BYTES = 64 * 2 ** 20  # a larger block costs more page faults than its calls save
_FIELDS = ("Cn", "PNR", "sn", "baseline")


def compute_summary(video_path, gSig: float, spatial_filter: bool = True,
                    progress=None, cancel=None, use_cache: bool = True,
                    layout: str = "auto", sessions=None,
                    line_noise: str = "auto", lines=None) -> SummaryImages:
    """Cn and PNR of a video: from the cache, or two streaming passes.

    Parameters
    ----------
    video_path : path
        ``.h5`` / ``.mat`` video.
    gSig : float
        Neuron width, sets the spatial high-pass filter.
    spatial_filter : bool
        Apply the high-pass filter (CNMF-E default).
    progress : callable(fraction, message), optional
    cancel : threading.Event, optional
    use_cache : bool
        Read and write the cache beside the video.
    layout : {"auto", "matlab", "python"}
        How the file stores frames (``FileParams.layout``).
    sessions : sequence of int, optional
        Frames per session (the sidecar's); None: the file's F, else
        detected from brightness steps (:mod:`caliali_tk.pipeline.sessions`).
        Each session has its own baseline and noise.
    line_noise : {"auto", "on", "off"}
        Remove row / column stripes from the frames first (when detected,
        always, never); what was found is in ``SummaryImages.line_noise``.
    lines : LineNoise, optional
        The stripes already measured with ``line_noise``; measured here if
        None. What is used is in ``SummaryImages.lines`` (and the cache),
        so the extraction measures them once for all its passes.

    Returns
    -------
    SummaryImages

    Raises
    ------
    VideoError
        The file cannot be read.
    Cancelled
        ``cancel`` was set.
    """
    stage = Stage(progress, 0.0, 1.0)
    with VideoFile(video_path, layout) as vf:
        may_detect = not sessions and not vf.frames_per_session
        counts = resolve_sessions(vf, sessions, stage.sub(0.0, 0.25), cancel, use_cache).counts
    if may_detect:  # the brightness pass had the first quarter of the bar
        stage = stage.sub(0.25, 1.0)
    key = cache.cache_key(video_path, gSig, spatial_filter,
                          f"{_version(counts)};layout={layout};lines={line_noise}")
    if use_cache:
        hit = cache.load_summary(video_path, key)
        if hit is not None and all(k in hit for k in _FIELDS):
            return SummaryImages(**{k: hit[k] for k in _FIELDS}, gSig=float(gSig),
                                 spatial_filter=bool(spatial_filter),
                                 n_frames=int(hit.get("n_frames", 0)),
                                 line_noise=_lines_from(hit.get("line_noise")),
                                 lines=_line_noise_from(hit))
    with VideoFile(video_path, layout, stored=True) as vf:  # turned once, at the end
        if lines is None:
            lines = measure_video(vf, gSig, line_noise)
        frames = CleanVideo(vf, lines)
        summary = _stream(frames, gSig, spatial_filter, stage, cancel, counts)
        if vf.transposed:
            summary = summary.transposed()
        summary.line_noise = frames.lines.summary() if frames.lines is not None else None
        summary.lines = frames.lines
    if use_cache:
        arrays = {k: getattr(summary, k) for k in _FIELDS}
        arrays["n_frames"] = np.array(summary.n_frames)
        if summary.line_noise is not None:
            arrays["line_noise"] = np.array([summary.line_noise[k] for k in _LINE_KEYS]
                                            + [summary.lines.smooth], np.float64)
            arrays["line_baseline"] = summary.lines.baseline
        cache.save_summary(video_path, key, arrays)
    return summary


def _version(counts) -> str:
    """The cache's algorithm version: the sessions change the images too."""
    if len(counts) < 2:
        return str(ALGO_VERSION)
    return f"{ALGO_VERSION};sessions=" + ",".join(str(c) for c in counts)


_LINE_KEYS = ("rows", "cols", "row_ratio", "col_ratio")


def _line_noise_from(hit):
    """The cached stripes as a `LineNoise` (None when the cache predates it)."""
    values, baseline = hit.get("line_noise"), hit.get("line_baseline")
    v = None if values is None else np.asarray(values, np.float64).ravel()
    if v is None or baseline is None or v.size < len(_LINE_KEYS) + 1:
        return None
    return LineNoise(np.asarray(baseline, np.float32), bool(v[0]), bool(v[1]), float(v[2]),
                     float(v[3]), int(v[4]))


def _lines_from(values):
    """The cached line-noise summary as a dict (None when there was none)."""
    if values is None:
        return None
    v = np.asarray(values, np.float64).ravel()
    return {"rows": bool(v[0]), "cols": bool(v[1]), "row_ratio": float(v[2]),
            "col_ratio": float(v[3])}


def _stream(vf: VideoFile, gSig, spatial_filter, stage: Stage, cancel,
            counts=()) -> SummaryImages:
    """The noise pass over the planned blocks, then the Cn/PNR pass over all."""
    T = vf.n_frames
    chunk = max(1, min(500, vf.chunk_frames_for(CHUNK_BYTES)))
    if len(counts) > 1:
        npass = SessionNoisePass((vf.height, vf.width), counts, gSig, spatial_filter)
    else:
        npass = NoisePass((vf.height, vf.width), T, gSig, spatial_filter)
    planned = sum(b - a for a, b in npass.plan)
    total = planned + T
    done = 0
    for a, b in npass.plan:
        for start, frames in vf.iter_chunks(chunk, a, b, reuse=True):
            check(cancel)
            npass.add(frames, start)
            done += len(frames)
            stage(done / total, "noise level")
    spass = SummaryPass(npass.finish())
    for start, frames in vf.iter_chunks(chunk, reuse=True):
        check(cancel)
        spass.add(frames, start)
        done += len(frames)
        stage(done / total, "correlation and PNR images")
    return spass.finish()


def seeds_for(summary: SummaryImages, min_corr: float, min_pnr: float,
              mask_polygons=None) -> Seeds:
    """Seeds of a video's summary images at the given thresholds and mask."""
    mask = None
    if mask_polygons:
        mask = mask_from_polygons(summary.Cn.shape, mask_polygons)
    return SeedFinder(summary.Cn, summary.PNR, summary.gSig).find(min_corr, min_pnr, mask)
