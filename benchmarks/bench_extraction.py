"""Benchmark: end-to-end CNMF-E extraction on simulated movies.

For each size (default 256 x 256 x 3000 with 100 neurons and 512 x 512 x 3000
with 300 neurons) a simulated movie is written once into ``benchmarks/.cache``
and extracted in a fresh interpreter, so that the peak resident memory of
that run alone can be read (``getrusage`` in the child). Numba kernels are
loaded from the on-disk cache (or compiled) before the clock starts, and the
summary-image cache is not used, so the time is the whole job, reading the
file included.

Reported per size: wall time, frames per second, peak memory, and accuracy
against the ground truth (precision, recall, F1 of neurons matched by the
Hungarian algorithm on centroid distance <= 4 px, median Pearson r of the
matched traces). The reference rows are the summary images alone (the
cheapest pass any CNMF-E run makes over the file) and real time (the frame
rate the movie was recorded at).

The 512 x 512 x 3000 movie is 3 GiB in float32; it runs with
``max_memory_gb = 1`` to show that extraction stays out of core.

Usage: ``python benchmarks/bench_extraction.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench_common import peak_rss_mib, simulated_movie  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
SIZES = [(256, 256, 3000, 100, 2.0), (512, 512, 3000, 300, 1.0)]
QUICK = [(128, 128, 1000, 30, 2.0)]


def _movie(h, w, t, k) -> Path:
    return simulated_movie("extract", h, w, t, k)


def _child(path: str, max_memory: float) -> dict:
    """Extract one movie; runs in its own interpreter."""
    from caliali_tk.bundle.frozen import warm_up
    from caliali_tk.io.params import FileParams
    from caliali_tk.pipeline import compute_summary, extract
    from caliali_tk.demo.selftest import score_against_truth
    from caliali_tk.demo.files import load_truth

    warm_up()
    params = FileParams(max_memory_gb=max_memory)
    t0 = time.perf_counter()
    compute_summary(path, params.gSig, use_cache=False)
    t_summary = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = extract(path, params, out_path=False, use_cache=False)
    seconds = time.perf_counter() - t0
    score = score_against_truth(result, load_truth(path))
    return {"seconds": seconds, "summary_seconds": t_summary, "K": result.K,
            "T": result.T, "precision": score["precision"], "recall": score["recall"],
            "f1": score["f1"], "median_r": score["median_r"],
            "peak_mib": peak_rss_mib()}


def _run(path: Path, max_memory: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path),
           "--max-memory", str(max_memory)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=str(ROOT))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one small movie only")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--max-memory", type=float, default=2.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.max_memory)))
        return []
    rows = []
    for h, w, t, k, mem in (QUICK if args.quick else SIZES):
        path = _movie(h, w, t, k)
        r = _run(path, mem)
        r.update(size=f"{h}x{w}x{t}", true_K=k, max_memory_gb=mem,
                 movie_gib=h * w * t * 4 / 2 ** 30)
        rows.append(r)
        _print([r])
    print("\nExtraction (simulated movies, ground truth known)")
    _print(rows)
    return rows


def _print(rows):
    head = (f"{'movie':>14} {'K true':>6} {'K found':>7} {'prec':>5} {'recall':>6} "
            f"{'F1':>5} {'med r':>6} {'time s':>7} {'frames/s':>8} {'x summary':>9} "
            f"{'x real time':>11} {'peak MiB':>8} {'float32 movie GiB':>17} {'max_memory GiB':>14}")
    print(head)
    for r in rows:
        fps = r["T"] / r["seconds"]
        print(f"{r['size']:>14} {r['true_K']:>6} {r['K']:>7} {r['precision']:>5.2f} "
              f"{r['recall']:>6.2f} {r['f1']:>5.2f} {r['median_r']:>6.3f} "
              f"{r['seconds']:>7.1f} {fps:>8.1f} {r['seconds'] / r['summary_seconds']:>9.1f} "
              f"{fps / 10.0:>11.1f} {r['peak_mib']:>8.0f} {r['movie_gib']:>17.2f} "
              f"{r['max_memory_gb']:>14.1f}", flush=True)


if __name__ == "__main__":
    main()
