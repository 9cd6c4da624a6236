"""Benchmark: concatenated sessions, and time and memory against the movie's length.

Two tables (issue 9):

1. **Sessions**: recordings cut into 2, 4 and 10 sessions with gain and
   offset steps between them and bleaching that restarts every session,
   from the project's simulator (``demo.simulate``'s ``sessions=`` option)
   and from minisim (PyPI; cases built by ``minisim_cases.py``, the
   ``sessions4`` case is the issue's 12,000-frame movie). Per case: neurons
   found, F1 (Hungarian matching on centres, <= 4 px) and the median
   Pearson r of the matched C against the true traces; the row "ignored" is
   the same movie extracted as one session (sessions switched off), the row
   "continuous" the project simulator's recording without steps.
2. **Length**: a 512 x 512 recording of 300 neurons (2,000 simulated
   frames repeated) at T = 2,000 / 10,000 / 20,000: wall time, time per
   frame and the peak resident memory of the extraction's own process, at
   the default ``max_memory_gb``;
3. **Budget**: F1 and peak memory at ``max_memory_gb`` 0.5 / 1 / 2 on the
   project simulator's 4-session movie.

Every extraction runs in a child interpreter, which reports its own peak
resident memory (``VmHWM``; not ``ru_maxrss``, which a child inherits from
its parent's size at the fork). Movies are written once into
``benchmarks/.cache``. minisim is a benchmark-only dependency
(``pip install minisim``); without it the minisim rows are skipped.

Usage: ``python benchmarks/bench_sessions.py [--quick] [--part sessions|length|budget]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np

from bench_common import peak_rss_mib  # noqa: E402

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "sessions"
GAINS = [1.0, 1.25, 0.85, 1.1, 0.95, 1.2, 0.9, 1.05, 1.15, 0.8]
OFFSETS = [0.0, 30.0, -20.0, 10.0, -10.0, 25.0, -15.0, 5.0, 20.0, -25.0]
OWN = (192, 192, 3000, 60)  # H, W, T, neurons of the project-simulator cases
OWN_QUICK = (96, 96, 1200, 15)
LENGTHS = (2000, 10000, 20000)
BLOCK = 2000  # simulated frames, repeated to the longer movies
TIMEOUT_S = 4 * 3600


# ------------------------------------------------------------------ movies --

def own_case(n_sessions: int, quick: bool) -> Path:
    """A project-simulator movie of ``n_sessions`` days (0: continuous, no steps)."""
    from caliali_tk.demo.files import write_simulated

    H, W, T, K = OWN_QUICK if quick else OWN
    path = CACHE / f"own_{H}x{W}x{T}_s{n_sessions}.h5"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    steps = None
    if n_sessions:
        frames = [T // n_sessions] * n_sessions
        frames[-1] += T - sum(frames)
        steps = dict(frames=frames, gains=GAINS[:n_sessions], offsets=OFFSETS[:n_sessions],
                     bleach=0.25, bleach_tau_s=60.0)
    write_simulated(path, H, W, T, n_neurons=K, seed=5, sessions=steps,
                    frames_per_session=steps["frames"] if steps else None)
    return path


def minisim_case(n_sessions: int, quick: bool) -> Path | None:
    """minisim's ``sessions4`` (or a 2- / 10-session variant), or None without minisim."""
    try:
        import minisim_cases as mc
    except ImportError:
        return None
    per = {2: 1500, 4: 3000, 10: 300}[n_sessions] if not quick else 300
    name = f"sessions{n_sessions}"
    path = CACHE / f"minisim_{name}_{per}.h5"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    if name not in mc.CASES:
        mc.CASES[name] = dataclasses.replace(
            mc.CASES["sessions4"], name=name, n_sessions=n_sessions,
            session_gains=tuple(GAINS[:n_sessions]), session_offsets=tuple(OFFSETS[:n_sessions]),
            description=f"{n_sessions} sessions of the sessions4 kind")
    mc.make_case(name, path, seed=0, n_frames=per)
    return path


