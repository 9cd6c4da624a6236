"""The trace plots' time axis (the CSV and NWB writers are in ``caliali_tk.io``)."""

from __future__ import annotations

import numpy as np

__all__ = ["time_axis"]


def time_axis(n_frames: int, fps: float) -> np.ndarray:
    """Frame times in seconds, first frame at 0.

    Examples
    --------
    >>> time_axis(3, 10.0).tolist()
    [0.0, 0.1, 0.2]
    """
    return np.arange(int(n_frames)) / float(fps)
