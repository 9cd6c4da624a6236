"""The deconvolution settings of an extraction and the finish of its traces.

:func:`deconv_settings` turns a :class:`~caliali_tk.io.params.FileParams`
into the :class:`~caliali_tk.core.deconv.DeconvSettings` that every
temporal update uses; :func:`finish_traces` is CaliAli's post-processing of
the final traces (noise σ per session, noise units, SNR order) and collects
what the results file stores about each trace (g, rise and decay times,
SNR, the scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caliali_tk.core.cnmfe import postprocess as post
from caliali_tk.core.cnmfe.update import Traces
from caliali_tk.core.deconv import DeconvSettings, deconvolve_trace, kernel_taus, trim_ar
from caliali_tk.io.params import FileParams
from caliali_tk.pipeline.trace_ops import take_rows

__all__ = ["deconv_settings", "finish_traces", "TraceInfo"]


def deconv_settings(params: FileParams) -> DeconvSettings:
    """The deconvolution settings a FileParams asks for (its preset applied)."""
    settings = DeconvSettings(model=params.deconv_model, method=params.deconv_method,
                              s_min=params.s_min, lam=params.deconv_lam, fps=params.fps,
                              tau_decay_range=(params.tau_decay_min, params.tau_decay_max))
    return settings.with_preset(params.deconv_preset)


@dataclass
class TraceInfo:
    """What the results file keeps about each trace besides C, C_raw, S, sn.

    Attributes
    ----------
    g : ndarray float32 (K, 2)
        AR coefficients (``g[:, 1] = 0``: AR(1)).
    tau_decay, tau_rise : ndarray float32 (K,)
        Time constants of the kernel, seconds (rise 0: AR(1)).
    snr : ndarray float32 (K,)
        ``var(C) / var(C_raw − C)``.
    trace_scale : ndarray float32 (K, n_sessions)
        The noise σ of each trace in each session (movie units): the stored
        traces are divided by it when ``scale_to_noise`` is set, and
        multiplying by it takes them back to movie units.
    order : ndarray int64 (K,)
        For each neuron as stored, its index before the SNR ordering.
    """

    g: np.ndarray
    tau_decay: np.ndarray
    tau_rise: np.ndarray
    snr: np.ndarray
    trace_scale: np.ndarray
    order: np.ndarray

    def attach(self, result, idx=None) -> None:
        """Copy the fields (of the neurons ``idx``, default all) onto a Result."""
        for name in ("g", "tau_decay", "tau_rise", "snr", "trace_scale", "order"):
            value = getattr(self, name)
            setattr(result, name, value if idx is None else value[idx])


def finish_traces(A, traces: Traces, params: FileParams, frames_per_session=None,
                  alloc=None):
    """CaliAli's finish: the noise of each trace per session, noise units, SNR order.

    The noise σ of each trace in each session comes from the residual of the
    deconvolution (:func:`~caliali_tk.core.cnmfe.postprocess.noise_scale`);
    with ``params.scale_to_noise`` each trace is divided by it, session by
    session, and deconvolved again with its own kernel (with one session C
    and S simply scale along). With ``params.order_by_snr`` the neurons are
    sorted by decreasing SNR.

    Parameters
    ----------
    A : scipy.sparse matrix (pixels, K)
    traces : Traces
    params : FileParams
    frames_per_session : list of int, optional
    alloc : callable, optional
        Makes the reordered (K, T) arrays (the memory plan's allocator, issue 9).

    Returns
    -------
    A, traces, info : the footprints and traces in their final order and
    units, and a :class:`TraceInfo`.
    """
    K, T = traces.C.shape
    slices = post.session_slices(T, frames_per_session)
    scale = post.noise_scale(traces.C_raw, traces.C, slices) if K else \
        np.ones((0, len(slices)), np.float32)
    if params.scale_to_noise and K:
        traces = _rescaled(traces, scale, slices, deconv_settings(params))
    snr = post.trace_snr(traces.C, traces.C_raw)
    order = post.snr_order(snr) if params.order_by_snr else np.arange(K, dtype=np.int64)
    taus = np.array([kernel_taus(trim_ar(g), params.fps) for g in traces.g],
                    np.float32).reshape(K, 2)
    rows = (lambda X: take_rows(X, order, alloc)) if alloc else (lambda X: X[order])
    base = traces.baselines[order] if traces.baselines is not None else None
    traces = Traces(rows(traces.C), rows(traces.C_raw), rows(traces.S),
                    traces.sn[order], traces.g[order], base)
    info = TraceInfo(g=traces.g.astype(np.float32), tau_decay=taus[order, 0],
                     tau_rise=taus[order, 1], snr=snr[order], trace_scale=scale[order],
                     order=order)
    return A[:, order], traces, info


def _rescaled(traces: Traces, scale, slices, settings: DeconvSettings) -> Traces:
    """Traces in noise units: divided, and deconvolved again when sessions differ."""
    C_raw = post.apply_scale(traces.C_raw, scale, slices)
    sn = (traces.sn / scale[:, 0]).astype(np.float32)
    if len(slices) == 1:
        return Traces(post.apply_scale(traces.C, scale, slices), C_raw,
                      post.apply_scale(traces.S, scale, slices), sn, traces.g)
    C, S = np.zeros_like(C_raw), np.zeros_like(C_raw)
    sn = np.ones(len(C_raw), np.float32)
    for k in range(len(C_raw)):
        d = deconvolve_trace(C_raw[k], settings, g=trim_ar(traces.g[k]), sn=1.0)
        C[k], S[k] = d.c, d.s
        C_raw[k] -= np.float32(d.b)
    return Traces(C, C_raw, S, sn, traces.g)

