"""The results file's ``/quality`` and ``/rejected`` groups (issue 10).

Layout, beside the root datasets of :mod:`caliali_tk.io.results`:

=============================  ==========================  =====================
path                           as h5py sees it             meaning
=============================  ==========================  =====================
``quality/<metric>``           (K,) float32                each kept component's
                                                           value (``snr``,
                                                           ``spatial_corr``,
                                                           ``size``,
                                                           ``compactness``,
                                                           ``elongation``,
                                                           ``n_events``)
``rejected/A``                 (K_r, W, H) float32, gzip   as the root ``A``
``rejected/C``, ``C_raw``,     (K_r, T) float32            as the root ones
``S``
``rejected/centers``, ``sn``   (K_r, 2), (K_r,) float32    as the root ones
``rejected/quality/<metric>``  (K_r,) float32              as ``quality/``
``rejected/reason``            (K_r,) variable-length str  the first failed test
=============================  ==========================  =====================

Files without these groups (older ones) load as before: no quality values
and no rejected components.
"""

from __future__ import annotations

import dataclasses
from typing import Dict

import h5py
import numpy as np

from .orientation import from_display, to_display

__all__ = ["write_groups", "read_groups"]

_COMPONENT_NAMES = ("C", "C_raw", "S", "centers", "sn")


def _write_quality(group: h5py.Group, quality: Dict[str, np.ndarray]) -> None:
    q = group.create_group("quality")
    for name, values in quality.items():
        q.create_dataset(name, data=np.asarray(values, np.float32))


def _read_quality(group: h5py.Group) -> Dict[str, np.ndarray]:
    q = group.get("quality")
    if not isinstance(q, h5py.Group):
        return {}
    return {name: np.asarray(ds[()], np.float32) for name, ds in q.items()
            if isinstance(ds, h5py.Dataset)}


def write_groups(f: h5py.File, result, layout: str = "matlab") -> None:
    """Write ``result.quality`` and ``result.rejected`` (when present) into ``f``;
    the rejected footprints are stored in the input's ``layout`` as the root ``A``."""
    if result.quality:
        _write_quality(f, result.quality)
    rej = result.rejected
    if rej is None:
        return
    g = f.create_group("rejected")
    A = np.ascontiguousarray(from_display(np.asarray(rej.A, np.float32), layout))
    if A.size:
        g.create_dataset("A", data=A, chunks=(1,) + A.shape[1:], compression="gzip",
                         compression_opts=4, shuffle=True)
    else:
        g.create_dataset("A", data=A)
    for name in _COMPONENT_NAMES:
        g.create_dataset(name, data=np.asarray(getattr(rej, name), np.float32))
    _write_quality(g, rej.quality)
    reasons = list(rej.reason) if rej.reason else [""] * rej.K
    g.create_dataset("reason", data=np.array(reasons, dtype=object),
                     dtype=h5py.string_dtype())


def read_groups(f: h5py.File, result, layout: str = "matlab") -> None:
    """Fill ``result.quality`` and ``result.rejected`` from ``f`` (if it has them)."""
    result.quality = _read_quality(f)
    g = f.get("rejected")
    if not isinstance(g, h5py.Group):
        return
    arrays = {n: np.asarray(g[n][()], np.float32) for n in _COMPONENT_NAMES}
    A = np.ascontiguousarray(to_display(np.asarray(g["A"][()], np.float32), layout))
    if A.size == 0:
        A = A.reshape((0,) + result.A.shape[1:])
    reason = [r.decode("utf-8", "replace") if isinstance(r, bytes) else str(r)
              for r in g["reason"][()]] if "reason" in g else []
    result.rejected = dataclasses.replace(result, A=A, **arrays, quality=_read_quality(g),
                                          rejected=None, reason=reason)
