"""Lasso polygons from a boolean mask: the inverse of :func:`.mask.mask_from_polygons`.

A mask that comes from elsewhere (CaliAli's ``cnmf.seed_mask``) becomes
polygons that the threshold window can draw and edit and the sidecar can
store. The outline is traced along pixel edges (the "cracks" between a pixel
inside and one outside), so each vertex is a pixel corner at half-integer
coordinates and no pixel centre ever lies on an outline: rendering the
polygons back with :func:`.mask.mask_from_polygons` gives the mask exactly.

Every outline is a closed loop that leaves the traced region on one side;
loops may touch at a corner but never cross. Applied largest first, an
outer outline (region inside) is an include and a hole outline an exclude,
so the innermost loop around a pixel decides it, as it should.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

__all__ = ["polygons_from_mask", "outline_loops"]

# Direction codes of a step between pixel corners: (d_row, d_col).
_STEPS = ((0, 1), (1, 0), (0, -1), (-1, 0))  # right, down, left, up (screen)


def polygons_from_mask(mask: np.ndarray) -> List[dict]:
    """Include/exclude polygons whose rendering is exactly `mask`.

    The minority of the mask is outlined: when most pixels are allowed the
    polygons exclude the forbidden regions (with includes for islands inside
    them, after a whole-frame include); otherwise they include the allowed
    regions (with excludes for holes).

    Parameters
    ----------
    mask : ndarray bool (H, W)
        True where seeds are allowed.

    Returns
    -------
    list of dict
        ``{"mode": "include" | "exclude", "points": [[x, y], ...]}``, x =
        column, y = row, in the order :func:`.mask.mask_from_polygons`
        applies them. An all-True mask gives ``[]``, an all-False one a
        whole-frame exclude.

    Examples
    --------
    >>> m = np.ones((5, 6), bool); m[1:3, 2:4] = False
    >>> polys = polygons_from_mask(m)
    >>> [p["mode"] for p in polys], polys[0]["points"][0]
    (['exclude'], [1.5, 0.5])
    >>> bool((mask_from_polygons(m.shape, polys) == m).all())
    True
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    H, W = mask.shape
    frame = [[-0.5, -0.5], [W - 0.5, -0.5], [W - 0.5, H - 0.5], [-0.5, H - 0.5]]
    if mask.all():
        return []
    if not mask.any():
        return [{"mode": "exclude", "points": frame}]
    outline_true = int(mask.sum()) * 2 <= mask.size
    region = mask if outline_true else ~mask
    inner, outer = ("include", "exclude") if outline_true else ("exclude", "include")
    loops = sorted(outline_loops(region), key=lambda lp: -abs(_area(lp[0])))
    polygons = [{"mode": inner if is_outer else outer, "points": _xy(points)}
                for points, is_outer in loops]
    if not outline_true and any(p["mode"] == "include" for p in polygons):
        polygons.insert(0, {"mode": "include", "points": frame})
    return polygons


def outline_loops(region: np.ndarray) -> List[Tuple[np.ndarray, bool]]:
    """Every closed outline of the True pixels of `region`.

    Parameters
    ----------
    region : ndarray bool (H, W)

    Returns
    -------
    list of (corners, is_outer)
        ``corners`` is an int array (n, 2) of pixel-corner indices
        (row, col) -- corner (i, j) is the point x = j - 0.5, y = i - 0.5 --
        with straight runs merged; ``is_outer`` is True for the outer
        outline of a region (the region inside), False for a hole's.
    """
    nxt = _edges(np.asarray(region, dtype=bool))
    loops = []
    while nxt:
        start = next(iter(nxt))
        loops.append(_follow(nxt, start))
    return [(lp, _area(lp) > 0) for lp in loops]


def _edges(region: np.ndarray) -> Dict[Tuple[int, int, int], List[int]]:
    """Directed outline edges, keyed (corner row, corner col, direction).

    Each region pixel is walked clockwise on screen (top edge rightwards,
    right edge downwards, ...), keeping only its edges that face a pixel
    outside the region; the value lists the directions leaving the edge's
    end corner (two where pixels touch diagonally, else one).
    """
    padded = np.pad(region, 1)
    inside = padded[1:-1, 1:-1]
    starts: Dict[Tuple[int, int], List[int]] = {}
    edges = []
    # (neighbour offset, start corner offset, direction)
    for (dr, dc), (cr, cc), d in (((-1, 0), (0, 0), 0), ((0, 1), (0, 1), 1),
                                  ((1, 0), (1, 1), 2), ((0, -1), (1, 0), 3)):
        nb = padded[1 + dr:padded.shape[0] - 1 + dr, 1 + dc:padded.shape[1] - 1 + dc]
        rows, cols = np.nonzero(inside & ~nb)
        for r, c in zip((rows + cr).tolist(), (cols + cc).tolist()):
            starts.setdefault((r, c), []).append(d)
            edges.append((r, c, d))
    return {(r, c, d): starts[(r + _STEPS[d][0], c + _STEPS[d][1])] for r, c, d in edges}


def _follow(nxt: Dict[Tuple[int, int, int], List[int]], start) -> np.ndarray:
    """Walk one loop from edge `start`, removing its edges from `nxt`.

    Where two outlines meet at a corner (pixels touching diagonally), the
    walk turns right, staying with the pixel it came along (4-connected
    regions); loops then touch there without crossing.
    """
    corners = []
    key = start
    while True:
        r, c, d = key
        options = nxt.pop(key)
        corners.append((r, c, d))
        r2, c2 = r + _STEPS[d][0], c + _STEPS[d][1]
        d2 = (d + 1) % 4 if (d + 1) % 4 in options else options[0]
        key = (r2, c2, d2)
        if key == start:
            break
    out = [(r, c) for i, (r, c, d) in enumerate(corners) if d != corners[i - 1][2]]
    return np.asarray(out, dtype=np.int64)


def _area(corners: np.ndarray) -> float:
    """Signed area (shoelace on (col, row)); > 0 for a clockwise walk on screen."""
    y, x = corners[:, 0].astype(float), corners[:, 1].astype(float)
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _xy(corners: np.ndarray) -> List[List[float]]:
    """Corner indices (row, col) as polygon vertices [x, y] in pixel coordinates."""
    return [[float(c) - 0.5, float(r) - 0.5] for r, c in corners.tolist()]
