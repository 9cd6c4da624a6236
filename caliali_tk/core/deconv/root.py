"""Safeguarded root of a non-increasing function, one evaluation at a time.

The baseline of a deconvolution (and the noise-constrained lam) is the root
of a non-increasing function whose every evaluation is one OASIS solve. The
search is written as a state machine (:func:`root_start`, :func:`root_step`):
the caller evaluates f where the state says and hands the value back. That
way one implementation serves both the numba driver of the hot path (the
baseline of a thresholded fit, ``deconvolve._thresholded_b_root``, with no
Python between the solves) and :func:`root_decreasing`, which takes any
Python callable.

The search: a first step of ``step0`` (default ``|f(x0)|``, exact when the
slope is −1, as it is for the baseline when c does not move) towards the
root, then secant extrapolation (steps at most 4× the last) until the sign
changes, then the Illinois variant of regula falsi. It returns lo / hi when
f keeps its sign up to the bound.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["root_decreasing", "root_start", "root_step", "X"]

# slots of the state array
X, XP, FP, A, FA, B, FB = 0, 1, 2, 3, 4, 5, 6
HAS_A, HAS_B, N, SIDE, PHASE = 7, 8, 9, 10, 11
LO, HI, XTOL, FTOL, STEP0, MAX_EVAL = 12, 13, 14, 15, 16, 17
_SLOTS = 18
_FIRST, _BRACKET, _FALSI = 0.0, 1.0, 2.0


def root_start(x0, lo, hi, xtol, ftol, step0=-1.0, max_eval=60.0):
    """A new search from x0 on [lo, hi]; ``step0 < 0``: the first step is |f(x0)|.

    f is to be evaluated at ``state[X]`` first. Plain Python, called once
    per search: a numba function called with omitted defaults takes the
    dispatcher's slow path (0.3 ms, under numba's global lock) every time.
    """
    st = np.zeros(_SLOTS)
    st[X], st[LO], st[HI], st[XTOL], st[FTOL] = x0, lo, hi, xtol, ftol
    st[STEP0], st[MAX_EVAL], st[PHASE] = step0, max_eval, _FIRST
    return st


@njit(nogil=True, cache=True)
def _keep(st, x, fx):
    """Record (x, fx) as the positive (a) or the non-positive (b) end."""
    if fx > 0:
        st[A], st[FA], st[HAS_A] = x, fx, 1.0
    else:
        st[B], st[FB], st[HAS_B] = x, fx, 1.0


@njit(nogil=True, cache=True)
def _clip(x, st):
    return min(max(x, st[LO]), st[HI])


@njit(nogil=True, cache=True)
def _falsi_next(st):
    """Next regula falsi point, or True when the bracket is closed (x stays)."""
    a, b = st[A], st[B]
    if not (st[N] < st[MAX_EVAL] and abs(b - a) > st[XTOL]):
        return True
    x = b - st[FB] * (b - a) / (st[FB] - st[FA])
    if not (min(a, b) < x < max(a, b)):
        x = 0.5 * (a + b)
    st[X] = x
    return False


@njit(nogil=True, cache=True)
def root_step(st, fx):
    """Take f at ``st[X]``; True when the search is over (the root is ``st[X]``)."""
    x = st[X]
    st[N] += 1.0
    if abs(fx) <= st[FTOL]:
        return True
    if st[PHASE] == _FIRST:
        _keep(st, x, fx)
        st[XP], st[FP] = x, fx
        step = abs(fx) if st[STEP0] < 0 else st[STEP0]
        st[X] = _clip(x + (step if fx > 0 else -step), st)
        st[PHASE] = _BRACKET
        return False
    if st[PHASE] == _BRACKET:
        _keep(st, x, fx)
        if st[HAS_A] > 0 and st[HAS_B] > 0:
            st[PHASE], st[SIDE], st[X] = _FALSI, 0.0, st[A]
            return _falsi_next(st)
        if x <= st[LO] or x >= st[HI] or st[N] >= st[MAX_EVAL]:
            return True
        last = abs(x - st[XP])
        slope = (fx - st[FP]) / (x - st[XP]) if x != st[XP] else 0.0
        if slope < 0:
            dx = -fx / slope
            dx = np.sign(dx) * min(max(abs(dx), st[XTOL]), 4.0 * last)
        else:
            dx = (2.0 * last) if fx > 0 else (-2.0 * last)
        st[XP], st[FP] = x, fx
        st[X] = _clip(x + dx, st)
        return False
    # Illinois: halve the value kept at the end that stays twice in a row
    if fx > 0:
        st[A], st[FA] = x, fx
        if st[SIDE] == 1.0:
            st[FB] *= 0.5
        st[SIDE] = 1.0
    else:
        st[B], st[FB] = x, fx
        if st[SIDE] == -1.0:
            st[FA] *= 0.5
        st[SIDE] = -1.0
    return _falsi_next(st)


def root_decreasing(f, x0, lo, hi, xtol, ftol, step0=None):
    """Root of a non-increasing Python callable ``f`` on [lo, hi], from x0."""
    st = root_start(float(x0), float(lo), float(hi), float(xtol), float(ftol),
                    -1.0 if step0 is None else float(step0))
    while not root_step(st, float(f(st[X]))):
        pass
    return float(st[X])
