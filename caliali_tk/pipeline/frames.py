"""The frames every pass reads: the video's chunks, line noise removed.

`measure_video` measures a movie's stripes once (from a few blocks of frames
spread over it); `CleanVideo` is a reader that behaves like the
:class:`~caliali_tk.io.video.VideoFile` it wraps, except that every chunk
comes out with its per-frame row / column offsets subtracted (issue 10).
The offsets of each frame are computed on its first read and kept, so the
many passes of an extraction pay for them once. The file is never changed.

Stripes are rows and columns of the displayed picture. A reader opened
``stored`` (``VideoFile.transposed``) gives its frames transposed; the
offsets are still measured on display frames and taken off along the
stored axes, so the same stripes come off whichever way the frames are read.
"""

from __future__ import annotations

from typing import Iterator, Optional, Tuple

import numpy as np

from caliali_tk.core.layout import swap_axes_float32
from caliali_tk.core.stripes import LineNoise, line_offsets, measure_line_noise
from caliali_tk.io.orientation import MATLAB, to_display
from caliali_tk.io.video import VideoFile

__all__ = ["CleanVideo", "measure_video", "LINE_NOISE_MODES"]

LINE_NOISE_MODES = ("auto", "on", "off")
SAMPLE_BLOCKS = 4  # blocks of frames the stripes are measured on
SAMPLE_FRAMES = 40  # frames per block (156 differences: the stripes' sd within 10 %)


def measure_video(vf: VideoFile, gSig: float, mode: str = "auto") -> Optional[LineNoise]:
    """Stripes of a video from ``SAMPLE_BLOCKS`` blocks of frames; None if ``off``."""
    if mode == "off":
        return None
    T = vf.n_frames
    n = min(T, SAMPLE_FRAMES)
    starts = np.unique(np.linspace(0, T - n, SAMPLE_BLOCKS).round().astype(int))
    sample = np.concatenate([vf.read(int(s), int(s) + n) for s in starts])
    return measure_line_noise(_display_copy(vf, sample), gSig, mode)


def _display(vf, frames: np.ndarray) -> np.ndarray:
    """`frames` of `vf` in display orientation (a view)."""
    return to_display(frames, MATLAB) if getattr(vf, "transposed", False) else frames


def _display_copy(vf, frames: np.ndarray) -> np.ndarray:
    """`frames` of `vf` in display orientation, C-contiguous (turned by the fast copy)."""
    return swap_axes_float32(frames) if getattr(vf, "transposed", False) else frames


class CleanVideo:
    """A video whose frames come out with line noise removed.

    Parameters
    ----------
    vf : VideoFile
        The open video (its attributes are passed through).
    lines : LineNoise or None
        What to remove; None or inactive reads the frames as they are.
    """

    def __init__(self, vf: VideoFile, lines: Optional[LineNoise]):
        self.vf, self.lines = vf, lines
        self._rows = self._cols = self._known = None
        if lines is not None and lines.active:
            H, W = lines.baseline.shape  # the display frame's
            self._rows = np.zeros((vf.n_frames, H), np.float32)
            self._cols = np.zeros((vf.n_frames, W), np.float32)
            self._known = np.zeros(vf.n_frames, bool)

    def __getattr__(self, name):
        return getattr(self.vf, name)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start <= t < stop`` as float32 (n, H, W), cleaned."""
        return self._clean(start, self.vf.read(start, stop))

    def iter_chunks(self, chunk_frames: int, start: int = 0, stop: Optional[int] = None,
                    reuse: bool = False) -> Iterator[Tuple[int, np.ndarray]]:
        """As :meth:`VideoFile.iter_chunks`, cleaned (in place)."""
        for first, frames in self.vf.iter_chunks(chunk_frames, start, stop, reuse):
            yield first, self._clean(first, frames)

    def _clean(self, start: int, frames: np.ndarray) -> np.ndarray:
        if self._known is None:
            return frames
        stop = start + len(frames)
        todo = ~self._known[start:stop]
        if todo.any():
            idx = start + np.flatnonzero(todo)
            rows, cols = line_offsets(_display_copy(self.vf, frames[todo]), self.lines.baseline,
                                      self.lines.smooth)
            self._rows[idx], self._cols[idx] = rows, cols
            self._known[idx] = True
        shown = _display(self.vf, frames)  # a view: the offsets come off `frames`
        if self.lines.rows:
            shown -= self._rows[start:stop, :, None]
        if self.lines.cols:
            shown -= self._cols[start:stop, None, :]
        return frames

