"""Benchmark movies from minisim (PyPI), an independent physical miniscope simulator.

Benchmark-only (minisim is never imported by caliali_tk or its tests). The
cases follow the project's minisim wrapper (``/work/scratch/minisim``, whose
configuration this copies in brief): 1.5 µm pixels behind a 3.2× NA 0.3
objective, an in-focus band of cytosolic GCaMP cells 50–65 µm deep (focal
plane 57 µm) plus a deeper out-of-focus population, neuropil, illumination
falloff, vignette, leakage glow and a shot + read noise sensor; the indicator
kernel has a 50 ms rise and a 0.5 s decay and is integrated over each frame's
exposure, spikes come in bursts (a two-state gate). Single sessions only.

``write_case(name, path, height, width, n_frames, seed)`` writes a
CaliAli-style ``.h5`` (``/Object`` uint16 in MATLAB layout) with
``/ground_truth`` (``A``, ``C``: fluorescence change above rest in counts at
the footprint peak, bleaching included; ``S``: spikes per frame;
``centers``), readable by :func:`load_truth`.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np

_PIXEL_PITCH_UM, _MAGNIFICATION, _NA = 4.8, 3.2, 0.3
_FIELD_CURVATURE_UM, _FOCAL_DEPTH_UM = 2500.0, 57.0
_TARGET_DEPTH_UM, _BACKGROUND_DEPTH_UM = (50.0, 65.0), (70.0, 200.0)
_LEAKAGE_LEVEL = 0.08
_REFERENCE_FPS = 20.0  # minisim's gate probabilities are per frame at this rate


@dataclasses.dataclass(frozen=True)
class Case:
    """One minisim configuration (see the project's wrapper for the physics)."""

    name: str
    fps: float = 20.0
    target_density_per_mm3: float = 45000.0
    background_density_per_mm3: float = 8000.0
    soma_radius_um: float = 6.0
    photons_per_unit: float = 2000.0
    baseline_f0: float = 5.0
    neuropil_amplitude: float = 0.5
    activity: float = 0.5
    tau_rise_s: float = 0.05
    tau_decay_s: float = 0.5
    bleach_intensity: float = 0.0


CASES = {c.name: c for c in (
    Case("clean_20hz"),
    Case("clean_10hz", fps=10.0),
    Case("dense_dim", target_density_per_mm3=90000.0, background_density_per_mm3=15000.0,
         soma_radius_um=5.0, photons_per_unit=200.0, neuropil_amplitude=1.0,
         bleach_intensity=60.0),
    Case("sparse_30hz", fps=30.0, activity=0.0),
    Case("lowfps_5hz", fps=5.0),
)}


def _per_frame(p_ref, fps):
    return float(1.0 - (1.0 - p_ref) ** (_REFERENCE_FPS / fps))


def _spec(case: Case, height, width, n_frames, seed):
    import minisim
    from minisim.steps import spike_activity_params

    acq = minisim.Acquisition(
        fps=case.fps, duration_s=n_frames / case.fps,
        optics=minisim.Optics(na=_NA, magnification=_MAGNIFICATION,
                              field_curvature_radius_um=_FIELD_CURVATURE_UM),
        image_sensor=minisim.ImageSensor(n_px_height=height, n_px_width=width,
                                         pixel_pitch_um=_PIXEL_PITCH_UM, bit_depth=16,
                                         gain_adu_per_e=1.0),
        focal_depth_in_tissue_um=_FOCAL_DEPTH_UM)
    pops = [minisim.NeuronPopulation(density_per_mm3=d, soma_radius_um=case.soma_radius_um,
                                     morphology="cytosolic", depth_range_um=z)
            for d, z in ((case.target_density_per_mm3, _TARGET_DEPTH_UM),
                         (case.background_density_per_mm3, _BACKGROUND_DEPTH_UM))]
    p_q2a, p_a2q, active_hz, quiet_hz = spike_activity_params(case.activity)
    p_a2q_fps = _per_frame(p_a2q, case.fps)
    active_hz *= (p_a2q_fps * case.fps) / (p_a2q * _REFERENCE_FPS)  # spikes per burst kept
    steps = [
        minisim.PlaceNeurons(populations=pops),
        minisim.CellActivity(p_quiescent_to_active=_per_frame(p_q2a, case.fps),
                             p_active_to_quiescent=p_a2q_fps, active_rate_hz=active_hz,
                             quiescent_rate_hz=quiet_hz, tau_rise_s=case.tau_rise_s,
                             tau_decay_s=case.tau_decay_s, f0=case.baseline_f0),
        minisim.CellOptics(), minisim.Composite(),
        minisim.Neuropil(amplitude=case.neuropil_amplitude * case.baseline_f0),
        minisim.IlluminationProfile(falloff=0.7), minisim.Vignette(falloff=0.6),
        minisim.Leakage(profile="gaussian", level=_LEAKAGE_LEVEL * case.baseline_f0),
        minisim.Sensor(photons_per_unit=case.photons_per_unit),
    ]
    if case.bleach_intensity > 0:
        steps.append(minisim.Bleaching(excitation_intensity=case.bleach_intensity))
    return minisim.Spec(acquisition=acq, seed=seed, steps=steps)


def _truth(rec, spec, case: Case):
    """In-focus, detectable cells: footprints (peak 1), ΔF in counts, spikes."""
    acq = spec.acquisition
    gt = rec.ground_truth
    sensor = next(s for s in spec.steps if s.kind == "sensor")
    hw = (acq.image_sensor.n_px_height, acq.image_sensor.n_px_width)
    field = np.ones(hw)
    for f in (gt.illumination, gt.vignette):
        if f is not None:
            field = field * f
    counts = (sensor.photons_per_unit * acq.image_sensor.quantum_efficiency
              * acq.image_sensor.gain_adu_per_e)
    A = gt.A_observed * field[None] * counts
    peak = A.reshape(len(A), -1).max(axis=1)
    peak = np.where(peak > 0, peak, 1.0)
    bleach = gt.bleaching if gt.bleaching is not None else np.ones_like(gt.C)
    C = peak[:, None] * (gt.C - (gt.amplitude_per_cell * case.baseline_f0)[:, None]) * bleach
    rows, cols = acq.um_to_index(gt.centers_um[:, 1], gt.centers_um[:, 2], hw)
    keep = ((gt.depth_um >= _TARGET_DEPTH_UM[0]) & (gt.depth_um <= _TARGET_DEPTH_UM[1])
            & gt.detectable)
    return dict(A=(A / peak[:, None, None])[keep].astype(np.float32),
                C=C[keep].astype(np.float32), S=gt.S[keep].astype(np.float32),
                centers=np.stack([rows, cols], 1)[keep].astype(np.float32))


def write_case(name, path, height=128, width=128, n_frames=1500, seed=0):
    """Simulate case ``name`` and write it as a CaliAli ``.h5`` with its truth."""
    import minisim

    case = CASES[name]
    spec = _spec(case, height, width, n_frames, seed)
    rec = minisim.simulate(spec)
    truth = _truth(rec, spec, case)
    Y = np.clip(np.rint(rec.observed), 0, 65535).astype(np.uint16)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("Object", data=np.swapaxes(Y, -1, -2),
                             chunks=(min(n_frames, 100), width, height))
            g = f.create_group("ground_truth")
            for key, value in truth.items():
                g[key] = value
            g.attrs["fps"] = case.fps
            g.attrs["case"] = name
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_truth(path):
    """``A, C, S, centers`` and ``fps`` of a file written by :func:`write_case`."""
    with h5py.File(path, "r") as f:
        g = f["ground_truth"]
        return SimpleNamespace(**{k: g[k][()] for k in ("A", "C", "S", "centers")},
                               fps=float(g.attrs["fps"]))
