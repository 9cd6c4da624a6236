"""Benchmark movies for caliali-tk, simulated with the ``minisim`` package.

``minisim`` (PyPI, GPL-3.0-or-later) builds a one-photon miniscope recording
forward from its physics: neurons placed in a 3-D volume, calcium activity,
photobleaching, optics (diffraction, defocus, scatter), a diffuse neuropil,
illumination falloff, vignette, stray-light leakage and a shot + read noise
sensor.  This module only *configures and calls* minisim; on top of it it adds
what minisim does not do itself:

* per-session gains / offsets and per-session (fresh-start) bleaching for a
  multi-session movie, with the same cells in every session;
* per-frame row / column offsets ("line noise", horizontal stripes);
* a minian-like background-removal pass producing a low-range uint8 movie;
* the CaliAli file layout (``/Object`` in MATLAB layout, sessions at
  ``/CaliAli_options/inter_session_alignment/F``) and a ground-truth group;

Geometry shared by every case: 256 x 256 pixels of 1.5 um (a 384 um field of
view; 4.8 um sensor pitch behind a 3.2x objective, NA 0.3, field-curvature
radius 2.5 mm).  The *target* cells are a thin in-focus band (50-65 um deep,
focal plane at 57 um), soma radius 6 um (5 um in ``dense_dim``), cytosolic
GCaMP, so their footprints have a Gaussian width of about 2-3.5 px (caliali-tk
``gSig`` about 2.5-3).  A second, deeper population (70-200 um) is simulated
too; it is out of focus and becomes part of the fluctuating background.  It is
*not* in the ground truth (but its centres are kept, see ``all_centers``).

Ground truth written under ``/ground_truth`` (K target cells, T frames):

``A`` (K, H, W) float32
    Footprints in display orientation, each scaled to a peak of 1.
``C`` (K, T) float32
    The cell's emitted fluorescence change above its own resting baseline,
    in movie counts at the footprint's peak pixel (so ``A[k] * C[k, t]`` is
    cell k's contribution to frame t above rest): calcium trace times the
    bleaching envelope.  Session gains are *not* folded in.
``S`` (K, T) float32
    Spike counts per frame.
``centers`` (K, 2) float32
    (row, col), display orientation, 0-based.
plus ``F0`` (resting level, counts at the peak pixel), ``bleach`` (K, T),
``depth_um``, ``sigma_px`` (optical blur), ``pnr`` (peak change over pixel
noise), ``all_centers`` / ``all_is_target`` / ``all_detectable`` for every
simulated cell, and, for multi-session cases, ``session_gain`` /
``session_offset``.  Attributes hold the case name, fps, noise std, the
minisim version and the full minisim spec as JSON.

Sizes and generation times (2-core machine; see ``CASES``):

=================  ==================  ======  ======================
case               frames x H x W      fps     generation (approx.)
=================  ==================  ======  ======================
clean_20hz         3000 x 256 x 256    20      see the report
dense_dim          3000 x 256 x 256    20
sparse_30hz        3000 x 256 x 256    30
lowfps_5hz         1500 x 256 x 256    5
line_noise         3000 x 256 x 256    20
line_noise_rc      3000 x 256 x 256    20
sessions4          4 x 3000 x 256^2    20
bg_removed_uint8   3000 x 256 x 256    20
=================  ==================  ======  ======================

Usage (a Python with minisim installed; a benchmark-only dependency)::

    python minisim_cases.py CASE OUT.h5 [--seed N] [--frames T]
    python minisim_cases.py list

(Copied into benchmarks/ from the project's minisim wrapper; the scoring
lives in bench_real_like.py.  ``minisim_movies.py`` builds its single-session
movies with this module's :func:`build_spec`, :func:`session_truth` and
:func:`atomic_h5`.)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import h5py
import numpy as np

import minisim
from minisim.scene import Scene
from minisim.simulate import build_context
from minisim.steps import spike_activity_params

__all__ = ["CASES", "CaseConfig", "make_case", "build_spec", "session_truth",
           "atomic_h5"]

SESSIONS_PATH = "CaliAli_options/inter_session_alignment/F"

# Shared geometry (see the module docstring).
_PIXEL_PITCH_UM = 4.8
_MAGNIFICATION = 3.2  # -> 1.5 um per pixel
_NA = 0.3
_FIELD_CURVATURE_UM = 2500.0
_FOCAL_DEPTH_UM = 57.0
_TARGET_DEPTH_UM = (50.0, 65.0)
_BACKGROUND_DEPTH_UM = (70.0, 200.0)
_ADC_GAIN = 1.0  # ADU per electron
_LEAKAGE_LEVEL = 0.08  # minisim V4 preset, in units of a cell's resting level
_REFERENCE_FPS = 20.0  # minisim's Markov gate probabilities are per frame
_WRITE_BLOCK = 500  # frames per write to /Object


@dataclass(frozen=True)
class CaseConfig:
    """Everything that defines one benchmark case.

    Parameters
    ----------
    name, description : str
        Case name and a one-line description (stored in the file).
    n_frames : int
        Frames per session.
    fps : float
        Frame rate, Hz.
    height, width : int
        Frame size in pixels (display orientation).
    target_density_per_mm3 : float
        Volumetric density of the in-focus target band; 45000 gives about
        100 cells in the 15 um thick band of a 384 x 384 um field.
    background_density_per_mm3 : float
        Density of the deeper, out-of-focus population.
    soma_radius_um : float
        Soma radius of both populations.
    photons_per_unit : float
        minisim's exposure scale (photons per intensity unit per frame,
        whatever the frame rate); the signal-to-noise ratio grows as its
        square root.
    baseline_f0 : float
        A cell's resting fluorescence in units of the peak of a single-spike
        transient (minisim ``CellActivity.f0``, default 1 there, which makes
        bursts 10-20x the resting level).  5 gives a single spike
        dF/F0 = 0.2.
    neuropil_amplitude : float
        Diffuse neuropil level relative to a cell's resting fluorescence
        (passed to minisim multiplied by ``baseline_f0``; the leakage glow is
        scaled the same way).
    activity : float
        0 = sparse, 0.5 = moderate, 1 = dense firing (minisim's
        ``spike_activity_params``).  The per-frame gate probabilities are
        converted from 20 Hz to ``fps``, and the in-burst rate rescaled so
        the expected spikes per burst stay the same, so that firing
        statistics per second do not depend on the frame rate (minisim
        steps its burst gate once per frame).
    tau_rise_s, tau_decay_s : float
        Indicator kernel time constants (minisim parameters).
    bleach_intensity : float
        minisim ``Bleaching.excitation_intensity``; 0 leaves bleaching out.
        minisim is calibrated to real GCaMP6f bleaching, which is negligible
        over minutes at intensity 1, so visible bleaching needs ~100s.
    n_sessions : int
        Sessions, each ``n_frames`` long, same cells, fresh activity.
    session_gains, session_offsets : tuple of float
        Applied to each session's counts: ``gain * Y + offset``.
    row_noise, col_noise : float
        Std of per-frame row / column offsets, in units of the pixel noise
        std (median over pixels of the sensor noise at the mean level).
    bg_removed : bool
        Apply a minian-like glow + background removal and write uint8.
    bg_removed_p999 : float
        For ``bg_removed``: the 99.9th percentile is scaled to this value.
    """

    name: str
    description: str
    n_frames: int = 3000
    fps: float = 20.0
    height: int = 256
    width: int = 256
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
    n_sessions: int = 1
    session_gains: tuple = (1.0,)
    session_offsets: tuple = (0.0,)
    row_noise: float = 0.0
    col_noise: float = 0.0
    bg_removed: bool = False
    bg_removed_p999: float = 40.0
    extra: dict = field(default_factory=dict)

    @property
    def dtype(self):
        """Storage type of ``/Object``."""
        return np.uint8 if self.bg_removed else np.uint16


_CLEAN = CaseConfig(
    name="clean_20hz",
    description="~100 in-focus cells, 20 Hz, 50 ms rise / 0.5 s decay, moderate "
                "activity, out-of-focus cells + neuropil + glow, no bleaching")

CASES: dict[str, CaseConfig] = {c.name: c for c in (
    _CLEAN,
    CaseConfig(
        name="dense_dim",
        description="~200 dense, smaller (5 um) dim cells, strong neuropil, "
                    "~30% bleaching over the movie",
        target_density_per_mm3=90000.0, background_density_per_mm3=15000.0,
        soma_radius_um=5.0, photons_per_unit=200.0, neuropil_amplitude=1.0,
        bleach_intensity=60.0),
    CaseConfig(
        name="sparse_30hz",
        description="~100 cells, 30 Hz, sparse firing (minisim activity 0)",
        fps=30.0, activity=0.0),
    CaseConfig(
        name="lowfps_5hz",
        description="~100 cells at 5 Hz, 1500 frames (5 min)",
        fps=5.0, n_frames=1500),
    dataclasses.replace(
        _CLEAN, name="line_noise",
        description="clean_20hz plus per-frame per-row offsets (horizontal "
                    "stripes) with std equal to the pixel noise std",
        row_noise=1.0),
    dataclasses.replace(
        _CLEAN, name="line_noise_rc",
        description="line_noise plus per-frame per-column offsets at half the "
                    "pixel noise std",
        row_noise=1.0, col_noise=0.5),
    CaseConfig(
        name="sessions4",
        description="4 sessions x 3000 frames, same cells, fresh activity, "
                    "gains 1/1.25/0.85/1.1, offsets 0/+30/-20/+10 counts, "
                    "bleaching restarting each session",
        n_sessions=4, session_gains=(1.0, 1.25, 0.85, 1.1),
        session_offsets=(0.0, 30.0, -20.0, 10.0), bleach_intensity=40.0),
    dataclasses.replace(
        _CLEAN, name="bg_removed_uint8",
        description="clean_20hz after minian-like glow removal, 5x5 median, "
                    "tophat (disk radius 15 px), scaled to uint8 (p99.9 = 40)",
        bg_removed=True),
)}


# ---------------------------------------------------------------------------
# Building and running the minisim spec
# ---------------------------------------------------------------------------


def _per_frame(p_ref: float, fps: float) -> float:
    """A per-frame probability at 20 Hz converted to the same rate per second."""
    return float(1.0 - (1.0 - p_ref) ** (_REFERENCE_FPS / fps))


def build_spec(cfg: CaseConfig, seed: int = 0, n_frames: int | None = None,
               shape: tuple[int, int] | None = None) -> minisim.Spec:
    """The minisim ``Spec`` of one session of a case.

    Parameters
    ----------
    cfg : CaseConfig
        The case.
    seed : int
        minisim's master seed.
    n_frames : int, optional
        Override ``cfg.n_frames`` (for quick, small versions).
    shape : (int, int), optional
        Frame ``(height, width)`` instead of ``(cfg.height, cfg.width)``.

    Returns
    -------
    minisim.Spec
    """
    n_frames = int(n_frames or cfg.n_frames)
    height, width = shape or (cfg.height, cfg.width)
    acq = minisim.Acquisition(
        fps=cfg.fps, duration_s=n_frames / cfg.fps,
        optics=minisim.Optics(na=_NA, magnification=_MAGNIFICATION,
                              field_curvature_radius_um=_FIELD_CURVATURE_UM),
        image_sensor=minisim.ImageSensor(
            n_px_height=height, n_px_width=width,
            pixel_pitch_um=_PIXEL_PITCH_UM, bit_depth=16,
            gain_adu_per_e=_ADC_GAIN),
        focal_depth_in_tissue_um=_FOCAL_DEPTH_UM)
    if acq.n_frames != n_frames:
        raise ValueError(f"{n_frames} frames at {cfg.fps} Hz do not round-trip")
    populations = [
        minisim.NeuronPopulation(
            density_per_mm3=cfg.target_density_per_mm3,
            soma_radius_um=cfg.soma_radius_um, morphology="cytosolic",
            depth_range_um=_TARGET_DEPTH_UM),
        minisim.NeuronPopulation(
            density_per_mm3=cfg.background_density_per_mm3,
            soma_radius_um=cfg.soma_radius_um, morphology="cytosolic",
            depth_range_um=_BACKGROUND_DEPTH_UM),
    ]
    p_q2a, p_a2q, active_hz, quiescent_hz = spike_activity_params(cfg.activity)
    p_a2q_fps = _per_frame(p_a2q, cfg.fps)
    # Mean burst length is 1 / (p_a2q * fps) seconds; keep spikes per burst.
    active_hz *= (p_a2q_fps * cfg.fps) / (p_a2q * _REFERENCE_FPS)
    steps = [
        minisim.PlaceNeurons(populations=populations),
        minisim.CellActivity(
            p_quiescent_to_active=_per_frame(p_q2a, cfg.fps),
            p_active_to_quiescent=p_a2q_fps,
            active_rate_hz=active_hz, quiescent_rate_hz=quiescent_hz,
            tau_rise_s=cfg.tau_rise_s, tau_decay_s=cfg.tau_decay_s,
            f0=cfg.baseline_f0),
        minisim.CellOptics(),
        minisim.Composite(),
        minisim.Neuropil(amplitude=cfg.neuropil_amplitude * cfg.baseline_f0),
        minisim.IlluminationProfile(falloff=0.7),
        minisim.Vignette(falloff=0.6),
        minisim.Leakage(profile="gaussian", level=_LEAKAGE_LEVEL * cfg.baseline_f0),
        minisim.Sensor(photons_per_unit=cfg.photons_per_unit),
    ]
    if cfg.bleach_intensity > 0:
        steps.append(minisim.Bleaching(excitation_intensity=cfg.bleach_intensity))
    return minisim.Spec(acquisition=acq, seed=seed, steps=steps)


def _simulate(spec: minisim.Spec, n_sessions: int, seed: int):
    """Yield one ``minisim.Recording`` per session, all with the same cells.

    Runs minisim's steps the way :func:`minisim.simulate` does, but hands
    ``place_neurons`` a generator seeded identically in every session,
    ``neuropil`` one of its own per session, and every other step a
    per-session generator.  So all sessions -- and all cases with the same
    seed and densities -- share cell positions and shapes, and session 0 of
    every case shares the neuropil pattern (with a single generator,
    minisim's neuropil level changes by up to ~3x with anything that changes
    the number of draws before it, such as the frame rate).  Later sessions
    get a new neuropil pattern and drift, as real sessions days apart do.  After ``cell_activity`` each cell's
    trace is rescaled to the session-0 brightness gain, so a cell is equally
    bright in every session.  Bleaching starts fresh (B = 1) each session:
    sessions days apart recover fully in minisim's turnover model.
    """
    acq = spec.acquisition
    context = build_context(spec, acq)
    gains0 = None
    for s in range(n_sessions):
        rngs = {"place_neurons": np.random.default_rng([seed, 0]),
                "neuropil": np.random.default_rng([seed, 1] + [s] * (s > 0))}
        rng_session = np.random.default_rng([seed, 2, s])
        scene = Scene.zeros(acq, rng_session)
        for step_spec in spec.steps:
            step = step_spec.build(acq, rngs.get(step_spec.kind, rng_session))
            step.prepare(context)
            step(scene)
            if step_spec.kind == "cell_activity":
                gains = np.array([c.amplitude for c in scene.cells])
                if gains0 is None:
                    gains0 = gains
                for cell, g_now, g_ref in zip(scene.cells, gains, gains0):
                    cell.trace = cell.trace * (g_ref / g_now)
                    cell.amplitude = float(g_ref)
        yield minisim.finalize(scene, spec)


def session_truth(rec: minisim.Recording, spec: minisim.Spec) -> dict:
    """Ground truth in movie counts and display orientation for one recording.

    Every simulated cell is in it; ``target`` marks the in-focus, detectable
    ones that a benchmark scores against.
    """
    acq = spec.acquisition
    gt = rec.ground_truth
    sensor = next(s for s in spec.steps if s.kind == "sensor")
    activity = next(s for s in spec.steps if s.kind == "cell_activity")
    hw = (acq.image_sensor.n_px_height, acq.image_sensor.n_px_width)
    field_ = np.ones(hw)
    for f in (gt.illumination, gt.vignette):
        if f is not None:
            field_ = field_ * f
    counts_per_unit = (sensor.photons_per_unit * acq.image_sensor.quantum_efficiency
                       * acq.image_sensor.gain_adu_per_e)
    A = gt.A_observed * field_[None] * counts_per_unit  # counts per trace unit
    peak = A.reshape(len(A), -1).max(axis=1)
    peak = np.where(peak > 0, peak, 1.0)
    baseline = gt.amplitude_per_cell * activity.f0  # resting trace level
    bleach = gt.bleaching if gt.bleaching is not None else np.ones_like(gt.C)
    C = peak[:, None] * (gt.C - baseline[:, None]) * bleach
    rows, cols = acq.um_to_index(gt.centers_um[:, 1], gt.centers_um[:, 2], hw)
    depth = gt.depth_um
    target = ((depth >= _TARGET_DEPTH_UM[0]) & (depth <= _TARGET_DEPTH_UM[1])
              & gt.detectable)
    return dict(A=A / peak[:, None, None], C=C, S=gt.S, F0=peak * baseline,
                bleach=bleach, centers=np.stack([rows, cols], axis=1),
                depth=depth, sigma=gt.observed_sigma_px, target=target,
                detectable=gt.detectable)


def _noise_std(Y: np.ndarray, spec: minisim.Spec) -> float:
    """Median over pixels of the sensor noise std at each pixel's mean level."""
    s = spec.acquisition.image_sensor
    mean = Y[:: max(1, len(Y) // 300)].mean(axis=0, dtype=np.float64)
    g = s.gain_adu_per_e
    return float(np.median(np.sqrt(g * mean + (g * s.read_noise_e) ** 2)))


# ---------------------------------------------------------------------------
# Additions on top of minisim
# ---------------------------------------------------------------------------


def _line_noise(block: np.ndarray, row_std: float, col_std: float,
                rng: np.random.Generator) -> np.ndarray:
    """Add per-frame offsets to whole rows / columns (display orientation)."""
    out = block.astype(np.float32, copy=True)
    T, H, W = out.shape
    if row_std > 0:
        out += rng.normal(0.0, row_std, (T, H, 1)).astype(np.float32)
    if col_std > 0:
        out += rng.normal(0.0, col_std, (T, 1, W)).astype(np.float32)
    return out


def _remove_background(Y: np.ndarray, radius_px: int = 15) -> np.ndarray:
    """minian-like preprocessing: glow removal, 5x5 median, tophat per frame.

    ``Y - min over time`` (minian ``remove_glow``), a 5 x 5 median filter per
    frame (minian ``denoise``) and a white tophat with a disk of
    ``radius_px`` (minian ``remove_background(method="tophat")``).  Returns
    float32 in the movie's count units.
    """
    import cv2  # a minisim dependency (opencv-python-headless)

    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                     (2 * radius_px + 1, 2 * radius_px + 1))
    glow = Y.min(axis=0)
    out = np.empty(Y.shape, np.float32)
    for t in range(len(Y)):
        frame = cv2.medianBlur(np.ascontiguousarray(Y[t] - glow, np.float32), 5)
        out[t] = cv2.morphologyEx(frame, cv2.MORPH_TOPHAT, disk)
    return out


# ---------------------------------------------------------------------------
# Writing a case
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_h5(path):
    """An ``h5py.File`` open for writing under a temporary name next to ``path``.

    The file is moved onto ``path`` only when the block ends without an
    error, so an interrupted run never leaves a half-written movie behind
    that a cache would take for a finished one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def make_case(name: str, out_path, seed: int = 0, *, n_frames: int | None = None,
              verbose: bool = False) -> dict:
    """Simulate one case and write it as a CaliAli-style ``.h5``.

    The file holds ``/Object`` (uint16, or uint8 for ``bg_removed_uint8``) in
    MATLAB layout -- h5py shape (T, W, H), the display frames (T, H, W) with
    the last two axes swapped -- ``/CaliAli_options/inter_session_alignment/F``
    (1-D int, frames per session) for multi-session cases, and
    ``/ground_truth`` (see the module docstring).  Written through
    :func:`atomic_h5`.

    Parameters
    ----------
    name : str
        A key of :data:`CASES`.
    out_path : str or os.PathLike
        Destination file.
    seed : int
        Master seed; the same seed gives the same file.
    n_frames : int, optional
        Frames per session instead of the case's own (quick checks).
    verbose : bool
        Print timings.

    Returns
    -------
    dict
        ``n_cells``, ``n_frames``, ``noise_std``, ``seconds`` and the path.
    """
    if name not in CASES:
        raise KeyError(f"unknown case {name!r}; choose from {sorted(CASES)}")
    cfg = CASES[name]
    t0 = time.perf_counter()
    spec = build_spec(cfg, seed, n_frames)
    T = spec.acquisition.n_frames
    H, W = cfg.height, cfg.width
    gains = tuple(cfg.session_gains) + (1.0,) * (cfg.n_sessions - len(cfg.session_gains))
    offsets = tuple(cfg.session_offsets) + (0.0,) * (cfg.n_sessions - len(cfg.session_offsets))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    recordings = _simulate(spec, cfg.n_sessions, seed)
    line_rng = np.random.default_rng([seed, 3])
    truths, noise, scale = [], None, 1.0
    with atomic_h5(out_path) as f:
        dset = f.create_dataset("Object", shape=(T * cfg.n_sessions, W, H),
                                dtype=cfg.dtype, chunks=(min(T, 100), W, H))
        for s, rec in enumerate(recordings):
            t_sim = time.perf_counter()
            Y = rec.observed  # (T, H, W) float32 counts, display orientation
            truths.append(session_truth(rec, spec))
            if noise is None:
                noise = _noise_std(Y, spec)
            if cfg.bg_removed:
                Y = _remove_background(Y)
                scale = cfg.bg_removed_p999 / float(
                    np.percentile(Y[:: max(1, T // 200)], 99.9))
                # The median filter lowers the noise: measure it.
                noise = float(np.median(np.std(np.diff(
                    Y[: min(T, 500)], axis=0), axis=0))) / np.sqrt(2) / scale
            for a in range(0, T, _WRITE_BLOCK):
                block = Y[a:a + _WRITE_BLOCK]
                if cfg.row_noise or cfg.col_noise:
                    block = _line_noise(block, cfg.row_noise * noise,
                                        cfg.col_noise * noise, line_rng)
                block = gains[s] * scale * block + offsets[s]
                info = np.iinfo(cfg.dtype)
                block = np.clip(np.rint(block), info.min, info.max).astype(cfg.dtype)
                dset[s * T + a:s * T + a + len(block)] = np.swapaxes(block, -1, -2)
            del rec, Y
            if verbose:
                print(f"  session {s}: written in {time.perf_counter() - t_sim:.1f} s")
        if cfg.n_sessions > 1:
            f[SESSIONS_PATH] = np.full(cfg.n_sessions, T, dtype=np.int64)
        n_cells = _write_truth(f, cfg, spec, truths, noise, scale, gains,
                               offsets, seed)
    seconds = time.perf_counter() - t0
    if verbose:
        print(f"{name}: {n_cells} cells, {T * cfg.n_sessions} frames, noise std "
              f"{noise:.1f} counts, {seconds:.1f} s -> {out_path}")
    return dict(path=str(out_path), n_cells=n_cells, n_frames=T * cfg.n_sessions,
                noise_std=noise, seconds=seconds)


def _write_truth(f, cfg, spec, truths, noise, scale, gains, offsets, seed) -> int:
    """Write ``/ground_truth``; return the number of target cells."""
    first = truths[0]
    for other in truths[1:]:  # sessions must share their cells
        if not np.allclose(other["centers"], first["centers"]):
            raise RuntimeError("sessions do not share their cells")
    target = np.logical_or.reduce([t["target"] for t in truths])
    cat = {k: np.concatenate([t[k] for t in truths], axis=1)
           for k in ("C", "S", "bleach")}
    A = first["A"][target]
    F0 = first["F0"][target]
    peak_change = cat["C"][target].max(axis=1, initial=0.0)
    g = f.create_group("ground_truth")
    g.create_dataset("A", data=A.astype(np.float32), compression="gzip",
                     compression_opts=1)
    g["C"] = (scale * cat["C"][target]).astype(np.float32)
    g["S"] = cat["S"][target].astype(np.float32)
    g["centers"] = first["centers"][target].astype(np.float32)
    g["F0"] = (scale * F0).astype(np.float32)
    g.create_dataset("bleach", data=cat["bleach"][target].astype(np.float32),
                     compression="gzip", compression_opts=1)
    g["depth_um"] = first["depth"][target].astype(np.float32)
    g["sigma_px"] = first["sigma"][target].astype(np.float32)
    g["pnr"] = (peak_change / noise).astype(np.float32)
    g["all_centers"] = first["centers"].astype(np.float32)
    g["all_is_target"] = target
    g["all_detectable"] = np.logical_or.reduce([t["detectable"] for t in truths])
    if cfg.n_sessions > 1:
        g["session_gain"] = np.asarray(gains, np.float32)
        g["session_offset"] = np.asarray(offsets, np.float32)
    g.attrs.update(dict(
        case=cfg.name, description=cfg.description, seed=seed, fps=cfg.fps,
        n_sessions=cfg.n_sessions, frames_per_session=spec.acquisition.n_frames,
        noise_std=noise * scale, noise_std_counts_before_scaling=noise,
        intensity_scale=scale, pixel_size_um=spec.acquisition.pixel_size_um,
        tau_rise_s=cfg.tau_rise_s, tau_decay_s=cfg.tau_decay_s,
        row_noise_std=cfg.row_noise * noise * scale,
        col_noise_std=cfg.col_noise * noise * scale,
        minisim_version=version("minisim"), minisim_spec=spec.model_dump_json(),
        case_config=json.dumps(dataclasses.asdict(cfg)),
        units="A: peak 1; C, F0: movie counts at the footprint peak pixel; "
              "S: spikes per frame; centers: (row, col) display, 0-based"))
    return int(target.sum())


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def main(argv=None) -> int:
    """``CASE OUT.h5`` writes a case; ``list`` lists them."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["list"]:
        for c in CASES.values():
            print(f"{c.name:18s} {c.n_sessions * c.n_frames:6d} frames "
                  f"{c.fps:4g} Hz  {c.description}")
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("case", choices=sorted(CASES))
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", type=int, default=None,
                   help="frames per session (default: the case's own)")
    a = p.parse_args(argv)
    make_case(a.case, a.out, a.seed, n_frames=a.frames, verbose=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
