"""What real miniscope recordings have and clean simulations lack (issue 10).

Each artefact is a small function applied by :mod:`caliali_tk.demo.simulate`
when its option is set; all are off by default, so the simulator's clean
movies do not change. Options (keyword arguments of ``simulate`` /
``write_simulated``, collected in :class:`RealLike`):

``line_noise``, ``col_noise``
    Standard deviation of per-frame row (column) offsets, in units of the
    pixel noise at an average-brightness pixel: horizontal (vertical)
    stripes that change every frame, as rolling-shutter CMOS sensors and
    their read-out electronics make.
``block_q``
    JPEG-like compression of every frame: an 8 x 8 block DCT whose
    coefficients are rounded to steps of ``block_q`` noise sd, growing with
    spatial frequency; leaves block edges and blocky noise.
``bg_removed``
    The movie as background-removing pre-processing leaves it (CaliAli,
    minian): no glow and no camera offset, out-of-focus blobs mostly gone,
    the noise floor clipped at zero, and scaled to a low range (the noise sd
    is 2 counts, cells reach a few tens) for a uint8 file.
``cell_spacing_um``, ``um_per_px``
    A dense population: cells at least ``cell_spacing_um`` apart, packed
    into a central disc just large enough to hold them (CA1's pyramidal
    layer under a miniscope). ``um_per_px`` is the pixel size; the default
    1.5 um/px is a UCLA Miniscope V4 with its 608 x 608 sensor over a
    ~1 mm field, so 8 um spacing is ~5.3 px, about 2 gSig.
``single_event``
    Fraction of the cells that fire exactly once in the whole movie (one
    burst), as many real cells do in a short session.
``aperture``
    The GRIN lens's circular field of view: its radius as a share of half
    the frame's shorter side. Outside, the glow falls within a few pixels
    to a tenth (a dark edge, where the background model has a hard time);
    the cells are all inside.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
from scipy import fft

BLOCK = 8  # pixels per side of a compression block
BG_REMOVED_NOISE = 2.0  # counts per noise sd in a background-removed movie
BG_REMOVED_PEDESTAL = 2.0  # counts added before clipping at zero (one noise sd)
BG_REMOVED_BLOBS = 0.3  # share of the out-of-focus blobs pre-processing leaves
APERTURE_EDGE = 3.0  # pixels over which the lens's field of view fades
APERTURE_FLOOR = 0.1  # glow outside it, as a share of the glow inside


@dataclass
class RealLike:
    """The artefact options of one simulated movie (see the module doc)."""

    line_noise: float = 0.0
    col_noise: float = 0.0
    block_q: float = 0.0
    bg_removed: bool = False
    cell_spacing_um: Optional[float] = None
    um_per_px: float = 1.5
    single_event: float = 0.0
    aperture: float = 0.0

    def settings(self) -> dict:
        """The options that differ from the defaults (for the truth's attributes)."""
        default = asdict(RealLike())
        return {k: v for k, v in asdict(self).items() if v != default[k] and v is not None}

    @property
    def min_distance(self) -> Optional[float]:
        """Smallest centre distance in pixels of a dense population, else None."""
        if self.cell_spacing_um is None:
            return None
        return float(self.cell_spacing_um) / float(self.um_per_px)


def dense_centers(rng, H: int, W: int, K: int, min_d: float, pad: float,
                  radius: Optional[float] = None) -> np.ndarray:
    """``K`` centres at least ``min_d`` apart in a central disc.

    Without a ``radius``, the disc's area is twice what ``K`` discs of
    diameter ``min_d`` cover at random close packing, so random sequential
    placement always succeeds and neighbours sit 1-1.5 ``min_d`` apart.
    """
    if radius is None:
        radius = np.sqrt(2.0 * K * min_d ** 2 / np.pi)
    radius = min(radius, (min(H, W) - 1) / 2 - pad)
    centre = np.array([(H - 1) / 2, (W - 1) / 2])
    out: list = []
    tries = 0
    while len(out) < K:
        tries += 1
        if tries > 2000 * max(K, 1):
            raise ValueError(f"cannot pack {K} cells {min_d:.1f} px apart in a "
                             f"{H}x{W} field of view")
        r, phi = radius * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        c = centre + r * np.array([np.cos(phi), np.sin(phi)])
        if not out or np.min(np.hypot(*(np.array(out) - c).T)) >= min_d:
            out.append(c)
    return np.array(out, float).reshape(K, 2)


def single_events(rng, C: np.ndarray, S: np.ndarray, g: np.ndarray, fraction: float,
                  ar_filter) -> None:
    """Give a ``fraction`` of the cells one burst only (in place).

    The burst (1.5-3 spikes' worth) falls in the middle 80 % of the movie;
    the trace is rebuilt through the cell's own AR(2) kernel and scaled like
    the other cells' single spikes.
    """
    K, T = C.shape
    n = int(round(fraction * K))
    if n == 0 or T < 10:
        return
    scale = np.array([S[k][S[k] > 0].min() if (S[k] > 0).any() else 0.0 for k in range(K)])
    unit = float(np.median(scale[scale > 0])) if (scale > 0).any() else 1.0
    for k in rng.choice(K, size=n, replace=False):
        s = np.zeros(T)
        s[rng.integers(int(0.1 * T), int(0.9 * T))] = unit * rng.uniform(1.5, 3.0)
        S[k] = s
        C[k] = ar_filter(s, g[k])


def line_offsets(rng, shape: tuple, row_sd: float, col_sd: float) -> np.ndarray:
    """Per-frame row and column offsets ``(n, H, W)`` (zero when both sd are 0)."""
    n, H, W = shape
    out = np.zeros(shape, np.float32)
    if row_sd > 0:
        out += rng.normal(0.0, row_sd, (n, H, 1)).astype(np.float32)
    if col_sd > 0:
        out += rng.normal(0.0, col_sd, (n, 1, W)).astype(np.float32)
    return out


def block_compress(Y: np.ndarray, step: float) -> np.ndarray:
    """JPEG-like 8 x 8 block-DCT quantisation of frames ``(n, H, W)``.

    Coefficient (u, v) of each block is rounded to a multiple of
    ``step * (1 + (u + v) / 2)``, so fine detail is quantised more coarsely,
    as a JPEG quality table does. Frames are padded at the edge to whole
    blocks and cropped back.
    """
    if step <= 0:
        return Y
    n, H, W = Y.shape
    Hp, Wp = -(-H // BLOCK) * BLOCK, -(-W // BLOCK) * BLOCK
    pad = np.pad(Y, ((0, 0), (0, Hp - H), (0, Wp - W)), mode="edge").astype(np.float64)
    blocks = pad.reshape(n, Hp // BLOCK, BLOCK, Wp // BLOCK, BLOCK)
    coef = fft.dctn(blocks, axes=(2, 4), norm="ortho")
    u = np.arange(BLOCK)
    q = step * (1.0 + (u[:, None] + u[None, :]) / 2.0)
    q = q[None, None, :, None, :]
    coef = np.round(coef / q) * q
    out = fft.idctn(coef, axes=(2, 4), norm="ortho").reshape(n, Hp, Wp)
    return out[:, :H, :W].astype(np.float32)


def bg_removed(neurons: np.ndarray, blobs: np.ndarray, noise: np.ndarray,
               noise_sd: float) -> np.ndarray:
    """Frames as background removal leaves them, in uint8-range counts.

    The cells, what is left of the out-of-focus blobs, and the noise, scaled
    so that the noise sd is ``BG_REMOVED_NOISE`` counts, on a pedestal of
    one noise sd, clipped at zero.
    """
    gain = BG_REMOVED_NOISE / float(noise_sd)
    Y = gain * (neurons + BG_REMOVED_BLOBS * blobs + noise) + BG_REMOVED_PEDESTAL
    return np.maximum(Y, 0.0).astype(np.float32)


def aperture_map(H: int, W: int, share: float) -> np.ndarray:
    """Brightness (H, W) of the lens's field of view: 1 inside, a tenth outside."""
    radius = share * (min(H, W) - 1) / 2
    rr, cc = np.mgrid[0:H, 0:W]
    dist = np.hypot(rr - (H - 1) / 2, cc - (W - 1) / 2)
    fade = 1.0 / (1.0 + np.exp((dist - radius) / (APERTURE_EDGE / 4)))
    return (APERTURE_FLOOR + (1 - APERTURE_FLOOR) * fade).astype(np.float32)


def aperture_radius(H: int, W: int, share: float, gSig: float) -> float:
    """Radius within which cells are placed: the field of view less 2 gSig."""
    return share * (min(H, W) - 1) / 2 - APERTURE_EDGE - 2 * gSig
