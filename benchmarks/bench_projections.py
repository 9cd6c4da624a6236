"""Benchmark: summary images (Cn, PNR) — streaming numba path vs numpy reference.

The movie (default 512 × 512 × 3000, uint16, simulated) is written once into
``benchmarks/.cache/``. Each path runs in its own subprocess so that its peak
resident memory can be read with ``getrusage(RUSAGE_CHILDREN)``:

- streaming: ``NoisePass`` + ``SummaryPass`` fed chunk by chunk from the file
  through ``caliali_tk.io.video.VideoFile`` (what the pipeline does);
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
    from caliali_tk.simulate import write_simulated

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"bench_{height}x{width}x{n_frames}.h5"
    if not path.exists():
        n_neurons = max(10, int(100 * height * width / 256**2))
        print(f"writing {path.name} (once) ...", flush=True)
        write_simulated(path, height, width, n_frames, n_neurons=n_neurons, seed=0)
    return path


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child_stream(path: str, gSig: float, chunk: int) -> dict:
    import tracemalloc

    import numpy as np

    from caliali_tk.core.summary import NoisePass, SummaryPass, summary_images
    from caliali_tk.io.video import VideoFile

    summary_images(np.random.default_rng(0).random((40, 24, 24)), gSig)  # JIT / cache load
    rss0 = _rss_mib()
    tracemalloc.start()
    t_read = 0.0

    def chunks(vf, start=0, stop=None):  # iter_chunks, timing the reads
        nonlocal t_read
        stop = vf.n_frames if stop is None else stop
        for first in range(start, stop, chunk):
            t = time.perf_counter()
            frames = vf.read(first, min(first + chunk, stop))
            t_read += time.perf_counter() - t
            yield first, frames

    t0 = time.perf_counter()
    with VideoFile(path) as vf:
        npass = NoisePass((vf.height, vf.width), vf.n_frames, gSig)
        for b0, b1 in npass.plan:
            for start, frames in chunks(vf, b0, b1):
                npass.add(frames, start)
        t1 = time.perf_counter()
        spass = SummaryPass(npass.finish())
        for _, frames in chunks(vf):
            spass.add(frames)
        s = spass.finish()
        n = vf.n_frames
    t2 = time.perf_counter()
    _, numpy_peak = tracemalloc.get_traced_memory()
    return {"frames": n, "seconds": t2 - t0, "noise_seconds": t1 - t0, "read_seconds": t_read,
            "noise_frames": sum(b - a for a, b in npass.plan),
            "rss0_mib": rss0, "numpy_peak_mib": numpy_peak / 2**20,
            "cn_max": float(s.Cn.max())}


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
    ap.add_argument("--child", choices=["stream", "reference"], help=argparse.SUPPRESS)
    ap.add_argument("--movie", help=argparse.SUPPRESS)
    ap.add_argument("--extra", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        fn = _child_stream if args.child == "stream" else _child_reference
        result = fn(args.movie, args.gSig, args.extra)
        result["peak_self_mib"] = _rss_mib()
        print(json.dumps(result))
        return {}

    size, frames, n_ref = args.size, args.frames, args.ref_frames
    if args.quick:
        size, frames, n_ref = 128, 500, 500
    path = _movie(size, size, frames)
    stream = _run_child("stream", path, args.gSig, args.chunk)
    ref = _run_child("reference", path, args.gSig, n_ref)

    s_fps = stream["frames"] / stream["seconds"]
    r_fps = ref["frames"] / ref["seconds"]
    scaled = ref["frames"] < stream["frames"]
    rows = [
        ("streaming (numba, chunked file)", stream["frames"], stream["seconds"], s_fps,
         stream["peak_rss_mib"], f"numpy peak {stream['numpy_peak_mib']:.0f} MiB"),
        ("numpy reference (in memory)", ref["frames"], ref["seconds"], r_fps,
         ref["peak_rss_mib"],
         f"scaled per frame to {stream['frames']}: {stream['frames'] / r_fps:.0f} s"
         if scaled else ""),
    ]
    print(f"\nSummary images, {size}x{size}x{frames} uint16, gSig={args.gSig}, "
          f"{os.cpu_count()} cores; noise pass {stream['noise_frames']} frames "
          f"({stream['noise_seconds']:.1f} s)")
    print(f"{'path':34s} {'frames':>7s} {'seconds':>8s} {'frames/s':>9s} {'peak RSS MiB':>13s}  note")
    for name, n, sec, fps, rss, note in rows:
        print(f"{name:34s} {n:7d} {sec:8.1f} {fps:9.1f} {rss:13.0f}  {note}")
    compute = stream["seconds"] - stream["read_seconds"]
    print(f"streaming: {stream['read_seconds']:.1f} s of it reading + decoding the file "
          f"(VideoFile.read), {compute:.1f} s computing -> {stream['frames'] / compute:.1f} "
          f"frames/s, {stream['frames'] / compute / r_fps:.1f}x the reference without I/O")
    print(f"speed-up (frames/s ratio): {s_fps / r_fps:.1f}x; "
          f"streaming peak RSS {stream['peak_rss_mib']:.0f} MiB "
          f"(after imports {stream['rss0_mib']:.0f} MiB)")
    return {"stream": stream, "reference": ref, "speedup": s_fps / r_fps,
            "speedup_compute": stream["frames"] / compute / r_fps}


if __name__ == "__main__":
    main()
