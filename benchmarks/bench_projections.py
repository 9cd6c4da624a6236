"""Benchmark: summary images (Cn, PNR) — streaming numba path vs numpy reference.

The movie (default 512 × 512 × 3000, uint16, simulated) is written once into
``benchmarks/.cache/``. Each path runs in its own subprocess so that its peak
resident memory can be read with ``getrusage(RUSAGE_CHILDREN)``:

- streaming: ``NoisePass`` + ``SummaryPass`` fed chunk by chunk from the file
  through ``caliali_tk.io.video.VideoFile`` (float32, display orientation:
  what the pipeline does);
- streaming, raw: the same passes fed the stored uint16 chunks straight from
  h5py, untransposed; Cn, PNR (and σ, baseline) of a transposed movie are
  the transposed images (symmetric kernel, 8-neighbourhood), so only the
  final images are transposed. Saves the per-frame cast + transpose;
- reference: ``tests/reference_summary.py`` (whole movie in memory, float64,
  ``scipy.ndimage.correlate``); it cannot hold 3000 frames of 512² in float64
  comfortably, so it runs on the first ``--ref-frames`` frames and its time is
  scaled per frame (the table says so).

Numba kernels are compiled (or loaded from cache) before the clock starts.

Usage: ``python benchmarks/bench_projections.py [--quick]``; ``main(argv)``
is what ``benchmarks/run_all.py`` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"


def _movie(height: int, width: int, n_frames: int) -> Path:
    """Simulated uint16 movie in the cache folder (written on first use)."""
    from caliali_tk.demo.files import write_simulated

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"bench_{height}x{width}x{n_frames}.h5"
    if not path.exists():
        n_neurons = max(10, int(100 * height * width / 256**2))
        print(f"writing {path.name} (once) ...", flush=True)
        write_simulated(path, height, width, n_frames, n_neurons=n_neurons, seed=0)
    return path


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class _RawReader:
    """Chunks of ``/Object`` as stored (uint16, (n, W, H)): no cast, no transpose."""

    def __init__(self, path):
        import h5py

        self._f = h5py.File(path, "r")
        self._ds = self._f["Object"]
        self.n_frames, self.height, self.width = self._ds.shape

    def read(self, start, stop):
        return self._ds[start:stop]

    def close(self):
        self._f.close()


def _child_stream(path: str, gSig: float, chunk: int, raw: bool) -> dict:
    import tracemalloc

    import numpy as np

    from caliali_tk.core.noise_pass import NoisePass
    from caliali_tk.core.summary import SummaryPass, summary_images
    from caliali_tk.io.video import VideoFile

    warm = np.random.default_rng(0).random((40, 24, 24))
    summary_images(warm, gSig)  # JIT / cache load, float and uint16 inputs
    summary_images((warm * 1000).astype(np.uint16), gSig)
    rss0 = _rss_mib()
    tracemalloc.start()
    t_read = 0.0
    reader = _RawReader(path) if raw else VideoFile(path)

    def chunks(start=0, stop=None):  # what iter_chunks does, timing the reads
        nonlocal t_read
        stop = reader.n_frames if stop is None else stop
        for first in range(start, stop, chunk):
            t = time.perf_counter()
            frames = reader.read(first, min(first + chunk, stop))
            t_read += time.perf_counter() - t
            yield first, frames

    t0 = time.perf_counter()
    npass = NoisePass((reader.height, reader.width), reader.n_frames, gSig)
    for b0, b1 in npass.plan:
        for start, frames in chunks(b0, b1):
            npass.add(frames, start)
    t1 = time.perf_counter()
    spass = SummaryPass(npass.finish())
    for _, frames in chunks():
        spass.add(frames)
    s = spass.finish()
    if raw:  # the images of the transposed movie are the transposed images
        Cn, PNR = s.Cn.T.copy(), s.PNR.T.copy()
    else:
        Cn, PNR = s.Cn, s.PNR
    t2 = time.perf_counter()
    reader.close()
    _, numpy_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    np.savez(CACHE / f"images_{'raw' if raw else 'stream'}.npz", Cn=Cn, PNR=PNR)
    return {"frames": reader.n_frames, "seconds": t2 - t0, "noise_seconds": t1 - t0,
            "read_seconds": t_read, "noise_frames": sum(b - a for a, b in npass.plan),
            "rss0_mib": rss0, "numpy_peak_mib": numpy_peak / 2**20}


def _child_reference(path: str, gSig: float, n_ref: int) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from reference_summary import reference_summary

    from caliali_tk.io.video import VideoFile

    with VideoFile(path) as vf:
        n = min(n_ref, vf.n_frames)
        movie = vf.read(0, n)
    rss0 = _rss_mib()
    t0 = time.perf_counter()
    reference_summary(movie, gSig)
    return {"frames": n, "seconds": time.perf_counter() - t0, "rss0_mib": rss0}


def _run_child(kind: str, path: Path, gSig: float, extra: int) -> dict:
    """Run one path in a fresh interpreter; its peak RSS comes from getrusage."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind,
           "--movie", str(path), "--gSig", str(gSig), "--extra", str(extra)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=str(ROOT))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # the child's own RUSAGE_SELF peak (== RUSAGE_CHILDREN seen from here for
    # that child alone); includes the interpreter, numpy/scipy/numba and h5py
    result["peak_rss_mib"] = result.pop("peak_self_mib")
    return result


