"""Where the threshold window's three images go, for any window and image shape.

Two arrangements are tried and the one that shows the most image wins:
three images in a row (square or tall frames, wide windows), or the
correlation image large on the left with PNR and the product stacked on its
right (wide frames such as 752 x 480, where a row of three would leave most
of the window's height empty). Every image keeps its aspect ratio and has a
title band above and a colour bar below; all sizes grow with the window.
Pure arithmetic, so it is tested without a display.
"""

from __future__ import annotations

from typing import Dict, Tuple

__all__ = ["arrange", "NAMES"]

NAMES = ("pnr", "cn", "prod")
TITLE = 24  # pixels above an image for its title
BAR = 40  # pixels below an image: colour bar and its tick labels
BAR_HEIGHT = 10  # pixels of the colour bar itself
GAP = 10  # pixels between cells and at the figure's edges

Rect = Tuple[float, float, float, float]  # left, bottom, width, height (pixels)


def _fit(w: float, h: float, aspect: float) -> Tuple[float, float]:
    """Largest image (width, height) of ``aspect`` = width / height inside w x h."""
    w, h = max(w, 1.0), max(h, 1.0)
    return (w, w / aspect) if w / aspect <= h else (h * aspect, h)


def _cell(x: float, y: float, w: float, h: float, aspect: float) -> Tuple[Rect, Rect]:
    """Image and colour-bar rectangles of a cell (x, y its bottom-left corner)."""
    iw, ih = _fit(w, h - TITLE - BAR, aspect)
    left = x + (w - iw) / 2
    bottom = y + BAR + (h - TITLE - BAR - ih) / 2
    image = (left, bottom, iw, ih)
    bar = (left, bottom - 6 - BAR_HEIGHT, iw, BAR_HEIGHT)
    return image, bar


def _row(W: float, H: float, aspect: float) -> Dict[str, Tuple[Rect, Rect]]:
    w = (W - 4 * GAP) / 3
    return {name: _cell(GAP + i * (w + GAP), GAP, w, H - 2 * GAP, aspect)
            for i, name in enumerate(NAMES)}


def _big_cn(W: float, H: float, aspect: float) -> Dict[str, Tuple[Rect, Rect]]:
    h_small = (H - 3 * GAP) / 2
    w_big = (W - 3 * GAP) * 2 / 3
    w_small = W - 3 * GAP - w_big
    return {"cn": _cell(GAP, GAP, w_big, H - 2 * GAP, aspect),
            "pnr": _cell(2 * GAP + w_big, 2 * GAP + h_small, w_small, h_small, aspect),
            "prod": _cell(2 * GAP + w_big, GAP, w_small, h_small, aspect)}


def _area(cells) -> float:
    return sum(image[2] * image[3] for image, _ in cells.values())


def arrange(width: float, height: float, image_shape) -> Dict[str, Tuple[Rect, Rect]]:
    """Image and colour-bar rectangles (pixels, origin bottom-left) per image.

    Parameters
    ----------
    width, height : float
        The figure's size in pixels.
    image_shape : (rows, cols)
        Shape of the summary images.

    Returns
    -------
    dict
        ``{"pnr" | "cn" | "prod": (image_rect, colourbar_rect)}``, each rect
        ``(left, bottom, width, height)`` in pixels.

    Examples
    --------
    >>> cells = arrange(1260, 540, (480, 752))   # wide frames: Cn large
    >>> cells["cn"][0][2] > 2 * cells["pnr"][0][2] - 1
    True
    >>> cells = arrange(1260, 540, (256, 256))   # square frames: a row of three
    >>> round(cells["cn"][0][2]) == round(cells["pnr"][0][2])
    True
    """
    rows, cols = image_shape
    aspect = float(cols) / max(float(rows), 1.0)
    candidates = [_row(width, height, aspect), _big_cn(width, height, aspect)]
    return max(candidates, key=_area)
