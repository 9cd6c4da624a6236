"""The ``curation`` group of a results file: read it, and write it atomically.

Layout (beside the extraction's datasets, which are never changed)::

    /curation                 attrs: format, format_version, n_extraction, n_rejected
    /curation/numbers         (n,) int32   neurons in the list, as the window numbers them
    /curation/accepted        (n,) uint8   1 = accepted
    /curation/merges          (m,) str     "4+5 -> 301", one per merge still in effect
    /curation/history         (h,) str     JSON per operation: op, its neurons, time,
                                           and the list after it (numbers, accepted,
                                           pool: indices into extraction + rejected +
                                           components, 0-based)
    /curation/components/     components curation made, in the root datasets'
        A C C_raw S sn centers  layout; number (int32) is the neuron number each
        number origin           shows as (new ones from n_extraction + n_rejected + 1,
                                a refitted neighbour keeps its own), origin (str)
                                says how it was made

Saving writes a new file next to the results (every root object copied as
it is, then the new ``curation`` group), flushes it and renames it over the
old one, so a crash leaves either the old file or the new one, never a
half-written one, and the file does not grow with each save.

The extraction's quality values and set-aside components (``/quality``,
``/rejected``, issue 10) are read from :class:`~caliali_tk.io.results.Result`
when it carries them, else from the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from caliali_tk.io.atomic import atomic_path
from caliali_tk.io.curation import QUALITY_METRICS, Components, Curation, State
from caliali_tk.io.orientation import from_display, to_display
from caliali_tk.io.results import ResultsError, file_layout, load_results

__all__ = ["load_curation", "save_curation", "CURATION_FORMAT"]

CURATION_FORMAT = "caliali-tk-curation"
CURATION_VERSION = 1
_STR = h5py.string_dtype("utf-8")


def load_curation(path: "str | os.PathLike[str]", result=None) -> Curation:
    """The curation of a results file (a fresh one if it has none).

    Parameters
    ----------
    path : path
        ``*_cnmfe.h5``.
    result : Result, optional
        The file's extraction, if already loaded.

    Raises
    ------
    ResultsError
        The file is not a results file, or its curation group is damaged.
    """
    path = Path(path)
    result = result if result is not None else load_results(path)
    try:
        with h5py.File(path, "r") as f:
            to_disp, _ = _layout(f, result)
            rejected = getattr(result, "rejected", None)
            if rejected is None or not isinstance(rejected, Components):
                rejected = _read_block(f.get("rejected"), to_disp, result)
            quality = _read_quality(f, result)
            group = f.get("curation")
            made, labels, states = (None, None, None) if group is None else \
                _read_group(group, to_disp, result)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ResultsError(f"{path.name}: damaged curation ({_first_line(exc)})") from exc
    return Curation(result, rejected=rejected, quality=quality, made=made, states=states,
                    made_labels=labels)


def save_curation(path: "str | os.PathLike[str]", curation: Curation) -> Path:
    """Write `curation` into results file `path`, atomically (see the module docstring)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(path, "r") as src, h5py.File(tmp, "w") as dst:
            for name in src:
                if name != "curation":
                    src.copy(src[name], dst, name=name)
            for key, value in src.attrs.items():
                dst.attrs[key] = value
            _, from_disp = _layout(src, curation.result)
            _write_group(dst.create_group("curation"), curation, from_disp)
    return path


# -- reading ------------------------------------------------------------------------------

def _layout(f: h5py.File, result):
    """(stored -> display, display -> stored) for footprint stacks, as the root ``A``."""
    layout = file_layout({k: _text(v) if isinstance(v, bytes) else v
                          for k, v in f.attrs.items()})
    return (lambda a: to_display(a, layout)), (lambda a: from_display(a, layout))


def _read_block(group, to_disp, result):
    if group is None:
        return None
    arrays = {n: np.asarray(group[n][()], np.float32) for n in Components.FIELDS}
    arrays["A"] = np.ascontiguousarray(to_disp(arrays["A"]))
    n = len(arrays["A"])
    origin = [_text(s) for s in group["origin"][()]] if "origin" in group else \
        _rejected_reasons(group, n)
    for name in ("C", "C_raw", "S"):
        arrays[name] = arrays[name].reshape(n, result.T)
    arrays["sn"], arrays["centers"] = arrays["sn"].reshape(n), arrays["centers"].reshape(n, 2)
    return Components(**arrays, origin=origin)


