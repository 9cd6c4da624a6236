"""Curation edits that need the movie: merge neurons, add a missed neuron.

Both read the source video again (streaming, chunk by chunk), fit the
changed components' traces on a box around them
(:mod:`caliali_tk.core.cnmfe.refit`) and hand the new components to the
:class:`~caliali_tk.io.curation.Curation`; they report progress and stop
at the next chunk when cancelled, like the extraction. Nothing is written:
saving is :func:`caliali_tk.io.curation_file.save_curation`.

Each edit comes in two steps: ``plan_*`` reads the curation and the movie
and returns an :class:`Edit` without changing anything (the window runs it
in a worker thread), and :meth:`Edit.apply` puts it into the curation (the
window does that on its own thread). :func:`merge` and :func:`add_neuron`
do both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from caliali_tk.core.binning import add_to_bins, bin_time, n_bins
from caliali_tk.core.cnmfe import refit
from caliali_tk.core.cnmfe.footprints import disc
from caliali_tk.errors import UserError
from caliali_tk.io.curation import Components, Curation, CurationError
from caliali_tk.io.params import FileParams
from caliali_tk.io.video import VideoFile
from caliali_tk.pipeline.common import Stage, check
from caliali_tk.pipeline.traces import deconv_settings

__all__ = ["source_video", "Edit", "plan_merge", "plan_add", "merge", "add_neuron"]

CHUNK_BYTES = 64 * 2 ** 20  # frames read at a time
BOX_BYTES_SHARE = 1 / 8  # share of the memory budget for the binned box of add_neuron
SAME_NEURON = 0.8  # an added footprint this alike (cosine) to a neighbour's is that one


def source_video(results_file, result) -> Path:
    """The video a result was extracted from: its ``source_file`` beside the results.

    Raises
    ------
    UserError
        The video is not there, or not the one extracted (another size).
    """
    results_file = Path(results_file)
    name = result.attrs.get("source_file")
    if not name:
        raise UserError(f"{results_file.name}: the results do not name their video; "
                        "merging and adding neurons need it")
    video = results_file.with_name(str(name))
    if not video.is_file():
        raise UserError(f"{results_file.name}: its video {name} is not beside it; "
                        "merging and adding neurons need the movie")
    size = result.attrs.get("source_size")
    if size is not None and int(size) != video.stat().st_size:
        raise UserError(f"{name}: not the video these results were extracted from "
                        "(its size has changed)")
    return video


def _params(result) -> FileParams:
    p = FileParams.from_dict({k: v for k, v in result.params.items()
                              if k in FileParams.__dataclass_fields__})
    if p.scale_to_noise:  # issue 11: the model A·C must be in movie units here
        raise CurationError("these traces are stored in noise units (scale_to_noise); "
                            "merging and adding neurons need an extraction in movie units")
    return p


@dataclass
class Edit:
    """New components replacing neurons `numbers` of a curation (see `Curation.replace`)."""

    numbers: list
    new: Components
    op: dict
    accepted: bool = True

    def apply(self, cur: Curation) -> list:
        """Put the edit into `cur`; returns the numbers of the new (not refitted) neurons."""
        made = cur.replace(self.numbers, self.new, self.op)
        if not self.accepted:  # a merge of rejected neurons stays rejected
            cur.state.accepted[-1] = False
        return made


def merge(cur: Curation, numbers, video, progress=None, cancel=None) -> int:
    """Merge neurons `numbers` into one (see `plan_merge`); returns its number."""
    return plan_merge(cur, numbers, video, progress, cancel).apply(cur)[0]


def add_neuron(cur: Curation, row: float, col: float, video, progress=None,
               cancel=None) -> tuple:
    """Add a neuron at (row, col) (see `plan_add`); returns its number and the
    refitted neighbours' numbers."""
    edit = plan_add(cur, row, col, video, progress, cancel)
    return edit.apply(cur)[0], list(edit.numbers)


def plan_merge(cur: Curation, numbers, video, progress=None, cancel=None) -> Edit:
    """Merge neurons `numbers` (two or more) into one.

    The footprint is the rank-1 fit of the members' ``a c^T``; its trace is
    refitted from the movie with the neighbours' traces held fixed.
    """
    numbers = [int(n) for n in dict.fromkeys(numbers)]
    if len(numbers) < 2:
        raise CurationError("select two or more neurons to merge")
    pos = [cur.position(n) for n in numbers]
    members = cur.pool.take(cur.state.ids[pos])
    a = refit.merged_footprint(members.A, members.C)[None]
    p = _params(cur.result)
    traces = _fit(cur, a, set(pos), video, p, Stage(progress, 0, 1), cancel)
    text = "+".join(str(n) for n in numbers)
    new = Components(a, *traces, _centers(a), [f"merge of {text}"])
    return Edit(numbers, new, {"op": "merge", "neurons": numbers, "text": f"merged {text}"},
                accepted=bool(cur.accepted[pos].any()))


