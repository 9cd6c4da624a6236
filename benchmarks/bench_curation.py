"""Curation costs: the residual pass's share of the extraction, merge, add, save.

Prints a markdown table. One simulated movie (two sessions), one extraction
with a progress callback that notes when each stage starts, then a merge of
two neurons and an add at a left-out neuron's place (each a streaming pass
over the movie), and saving the curation into the results file.

    .venv/bin/python benchmarks/bench_curation.py [--quick]
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in argv
    H, T, K = (128, 600, 30) if quick else (256, 2000, 120)
    from caliali_tk.demo.files import write_simulated
    from caliali_tk.io.curation import Curation
    from caliali_tk.io.curation_file import load_curation, save_curation
    from caliali_tk.io.params import FileParams
    from caliali_tk.io.results import load_results, results_path, write_results
    from caliali_tk.pipeline import extract
    from caliali_tk.pipeline.curate import add_neuron, merge

    folder = Path(tempfile.mkdtemp(prefix="caliali-bench-curation-"))
    video = folder / "m.h5"
    write_simulated(video, H, H, T, n_neurons=K, seed=3, frames_per_session=[T // 2] * 2)
    warm = folder / "warm.h5"
    write_simulated(warm, 64, 64, 300, n_neurons=6, seed=1)
    extract(warm, FileParams(), use_cache=False, out_path=False)    # the kernels, compiled

    starts = {}

    def progress(fraction, message):
        starts.setdefault(message.split(":")[0], time.perf_counter())

    t0 = time.perf_counter()
    extract(video, FileParams(), progress=progress, use_cache=False)
    total = time.perf_counter() - t0
    residual = starts.get("writing results", t0 + total) - starts["residual images"]

    res = load_results(results_path(video))
    cur = Curation(res)
    t = time.perf_counter()
    merge(cur, [1, 2], video)
    t_merge = time.perf_counter() - t
    j = int(np.argmax(res.C_raw.max(axis=1) / res.sn))  # the clearest neuron, left out
    keep = np.arange(res.K) != j
    dropped = dataclasses.replace(res, **{n: getattr(res, n)[keep] for n in
                                          ("A", "C", "C_raw", "S", "sn", "centers")})
    cur2 = Curation(dropped)
    t = time.perf_counter()
    add_neuron(cur2, *res.centers[j], video)
    t_add = time.perf_counter() - t
    path = write_results(folder / "d_cnmfe.h5", dropped)
    c = load_curation(path)
    c.set_accepted([3], False)
    t = time.perf_counter()
    save_curation(path, c)
    t_save = time.perf_counter() - t

    print(f"\n### Curation ({H}x{H}x{T}, {res.K} neurons found, 2 sessions)\n")
    print("| step | seconds | vs. the extraction |")
    print("|---|---|---|")
    print(f"| extraction (all of it) | {total:.1f} | 1 |")
    print(f"| residual images pass (inside it) | {residual:.1f} | {residual / total:.3f} |")
    print(f"| merge 1+2 (refit from the movie) | {t_merge:.2f} | {t_merge / total:.3f} |")
    print(f"| add a neuron (init + refit) | {t_add:.2f} | {t_add / total:.3f} |")
    print(f"| save the curation ({os.path.getsize(path) / 2**20:.1f} MB file) "
          f"| {t_save:.3f} | {t_save / total:.4f} |")


if __name__ == "__main__":
    main()
