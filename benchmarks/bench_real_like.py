"""Benchmark: extraction on movies with the artefacts of real recordings.

Each movie is extracted as a new user would do it: no saved parameters, so
the thresholds and gSig are the ones the tool starts from (its suggestion,
or the fixed defaults where there is none), the frame rate given. Per movie:

- components found, precision, recall and F1 against the ground truth
  (Hungarian matching of centres within 4 px);
- near-duplicate pairs: two components whose centres are < 5 px apart and
  whose raw traces correlate with r > 0.5 (one cell split in two);
- dim %: the share of components whose centre pixel is dimmer than the 75th
  percentile of the movie's max-minus-mean image (components on
  background, stripes or the dark edge of the field).

Movies: the project's simulator (``caliali_tk.demo``) with line noise,
compression blocks, a background-removed uint8 movie, a dense population
(200 cells 8 um apart at 1.5 um/px) and a low frame rate with single-event
cells; and the independent minisim simulator (``minisim_cases.py``, run by
the Python named in ``$MINISIM_PYTHON``, skipped when minisim is missing).
Movies are written once into ``benchmarks/.cache/real_like``; each
extraction runs in a fresh interpreter (``$BENCH_PYTHONPATH`` selects
another copy of the package for a before/after comparison).

Usage: ``python benchmarks/bench_real_like.py [--quick] [--only NAME ...]
[--label TEXT]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path(os.environ.get("BENCH_CACHE", HERE / ".cache" / "real_like"))
DUP_DIST, DUP_CORR, DIM_PERCENTILE = 5.0, 0.5, 75.0

# name -> simulator keyword arguments (full size; --quick shrinks them)
OWN = {
    "sim_clean": dict(n_neurons=100, fps=10.0),
    "sim_line_noise": dict(n_neurons=100, fps=10.0, line_noise=1.0),
    "sim_stripes_blocks": dict(n_neurons=100, fps=10.0, line_noise=1.0, col_noise=0.5,
                               block_q=1.5),
    "sim_bg_removed_u8": dict(n_neurons=100, fps=10.0, bg_removed=True),
    "sim_dense_200": dict(n_neurons=200, fps=10.0, cell_spacing_um=8.0, um_per_px=1.5),
    "sim_lowfps_3hz": dict(n_neurons=100, fps=3.0, n_frames=1000, single_event=0.3),
}
MINISIM = ("ms_clean_20hz", "ms_line_noise", "ms_dense_dim", "ms_bg_removed_uint8",
           "ms_lowfps_5hz")


def _movie(name: str, quick: bool) -> Path | None:
    CACHE.mkdir(parents=True, exist_ok=True)
    tag = "q" if quick else "f"
    path = CACHE / f"{name}_{tag}.h5"
    if path.exists():
        return path
    if name in OWN:
        from caliali_tk.demo.files import write_simulated

        kw = dict(OWN[name])
        T = kw.pop("n_frames", 3000)
        H = W = 256
        if quick:
            H = W = 128
            T = T // 3
            kw["n_neurons"] = max(10, kw["n_neurons"] // 4)
        print(f"writing {path.name} ...", flush=True)
        write_simulated(path, H, W, T, seed=11, **kw)
        return path
    python = os.environ.get("MINISIM_PYTHON", sys.executable)
    cmd = [python, str(HERE / "minisim_cases.py"), name[3:], str(path), "--seed", "0"]
    if quick:
        cmd += ["--frames", "600" if "5hz" not in name else "300"]
    print(f"writing {path.name} with minisim ...", flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  skipped: minisim not available ({done.stderr.strip().splitlines()[-1:]})")
        return None
    return path


# ------------------------------------------------------------------ child ---

def _truth(path):
    import h5py

    with h5py.File(path, "r") as f:
        g = f["ground_truth"]
        return np.asarray(g["centers"][()], float), np.asarray(g["C"][()], float), \
            float(g.attrs["fps"])


def _max_minus_mean(path):
    from caliali_tk.io.video import VideoFile

    with VideoFile(path) as vf:
        mx = np.full((vf.height, vf.width), -np.inf)
        total = np.zeros((vf.height, vf.width))
        for _, frames in vf.iter_chunks(200):
            mx = np.maximum(mx, frames.max(axis=0))
            total += frames.sum(axis=0, dtype=np.float64)
        return mx - total / vf.n_frames


def _start_params(path, fps):
    """What the tool starts from for a video without saved parameters."""
    import dataclasses
    from caliali_tk.io.params import FileParams

    try:
        from caliali_tk.pipeline.suggest import start_params
    except ImportError:  # a tool without suggestions starts from the defaults
        params = FileParams()
    else:
        params = start_params(path)[0]
    return dataclasses.replace(params, fps=fps)


def near_duplicates(centers, C_raw, dist=DUP_DIST, corr=DUP_CORR) -> int:
    """Pairs of components closer than ``dist`` px whose traces correlate > ``corr``."""
    centers = np.asarray(centers, float).reshape(-1, 2)
    n = 0
    for i in range(len(centers)):
        for j in range(i + 1, len(centers)):
            if np.hypot(*(centers[i] - centers[j])) < dist:
                n += np.corrcoef(C_raw[i], C_raw[j])[0, 1] > corr
    return int(n)


def dim_share(centers, image, percentile=DIM_PERCENTILE) -> float:
    """Share of centres on pixels dimmer than the given percentile of ``image``."""
    if not len(centers):
        return 0.0
    rc = np.clip(np.round(centers).astype(int), 0, np.array(image.shape) - 1)
    return float(np.mean(image[rc[:, 0], rc[:, 1]] < np.percentile(image, percentile)))


def _child(path: str) -> dict:
    from types import SimpleNamespace
    from caliali_tk.pipeline import extract
    from caliali_tk.demo.selftest import score_against_truth

    centers, C, fps = _truth(path)
    params = _start_params(path, fps)
    t0 = time.perf_counter()
    result = extract(path, params, out_path=False, use_cache=False)
    seconds = time.perf_counter() - t0
    score = score_against_truth(result, SimpleNamespace(centers=centers, C=C))
    return dict(K=result.K, true_K=len(centers), precision=score["precision"],
                recall=score["recall"], f1=score["f1"],
                dups=near_duplicates(result.centers, result.C_raw),
                dim=dim_share(result.centers, _max_minus_mean(path)),
                min_pnr=params.min_pnr, min_corr=params.min_corr, gSig=params.gSig,
                seconds=seconds)


def _run(path: Path) -> dict:
    env = dict(os.environ)
    if env.get("BENCH_PYTHONPATH"):
        env["PYTHONPATH"] = env["BENCH_PYTHONPATH"]
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT), env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{path.name}: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------- main ---

def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small movies")
    ap.add_argument("--only", nargs="*", help="movie names to run")
    ap.add_argument("--label", default="", help="saved as .cache/real_like/LABEL.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child)))
        return []
    names = args.only or (list(OWN) + list(MINISIM))
    rows = []
    print("\nReal-like movies: extraction from the tool's starting parameters")
    _header()
    for name in names:
        path = _movie(name, args.quick)
        if path is None:
            continue
        r = dict(_run(path), movie=name)
        rows.append(r)
        _print(r)
    if args.label:
        (CACHE / f"{args.label}.json").write_text(json.dumps(rows, indent=1))
    return rows


def _header():
    print("| movie | K true | K found | precision | recall | F1 | near-dup pairs "
          "| dim % | min_pnr | min_corr | gSig | time s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")


def _print(r):
    print(f"| {r['movie']} | {r['true_K']} | {r['K']} | {r['precision']:.3f} | "
          f"{r['recall']:.3f} | {r['f1']:.3f} | {r['dups']} | {100 * r['dim']:.1f} | "
          f"{r['min_pnr']:g} | {r['min_corr']:g} | {r['gSig']:g} | {r['seconds']:.0f} |",
          flush=True)


if __name__ == "__main__":
    main()
