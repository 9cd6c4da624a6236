"""Seed mask from lasso polygons (include / exclude), pure numpy.

Polygons are what the user draws on the correlation image and what the
parameter sidecar stores, so that the mask can be redrawn and edited:
``{"mode": "include" | "exclude", "points": [[x, y], ...]}`` with
``x`` = column and ``y`` = row, pixel centres at integer coordinates.

Rules:

- the mask starts all-True when no polygon is an include, else all-False;
- polygons are applied in order: an include sets its pixels True, an exclude
  sets them False (a later polygon wins);
- a polygon's pixels are the pixel centres inside it by the even-odd rule
  **plus those exactly on its outline** (closed polygon), the same for
  include and exclude; so a square from (1, 1) to (5, 5) covers rows and
  columns 1..5;
- polygons with fewer than 3 vertices cover nothing.

The fill is a scanline: for every pixel row the crossings of the polygon's
edges are computed with numpy, and a cumulative sum along the row turns them
into inside/outside parity; cost O(H·W + rows × edges).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mask_from_polygons", "polygon_mask"]

_EPS = 1e-9


def _edges(points: np.ndarray):
    p0 = points
    p1 = np.roll(points, -1, axis=0)
    return p0[:, 0], p0[:, 1], p1[:, 0], p1[:, 1]


def _outline(shape, x0, y0, x1, y1, out: np.ndarray) -> None:
    """Set the pixel centres lying exactly on the edges."""
    H, W = shape
    horiz = np.abs(y1 - y0) < _EPS
    for a, b, y in zip(np.minimum(x0, x1)[horiz], np.maximum(x0, x1)[horiz], y0[horiz]):
        r = int(round(y))
        if abs(y - r) < _EPS and 0 <= r < H:
            c0, c1 = max(int(np.ceil(a - _EPS)), 0), min(int(np.floor(b + _EPS)), W - 1)
            if c0 <= c1:
                out[r, c0 : c1 + 1] = True
    e = ~horiz
    x0, y0, x1, y1 = x0[e], y0[e], x1[e], y1[e]
    lo = np.maximum(np.ceil(np.minimum(y0, y1) - _EPS), 0).astype(int)
    hi = np.minimum(np.floor(np.maximum(y0, y1) + _EPS), H - 1).astype(int)
    n = np.maximum(hi - lo + 1, 0)
    if n.sum() == 0:
        return
    idx = np.repeat(np.arange(x0.size), n)
    rows = lo[idx] + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    x = x0[idx] + (rows - y0[idx]) * (x1[idx] - x0[idx]) / (y1[idx] - y0[idx])
    cols = np.round(x).astype(int)
    on = (np.abs(x - cols) < _EPS) & (cols >= 0) & (cols < W)
    out[rows[on], cols[on]] = True


def polygon_mask(shape, points) -> np.ndarray:
    """Pixels covered by one closed polygon (interior by even-odd, plus outline).

    Parameters
    ----------
    shape : (int, int)
        (H, W).
    points : array-like (n, 2)
        Vertices as (x, y) = (col, row).

    Returns
    -------
    ndarray bool (H, W)

    Examples
    --------
    >>> int(polygon_mask((4, 4), [[1, 1], [2, 1], [2, 2], [1, 2]]).sum())
    4
    """
    H, W = int(shape[0]), int(shape[1])
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    out = np.zeros((H, W), dtype=bool)
    if pts.shape[0] < 3 or not np.all(np.isfinite(pts)):
        return out
    x0, y0, x1, y1 = _edges(pts)
    # Crossings: an edge counts for rows y with min(y0, y1) <= y < max(y0, y1)
    # (half-open, so a vertex shared by two edges is counted once).
    ylo, yhi = np.minimum(y0, y1), np.maximum(y0, y1)
    lo = np.maximum(np.ceil(ylo), 0).astype(int)
    hi = np.minimum(np.ceil(yhi) - 1, H - 1).astype(int)
    n = np.maximum(hi - lo + 1, 0)
    toggles = np.zeros((H, W + 1), dtype=np.int32)
    if n.sum():
        idx = np.repeat(np.arange(x0.size), n)
        rows = lo[idx] + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
        x = x0[idx] + (rows - y0[idx]) * (x1[idx] - x0[idx]) / (y1[idx] - y0[idx])
        # pixel centres strictly right of the crossing flip parity
        first = np.clip(np.floor(x).astype(np.int64) + 1, 0, W)
        np.add.at(toggles, (rows, first), 1)
    out = (np.cumsum(toggles[:, :W], axis=1) % 2).astype(bool)
    _outline((H, W), x0, y0, x1, y1, out)
    return out


def mask_from_polygons(shape, polygons) -> np.ndarray:
    """Seed mask from include/exclude polygons applied in order.

    Parameters
    ----------
    shape : (int, int)
        (H, W) of the image.
    polygons : list of dict
        ``{"mode": "include" | "exclude", "points": [[x, y], ...]}``,
        x = column, y = row. ``None`` or empty: everything allowed.

    Returns
    -------
    ndarray bool (H, W)
        True where seeds are allowed.

    Examples
    --------
    >>> square = [[1, 1], [5, 1], [5, 5], [1, 5]]
    >>> m = mask_from_polygons((8, 8), [{"mode": "include", "points": square}])
    >>> int(m.sum())
    25
    """
    H, W = int(shape[0]), int(shape[1])
    polygons = list(polygons or [])
    for p in polygons:
        if p.get("mode") not in ("include", "exclude"):
            raise ValueError(f"polygon mode must be 'include' or 'exclude', got {p.get('mode')!r}")
    has_include = any(p["mode"] == "include" for p in polygons)
    mask = np.full((H, W), not has_include, dtype=bool)
    for p in polygons:
        inside = polygon_mask((H, W), p.get("points", []))
        mask[inside] = p["mode"] == "include"
    return mask