def main(argv=None) -> dict:
    """Run the benchmark, print a table, return the numbers."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="128 x 128 x 500 movie")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--frames", type=int, default=3000)
    ap.add_argument("--ref-frames", type=int, default=256,
                    help="frames the in-memory reference runs on (time scaled per frame)")
    ap.add_argument("--chunk", type=int, default=100, help="frames per read")
    ap.add_argument("--gSig", type=float, default=2.5)
    ap.add_argument("--child", choices=["stream", "raw", "reference"], help=argparse.SUPPRESS)
    ap.add_argument("--movie", help=argparse.SUPPRESS)
    ap.add_argument("--extra", type=int, default=0, help=argparse.SUPPRESS)
    args, _ = ap.parse_known_args(argv)  # tolerate a caller's own options

    if args.child:
        if args.child == "reference":
            result = _child_reference(args.movie, args.gSig, args.extra)
        else:
            result = _child_stream(args.movie, args.gSig, args.extra, args.child == "raw")
        result["peak_self_mib"] = _rss_mib()
        print(json.dumps(result))
        return {}

    import numpy as np

    size, frames, n_ref = args.size, args.frames, args.ref_frames
    if args.quick:
        size, frames, n_ref = 128, 500, 500
    path = _movie(size, size, frames)
    stream = _run_child("stream", path, args.gSig, args.chunk)
    raw = _run_child("raw", path, args.gSig, args.chunk)
    ref = _run_child("reference", path, args.gSig, n_ref)
    a, b = np.load(CACHE / "images_stream.npz"), np.load(CACHE / "images_raw.npz")
    same = max(float(np.abs(a[k] - b[k]).max()) for k in ("Cn", "PNR"))

    r_fps = ref["frames"] / ref["seconds"]
    print(f"\nSummary images, {size}x{size}x{frames} uint16 (/Object), gSig={args.gSig}, "
          f"{os.cpu_count()} cores, chunks of {args.chunk} frames; the noise pass reads "
          f"{stream['noise_frames']} of the frames")
    print(f"{'path':47s} {'frames':>6s} {'total s':>8s} {'read s':>7s} {'frames/s':>9s} "
          f"{'vs ref':>7s} {'peak RSS MiB':>12s}")
    for name, r in (("streaming, VideoFile chunks (float32, display)", stream),
                    ("streaming, raw h5py chunks (uint16, stored)", raw)):
        fps = r["frames"] / r["seconds"]
        print(f"{name:47s} {r['frames']:6d} {r['seconds']:8.1f} {r['read_seconds']:7.1f} "
              f"{fps:9.1f} {fps / r_fps:6.1f}x {r['peak_rss_mib']:12.0f}")
    note = (f"  (ran on {ref['frames']} frames, time scaled per frame: "
            f"{stream['frames'] / r_fps:.0f} s for {stream['frames']})"
            if ref["frames"] < stream["frames"] else "")
    print(f"{'numpy reference, in memory, float64':47s} {ref['frames']:6d} {ref['seconds']:8.1f} "
          f"{'-':>7s} {r_fps:9.1f} {1.0:6.1f}x {ref['peak_rss_mib']:12.0f}{note}")
    for name, r in (("VideoFile", stream), ("raw", raw)):
        compute = r["seconds"] - r["read_seconds"]
        print(f"  {name}: noise pass {r['noise_seconds']:.1f} s; without reading "
              f"{r['frames'] / compute:.1f} frames/s = {r['frames'] / compute / r_fps:.1f}x "
              f"the reference; numpy peak {r['numpy_peak_mib']:.0f} MiB, "
              f"RSS after imports {r['rss0_mib']:.0f} MiB")
    print(f"  images from the stored layout, transposed, vs display layout: max |diff| {same:.1e}")
    s_fps = stream["frames"] / stream["seconds"]
    return {"stream": stream, "raw": raw, "reference": ref, "speedup": s_fps / r_fps,
            "speedup_raw": raw["frames"] / raw["seconds"] / r_fps}


if __name__ == "__main__":
    main()
