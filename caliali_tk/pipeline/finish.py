"""The end of an extraction: quality of every component, kept and rejected.

Every component gets the metrics of :mod:`caliali_tk.core.cnmfe.quality`;
those that fail a limit of the parameters go to ``Result.rejected`` with
the reason, the others are the result (issue 10). Kept components are
ordered by snr, best first, as CaliAli orders its neurons.
"""

from __future__ import annotations

import numpy as np

from caliali_tk.core.cnmfe import footprints as fp
from caliali_tk.core.cnmfe.quality import component_quality, reject
from caliali_tk.io.params import FileParams
from caliali_tk.io.results import Result

__all__ = ["finished_result", "quality_limits"]


def quality_limits(params: FileParams) -> dict:
    """The limits :func:`caliali_tk.core.cnmfe.quality.reject` applies."""
    return {"min_pixels": params.min_pixels, "min_snr": params.min_trace_pnr,
            "min_spatial_corr": params.min_spatial_corr, "min_size": params.min_size,
            "max_size": params.max_size, "min_compactness": params.min_compactness,
            "max_elongation": params.max_elongation, "min_events": params.min_events}


def finished_result(A, traces, spatial_corr, b0, summary, params: FileParams,
                    attrs: dict) -> Result:
    """The extraction's Result: kept components, quality, rejected ones."""
    shape = summary.Cn.shape
    quality = component_quality(A, traces.C, traces.C_raw, traces.sn, spatial_corr,
                                shape, params.gSig)
    keep, reasons = reject(quality, np.diff(A.indptr), quality_limits(params))
    kept = np.flatnonzero(keep)
    kept = kept[np.argsort(-quality["snr"][kept], kind="stable")]
    dropped = np.flatnonzero(~keep)
    images = dict(b0=b0.astype(np.float32), Cn=summary.Cn, PNR=summary.PNR,
                  params=params.to_dict(), attrs=attrs)
    result = _components(A, traces, quality, kept, shape, images)
    result.rejected = _components(A, traces, quality, dropped, shape, images)
    result.rejected.reason = [reasons[k] for k in dropped]
    return result


def _components(A, traces, quality, idx, shape, images) -> Result:
    sub = A[:, idx]
    return Result(A=fp.to_dense(sub, shape), C=traces.C[idx], C_raw=traces.C_raw[idx],
                  S=traces.S[idx], centers=fp.centers_of(sub, shape), sn=traces.sn[idx],
                  quality={k: v[idx] for k, v in quality.items()}, **images)
