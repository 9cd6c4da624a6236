"""The fast frame transpose against numpy."""

import numpy as np
import pytest

from caliali_tk.core.layout import swap_axes_float32


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 5, 7), (2, 33, 70), (1, 64, 32)])
def test_matches_numpy_transpose(dtype, shape):
    raw = (np.random.default_rng(0).random(shape) * 200).astype(dtype)
    out = swap_axes_float32(raw)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, raw.transpose(0, 2, 1).astype(np.float32))
