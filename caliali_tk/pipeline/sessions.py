"""Sessions of a video file: which frames belong together, and their brightness.

Frames per session come, in this order, from the video's sidecar
(``FileParams.frames_per_session``, the user's word), from CaliAli's ``F``
stored in the file, else from brightness steps found in one pass over the
movie (:func:`caliali_tk.core.sessions.detect_sessions`; the answer is
cached beside the video like the summary images).

:func:`session_video` wraps a :class:`~caliali_tk.io.video.VideoFile` so that
every frame it reads is put in the first session's units,
``(Y - o_s) / g_s``, with gains and offsets fitted on per-session median
images (:func:`caliali_tk.core.sessions.session_gains`). The extraction reads
the movie through it, so its model sees one stationary recording: a
brighter day is neither a new neuron nor a transient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caliali_tk.core.sessions import SessionLayout, detect_sessions, session_gains
from caliali_tk.errors import ParamsError
from caliali_tk.io import cache
from caliali_tk.io.video import VideoFile
from caliali_tk.pipeline.common import Stage, check

__all__ = ["SessionInfo", "resolve_sessions", "known_sessions", "frame_brightness",
           "session_video", "SessionVideo", "describe_sessions"]

DETECT_VERSION = "sessions-1"  # cache version of the detected sessions
_BRIGHTNESS_BYTES = 64 * 2 ** 20  # float32 frames read at a time for the brightness series
_MEDIAN_BLOCKS = 4  # blocks of frames per session for its median image
_MEDIAN_BLOCK_FRAMES = 16
_GAIN_SMOOTH_PX = 2.0  # smoothing of the median images before the gain fit


@dataclass(frozen=True)
class SessionInfo:
    """Frames per session and where they came from.

    Attributes
    ----------
    counts : tuple of int
        Frames in each session (one entry: a single session).
    source : str
        ``"sidecar"``, ``"file"`` (CaliAli's F), ``"detected"`` (brightness
        steps) or ``"single"`` (no step found).
    """

    counts: tuple
    source: str

    @property
    def layout(self) -> SessionLayout:
        return SessionLayout(tuple(self.counts))

    @property
    def n_sessions(self) -> int:
        return len(self.counts)


def describe_sessions(info: SessionInfo) -> str:
    """One line for ``info`` and the window: ``4 sessions (from F): 3000, ...``."""
    where = {"sidecar": "from the sidecar", "file": "from the file's F",
             "detected": "detected from brightness steps",
             "single": "no brightness step found"}[info.source]
    if info.n_sessions == 1:
        return f"1 session ({where})"
    counts = ", ".join(str(c) for c in info.counts)
    return f"{info.n_sessions} sessions ({where}): {counts} frames"


def resolve_sessions(vf: VideoFile, frames_per_session=None, progress=None, cancel=None,
                     use_cache: bool = True) -> SessionInfo:
    """Frames per session of an open video: sidecar, else the file's F, else detected.

    Parameters
    ----------
    vf : VideoFile
    frames_per_session : list of int, optional
        The sidecar's value; it must sum to the movie's length (else
        ``ParamsError``).
    progress, cancel
        For the brightness pass, when one is needed.
    use_cache : bool
        Read and write the detected sessions in the summary-image cache.
    """
    T = vf.n_frames
    if frames_per_session:
        if sum(int(c) for c in frames_per_session) != T:
            raise ParamsError(f"{vf.path.name}: frames_per_session adds up to "
                              f"{sum(int(c) for c in frames_per_session)} frames, "
                              f"the movie has {T}")
        return SessionInfo(tuple(int(c) for c in frames_per_session), "sidecar")
    if vf.frames_per_session:
        return SessionInfo(tuple(vf.frames_per_session), "file")
    key = cache.cache_key(vf.path, 0.0, False, DETECT_VERSION)
    if use_cache:
        hit = cache.load_summary(vf.path, key)
        if hit is not None and "counts" in hit and int(np.sum(hit["counts"])) == T:
            counts = tuple(int(c) for c in np.ravel(hit["counts"]))
            return SessionInfo(counts, "detected" if len(counts) > 1 else "single")
    counts = tuple(detect_sessions(frame_brightness(vf, progress, cancel)))
    if use_cache:
        cache.save_summary(vf.path, key, {"counts": np.asarray(counts, np.int64)})
    return SessionInfo(counts, "detected" if len(counts) > 1 else "single")


def known_sessions(vf: VideoFile, frames_per_session=None) -> SessionInfo | None:
    """The sessions when known without reading the movie (sidecar, F, cache), else None."""
    try:
        if frames_per_session or vf.frames_per_session:
            return resolve_sessions(vf, frames_per_session)
    except ParamsError:
        return None
    hit = cache.load_summary(vf.path, cache.cache_key(vf.path, 0.0, False, DETECT_VERSION))
    if hit is None or "counts" not in hit or int(np.sum(hit["counts"])) != vf.n_frames:
        return None
    counts = tuple(int(c) for c in np.ravel(hit["counts"]))
    return SessionInfo(counts, "detected" if len(counts) > 1 else "single")


def frame_brightness(vf: VideoFile, progress=None, cancel=None) -> np.ndarray:
    """Mean brightness of every frame, (T,) float64: one pass over the file."""
    stage = Stage(progress, 0.0, 1.0)
    T = vf.n_frames
    out = np.empty(T)
    step = max(1, min(200, vf.chunk_frames_for(_BRIGHTNESS_BYTES)))
    for start in range(0, T, step):
        check(cancel)
        stop = min(T, start + step)
        out[start:stop] = vf.frame_means(start, stop)
        stage(stop / T, "looking for sessions")
    return out


def session_medians(vf: VideoFile, layout: SessionLayout, cancel=None) -> list:
    """Per-session temporal median image of the raw movie, from a few blocks each."""
    medians = []
    for sl in layout.slices():
        n = sl.stop - sl.start
        k = min(n, _MEDIAN_BLOCK_FRAMES)
        firsts = np.unique(np.round(np.linspace(sl.start, sl.stop - k, _MEDIAN_BLOCKS)))
        blocks = []
        for a in firsts.astype(int):
            check(cancel)
            blocks.append(vf.read(a, a + k))
        medians.append(np.median(np.concatenate(blocks), axis=0))
    return medians


def session_video(vf: VideoFile, info: SessionInfo, cancel=None):
    """``vf`` read in the first session's units, or ``vf`` itself for one session.

    Returns
    -------
    VideoFile or SessionVideo
        A reader with the same interface as ``vf``; it has ``gains`` and
        ``offsets`` attributes (ones and zeros for one session).
    """
    layout = info.layout
    if layout.n_sessions < 2:
        return SessionVideo(vf, layout, np.ones(1), np.zeros(1))
    gains, offsets = session_gains(session_medians(vf, layout, cancel), _GAIN_SMOOTH_PX)
    return SessionVideo(vf, layout, gains, offsets)


class SessionVideo:
    """A video whose frames are read as ``(Y - o_s) / g_s`` (session ``s``).

    Everything else (``shape``, ``n_frames``, ``path``, ...) is the wrapped
    :class:`~caliali_tk.io.video.VideoFile`'s.

    Parameters
    ----------
    vf : VideoFile
    layout : SessionLayout
    gains, offsets : ndarray (n_sessions,)
    """

    def __init__(self, vf, layout: SessionLayout, gains, offsets):
        self._vf = vf
        self.sessions = layout  # (``layout`` is the file's frame layout, as VideoFile's)
        self.gains = np.asarray(gains, np.float64)
        self.offsets = np.asarray(offsets, np.float64)
        self._identity = bool(np.all(self.gains == 1) and np.all(self.offsets == 0))

    def __getattr__(self, name):
        return getattr(self._vf, name)

    @property
    def frames_per_session(self):
        return list(self.sessions.counts)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start .. stop - 1``, float32 (n, H, W), in session-0 units."""
        return self._level(start, self._vf.read(start, stop))

    def iter_chunks(self, chunk_frames: int, start: int = 0, stop=None, reuse: bool = False):
        """Like :meth:`VideoFile.iter_chunks`, corrected frames (in place)."""
        for first, frames in self._vf.iter_chunks(chunk_frames, start, stop, reuse):
            yield first, self._level(first, frames)

    def _level(self, start: int, frames: np.ndarray) -> np.ndarray:
        """``(Y - o_s) / g_s`` of the frames from ``start``, in place."""
        if self._identity:
            return frames
        stop = start + len(frames)
        s = self.sessions.sessions_of(start, stop)
        scale = (1.0 / self.gains[s]).astype(np.float32)[:, None, None]
        shift = (self.offsets[s] / self.gains[s]).astype(np.float32)[:, None, None]
        frames *= scale
        frames -= shift
        return frames

