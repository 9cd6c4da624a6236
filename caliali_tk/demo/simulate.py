"""Synthetic one-photon (miniscope) movies with ground truth.

The demo, the tests and the benchmarks all use these movies. What makes
one-photon data hard is reproduced on purpose:

- somata with Gaussian-like, slightly elongated footprints of width ~gSig,
  some of them overlapping;
- Poisson spikes through an AR(2) calcium kernel (rise and decay times drawn
  per neuron), spike sizes that vary;
- a bright background, several times brighter than the neurons, made of a
  smooth vignetted field whose brightness drifts slowly and slowly moves, plus
  large out-of-focus blobs with their own slow calcium-like activity;
- Gaussian noise whose variance follows the local brightness (shot noise).

`simulate` returns the movie in memory; :mod:`caliali_tk.demo.files` renders
it in chunks straight into a CaliAli-style ``.h5`` file so that large movies
never sit in memory. Frames are ``(T, H, W)`` in display orientation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, sparse

from caliali_tk.demo import artefacts
from caliali_tk.demo.session_steps import SessionSteps, add_sessions, session_gain_offset
from caliali_tk.io.params import DEFAULT_FPS

OFFSET = 200.0  # camera offset in counts, as real sensors have
NOISE_BLOCK = 100  # frames per noise block: fixes the random stream per frame


@dataclass
class GroundTruth:
    """What the simulator put into a movie.

    Attributes
    ----------
    A : ndarray (K, H, W)
        Footprints, each with a peak of 1.
    C : ndarray (K, T)
        Calcium traces in counts: the movie holds ``A[k] * C[k, t]``.
    S : ndarray (K, T)
        Spikes (the AR(2) innovation), same units as C.
    centers : ndarray (K, 2)
        Footprint centres, (row, col).
    g : ndarray (K, 2)
        AR(2) coefficients of each neuron's calcium kernel.
    """

    A: np.ndarray
    C: np.ndarray
    S: np.ndarray
    centers: np.ndarray
    g: np.ndarray
    gSig: float
    fps: float
    noise: float
    settings: dict = field(default_factory=dict)

    @property
    def K(self) -> int:
        return int(self.A.shape[0])


@dataclass
class Scene:
    """Everything but the noise, as compact factors to render frames from."""

    truth: GroundTruth
    A_sparse: sparse.csr_matrix  # (H*W, K)
    field: np.ndarray  # (H+2m, W+2m) static background, padded for drift
    margin: int
    drift: np.ndarray  # (T, 2) background shift in pixels (row, col)
    gain: np.ndarray  # (T,) slow global brightness factor
    blobs: np.ndarray  # (H*W, n_blobs) out-of-focus blob shapes
    blob_traces: np.ndarray  # (n_blobs, T)
    noise_map: np.ndarray  # (H, W) noise std per pixel
    seed: int
    steps: "SessionSteps | None" = None  # issue 9: session gains, offsets, bleaching
    like: artefacts.RealLike = field(default_factory=artefacts.RealLike)  # issue 10


def simulate(height: int = 256, width: int = 256, n_frames: int = 2000,
             n_neurons: int = 100, gSig: float = 2.5, fps: float = DEFAULT_FPS,
             snr: float = 3.0, seed: int = 0, **options) -> tuple[np.ndarray, GroundTruth]:
    """Simulate a one-photon movie in memory.

    Parameters
    ----------
    height, width, n_frames : int
        Movie size.
    n_neurons : int
        Number of neurons K.
    gSig : float
        Width (standard deviation, pixels) of a typical footprint.
    fps : float
        Frame rate; sets the calcium kernel in frames.
    snr : float
        Peak of a typical single spike at the footprint centre, in units of
        the noise std at an average-brightness pixel.
    seed : int
        Random seed; the same arguments always give the same movie.
    **options
        See `build_scene` (``background_ratio``, ``firing_rate``,
        ``n_blobs``, ``noise``, ``min_distance``, ``sessions``) and, for the
        artefacts of real recordings, :mod:`caliali_tk.demo.artefacts`
        (``line_noise``, ``col_noise``, ``block_q``, ``bg_removed``,
        ``cell_spacing_um``, ``um_per_px``, ``single_event``).

    Returns
    -------
    Y : ndarray (T, H, W) float32
        The movie in counts (camera offset included).
    truth : GroundTruth

    Examples
    --------
    >>> Y, truth = simulate(64, 64, 200, n_neurons=10, seed=1)
    >>> Y.shape, truth.A.shape
    ((200, 64, 64), (10, 64, 64))
    """
    scene = build_scene(height, width, n_frames, n_neurons, gSig, fps, snr,
                         seed, **options)
    Y = np.empty((n_frames, height, width), np.float32)
    for start in range(0, n_frames, NOISE_BLOCK):
        stop = min(n_frames, start + NOISE_BLOCK)
        Y[start:stop] = render(scene, start, stop)
    return Y, scene.truth


# ----------------------------------------------------------------- scene ---

def build_scene(height, width, n_frames, n_neurons, gSig, fps, snr, seed,
                background_ratio: float = 5.0, firing_rate: float = 0.3,
                n_blobs: int | None = None, noise: float = 10.0,
                min_distance: float | None = None, sessions=None, **real_like) -> Scene:
    """Draw every random factor of the movie except the noise.

    ``sessions`` (issue 9) makes the movie a concatenation of days, see
    :class:`SessionSteps` (a dict of its fields is accepted too).
    """
    like = artefacts.RealLike(**real_like)
    rng = np.random.default_rng(seed)
    if like.min_distance is not None or like.aperture:
        min_d = like.min_distance or (1.5 * gSig if min_distance is None else min_distance)
        radius = artefacts.aperture_radius(height, width, like.aperture, gSig) \
            if like.aperture else None
        centers = artefacts.dense_centers(rng, height, width, n_neurons, min_d,
                                          max(1.0, gSig), radius)
    else:
        centers = _place_centers(rng, height, width, n_neurons, gSig, min_distance)
    A = np.stack([_footprint(rng, height, width, c, gSig) for c in centers]) \
        if n_neurons else np.zeros((0, height, width), np.float32)
    C, S, g = _calcium(rng, n_neurons, n_frames, fps, firing_rate)
    artefacts.single_events(np.random.default_rng([seed, 13]), C, S, g,
                            like.single_event, _ar_filter)
    C *= snr * noise
    S *= snr * noise
    margin = 8
    field_ = _background_field(rng, height + 2 * margin, width + 2 * margin)
    field_ = (field_ * (background_ratio * snr * noise)).astype(np.float32)
    if like.aperture:
        field_ *= artefacts.aperture_map(*field_.shape, like.aperture)
    if n_blobs is None:
        n_blobs = max(2, int(round(height * width / 48 ** 2)))
    blobs, blob_traces = _blobs(rng, height, width, n_frames, fps, gSig,
                                n_blobs, snr * noise)
    mean_bg = field_.mean()
    noise_map = noise * np.sqrt(np.clip(field_[margin:-margin, margin:-margin]
                                        / mean_bg, 0.3, 3.0))
    truth = GroundTruth(A=A.astype(np.float32), C=C.astype(np.float32),
                        S=S.astype(np.float32), centers=centers, g=g,
                        gSig=float(gSig), fps=float(fps), noise=float(noise),
                        settings=dict(height=height, width=width,
                                      n_frames=n_frames, n_neurons=n_neurons,
                                      snr=snr, seed=seed,
                                      background_ratio=background_ratio,
                                      firing_rate=firing_rate, n_blobs=n_blobs,
                                      **like.settings()))
    A_sparse = sparse.csr_matrix(truth.A.reshape(n_neurons, height * width).T)
    scene = Scene(truth, A_sparse, field_, margin,
                  _slow_walk(rng, n_frames, fps, 2, scale=1.5, period=60.0),
                  1.0 + 0.08 * _slow_walk(rng, n_frames, fps, 1, 1.0, 30.0)[:, 0],
                  blobs, blob_traces, noise_map.astype(np.float32), seed,
                  like=like)
    if sessions is not None:
        add_sessions(scene, SessionSteps.of(sessions, n_frames))
    return scene


def _place_centers(rng, H, W, K, gSig, min_distance):
    """Uniform centres at least ``min_distance`` apart (default 1.5 gSig, so
    that neighbours may overlap), kept ``gSig`` away from the border."""
    min_d = 1.5 * gSig if min_distance is None else min_distance
    pad = max(1.0, gSig)
    centers = []
    tries = 0
    while len(centers) < K:
        c = rng.uniform([pad, pad], [H - 1 - pad, W - 1 - pad])
        tries += 1
        if tries > 200 * max(K, 1):
            raise ValueError(f"cannot place {K} neurons {min_d:.1f} px apart "
                             f"in a {H}x{W} field of view")
        if all(np.hypot(*(c - o)) >= min_d for o in centers):
            centers.append(c)
    return np.array(centers, float).reshape(K, 2)


def _footprint(rng, H, W, center, gSig):
    """An elongated, rotated Gaussian soma with peak 1, cut at 3 sd."""
    sd = gSig * rng.uniform(0.8, 1.25, size=2)
    theta = rng.uniform(0, np.pi)
    reach = int(np.ceil(3 * sd.max())) + 1
    r0, c0 = (max(0, int(center[i]) - reach) for i in (0, 1))
    rr, cc = np.mgrid[r0:min(H, int(center[0]) + reach + 1),
                      c0:min(W, int(center[1]) + reach + 1)]
    dr, dc = rr - center[0], cc - center[1]
    u = np.cos(theta) * dr + np.sin(theta) * dc
    v = -np.sin(theta) * dr + np.cos(theta) * dc
    q = (u / sd[0]) ** 2 + (v / sd[1]) ** 2
    patch = np.exp(-0.5 * q)
    patch[q > 9.0] = 0.0
    a = np.zeros((H, W), np.float32)
    a[r0:r0 + patch.shape[0], c0:c0 + patch.shape[1]] = patch / patch.max()
    return a


def _calcium(rng, K, T, fps, firing_rate):
    """Poisson spikes through per-neuron AR(2) kernels; single spike peak ~1."""
    C = np.zeros((K, T))
    S = np.zeros((K, T))
    g = np.zeros((K, 2))
    for k in range(K):
        tau_r = rng.uniform(0.04, 0.12)
        tau_d = rng.uniform(0.5, 1.2)
        d, r = np.exp(-1.0 / (tau_d * fps)), np.exp(-1.0 / (tau_r * fps))
        g[k] = d + r, -d * r
        rate = np.clip(rng.lognormal(np.log(firing_rate), 0.6), 0.05, 3.0)
        n = rng.poisson(rate / fps, size=T)
        s = n * rng.lognormal(0.0, 0.35, size=T)
        peak = _kernel_peak(g[k])
        S[k] = s / peak
        C[k] = _ar_filter(S[k], g[k])
    return C, S, g


def _kernel_peak(g):
    h = _ar_filter(np.r_[1.0, np.zeros(200)], g)
    return h.max()


def _ar_filter(s, g):
    """c_t = g1 c_{t-1} + g2 c_{t-2} + s_t."""
    from scipy.signal import lfilter
    return lfilter([1.0], [1.0, -g[0], -g[1]], s)


def _background_field(rng, H, W):
    """Smooth vignetted field with peak 1: the static part of the glow."""
    rr, cc = np.mgrid[0:H, 0:W]
    vignette = np.exp(-0.5 * (((rr - H / 2) / (0.55 * H)) ** 2
                              + ((cc - W / 2) / (0.55 * W)) ** 2))
    texture = ndimage.gaussian_filter(rng.standard_normal((H, W)), min(H, W) / 10)
    texture /= np.abs(texture).max() + 1e-12
    field_ = vignette * (1.0 + 0.3 * texture)
    return field_ / field_.max()


def _blobs(rng, H, W, T, fps, gSig, n_blobs, amplitude):
    """Out-of-focus cells: wide Gaussian blobs with slow, sparse activity."""
    rr, cc = np.mgrid[0:H, 0:W]
    shapes = np.zeros((H * W, n_blobs), np.float32)
    traces = np.zeros((n_blobs, T), np.float32)
    for j in range(n_blobs):
        sd = gSig * rng.uniform(4.0, 8.0)
        r0, c0 = rng.uniform(0, H), rng.uniform(0, W)
        shapes[:, j] = np.exp(-0.5 * (((rr - r0) ** 2 + (cc - c0) ** 2) / sd ** 2)).ravel()
        spikes = rng.poisson(0.1 / fps, size=T) * rng.lognormal(0, 0.3, size=T)
        decay = np.exp(-1.0 / (2.5 * fps))
        rise = np.exp(-1.0 / (0.5 * fps))
        tr = _ar_filter(spikes, (decay + rise, -decay * rise))
        traces[j] = amplitude * rng.uniform(0.3, 0.8) * tr / (tr.max() + 1e-12)
    return shapes, traces


def _slow_walk(rng, T, fps, dims, scale, period):
    """Smooth random walk, ~``scale`` in amplitude, time scale ``period`` s."""
    x = rng.standard_normal((T + 1, dims))
    sm = ndimage.gaussian_filter1d(x, sigma=max(1.0, period * fps / 6), axis=0)[:T]
    sm -= sm.mean(axis=0)
    sm /= np.abs(sm).max(axis=0) + 1e-12
    return scale * sm


# ---------------------------------------------------------------- render ---

def render(scene: Scene, start: int, stop: int) -> np.ndarray:
    """Frames ``start:stop`` of the movie, float32 counts."""
    t = scene.truth
    H, W = t.A.shape[1:]
    n = stop - start
    neurons = (scene.A_sparse @ t.C[:, start:stop]).T if t.K else 0.0
    blobs = (scene.blobs @ scene.blob_traces[:, start:stop]).T
    like = scene.like
    if like.bg_removed:
        return _render_bg_removed(scene, neurons, blobs, start, (n, H, W))
    Y = np.asarray(neurons + blobs, np.float32).reshape(n, H, W)
    for i in range(n):
        Y[i] += _shifted_field(scene, start + i, H, W) * np.float32(scene.gain[start + i])
    rng = np.random.default_rng([scene.seed, start // NOISE_BLOCK, 7])
    Y += rng.standard_normal(Y.shape, dtype=np.float32) * scene.noise_map
    if scene.steps is not None:
        session_gain_offset(scene.steps, Y, start, stop)
    Y += OFFSET
    Y += _line_offsets(scene, start, Y.shape)
    return artefacts.block_compress(Y, like.block_q * t.noise)


def _line_offsets(scene, start, shape):
    """Row / column stripes of frames ``start..`` (their own random stream)."""
    like, noise = scene.like, scene.truth.noise
    rng = np.random.default_rng([scene.seed, start // NOISE_BLOCK, 11])
    return artefacts.line_offsets(rng, shape, like.line_noise * noise,
                                  like.col_noise * noise)


def _render_bg_removed(scene, neurons, blobs, start, shape):
    """Frames of a background-removed, low-range movie (see `artefacts.bg_removed`)."""
    n, H, W = shape
    rng = np.random.default_rng([scene.seed, start // NOISE_BLOCK, 7])
    noise = rng.standard_normal(shape, dtype=np.float32) * scene.noise_map
    noise += _line_offsets(scene, start, shape)
    Y = artefacts.bg_removed(np.asarray(neurons, np.float32).reshape(shape),
                             np.asarray(blobs, np.float32).reshape(shape), noise,
                             scene.truth.noise)
    step = scene.like.block_q * artefacts.BG_REMOVED_NOISE
    return np.maximum(artefacts.block_compress(Y, step), 0.0)


def _shifted_field(scene, t, H, W):
    """The static field, moved by the slow sub-pixel drift at frame ``t``."""
    m = scene.margin
    dr, dc = scene.drift[t]
    r0, c0 = int(np.floor(dr)), int(np.floor(dc))
    fr, fc = dr - r0, dc - c0
    a = scene.field[m + r0:m + r0 + H + 1, m + c0:m + c0 + W + 1]
    fr, fc = np.float32(fr), np.float32(fc)
    top = (1 - fc) * a[:H, :W] + fc * a[:H, 1:W + 1]
    bottom = (1 - fc) * a[1:H + 1, :W] + fc * a[1:H + 1, 1:W + 1]
    return (1 - fr) * top + fr * bottom

