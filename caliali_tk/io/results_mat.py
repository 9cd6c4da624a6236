"""The results as MATLAB's ``load`` reads them: ``<stem>_cnmfe.mat`` with a ``neuron`` struct.

A MATLAB v7.3 file (HDF5 with MATLAB's user block and attributes, written
by `hdf5storage <https://pypi.org/project/hdf5storage/>`_) beside the
``_cnmfe.h5``. ``load('movie_cnmfe.mat')`` gives a struct ``neuron`` with
the field names of CaliAli's ``Sources2D``:

==========  ===================  ============================================
field       MATLAB size          meaning
==========  ===================  ============================================
``A``       d1·d2 x K single     footprints; ``reshape(A(:, k), d1, d2)``
``C``       K x T single         denoised traces
``C_raw``   K x T single         raw traces
``S``       K x T single         deconvolved activity
``b0``      d1·d2 x 1 single     constant background
``Cn``      d1 x d2 single       local-correlation image
``PNR``     d1 x d2 single       peak-to-noise image
``options`` struct               d1, d2, sf, gSig, gSiz, min_corr, min_pnr,
                                 merge_thr (double); seed_mask (d1 x d2
                                 logical, the lasso mask, all true if none)
``F``       1 x n double         frames per session
``sf``      double               frame rate, Hz
``ids``     1 x K double         neuron numbers 1..K
``P``       struct               ``sn`` (K x 1), and when known ``kernel_pars``
                                 (K x 2 AR coefficients), ``tau_decay``,
                                 ``tau_rise`` (K x 1, s), ``snr`` (K x 1),
                                 ``trace_scale`` (K x sessions)
==========  ===================  ============================================

d1 x d2 is the frame as MATLAB sees the input movie (``h5read`` / ``load``):
for CaliAli's files (MATLAB layout) d1 = rows as caliali-tk shows them; for
a Python-written (T, H, W) file MATLAB sees W x H, so d1 = W. Either way
``A(:, k)`` reshaped to d1 x d2 lines up with the movie's frames in MATLAB.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict

import numpy as np

from ..core.mask import mask_from_polygons
from .atomic import atomic_path
from .orientation import from_display
from .params import gsiz_of
from .results import Result, file_layout, write_results

MAT_SUFFIX = ".mat"
_GZIP_LEVEL = 4  # as the .h5 results: most of the size gain, a fraction of level 7's time


def mat_path(h5_path: "str | os.PathLike[str]") -> Path:
    """The MATLAB twin of a results file: ``movie_cnmfe.h5`` -> ``movie_cnmfe.mat``."""
    h5_path = Path(h5_path)
    if h5_path.suffix.lower() == MAT_SUFFIX:
        return h5_path.with_name(h5_path.stem + "_neuron" + MAT_SUFFIX)
    return h5_path.with_suffix(MAT_SUFFIX)


def matlab_image(image: np.ndarray, layout: str) -> np.ndarray:
    """A display image (H, W) as MATLAB sees the input's frames: d1 x d2."""
    return from_display(np.asarray(image), layout).T


def neuron_struct(result: Result) -> Dict[str, Any]:
    """The ``neuron`` struct's fields (numpy arrays shaped as MATLAB will see them)."""
    layout = file_layout(result.attrs)
    A = np.asarray(result.A, np.float32)
    K = A.shape[0]
    stored = np.ascontiguousarray(from_display(A, layout))  # (K, d2, d1): MATLAB's columns
    Cn = matlab_image(result.Cn, layout)
    d1, d2 = Cn.shape
    p = result.params
    fps = float(result.attrs.get("fps") or p.get("fps"))
    gSig = float(p.get("gSig"))
    gSiz = p.get("gSiz")
    sessions = result.attrs.get("frames_per_session")
    if sessions is None or len(sessions) == 0:
        sessions = [int(np.shape(result.C)[1])]
    options = {"d1": float(d1), "d2": float(d2), "sf": fps, "gSig": gSig,
               "gSiz": float(gSiz if gSiz is not None else gsiz_of(gSig)),
               "min_corr": float(p["min_corr"]), "min_pnr": float(p["min_pnr"]),
               "merge_thr": float(p["merge_thr"]),
               "seed_mask": matlab_image(mask_from_polygons(np.shape(result.Cn),
                                                            p.get("mask")), layout)}
    return {
        "A": stored.reshape(K, d1 * d2).T,
        "C": np.asarray(result.C, np.float32), "C_raw": np.asarray(result.C_raw, np.float32),
        "S": np.asarray(result.S, np.float32),
        "b0": np.ascontiguousarray(from_display(np.asarray(result.b0, np.float32),
                                                layout)).reshape(-1, 1),
        "Cn": np.asarray(Cn, np.float32),
        "PNR": np.asarray(matlab_image(result.PNR, layout), np.float32),
        "options": options,
        "F": np.asarray(sessions, np.float64).reshape(1, -1),
        "sf": fps,
        "ids": np.arange(1, K + 1, dtype=np.float64).reshape(1, -1),
        "P": _estimated_pars(result, K),  # issue 11
    }


def _estimated_pars(result: Result, K: int) -> Dict[str, Any]:
    """``neuron.P`` (issue 11): per-neuron noise, kernel and SNR, K x 1 (kernel K x 2)."""
    P = {"sn": np.asarray(result.sn, np.float64).reshape(K, 1)}
    for name, field in (("kernel_pars", "g"), ("tau_decay", "tau_decay"),
                        ("tau_rise", "tau_rise"), ("snr", "snr"), ("trace_scale", "trace_scale")):
        value = getattr(result, field, None)
        if value is not None:
            arr = np.asarray(value, np.float64)
            P[name] = arr.reshape(K, 1) if arr.ndim == 1 else arr  # (K,) as K x 1
    return P


def write_with_mat(path: "str | os.PathLike[str]", result: Result) -> Path:
    """The results file (:func:`~caliali_tk.io.results.write_results`) and its
    MATLAB twin ``<stem>.mat`` beside it (issue 12), each written atomically."""
    out = write_results(path, result)
    write_results_mat(mat_path(out), result)
    return out


def write_results_mat(path: "str | os.PathLike[str]", result: Result) -> Path:
    """Write `result` as a MATLAB v7.3 ``.mat`` holding the struct ``neuron``, atomically.

    Parameters
    ----------
    path : path
        The ``.mat`` to write (see :func:`mat_path`).
    result : Result
        In display orientation; ``result.attrs["file_layout"]`` says how the
        input stored its frames ("matlab" when absent).

    Returns
    -------
    pathlib.Path
    """
    import hdf5storage  # slow to import; only needed here

    struct = neuron_struct(result)
    with atomic_path(path) as tmp:
        # v7.3 is savemat's default (its keyword is 'format' before 0.2, 'fmt' after)
        hdf5storage.savemat(str(tmp), {"neuron": struct}, appendmat=False, oned_as="row",
                            store_python_metadata=False,
                            action_for_matlab_incompatible="error",
                            truncate_existing=True, gzip_compression_level=_GZIP_LEVEL,
                            compressed_fletcher32_filter=False)
    return Path(path)
