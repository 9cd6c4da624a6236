"""Timing of OASIS deconvolution (caliali_tk.core.deconv).

Run: ``python benchmarks/bench_oasis.py [--traces 300] [--frames 3000]``.

Prints one table: ``deconvolve`` over K traces × T frames for each method and
AR order, the bare solvers, and for reference the same convex problem solved
by scipy's NNLS on the dense kernel matrix (shorter traces: it is O(T³)) and
the AR(1) pooling kernel run as plain Python (numba's ``py_func``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import nnls
from scipy.signal import lfilter

from caliali_tk.core.deconv import deconvolve, objective, oasis_ar1, oasis_ar2
from caliali_tk.core.deconv.oasis_ar1 import _ar1_pools, _lam_shift


def simulate(K, T, g, snr=5.0, rate=0.01, sigma=0.2, seed=0):
    rng = np.random.default_rng(seed)
    g = list(g) + [0.0] * (2 - len(g))
    imp = lfilter([1.0], [1.0, -g[0], -g[1]], np.eye(1, 500)[0])
    amp = snr * sigma / imp.max()
    s = rng.poisson(rate, (K, T)) * amp * rng.uniform(0.8, 1.2, (K, T))
    c = lfilter([1.0], [1.0, -g[0], -g[1]], s, axis=1)
    return 1.0 + c + sigma * rng.standard_normal((K, T))


def brute_force(y, g, lam):
    """min ½‖y − K s‖² + lam·1ᵀs, s ≥ 0, by NNLS on the dense kernel matrix."""
    T = y.size
    g = list(g) + [0.0] * (2 - len(g))
    h = lfilter([1.0], [1.0, -g[0], -g[1]], np.eye(1, T)[0])
    Km = np.zeros((T, T))
    for j in range(T):
        Km[j:, j] = h[:T - j]
    z = np.linalg.solve(Km.T, lam * np.ones(T))
    s, _ = nnls(Km, y - z, maxiter=100 * T)
    return Km @ s


def timed(fn, repeat=1):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", type=int, default=300)
    ap.add_argument("--frames", type=int, default=3000)
    ap.add_argument("--short", type=int, default=300, help="frames for the reference solvers")
    args = ap.parse_args(argv)
    K, T, Ts = args.traces, args.frames, args.short

    g1 = [0.95]
    g2 = [0.95 + 0.6, -0.95 * 0.6]
    Y1 = simulate(K, T, g1, seed=1)
    Y2 = simulate(K, T, g2, seed=2)

    t0 = time.perf_counter()
    for p, Y in ((1, Y1), (2, Y2)):
        for m in ("thresholded", "constrained", "foopsi"):
            deconvolve(Y[0, :200], p=p, method=m, s_min=-3, lam=0.5)
    warm = time.perf_counter() - t0

    rows = []

    def add(name, size, seconds, n, note=""):
        rows.append((name, size, seconds, 1e3 * seconds / n, note))

    for p, Y in ((1, Y1), (2, Y2)):
        for m, kw in (("thresholded", {"s_min": -3}), ("constrained", {}),
                      ("foopsi", {"lam": 0.5})):
            sec, _ = timed(lambda: [deconvolve(y, p=p, method=m, **kw) for y in Y])
            add(f"deconvolve AR({p}) {m}", f"{K}x{T}", sec, K)
        yb = Y - 1.0
        if p == 1:
            sec, _ = timed(lambda: [oasis_ar1(y, g1[0], 0.5) for y in yb])
        else:
            sec, _ = timed(lambda: [oasis_ar2(y, g2[0], g2[1], 0.5) for y in yb])
        add(f"oasis_ar{p} (lam=0.5, exact)", f"{K}x{T}", sec, K)
        if p == 2:
            sec, _ = timed(lambda: [oasis_ar2(y, g2[0], g2[1], 0.5, exact=False) for y in yb])
            add("oasis_ar2 greedy pass only", f"{K}x{T}", sec, K)

    # reference solvers on short traces, same problems
    n_ref = 5
    for p, Y, g in ((1, Y1, g1), (2, Y2, g2)):
        ys = Y[:n_ref, :Ts] - 1.0
        sec_bf, cbf = timed(lambda: [brute_force(y, g, 0.5) for y in ys])
        if p == 1:
            sec_o, co = timed(lambda: [oasis_ar1(y, g[0], 0.5)[0] for y in ys], repeat=3)
        else:
            sec_o, co = timed(lambda: [oasis_ar2(y, g[0], g[1], 0.5)[0] for y in ys], repeat=3)
        gap = max(abs(objective(y, a, g, 0.5) - objective(y, b, g, 0.5)) / objective(y, b, g, 0.5)
                  for y, a, b in zip(ys, co, cbf))
        add(f"scipy NNLS, dense K, AR({p})", f"{n_ref}x{Ts}", sec_bf, n_ref)
        add(f"oasis_ar{p}, same traces", f"{n_ref}x{Ts}", sec_o, n_ref,
            f"{sec_bf / sec_o:,.0f}x faster, rel. objective gap {gap:.1e}")

    # the AR(1) pooling kernel as plain Python vs numba
    n_py = 3
    ys = Y1[:n_py] - 1.0

    def pure_python():
        for y in ys:
            c = np.zeros(T)
            s = np.zeros(T)
            _ar1_pools.py_func(_lam_shift.py_func(y, g1[0], 0.0, 0.5),
                                     g1[0], 0.0, False, c, s)

    sec_py, _ = timed(pure_python)
    sec_nb, _ = timed(lambda: [oasis_ar1(y, g1[0], 0.5) for y in ys], repeat=3)
    add("AR(1) pooling, plain Python", f"{n_py}x{T}", sec_py, n_py)
    add("AR(1) pooling, numba", f"{n_py}x{T}", sec_nb, n_py, f"{sec_py / sec_nb:,.0f}x faster")

    print(f"numba load/compile (first calls): {warm:.2f} s")
    w = max(len(r[0]) for r in rows)
    print(f"{'what':<{w}}  {'traces x T':>11}  {'total s':>9}  {'ms/trace':>9}  note")
    for name, size, sec, ms, note in rows:
        print(f"{name:<{w}}  {size:>11}  {sec:9.3f}  {ms:9.3f}  {note}")


if __name__ == "__main__":
    main()
