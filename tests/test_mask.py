"""Seed mask from include/exclude lasso polygons."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caliali_tk.core.mask import mask_from_polygons, polygon_mask

SQUARE = [[1, 1], [5, 1], [5, 5], [1, 5]]  # (x, y) = (col, row)


def _brute(shape, points):
    """Closed polygon by the book: on an edge, or inside by even-odd ray casting."""
    pts = [tuple(map(float, p)) for p in points]
    n = len(pts)
    out = np.zeros(shape, bool)
    if n < 3:
        return out
    for r in range(shape[0]):
        for c in range(shape[1]):
            x, y = float(c), float(r)
            inside = on_edge = False
            for i in range(n):
                (x0, y0), (x1, y1) = pts[i], pts[(i + 1) % n]
                cross = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)
                if (abs(cross) < 1e-9 and min(x0, x1) - 1e-9 <= x <= max(x0, x1) + 1e-9
                        and min(y0, y1) - 1e-9 <= y <= max(y0, y1) + 1e-9):
                    on_edge = True
                if (y0 <= y) != (y1 <= y):  # edge spans the row (half-open)
                    if x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                        inside = not inside
            out[r, c] = inside or on_edge
    return out


def test_square_include_covers_its_closed_outline():
    m = mask_from_polygons((8, 9), [{"mode": "include", "points": SQUARE}])
    expected = np.zeros((8, 9), bool)
    expected[1:6, 1:6] = True
    assert np.array_equal(m, expected)


def test_x_is_column_y_is_row():
    m = mask_from_polygons((10, 10), [{"mode": "include",
                                       "points": [[6, 1], [8, 1], [8, 2], [6, 2]]}])
    assert m[1:3, 6:9].all() and m.sum() == 6


def test_exclude_inside_include():
    inner = [[2, 2], [3, 2], [3, 3], [2, 3]]
    m = mask_from_polygons((8, 8), [{"mode": "include", "points": SQUARE},
                                    {"mode": "exclude", "points": inner}])
    assert m.sum() == 25 - 4
    assert not m[2:4, 2:4].any() and m[1, 1] and m[5, 5]


def test_order_matters_later_polygon_wins():
    inner = [[2, 2], [3, 2], [3, 3], [2, 3]]
    a = mask_from_polygons((8, 8), [{"mode": "exclude", "points": inner},
                                    {"mode": "include", "points": SQUARE}])
    assert a.sum() == 25  # the include painted over the earlier exclude
    b = mask_from_polygons((8, 8), [{"mode": "include", "points": SQUARE},
                                    {"mode": "exclude", "points": inner}])
    assert b.sum() == 21


def test_start_all_true_without_include():
    assert mask_from_polygons((4, 5), []).all()
    assert mask_from_polygons((4, 5), None).all()
    m = mask_from_polygons((8, 8), [{"mode": "exclude", "points": SQUARE}])
    assert m.sum() == 64 - 25 and not m[1:6, 1:6].any()


def test_boundary_handled_consistently():
    """Pixel centres on an edge or a vertex belong to the polygon, either mode."""
    tri = [[0, 0], [6, 0], [0, 6]]  # hypotenuse x + y = 6 through pixel centres
    inc = mask_from_polygons((8, 8), [{"mode": "include", "points": tri}])
    exc = mask_from_polygons((8, 8), [{"mode": "exclude", "points": tri}])
    rr, cc = np.mgrid[:8, :8]
    expected = rr + cc <= 6
    assert np.array_equal(inc, expected) and np.array_equal(exc, ~expected)
    # shifting by a hair moves the outline off the pixel centres
    eps = [[0, 0], [6 - 1e-6, 0], [0, 6 - 1e-6]]
    assert np.array_equal(polygon_mask((8, 8), eps), rr + cc < 6)


def test_degenerate_and_outside_polygons():
    assert not polygon_mask((5, 5), [[1, 1], [3, 3]]).any()
    assert not polygon_mask((5, 5), []).any()
    big = [[-10, -10], [50, -10], [50, 50], [-10, 50]]
    assert polygon_mask((5, 6), big).all()
    assert not polygon_mask((5, 5), [[10, 10], [20, 10], [20, 20]]).any()
    with pytest.raises(ValueError):
        mask_from_polygons((5, 5), [{"mode": "maybe", "points": SQUARE}])


@settings(max_examples=60, deadline=None)
@given(pts=st.lists(st.tuples(st.integers(-4, 28), st.integers(-4, 24)), min_size=3, max_size=9),
       half=st.booleans())
def test_matches_brute_force_on_random_polygons(pts, half):
    """Integer (and half-integer) vertices put many pixel centres on edges and vertices."""
    points = np.asarray(pts, float)
    if half:
        points[::2, 0] += 0.5
    shape = (21, 25)
    assert np.array_equal(polygon_mask(shape, points), _brute(shape, points))