def _rejected_reasons(group, n):
    if "reason" in group:
        return [f"rejected: {_text(s)}" for s in group["reason"][()]]
    return ["rejected by the quality filter"] * n


def _read_quality(f: h5py.File, result) -> dict:
    """``/quality`` and ``/rejected/quality`` joined, per metric (pool order)."""
    own = getattr(result, "quality", None)
    rej = getattr(getattr(result, "rejected", None), "quality", None)
    out = {}
    for name in QUALITY_METRICS:
        a = _metric(own, f.get("quality"), name)
        b = _metric(rej, f.get("rejected/quality"), name)
        if a is not None:
            n_rej = len(f["rejected/A"]) if "rejected/A" in f else 0
            if b is None and n_rej:
                b = np.full(n_rej, np.nan, np.float32)
            out[name] = a if b is None else np.concatenate([a, b])
    return out


def _metric(mapping, group, name):
    if isinstance(mapping, dict) and name in mapping:
        return np.asarray(mapping[name], np.float32).ravel()
    if group is not None and isinstance(group.get(name), h5py.Dataset):
        return np.asarray(group[name][()], np.float32).ravel()
    return None


def _read_group(group, to_disp, result):
    comps = group.get("components")
    made = _read_block(comps, to_disp, result) if comps is not None else None
    labels = np.asarray(comps["number"][()], np.int64) if comps is not None else None
    states = []
    for record in group["history"][()] if "history" in group else []:
        op = json.loads(_text(record))
        op.pop("numbers", None)
        ids = np.asarray(op.pop("pool"), np.int64)
        accepted = np.asarray(op.pop("accepted"), bool)
        states.append(State(ids, accepted, op))
    if not states:
        return made, labels, None
    n_base = result.K + (len(group.file["rejected/A"]) if "rejected/A" in group.file else 0)
    first = State(np.arange(n_base), np.arange(n_base) < result.K, {"op": "extraction"})
    return made, labels, [first] + states


# -- writing ------------------------------------------------------------------------------

def _write_group(g: h5py.Group, cur: Curation, from_disp) -> None:
    g.attrs.update({"format": CURATION_FORMAT, "format_version": CURATION_VERSION,
                    "n_extraction": cur.result.K, "n_rejected": len(cur.rejected)})
    g.create_dataset("numbers", data=cur.numbers.astype(np.int32))
    g.create_dataset("accepted", data=cur.accepted.astype(np.uint8))
    g.create_dataset("merges", data=np.array(_merges(cur), dtype=object), dtype=_STR)
    history = [json.dumps(dict(s.op, numbers=cur.labels[s.ids].tolist(),
                               pool=s.ids.tolist(), accepted=s.accepted.astype(int).tolist()))
               for s in cur.states[1:]]
    g.create_dataset("history", data=np.array(history, dtype=object), dtype=_STR)
    made = cur.pool.take(np.arange(cur.made_from, len(cur.pool)))
    c = g.create_group("components")
    for name in Components.FIELDS:
        data = np.asarray(getattr(made, name), np.float32)
        if name == "A":
            data = np.ascontiguousarray(from_disp(data))
            kw = dict(chunks=(1,) + data.shape[1:], compression="gzip") if len(data) else {}
            c.create_dataset(name, data=data, **kw)
        else:
            c.create_dataset(name, data=data)
    c.create_dataset("origin", data=np.array(made.origin, dtype=object), dtype=_STR)
    c.create_dataset("number", data=cur.labels[cur.made_from:].astype(np.int32))


def _merges(cur: Curation) -> list:
    """The merges whose result is still in the list."""
    live = set(cur.numbers.tolist())
    out = []
    for s in cur.states[1:]:
        if s.op.get("op") == "merge" and s.op.get("new") and s.op["new"][0] in live:
            out.append("+".join(str(n) for n in s.op["neurons"]) + f" -> {s.op['new'][0]}")
    return out


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _first_line(exc) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