def plan_add(cur: Curation, row: float, col: float, video, progress=None,
             cancel=None) -> Edit:
    """Initialise a neuron at (row, col) from the movie; refit it and its neighbours.

    The seed is the pixel within gSig of the click where the residual peaks.
    The edit's `numbers` are the neighbours whose traces are refitted (they
    keep their numbers).

    Raises
    ------
    CurationError
        No neuron could be initialised there.
    """
    stage = Stage(progress, 0, 1)
    p = _params(cur.result)
    a, (r, c) = _new_footprint(cur, int(round(row)), int(round(col)), video, p,
                               stage.sub(0, 0.5), cancel)
    numbers, comps = cur.components()
    grown = ndimage.binary_dilation(a > 0, structure=disc(max(1.0, p.gSig)))
    near = np.flatnonzero((comps.A[:, grown] > 0).any(axis=1)) if len(comps) else []
    for i in near:
        if _cosine(a, comps.A[i]) > SAME_NEURON:
            raise CurationError(f"neuron {numbers[i]} is already there (row {r}, col {c})")
    targets = np.concatenate([a[None], comps.A[near]])
    traces = _fit(cur, targets, set(int(i) for i in near), video, p,
                  stage.sub(0.5, 1.0), cancel)
    C, C_raw, S, sn = traces
    if C_raw[0].max(initial=0) < p.min_trace_pnr * sn[0] or S[0].max(initial=0) <= 0:
        raise CurationError(f"no neuron found at row {r}, col {c}: its trace has no "
                            f"transient {p.min_trace_pnr:g} noise sd high")
    origin = [f"added at row {r}, col {c}"] + \
        [f"neuron {numbers[i]} refitted beside an added neuron" for i in near]
    new = Components(targets, *traces, _centers(targets), origin)
    neighbours = [int(numbers[i]) for i in near]
    op = {"op": "add", "row": r, "col": c, "neurons": neighbours,
          "refits": {str(n): i + 1 for i, n in enumerate(neighbours)},
          "text": f"added a neuron at row {r}, col {c}"}
    return Edit(neighbours, new, op)


def _new_footprint(cur, r, c, video, p: FileParams, stage: Stage, cancel) -> tuple:
    """The footprint (H, W) initialised near (r, c) on the box's residual movie,
    and the seed pixel (row, col) it grew from."""
    res = cur.result
    half = 2 * p.gsiz
    rs = slice(max(0, r - half), min(res.H, r + half + 1))
    cs = slice(max(0, c - half), min(res.W, c + half + 1))
    box, tb = _binned_box(video, rs, cs, p, stage, cancel)
    _, comps = cur.components()
    C_bin = bin_time(comps.C, tb, axis=1)
    box -= np.einsum("kt,khw->thw", C_bin, comps.A[:, rs, cs])
    found = refit.footprint_in_box(box, r - rs.start, c - cs.start, p.gSig, p.gsiz,
                                   p.min_pixels)
    if found is None:
        raise CurationError(f"no neuron found at row {r}, col {c}: once the known "
                            "neurons are taken out, the movie there rises no higher "
                            "than its noise")
    a = np.zeros((res.H, res.W), np.float32)
    a[rs, cs] = found[0]
    return a, (rs.start + found[1][0], cs.start + found[1][1])


def _binned_box(video, rs, cs, p: FileParams, stage: Stage, cancel) -> np.ndarray:
    """The movie in a box averaged over bins of ``tb`` frames (to fit the memory
    budget), and ``tb``."""
    with VideoFile(video) as vf:
        T = vf.n_frames
        pixels = (rs.stop - rs.start) * (cs.stop - cs.start)
        most = max(50, int(p.max_memory_gb * 2 ** 30 * BOX_BYTES_SHARE / (12 * pixels)))
        tb = max(1, -(-T // most))
        box = np.zeros((n_bins(T, tb), rs.stop - rs.start, cs.stop - cs.start), np.float32)
        counts = np.zeros(len(box))
        for start, frames in vf.iter_chunks(vf.chunk_frames_for(CHUNK_BYTES)):
            check(cancel)
            add_to_bins(box, counts, frames[:, rs, cs], start, tb)
            stage((start + len(frames)) / T, "reading the movie around the click")
    return box / counts[:, None, None], tb


def _fit(cur, targets, exclude: set, video, p: FileParams, stage: Stage, cancel) -> tuple:
    """Traces ``(C, C_raw, S, sn)`` of `targets` (n, H, W) refitted from the movie.

    The list's other neurons in the box (all but positions `exclude`) are
    held at their traces.
    """
    res = cur.result
    rs, cs = refit.box_around(targets, p.gsiz, (res.H, res.W))
    _, comps = cur.components()
    inside = [i for i in range(len(comps)) if i not in exclude
              and (comps.A[i, rs, cs] > 0).any()]
    fit = refit.LocalFit(targets[:, rs, cs], comps.A[inside][:, rs, cs], res.b0[rs, cs])
    C_fixed = comps.C[inside]
    raw = np.zeros((len(targets), res.T), np.float32)
    with VideoFile(video) as vf:
        if vf.n_frames != res.T or (vf.height, vf.width) != (res.H, res.W):
            raise UserError(f"{Path(video).name}: not the video these results were "
                            f"extracted from (shape {vf.shape})")
        for start, frames in vf.iter_chunks(vf.chunk_frames_for(CHUNK_BYTES)):
            check(cancel)
            stop = start + len(frames)
            raw[:, start:stop] = fit.traces(frames[:, rs, cs], C_fixed[:, start:stop])
            stage(stop / res.T, "refitting traces")
    return refit.deconvolve_traces(raw, deconv_settings(p))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    den = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float((a * b).sum()) / den if den > 0 else 0.0


def _centers(A: np.ndarray) -> np.ndarray:
    """Weighted centroid (row, col) of each footprint."""
    out = np.zeros((len(A), 2), np.float32)
    for k, a in enumerate(A):
        rows, cols = np.nonzero(a)
        w = a[rows, cols]
        out[k] = (rows @ w / w.sum(), cols @ w / w.sum()) if w.sum() > 0 else np.nan
    return out
