"""polygons_from_mask: lasso polygons whose rendering is the mask again."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from caliali_tk.core.mask import mask_from_polygons
from caliali_tk.core.mask_outline import outline_loops, polygons_from_mask


def round_trip(mask):
    polygons = polygons_from_mask(mask)
    return polygons, mask_from_polygons(mask.shape, polygons)


@settings(max_examples=300, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 14), st.integers(1, 14))))
def test_any_mask_renders_back_exactly(mask):
    _, back = round_trip(mask)
    np.testing.assert_array_equal(back, mask)


def _disc(shape, r0, c0, radius):
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    return (rows - r0) ** 2 + (cols - c0) ** 2 <= radius ** 2


@pytest.mark.parametrize("name", ["roi", "vessel", "ring_with_island", "checker",
                                  "border", "single_pixel", "saddle", "all_false"])
def test_shapes_render_back_exactly(name):
    shape = (48, 80)
    if name == "roi":                      # a round region of interest: include it
        mask = _disc(shape, 24, 40, 18)
    elif name == "vessel":                 # a blood vessel excluded from everything
        mask = np.ones(shape, bool)
        mask[:, 30:34] = False
        mask[10:14, :] = False
    elif name == "ring_with_island":       # a hole with an island in it
        mask = _disc(shape, 24, 40, 20) & ~_disc(shape, 24, 40, 10) | _disc(shape, 24, 40, 4)
    elif name == "checker":
        mask = (np.indices(shape).sum(axis=0) % 2).astype(bool)
    elif name == "border":
        mask = np.zeros(shape, bool)
        mask[0, :] = mask[:, -1] = True
    elif name == "single_pixel":
        mask = np.zeros(shape, bool)
        mask[47, 0] = True
    elif name == "saddle":                 # regions touching only at corners
        mask = np.zeros(shape, bool)
        mask[5:10, 5:10] = mask[10:15, 10:15] = mask[5:10, 15:20] = True
    else:
        mask = np.zeros(shape, bool)
    polygons, back = round_trip(mask)
    np.testing.assert_array_equal(back, mask)
    assert all(len(p["points"]) >= 3 for p in polygons)


def test_all_true_mask_has_no_polygons():
    assert polygons_from_mask(np.ones((5, 7), bool)) == []


def test_the_minority_is_outlined():
    mask = np.ones((20, 30), bool)
    mask[4:8, 5:9] = False                 # a small excluded square
    polygons = polygons_from_mask(mask)
    assert [p["mode"] for p in polygons] == ["exclude"]
    assert sorted(map(tuple, polygons[0]["points"])) == [
        (4.5, 3.5), (4.5, 7.5), (8.5, 3.5), (8.5, 7.5)]   # its four corners
    polygons = polygons_from_mask(~mask)
    assert [p["mode"] for p in polygons] == ["include"]


def test_islands_in_an_excluded_region_come_after_a_whole_frame_include():
    mask = np.ones((30, 30), bool)
    mask[5:25, 5:25] = False
    mask[12:15, 12:15] = True              # an allowed island inside
    polygons = polygons_from_mask(mask)
    assert [p["mode"] for p in polygons] == ["include", "exclude", "include"]
    assert polygons[0]["points"] == [[-0.5, -0.5], [29.5, -0.5], [29.5, 29.5], [-0.5, 29.5]]
    np.testing.assert_array_equal(mask_from_polygons(mask.shape, polygons), mask)


def test_straight_runs_are_merged_and_holes_are_not_outer():
    region = np.zeros((10, 10), bool)
    region[2:8, 2:8] = True
    region[4:6, 4:6] = False
    loops = outline_loops(region)
    assert sorted((len(c), outer) for c, outer in loops) == [(4, False), (4, True)]


def test_bad_input():
    with pytest.raises(ValueError):
        polygons_from_mask(np.zeros((3, 3, 3), bool))
