"""Simulated movies as files: CaliAli-style ``.h5`` with ground truth.

`write_simulated` renders a movie chunk by chunk straight into the file, so
large movies never sit in memory; `write_video` writes one already in
memory; `load_truth` reads the ground truth back; `demo_video` is the
built-in demo movie. Every file is written through
:func:`caliali_tk.io.atomic.atomic_path` (temporary file, then renamed).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from caliali_tk.demo.simulate import NOISE_BLOCK, GroundTruth, build_scene, render
from caliali_tk.io.atomic import atomic_path
from caliali_tk.io.params import DEFAULT_FPS
from caliali_tk.io.video import from_display
from caliali_tk.paths import user_cache_dir

__all__ = ["write_simulated", "write_video", "load_truth", "demo_video"]


def write_simulated(path, height: int = 256, width: int = 256,
                    n_frames: int = 2000, n_neurons: int = 100,
                    gSig: float = 2.5, fps: float = DEFAULT_FPS, snr: float = 3.0,
                    seed: int = 0, frames_per_session=None,
                    **options) -> GroundTruth:
    """Render a simulated movie chunk by chunk into a CaliAli-style ``.h5``.

    Same arguments as :func:`caliali_tk.demo.simulate.simulate`; memory
    stays O(frame x 100). The file holds ``/Object`` (uint16, MATLAB layout)
    and ``/ground_truth``.
    """
    scene = build_scene(height, width, n_frames, n_neurons, gSig, fps, snr,
                        seed, **options)
    dtype = np.uint8 if scene.like.bg_removed else np.uint16  # issue 10: low-range input
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            dset = _create_object(f, n_frames, height, width, dtype)
            for start in range(0, n_frames, NOISE_BLOCK):
                stop = min(n_frames, start + NOISE_BLOCK)
                dset[start:stop] = _to_integer(render(scene, start, stop), dtype)
            _write_extras(f, scene.truth, frames_per_session)
    return scene.truth


def write_video(path, Y: np.ndarray, truth: GroundTruth | None = None,
                frames_per_session=None) -> None:
    """Write a movie ``(T, H, W)`` as CaliAli does: ``/Object``, uint16, MATLAB layout."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            dset = _create_object(f, *Y.shape)
            dset[...] = _to_uint16(Y)
            _write_extras(f, truth, frames_per_session)


def load_truth(path) -> GroundTruth:
    """Read the ground truth that `write_video` / `write_simulated` stored."""
    with h5py.File(path, "r") as f:
        if "ground_truth" not in f:
            raise ValueError(f"{Path(path).name}: no ground truth in this file")
        g = f["ground_truth"]
        return GroundTruth(
            A=g["A"][...], C=g["C"][...], S=g["S"][...],
            centers=g["centers"][...], g=g["g"][...],
            gSig=float(g.attrs["gSig"]), fps=float(g.attrs["fps"]),
            noise=float(g.attrs["noise"]),
            settings=dict(g.attrs.items()))


def demo_video(folder=None) -> Path:
    """Path of the built-in demo movie, simulating it on first use.

    The movie (256 x 256 pixels, 1500 frames, 80 neurons) goes to
    ``folder`` or to the user cache folder, and is reused afterwards.
    """
    folder = Path(folder) if folder else user_cache_dir() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "caliali_demo.h5"
    if not _readable_h5(path):
        write_simulated(path, 256, 256, 1500, n_neurons=80, seed=2026)
    return path


def _create_object(f, T, H, W, dtype=np.uint16):
    """``/Object`` as MATLAB writes a d1 x d2 x T array: HDF5 sees (T, W, H)."""
    return f.create_dataset("Object", shape=(T, W, H), dtype=dtype,
                            chunks=(min(T, 100), W, H))


def _to_uint16(Y):
    return _to_integer(Y, np.uint16)


def _to_integer(Y, dtype):
    top = np.iinfo(dtype).max
    return from_display(np.clip(np.rint(Y), 0, top).astype(dtype))


def _write_extras(f, truth, frames_per_session):
    if frames_per_session is not None:
        g = f.require_group("CaliAli_options/inter_session_alignment")
        g["F"] = np.asarray(frames_per_session, np.float64).reshape(1, -1)
    if truth is None:
        return
    g = f.create_group("ground_truth")
    g.create_dataset("A", data=truth.A, compression="gzip", compression_opts=1)
    for name in ("C", "S", "centers", "g"):
        g[name] = getattr(truth, name)
    g.attrs["gSig"], g.attrs["fps"], g.attrs["noise"] = truth.gSig, truth.fps, truth.noise
    for key, value in truth.settings.items():
        g.attrs[key] = value


def _readable_h5(path):
    try:
        with h5py.File(path, "r") as f:
            return "Object" in f and "ground_truth" in f
    except OSError:
        return False
