"""Benchmark movies from minisim (PyPI), an independent physical miniscope simulator.

Benchmark-only (minisim is never imported by caliali_tk or its tests).  The
physics -- optics, depths, populations, activity, neuropil, glow, sensor --
and the ground truth are those of ``minisim_cases.py`` (its
:func:`~minisim_cases.build_spec` and :func:`~minisim_cases.session_truth`);
this module only picks its own cases, at any frame size, single sessions only,
and writes the lighter file that ``bench_traces.py`` reads.

``write_case(name, path, height, width, n_frames, seed)`` writes a
CaliAli-style ``.h5`` (``/Object`` uint16 in MATLAB layout) with
``/ground_truth`` (``A``, ``C``: fluorescence change above rest in counts at
the footprint peak, bleaching included; ``S``: spikes per frame;
``centers``), readable by :func:`load_truth`.  Importing it needs minisim.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import h5py
import minisim
import numpy as np

from minisim_cases import CaseConfig, atomic_h5, build_spec, session_truth

_TRUTH_KEYS = ("A", "C", "S", "centers")

CASES = {c.name: c for c in (
    CaseConfig("clean_20hz", "moderate activity at 20 Hz, no bleaching"),
    CaseConfig("clean_10hz", "clean_20hz at 10 Hz", fps=10.0),
    CaseConfig("dense_dim", "dense, small, dim cells, strong neuropil, bleaching",
               target_density_per_mm3=90000.0, background_density_per_mm3=15000.0,
               soma_radius_um=5.0, photons_per_unit=200.0, neuropil_amplitude=1.0,
               bleach_intensity=60.0),
    CaseConfig("sparse_30hz", "sparse firing at 30 Hz", fps=30.0, activity=0.0),
    CaseConfig("lowfps_5hz", "clean_20hz at 5 Hz", fps=5.0),
)}


def write_case(name, path, height=128, width=128, n_frames=1500, seed=0):
    """Simulate case ``name`` and write it as a CaliAli ``.h5`` with its truth.

    Only the target cells (in focus and detectable) go into the truth, as
    float32: they are the ones a trace benchmark can score.
    """
    case = CASES[name]
    spec = build_spec(case, seed, n_frames, shape=(height, width))
    rec = minisim.simulate(spec)
    truth = session_truth(rec, spec)
    Y = np.clip(np.rint(rec.observed), 0, 65535).astype(np.uint16)
    with atomic_h5(path) as f:
        f.create_dataset("Object", data=np.swapaxes(Y, -1, -2),
                         chunks=(min(n_frames, 100), width, height))
        g = f.create_group("ground_truth")
        for key in _TRUTH_KEYS:
            g[key] = truth[key][truth["target"]].astype(np.float32)
        g.attrs["fps"] = case.fps
        g.attrs["case"] = name
    return Path(path)


def load_truth(path):
    """``A, C, S, centers`` and ``fps`` of a file written by :func:`write_case`."""
    with h5py.File(path, "r") as f:
        g = f["ground_truth"]
        return SimpleNamespace(**{k: g[k][()] for k in _TRUTH_KEYS},
                               fps=float(g.attrs["fps"]))
