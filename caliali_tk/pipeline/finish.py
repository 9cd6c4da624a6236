"""The end of an extraction: quality of every component, kept and rejected.

Every component gets the metrics of :mod:`caliali_tk.core.cnmfe.quality`;
those that fail a limit of the parameters go to ``Result.rejected`` with
the reason, the others are the result (issue 10). Kept components stay in
the order the trace finish gave them (CaliAli's SNR order, issue 11), or,
without it, are ordered by the quality snr, best first.
"""

from __future__ import annotations

import numpy as np

from caliali_tk.core.cnmfe import footprints as fp
from caliali_tk.core.cnmfe.quality import component_quality, reject
from caliali_tk.io.params import FileParams
from caliali_tk.io.results import Result
from caliali_tk.pipeline.trace_ops import take_rows

__all__ = ["finished_result", "quality_limits"]


def quality_limits(params: FileParams) -> dict:
    """The limits :func:`caliali_tk.core.cnmfe.quality.reject` applies."""
    return {"min_pixels": params.min_pixels, "min_snr": params.min_trace_pnr,
            "min_spatial_corr": params.min_spatial_corr, "min_size": params.min_size,
            "max_size": params.max_size, "min_compactness": params.min_compactness,
            "max_elongation": params.max_elongation, "min_events": params.min_events}


def finished_result(A, traces, spatial_corr, b0, summary, params: FileParams,
                    attrs: dict, alloc=None, info=None) -> Result:
    """The extraction's Result: kept components, quality, rejected ones.

    ``alloc(shape)``, when given, makes the (K, ...) arrays (the memory
    plan's allocator: a file on disk when they do not fit, issue 9).
    ``info`` (a :class:`caliali_tk.pipeline.traces.TraceInfo`, issue 11):
    the components are already in their final order (by SNR), which the
    kept ones keep, and each part gets its rows of it.
    """
    shape = summary.Cn.shape
    quality = component_quality(A, traces.C, traces.C_raw, traces.sn, spatial_corr,
                                shape, params.gSig)
    keep, reasons = reject(quality, np.diff(A.indptr), quality_limits(params))
    kept = np.flatnonzero(keep)
    if info is None:
        kept = kept[np.argsort(-quality["snr"][kept], kind="stable")]
    dropped = np.flatnonzero(~keep)
    images = dict(b0=b0.astype(np.float32), Cn=summary.Cn, PNR=summary.PNR,
                  params=params.to_dict(), attrs=attrs)
    result = _components(A, traces, quality, kept, shape, images, alloc)
    result.rejected = _components(A, traces, quality, dropped, shape, images, alloc)
    result.rejected.reason = [reasons[k] for k in dropped]
    if info is not None:
        info.attach(result, kept)
    return result


def _components(A, traces, quality, idx, shape, images, alloc=None) -> Result:
    sub = A[:, idx]
    rows = alloc or (lambda shape_: np.zeros(shape_, np.float32))
    base = traces.baselines[idx] if traces.baselines is not None else None
    return Result(A=_dense(sub, shape, alloc), C=take_rows(traces.C, idx, rows),
                  C_raw=take_rows(traces.C_raw, idx, rows), S=take_rows(traces.S, idx, rows),
                  centers=fp.centers_of(sub, shape), sn=traces.sn[idx],
                  quality={k: v[idx] for k, v in quality.items()},
                  session_baseline=base, **images)


def _dense(A, shape, alloc=None):
    """Footprints as (K, H, W) float32, in ``alloc``'s storage."""
    if alloc is None:
        return fp.to_dense(A, shape)
    out = alloc((A.shape[1], shape[0] * shape[1]))
    for k in range(A.shape[1]):
        lo, hi = A.indptr[k], A.indptr[k + 1]
        out[k, A.indices[lo:hi]] = A.data[lo:hi]
    return out.reshape(A.shape[1], *shape)
