"""Concatenated sessions: where they start, and how bright each one is.

CaliAli extracts neurons once from sessions recorded on different days and
concatenated in time. Days differ in brightness (LED power, focus, camera
settings): per session ``s`` the movie is ``Y = g_s (A C + B) + o_s``. This
module holds the numerics for that, on plain arrays:

- :class:`SessionLayout`: frames per session, session of each frame;
- :func:`detect_sessions`: session starts found as brightness steps in the
  per-frame mean brightness of a movie that does not record them;
- :func:`fit_gain_offset` / :func:`session_gains`: ``g_s`` and ``o_s`` from
  the per-session median images, robustly (pixels whose background changed
  between days are down-weighted), relative to the first session.

The pipeline divides every frame by its session's gain after removing its
offset as it is read (:mod:`caliali_tk.pipeline.sessions`), so every later
stage sees one stationary movie in the first session's units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["SessionLayout", "detect_sessions", "fit_gain_offset", "session_gains",
           "JUMP_SIGMA", "MIN_SESSION_FRAMES"]

#: A brightness step is a frame-to-frame jump this many robust σ above the
#: local frame-to-frame change (of the per-frame mean brightness).
JUMP_SIGMA = 12.0
#: Sessions shorter than this are not believed (nor detected).
MIN_SESSION_FRAMES = 100
_LEVEL_FRAMES = 50  # frames on each side whose median level must differ
_LOCAL_FRAMES = 25  # half-window of the local median of the frame-to-frame change
_MIN_CONTRAST = 0.05  # median image's spread / level below this: offset only
_HUBER = 1.345  # Huber constant (in robust σ) of the gain/offset fit


@dataclass(frozen=True)
class SessionLayout:
    """Frames per session of a concatenated movie.

    Parameters
    ----------
    counts : tuple of int
        Frames in each session, in order; they sum to the movie's length.

    Examples
    --------
    >>> lay = SessionLayout.of([3, 2])
    >>> lay.starts.tolist(), lay.index.tolist()
    ([0, 3, 5], [0, 0, 0, 1, 1])
    """

    counts: tuple

    @classmethod
    def of(cls, counts, n_frames: int | None = None) -> "SessionLayout":
        """A layout from frame counts; ``None`` or empty means one session."""
        if counts is None or len(counts) == 0:
            if n_frames is None:
                raise ValueError("one-session layout needs n_frames")
            counts = [int(n_frames)]
        counts = tuple(int(c) for c in counts)
        if any(c <= 0 for c in counts):
            raise ValueError(f"frames per session must be > 0, got {list(counts)}")
        if n_frames is not None and sum(counts) != int(n_frames):
            raise ValueError(f"frames per session sum to {sum(counts)}, "
                             f"the movie has {n_frames}")
        return cls(counts)

    @property
    def n_sessions(self) -> int:
        return len(self.counts)

    @property
    def n_frames(self) -> int:
        return int(sum(self.counts))

    @property
    def starts(self) -> np.ndarray:
        """First frame of every session, and the movie's length last: (n + 1,)."""
        return np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)

    @property
    def index(self) -> np.ndarray:
        """Session of every frame, (T,) int."""
        return np.repeat(np.arange(self.n_sessions), self.counts)

    def sessions_of(self, start: int, stop: int) -> np.ndarray:
        """Session of frames ``start .. stop - 1``."""
        return np.searchsorted(self.starts[1:], np.arange(start, stop), side="right")

    def slices(self):
        """``slice`` of frames of every session."""
        s = self.starts
        return [slice(int(a), int(b)) for a, b in zip(s[:-1], s[1:])]


def detect_sessions(brightness: np.ndarray, jump_sigma: float = JUMP_SIGMA,
                    min_frames: int = MIN_SESSION_FRAMES) -> list[int]:
    """Frames per session from steps in the per-frame brightness.

    A session boundary is a jump between two frames that is (1) far larger
    than the frame-to-frame changes around it, ``jump_sigma`` robust σ of
    the change minus its local median (so slow bleaching, however fast, is
    not a step), and (2) lasting: the median level of the ``_LEVEL_FRAMES``
    frames after it differs from the median before it, drift removed, by at
    least half the jump, in the same direction (so a single bright or dark
    frame is not a step). Sessions shorter than ``min_frames`` are not
    accepted: of candidates closer than that, the largest jump wins.

    Parameters
    ----------
    brightness : ndarray (T,)
        Mean brightness of every frame.
    jump_sigma : float
        Detection threshold in robust σ.
    min_frames : int
        Shortest session.

    Returns
    -------
    list of int
        Frames per session (one entry when no step is found).

    Examples
    --------
    >>> m = np.r_[np.full(500, 100.0), np.full(700, 130.0)]
    >>> m += np.random.default_rng(0).normal(0, 0.1, m.size)
    >>> detect_sessions(m)
    [500, 700]
    """
    m = np.asarray(brightness, np.float64).ravel()
    T = m.size
    if T < 2 * min_frames:
        return [T]
    d = np.diff(m)
    local = ndimage.median_filter(d, size=2 * _LOCAL_FRAMES + 1, mode="nearest")
    e = d - local
    scale = 1.4826 * np.median(np.abs(e - np.median(e)))
    scale = max(scale, 1e-9 * max(1.0, np.abs(m).max()))
    cand = np.flatnonzero(np.abs(e) > jump_sigma * scale) + 1  # first frame after
    cand = [t for t in cand if min_frames <= t <= T - min_frames
            and _lasting(m, t, d[t - 1], local[t - 1])]
    starts = _spaced(cand, np.abs(e), min_frames)
    edges = [0] + starts + [T]
    return [int(b - a) for a, b in zip(edges[:-1], edges[1:])]


