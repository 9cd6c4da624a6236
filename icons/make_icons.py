"""Draw the caliali-tk app icon: a glowing neuron on a dark rounded square.

Writes ``caliali-tk.png`` (256 x 256, RGBA) and ``caliali-tk.ico`` (16 to
256 px) beside this script. Run: ``python icons/make_icons.py``.
"""

from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 256
HERE = Path(__file__).resolve().parent
BG_TOP, BG_BOTTOM = np.array([22, 34, 58]), np.array([8, 14, 28])
GLOW = np.array([80, 255, 170])  # calcium-indicator green
CORE = np.array([235, 255, 245])


def _grid(n: int):
    y, x = np.mgrid[0:n, 0:n] + 0.5
    return x / n, y / n


def rounded_square(n: int, radius: float = 0.2, aa: float = 1.5) -> np.ndarray:
    """Alpha (n, n) of a rounded square filling the image, antialiased."""
    x, y = _grid(n)
    dx = np.maximum(np.abs(x - 0.5) - (0.5 - radius), 0)
    dy = np.maximum(np.abs(y - 0.5) - (0.5 - radius), 0)
    dist = (np.hypot(dx, dy) - radius) * n
    return np.clip(0.5 - dist / aa, 0, 1)


def _segment_distance(x, y, p, q):
    px, py = p
    qx, qy = q
    vx, vy = qx - px, qy - py
    t = np.clip(((x - px) * vx + (y - py) * vy) / (vx * vx + vy * vy), 0, 1)
    return np.hypot(x - (px + t * vx), y - (py + t * vy)), t


def neuron_density(n: int) -> np.ndarray:
    """Intensity (n, n) in [0, 1]: a soma with tapering, branching dendrites."""
    x, y = _grid(n)
    cx, cy = 0.5, 0.52
    r = np.hypot((x - cx) / 1.1, y - cy)
    soma = np.clip((0.105 - r) * n / 2.0 + 0.5, 0, 1)  # antialiased ellipse
    lines = np.zeros_like(x)
    for (p, q, w0, w1) in _dendrites(cx, cy):
        d, t = _segment_distance(x, y, p, q)
        width = w0 + (w1 - w0) * t
        lines = np.maximum(lines, np.clip((width - d) * 400 + 0.5, 0, 1) * 0.85)
    return np.clip(np.maximum(soma, lines), 0, 1)


def _dendrites(cx, cy):
    """Segments (start, end, start width, end width) in unit coordinates."""
    segs = []
    for angle, length, bend, branch in [(-95, 0.36, 12, 32), (-25, 0.30, -15, -35),
                                        (38, 0.33, 14, 35), (140, 0.31, -12, -30),
                                        (205, 0.27, 15, 0)]:
        a, a2 = np.deg2rad(angle), np.deg2rad(angle + bend)
        p = (cx + 0.08 * np.cos(a), cy + 0.08 * np.sin(a))
        mid = (cx + 0.55 * length * np.cos(a), cy + 0.55 * length * np.sin(a))
        q = (mid[0] + 0.45 * length * np.cos(a2), mid[1] + 0.45 * length * np.sin(a2))
        segs += [(p, mid, 0.040, 0.022), (mid, q, 0.022, 0.010)]
        if branch:
            b = a2 + np.deg2rad(branch)
            end = (mid[0] + 0.14 * np.cos(b), mid[1] + 0.14 * np.sin(b))
            segs.append((mid, end, 0.016, 0.008))
    return segs


def render(n: int = SIZE) -> np.ndarray:
    """RGBA uint8 (n, n, 4) icon."""
    x, y = _grid(n)
    bg = BG_TOP[None, None] * (1 - y[..., None]) + BG_BOTTOM[None, None] * y[..., None]
    dens = neuron_density(n)
    blur = _glow(dens, n)
    rgb = bg + (GLOW - bg) * np.clip(blur * 0.9 + dens, 0, 1)[..., None]
    r2 = (x - 0.5) ** 2 + (y - 0.52) ** 2
    core = (np.exp(-r2 / (2 * 0.055 ** 2)) * dens)[..., None] * 0.9
    rgb = rgb + (CORE - rgb) * core
    alpha = rounded_square(n)
    return np.dstack([np.clip(rgb, 0, 255), alpha * 255]).astype(np.uint8)


def _glow(dens: np.ndarray, n: int) -> np.ndarray:
    """A soft halo around the neuron (separable Gaussian blur via FFT)."""
    sigma = n * 0.035
    f = np.fft.fftfreq(n)
    g = np.exp(-2 * (np.pi * sigma * f) ** 2)
    out = np.real(np.fft.ifft2(np.fft.fft2(dens) * g[:, None] * g[None, :]))
    return np.clip(out / max(out.max(), 1e-9), 0, 1) * 0.45


def main() -> None:
    """Write the PNG and the multi-size ICO."""
    big = Image.fromarray(render(1024), "RGBA").resize((SIZE, SIZE), Image.LANCZOS)
    big.save(HERE / "caliali-tk.png")
    big.save(HERE / "caliali-tk.ico",
             sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    print(HERE / "caliali-tk.png", HERE / "caliali-tk.ico")


if __name__ == "__main__":
    main()