def long_movie(T: int, quick: bool) -> Path:
    """512 x 512, 300 neurons: ``BLOCK`` simulated frames repeated to ``T``."""
    from caliali_tk.demo.files import write_simulated

    size, k, block = (128, 40, 500) if quick else (512, 300, BLOCK)
    src = CACHE / f"long_{size}_block{block}.h5"
    CACHE.mkdir(parents=True, exist_ok=True)
    if not src.exists():
        write_simulated(src, size, size, block, n_neurons=k, seed=1)
    path = CACHE / f"long_{size}_T{T}.h5"
    if T == block:
        return src
    if not path.exists():
        _repeat(src, path, T)
    return path


def _repeat(src: Path, dst: Path, T: int) -> None:
    tmp = dst.with_suffix(".tmp")
    with h5py.File(src, "r") as f, h5py.File(tmp, "w") as g:
        Y = f["Object"]
        n = Y.shape[0]
        out = g.create_dataset("Object", (T,) + Y.shape[1:], Y.dtype, chunks=Y.chunks)
        a = 0
        while a < T:  # copy pieces that do not wrap around the block
            s = a % n
            m = min(500, T - a, n - s)
            out[a:a + m] = Y[s:s + m]
            a += m
        gt = g.create_group("ground_truth")
        for key in ("A", "centers", "g"):
            gt[key] = f["ground_truth"][key][()]
        for key in ("C", "S"):
            x = f["ground_truth"][key][()]
            gt[key] = np.tile(x, (1, -(-T // n)))[:, :T]
        gt.attrs.update(dict(f["ground_truth"].attrs))
    os.replace(tmp, dst)


# -------------------------------------------------------------- running --

def _child(path: str, settings: dict) -> None:
    """Extract one movie (in its own interpreter); prints K and seconds."""
    from caliali_tk.bundle.frozen import warm_up
    from caliali_tk.io.params import FileParams
    from caliali_tk.pipeline import extract

    warm_up()
    t0 = time.perf_counter()
    out = settings_out(path, settings)
    result = extract(path, FileParams(**settings), out_path=out, use_cache=False)
    info = {"K": result.K, "seconds": time.perf_counter() - t0, "hwm_mib": peak_rss_mib()}
    Path(out + ".json").write_text(json.dumps(info))
    print(json.dumps(info))


def settings_out(path, settings) -> str:
    tag = "_".join(f"{k}{v}" for k, v in sorted(settings.items()) if k != "fps")
    tag = tag.replace(" ", "").replace("[", "").replace("]", "").replace(",", "-")
    return str(Path(path).with_name(Path(path).stem + f"_{tag or 'default'}_cnmfe.h5"))


def run(path: Path, **settings) -> dict:
    """Extract in a child process; its time, peak RSS and scores."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path),
           "--settings", json.dumps(settings)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(HERE.parent))
    t0 = time.perf_counter()
    _, status, _ = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read(), proc.stderr.read()
    if status != 0:
        raise RuntimeError(f"{path.name}: child failed\n{err[-2000:]}")
    info = json.loads(out.strip().splitlines()[-1])
    info.update(wall=time.perf_counter() - t0, peak_mib=info.pop("hwm_mib"))
    info.update(_score(settings_out(path, settings), path))
    return info


def _score(result_path, truth_path) -> dict:
    from caliali_tk.demo.selftest import score_against_truth

    with h5py.File(result_path, "r") as f:
        res = SimpleNamespace(centers=f["centers"][()], C=f["C"][()])
        gains = f.attrs.get("session_gain")
    with h5py.File(truth_path, "r") as f:
        truth = SimpleNamespace(centers=f["ground_truth/centers"][()],
                                C=f["ground_truth/C"][()])
    s = score_against_truth(res, truth)
    return {"f1": s["f1"], "r": s["median_r"], "true_K": len(truth.centers),
            "gains": None if gains is None else [round(float(g), 3) for g in gains]}


def _fps(path: Path) -> float:
    with h5py.File(path, "r") as f:
        return float(f["ground_truth"].attrs.get("fps", 10.0))


# ---------------------------------------------------------------- tables --

CASE_NAMES = ("own0", "own2", "own4", "own10", "minisim2", "minisim4", "minisim10")


def sessions_table(quick: bool, names=CASE_NAMES) -> list:
    rows = []
    cases = [("project", n, own_case(n, quick)) for n in (0, 2, 4, 10) if f"own{n}" in names]
    cases += [("minisim", n, minisim_case(n, quick)) for n in (2, 4, 10)
              if f"minisim{n}" in names]
    for sim, n, path in cases:
        if path is None:
            print(f"(minisim not installed: {sim} {n} sessions skipped)", flush=True)
            continue
        fps = _fps(path)
        variants = [("handled", {})]
        if n == 4:
            with h5py.File(path, "r") as f:
                T = f["Object"].shape[0]
            variants.append(("ignored", {"frames_per_session": [T], "detrend_s": 0.0}))
        for label, extra in variants:
            r = run(path, fps=fps, **extra)
            r.update(sim=sim, n=n, label="continuous" if n == 0 else label, movie=path.name)
            rows.append(r)
            _print_sessions([r])
    print("\nSessions: gain/offset steps and per-session bleaching")
    _print_sessions(rows)
    return rows


def _print_sessions(rows):
    print(f"{'simulator':>9} {'sessions':>8} {'variant':>10} {'K true':>6} {'K found':>7} "
          f"{'F1':>5} {'C r':>6} {'time s':>7} {'peak MiB':>8}  gains found")
    for r in rows:
        print(f"{r['sim']:>9} {r['n']:>8} {r['label']:>10} {r['true_K']:>6} {r['K']:>7} "
              f"{r['f1']:>5.3f} {r['r']:>6.3f} {r['seconds']:>7.1f} {r['peak_mib']:>8.0f}  "
              f"{r['gains']}", flush=True)


def length_table(quick: bool) -> list:
    runs = [(T, long_movie(T, quick), {"fps": 10.0}) for T in ((500, 2000) if quick else LENGTHS)]
    return _length_rows(runs, "Length: 512 x 512, 300 neurons, default max_memory_gb")


def budget_table(quick: bool) -> list:
    """F1 at three budgets on the project simulator's 4-session movie."""
    path = own_case(4, quick)
    runs = [(f"{gb:g} GiB", path, {"fps": _fps(path), "max_memory_gb": gb})
            for gb in (0.5, 1.0, 2.0)]
    return _length_rows(runs, "Budget: the same movie at three max_memory_gb")


def _length_rows(runs, heading) -> list:
    """Extract ``(label, movie, settings)`` one by one, printing each row, then the table."""
    rows = []
    for label, path, settings in runs:
        r = run(path, **settings)
        r.update(T=label, movie=path.name)
        rows.append(r)
        _print_length([r])
    print("\n" + heading)
    _print_length(rows)
    return rows


def _print_length(rows):
    print(f"{'T / budget':>10} {'K found':>7} {'F1':>5} {'C r':>6} {'time s':>7} "
          f"{'ms/frame':>8} {'peak MiB':>8}")
    for r in rows:
        with h5py.File(CACHE / r["movie"], "r") as f:
            T = f["Object"].shape[0]
        print(f"{str(r['T']):>10} {r['K']:>7} {r['f1']:>5.3f} {r['r']:>6.3f} "
              f"{r['seconds']:>7.1f} {1000 * r['seconds'] / T:>8.2f} {r['peak_mib']:>8.0f}",
              flush=True)


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small movies only")
    ap.add_argument("--part", choices=("sessions", "length", "budget"), action="append")
    ap.add_argument("--cases", default=",".join(CASE_NAMES),
                    help="session-table rows to run (default: all): " + ",".join(CASE_NAMES))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child, json.loads(args.settings))
        return []
    sys.path.insert(0, str(HERE))
    parts = args.part or ["sessions", "length", "budget"]
    out = []
    for part in parts:
        if part == "sessions":
            out += sessions_table(args.quick, args.cases.split(","))
        else:
            out += {"length": length_table, "budget": budget_table}[part](args.quick)
    return out


if __name__ == "__main__":
    main()