def _lasting(m, t, jump, drift) -> bool:
    """The level after frame ``t`` differs from the level before by the jump."""
    w = _LEVEL_FRAMES
    before = np.median(m[max(0, t - w):t]) + drift * min(w, t) / 2
    after = np.median(m[t:t + w]) - drift * min(w, m.size - t) / 2
    change = after - before
    return bool(np.sign(change) == np.sign(jump) and abs(change) >= 0.5 * abs(jump))


def _spaced(cand, strength, min_frames) -> list[int]:
    """Strongest candidates first, each at least ``min_frames`` from the others."""
    kept: list[int] = []
    for t in sorted(cand, key=lambda t: -strength[t - 1]):
        if all(abs(t - k) >= min_frames for k in kept):
            kept.append(int(t))
    return sorted(kept)


def fit_gain_offset(ref: np.ndarray, img: np.ndarray, n_iter: int = 20,
                    max_pixels: int = 200_000) -> tuple[float, float]:
    """``g, o`` with ``img ≈ g·ref + o`` over pixels, robust to outliers.

    Iteratively reweighted least squares with Huber weights: pixels whose
    background really changed between the two images (a new blood vessel,
    other neuropil) get little weight. When ``ref`` has too little spatial
    contrast for a gain and an offset to be told apart (its spread is below
    ``_MIN_CONTRAST`` of its level), only the offset is fitted and ``g = 1``.

    Parameters
    ----------
    ref, img : ndarray
        Two images of the same shape (e.g. per-session median images).
    n_iter : int
        Reweighting steps.
    max_pixels : int
        Pixels used at most (an even subsample).

    Returns
    -------
    (float, float)
        Gain and offset.

    Examples
    --------
    >>> ref = np.linspace(100, 400, 1000)
    >>> fit_gain_offset(ref, 1.25 * ref + 30)
    (1.25, 30.0)
    """
    x = np.asarray(ref, np.float64).ravel()
    y = np.asarray(img, np.float64).ravel()
    step = max(1, x.size // int(max_pixels))
    x, y = x[::step], y[::step]
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3:
        return 1.0, 0.0
    spread = np.subtract(*np.percentile(x, [90, 10]))
    level = max(abs(np.median(x)), 1e-12)
    gain_ok = spread > _MIN_CONTRAST * level
    w = np.ones_like(x)
    g, o = 1.0, float(np.median(y - x))
    for _ in range(n_iter):
        if gain_ok:
            g, o = _weighted_line(x, y, w)
        else:
            o = float(np.sum(w * (y - x)) / np.sum(w))
        r = y - (g * x + o)
        s = 1.4826 * np.median(np.abs(r - np.median(r))) + 1e-12
        a = np.abs(r) / (_HUBER * s)
        w = np.where(a <= 1, 1.0, 1.0 / np.maximum(a, 1e-12))
    return round(float(g), 12), round(float(o), 9)


def _weighted_line(x, y, w):
    sw = w.sum()
    mx, my = (w * x).sum() / sw, (w * y).sum() / sw
    vx = (w * (x - mx) ** 2).sum()
    g = (w * (x - mx) * (y - my)).sum() / vx if vx > 0 else 1.0
    return float(g), float(my - g * mx)


def session_gains(medians, smooth_px: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Gain and offset of every session relative to the first.

    Parameters
    ----------
    medians : sequence of ndarray (H, W)
        Per-session median images of the raw movie.
    smooth_px : float
        Gaussian smoothing (pixels) of the images first: the fit then
        follows the background, not the noise or a small misalignment.

    Returns
    -------
    gains, offsets : ndarray (n_sessions,)
        ``Y_s ≈ gains[s] · Y_0 + offsets[s]``; session 0 has 1 and 0.
    """
    imgs = [np.asarray(m, np.float64) for m in medians]
    if smooth_px > 0:
        imgs = [ndimage.gaussian_filter(m, smooth_px, mode="nearest") for m in imgs]
    gains, offsets = np.ones(len(imgs)), np.zeros(len(imgs))
    for s in range(1, len(imgs)):
        gains[s], offsets[s] = fit_gain_offset(imgs[0], imgs[s])
    return gains, offsets
