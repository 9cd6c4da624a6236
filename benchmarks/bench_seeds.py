"""Benchmark: seed search for the threshold window's live redraw.

`SeedFinder` finds the local maxima of Cn·PNR once; each threshold or mask
change then only filters them. The reference is the plain way: a maximum
filter over the whole image (scipy.ndimage) at every change. 600 x 600
images, as in the GUI issue.

Usage: ``python benchmarks/bench_seeds.py``.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import ndimage


def _images(n=600, seed=0):
    rng = np.random.default_rng(seed)
    Cn = ndimage.gaussian_filter(rng.random((n, n)), 1.5)
    Cn = (Cn - Cn.min()) / (Cn.max() - Cn.min())
    PNR = 20 * ndimage.gaussian_filter(rng.random((n, n)), 1.0)
    return Cn.astype(np.float32), PNR.astype(np.float32)


def _best(fn, repeat=20):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _reference(Cn, PNR, min_corr, min_pnr, mask):
    prod = Cn * PNR
    peak = prod == ndimage.maximum_filter(prod, size=3)
    return peak & (Cn >= min_corr) & (PNR >= min_pnr) & mask


def main(argv=None):
    from caliali_tk.core.seeds import SeedFinder

    Cn, PNR = _images()
    mask = np.ones(Cn.shape, bool)
    mask[:100] = False
    t = time.perf_counter()
    finder = SeedFinder(Cn, PNR, 2.5)
    setup = time.perf_counter() - t
    finder.find(0.5, 5, mask)
    fast = _best(lambda: finder.find(0.5, 5, mask))
    ref = _best(lambda: _reference(Cn, PNR, 0.5, 5, mask))
    print("\nSeed search on 600 x 600 (threshold window redraw)")
    print(f"{'path':<42} {'ms':>8} {'vs reference':>13}")
    print(f"{'SeedFinder.find (maxima precomputed)':<42} {fast * 1e3:>8.2f} {ref / fast:>12.1f}x")
    print(f"{'SeedFinder set-up (once per image)':<42} {setup * 1e3:>8.2f}")
    print(f"{'reference: maximum filter per change':<42} {ref * 1e3:>8.2f} {1.0:>12.1f}x")


if __name__ == "__main__":
    main()
