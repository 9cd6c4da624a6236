"""Benchmark: trace fidelity of the deconvolution settings, frame rate × method.

The table that chose the deconvolution defaults (README, "Traces"). Each
movie is simulated once into ``benchmarks/.cache`` and extracted once per
method with everything else at its default; the summary images are computed
before the clock starts.

Movies (128 × 128):

- the project's simulator (``caliali_tk.demo``: per-neuron AR(2) kernels,
  rise 40–120 ms, decay 0.5–1.2 s) at 5, 10, 20 and 30 Hz, 1500 frames,
  30 neurons;
- minisim (PyPI; ``minisim_movies.py``): a physical miniscope simulator with
  a 50 ms rise, 0.5 s decay kernel integrated over each frame's exposure and
  bursty firing: cases ``clean_20hz``, ``clean_10hz``, ``dense_dim`` (small
  dim cells, strong neuropil, bleaching), ``sparse_30hz``, ``lowfps_5hz``.
  Skipped when minisim is not installed.

Methods (``FileParams`` settings): ``legacy`` (the preset of caliali-tk
before issue 11: AR(1) from the autocovariance, σ from the raw spectrum,
thresholded at 3 σ), ``ar1`` / ``ar2`` / ``auto`` (kernel fitted on the
trace, thresholded at 3 σ; ``auto`` is the default), ``auto-2σ`` (s_min
−2), ``auto-constrained`` (noise-constrained L1, no minimum spike size),
``caliali`` (CaliAli's final pass: AR(2), foopsi, s_min −5).

Per movie and method: F1 of the neurons (Hungarian matching of centres
within 4 px), the median Pearson r over matched neurons of C and C_raw with
the true fluorescence and of S with the true spikes (both smoothed by a
Gaussian of 2 frames), the median decay and rise times found, and the
extraction time (seconds, and relative to ``legacy``).

Usage: ``python benchmarks/bench_traces.py [--quick] [--frames T]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
sys.path.insert(0, str(HERE))

SIZE = (128, 128)
FRAMES = 1500
PROJECT_FPS = (5.0, 10.0, 20.0, 30.0)
MINISIM_CASES = ("lowfps_5hz", "clean_10hz", "clean_20hz", "dense_dim", "sparse_30hz")
METHODS = {
    "legacy": dict(deconv_preset="legacy"),
    "ar1": dict(deconv_model="ar1"),
    "ar2": dict(deconv_model="ar2"),
    "auto": dict(),
    "auto-2σ": dict(s_min=-2.0),
    "auto-constrained": dict(deconv_method="constrained", s_min=0.0),
    "caliali": dict(deconv_preset="caliali"),
}
QUICK_METHODS = ("legacy", "auto", "caliali")


def _project_movie(fps, frames):
    from caliali_tk.demo.files import load_truth, write_simulated

    path = CACHE / f"traces_project_{int(fps)}hz_{frames}.h5"
    if not path.exists():
        write_simulated(path, *SIZE, frames, n_neurons=30, gSig=2.5, fps=fps, seed=1)
    return path, load_truth(path)


def _minisim_movie(case, frames):
    import minisim_movies

    path = CACHE / f"traces_minisim_{case}_{frames}.h5"
    if not path.exists():
        minisim_movies.write_case(case, path, *SIZE, n_frames=frames, seed=0)
    return path, minisim_movies.load_truth(path)


def movies(quick, frames):
    """``(label, path, truth)`` of every benchmark movie (written once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = [(f"project {int(f)} Hz", *_project_movie(f, frames))
           for f in ((20.0,) if quick else PROJECT_FPS)]
    try:
        import minisim  # noqa: F401
    except ImportError:
        print("minisim is not installed: its movies are skipped", flush=True)
        return out
    for case in (("clean_20hz",) if quick else MINISIM_CASES):
        out.append((f"minisim {case}", *_minisim_movie(case, frames)))
    return out


def run(path, truth, settings):
    """Extract one movie with these FileParams settings; scores and time."""
    from caliali_tk.demo.selftest import score_against_truth
    from caliali_tk.io.params import FileParams
    from caliali_tk.pipeline import compute_summary, extract

    params = FileParams(fps=float(truth.fps), **settings)
    compute_summary(path, params.gSig)
    t0 = time.perf_counter()
    result = extract(path, params, out_path=False)
    seconds = time.perf_counter() - t0
    score = score_against_truth(result, truth)
    taus = (np.nanmedian(result.tau_decay), np.nanmedian(result.tau_rise)) \
        if result.K and result.tau_decay is not None else (np.nan, np.nan)
    return dict(f1=score["f1"], r_C=score["median_r"], r_C_raw=score["median_r_C_raw"],
                r_S=score["median_r_S"], tau_d=taus[0], tau_r=taus[1], seconds=seconds,
                K=result.K, K_true=len(truth.centers))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one movie per simulator, 3 methods")
    ap.add_argument("--frames", type=int, default=FRAMES)
    args = ap.parse_args(argv)
    from caliali_tk.bundle.frozen import warm_up

    warm_up()
    methods = QUICK_METHODS if args.quick else tuple(METHODS)
    rows = []
    for label, path, truth in movies(args.quick, args.frames):
        base = None
        for name in methods:
            r = run(path, truth, METHODS[name])
            base = r["seconds"] if name == "legacy" else base
            r.update(movie=label, method=name,
                     time_ratio=r["seconds"] / base if base else np.nan)
            rows.append(r)
            print(_line(r), flush=True)
    print(f"\nTrace fidelity, {SIZE[0]}x{SIZE[1]}x{args.frames} "
          "(median r over matched neurons; S smoothed by a 2-frame Gaussian)\n")
    print(HEAD)
    print(SEP)
    for r in rows:
        print(_line(r))
    return rows


HEAD = ("| movie | method | F1 | K found/true | r C | r C_raw | r S | "
        "τ decay s | τ rise s | time s | × legacy |")
SEP = "|---|---|---|---|---|---|---|---|---|---|---|"


def _line(r):
    return (f"| {r['movie']} | {r['method']} | {r['f1']:.3f} | {r['K']}/{r['K_true']} | "
            f"{r['r_C']:.4f} | {r['r_C_raw']:.4f} | {r['r_S']:.4f} | {r['tau_d']:.3f} | "
            f"{r['tau_r']:.3f} | {r['seconds']:.1f} | {r['time_ratio']:.2f} |")


if __name__ == "__main__":
    main()
