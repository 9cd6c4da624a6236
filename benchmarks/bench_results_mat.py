"""What the MATLAB twin of the results costs: writing ``_cnmfe.mat`` beside ``_cnmfe.h5``.

A result of the size a 256 x 256 x 3000 recording gives (K neurons with
compact footprints, traces of 3000 frames) is written as the ``.h5`` alone
and as the ``.mat`` (hdf5storage, struct ``neuron``); the table gives the
time and size of each, and the ``.mat``'s time as a multiple of the ``.h5``'s.

    python benchmarks/bench_results_mat.py [--size H W T] [--neurons K]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from caliali_tk.io.params import FileParams
from caliali_tk.io.results import Result, write_results
from caliali_tk.io.results_mat import write_results_mat


def synthetic_result(H, W, T, K, seed=0):
    """Gaussian footprints (gSig 2.5) at random places, random traces."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:H, :W]
    A = np.zeros((K, H, W), np.float32)
    for k, (r, c) in enumerate(rng.uniform([8, 8], [H - 8, W - 8], (K, 2))):
        blob = np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 2.5 ** 2))
        A[k] = np.where(blob > 0.05, blob, 0)
    traces = [rng.random((K, T), dtype=np.float32) for _ in range(3)]
    image = rng.random((H, W), dtype=np.float32)
    return Result(A=A, C=traces[0], C_raw=traces[1], S=traces[2], b0=image, Cn=image,
                  PNR=image, centers=np.zeros((K, 2)), sn=np.ones(K),
                  params=FileParams().to_dict(),
                  attrs={"fps": 10.0, "frames_per_session": [T // 3] * 3,
                         "file_layout": "matlab"})


def _timed(fn, *args, repeats=3):
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, Path(out).stat().st_size


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, nargs=3, default=(256, 256, 3000), metavar=("H", "W", "T"))
    ap.add_argument("--neurons", type=int, default=300)
    args = ap.parse_args(argv)
    H, W, T = args.size
    result = synthetic_result(H, W, T, args.neurons)
    with tempfile.TemporaryDirectory() as tmp:
        h5_s, h5_bytes = _timed(write_results, Path(tmp) / "r_cnmfe.h5", result)
        mat_s, mat_bytes = _timed(write_results_mat, Path(tmp) / "r_cnmfe.mat", result)
    print(f"\nResults files, {H}x{W}x{T}, K = {args.neurons} (best of 3)\n")
    print("| file | write time (s) | size (MB) | time vs .h5 |")
    print("|---|---|---|---|")
    print(f"| `_cnmfe.h5` | {h5_s:.2f} | {h5_bytes / 1e6:.1f} | 1.00 |")
    print(f"| `_cnmfe.mat` (hdf5storage) | {mat_s:.2f} | {mat_bytes / 1e6:.1f} | "
          f"{mat_s / h5_s:.2f} |")


if __name__ == "__main__":
    main()
