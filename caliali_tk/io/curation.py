"""Curation of an extraction: which components are kept, merged or added.

Components are numbered as the results window shows them, from 1: first the
extraction's own components (the results file's root datasets, in order),
then those its quality filter set aside (``/rejected``, issue 10), then the
ones curation made (merges, added neurons, refitted neighbours) in the order
they were made. A number never changes meaning, so ``--reject 3,7`` means
the same neurons before and after a merge; a neighbour whose trace is
refitted when a neuron is added keeps its number.

A :class:`Curation` is the pool of every component ever made plus a list of
states (which numbers are in the list, which are accepted); each operation
appends a state and undo drops the last one. Nothing here reads the movie:
the operations that need it (merge, add a neuron) are in
:mod:`caliali_tk.pipeline.curate` and hand their new components to
:meth:`Curation.replace`. The file side is :mod:`caliali_tk.io.curation_file`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from caliali_tk.core.component_stats import basic_quality
from caliali_tk.errors import UserError

__all__ = ["Components", "State", "Curation", "CurationError", "QUALITY_METRICS",
           "parse_numbers", "parse_merges"]

#: The quality columns of the list, in order (issue 10's layout).
QUALITY_METRICS = ("snr", "spatial_corr", "size", "compactness", "elongation", "n_events")


class CurationError(UserError):
    """A curation request that cannot be done (unknown neuron, bad list)."""


@dataclass
class Components:
    """A block of components in display orientation (the pool is made of these).

    ``origin`` says where each came from: ``"extraction"``, ``"rejected by
    the quality filter"``, ``"merge of 4+5"``, ``"added at row 10, col 20"``...
    """

    A: np.ndarray        # (n, H, W) float32
    C: np.ndarray        # (n, T)
    C_raw: np.ndarray    # (n, T)
    S: np.ndarray        # (n, T)
    sn: np.ndarray       # (n,)
    centers: np.ndarray  # (n, 2) row, col
    origin: List[str] = field(default_factory=list)

    FIELDS = ("A", "C", "C_raw", "S", "sn", "centers")

    def __len__(self) -> int:
        return int(np.shape(self.A)[0])

    @classmethod
    def empty(cls, shape, T: int) -> "Components":
        """No components, for frames of `shape` (H, W) and `T` frames."""
        z = np.zeros((0, T), np.float32)
        return cls(np.zeros((0,) + tuple(shape), np.float32), z, z.copy(), z.copy(),
                   np.zeros(0, np.float32), np.zeros((0, 2), np.float32), [])

    def take(self, idx) -> "Components":
        """The components at positions `idx`."""
        idx = np.asarray(idx, np.int64)
        return Components(*(np.asarray(getattr(self, n))[idx] for n in self.FIELDS),
                          origin=[self.origin[i] for i in idx])

    def concat(self, other: "Components") -> "Components":
        """These components followed by `other`'s."""
        if not len(other):
            return self
        return Components(*(np.concatenate([np.asarray(getattr(self, n), np.float32),
                                            np.asarray(getattr(other, n), np.float32)])
                            for n in self.FIELDS), origin=self.origin + other.origin)


@dataclass
class State:
    """The list after one operation: pool indices (0-based) in list order and
    whether each is accepted; ``op`` is the operation that made it."""

    ids: np.ndarray
    accepted: np.ndarray
    op: Dict = field(default_factory=dict)


class Curation:
    """Every component of a result, the curation's states and the quality values.

    Parameters
    ----------
    result : caliali_tk.io.results.Result
        The extraction (never changed).
    rejected : Components, optional
        Components the extraction's quality filter set aside (start rejected).
    quality : dict of str -> (K + R,) float, optional
        Metrics stored by the extraction, for its components and the rejected
        ones; missing metrics are computed (SNR, size, events) or NaN.
    made : Components, optional
        Components curation made earlier (read back from the file).
    states : list of State, optional
        The saved states; default one state: the extraction's components
        accepted, the rejected ones not.
    made_labels : ndarray, optional
        The numbers of the `made` components.
    """

    def __init__(self, result, rejected: Optional[Components] = None,
                 quality: Optional[Dict[str, np.ndarray]] = None,
                 made: Optional[Components] = None, states: Optional[List[State]] = None,
                 made_labels: Optional[np.ndarray] = None):
        self.result = result
        K = result.K
        base = Components(result.A, result.C, result.C_raw, result.S, result.sn,
                          result.centers, ["extraction"] * K)
        self.rejected = rejected if rejected is not None else \
            Components.empty((result.H, result.W), result.T)
        self.pool = base.concat(self.rejected)
        self.n_base = len(self.pool)
        self.quality = self._quality(quality or {})
        self.made_from = len(self.pool)
        self.labels = np.arange(1, self.n_base + 1, dtype=np.int64)
        if made is not None and len(made):
            self._append(made, made_labels)
        if not states:
            ids = np.arange(self.n_base)
            states = [State(ids, ids < K, {"op": "extraction"})]
        self.states = list(states)

    # -- the current list ---------------------------------------------------------------
    @property
    def state(self) -> State:
        """The current state (the last one)."""
        return self.states[-1]

    @property
    def numbers(self) -> np.ndarray:
        """The neuron numbers in the list (1-based), in list order."""
        return self.labels[self.state.ids]

    @property
    def accepted(self) -> np.ndarray:
        """Accepted flag of each neuron in the list."""
        return self.state.accepted

    @property
    def changed(self) -> bool:
        """Whether any operation was done (there is something to save)."""
        return len(self.states) > 1

    def position(self, number: int) -> int:
        """Where neuron `number` (1-based) is in the list; CurationError if not there."""
        hits = np.flatnonzero(self.numbers == int(number))
        if len(hits):
            return int(hits[0])
        if int(number) in set(self.labels.tolist()):
            raise CurationError(f"neuron {number} is no longer in the list "
                                f"({self.fate(number)})")
        raise CurationError(f"there is no neuron {number} "
                            f"(the numbers go from 1 to {int(self.labels.max(initial=0))})")

    def fate(self, number: int) -> str:
        """What became of a neuron that left the list (the op that removed it)."""
        for before, after in zip(self.states, self.states[1:]):
            if number in self.labels[before.ids] and number not in self.labels[after.ids]:
                return after.op.get("text", after.op.get("op", "removed"))
        return "not in the list"

    def components(self, accepted_only: bool = False) -> tuple:
        """``(numbers, Components)`` of the list (only the accepted ones if asked)."""
        ids = self.state.ids[self.state.accepted] if accepted_only else self.state.ids
        return self.labels[ids], self.pool.take(ids)

    def metric(self, name: str) -> np.ndarray:
        """Values of quality metric `name` for the neurons in the list."""
        return self.quality[name][self.state.ids]

    # -- operations (each appends a state) ------------------------------------------------
    def set_accepted(self, numbers: Sequence[int], value: bool) -> int:
        """Accept (True) or reject (False) neurons by number; returns how many changed."""
        pos = [self.position(n) for n in numbers]
        acc = self.state.accepted.copy()
        changed = int(np.sum(acc[pos] != value)) if pos else 0
        acc[pos] = value
        verb = "accept" if value else "reject"
        self._push(self.state.ids.copy(), acc,
                   {"op": verb, "neurons": [int(n) for n in numbers],
                    "text": f"{verb}ed {_join(numbers)}"})
        return changed

    def reject_below(self, metric: str, value: float) -> List[int]:
        """Reject every neuron whose `metric` is below `value`; returns their numbers."""
        if metric not in self.quality:
            raise CurationError(f"unknown quality metric {metric!r} "
                                f"(one of {', '.join(QUALITY_METRICS)})")
        low = self.metric(metric) < float(value)
        numbers = [int(n) for n in self.numbers[low & self.state.accepted]]
        acc = self.state.accepted & ~low
        self._push(self.state.ids.copy(), acc,
                   {"op": "reject_below", "metric": metric, "value": float(value),
                    "neurons": numbers,
                    "text": f"rejected {len(numbers)} with {metric} below {value:g}"})
        return numbers

    def replace(self, numbers: Sequence[int], new: Components, op: Dict) -> List[int]:
        """Take neurons `numbers` out of the list and put `new` in (merge, add, refit).

        A neuron refitted in place (``new.origin`` naming it) keeps its list
        position and accepted flag; the others are appended, accepted.
        Returns the numbers of the new components that are not refits.
        """
        pos = [self.position(n) for n in numbers]
        refits = {int(k): int(v) for k, v in op.get("refits", {}).items()}  # number -> index
        fresh = [i for i in range(len(new)) if i not in refits.values()]
        labels = np.zeros(len(new), np.int64)
        labels[list(refits.values())] = list(refits.keys())
        labels[fresh] = int(self.labels.max(initial=0)) + 1 + np.arange(len(fresh))
        first = self._append(new, labels)
        ids, acc = self.state.ids.copy(), self.state.accepted.copy()
        keep = np.ones(len(ids), bool)
        for n, p in zip(numbers, pos):
            if int(n) in refits:
                ids[p] = first + refits[int(n)]
            else:
                keep[p] = False
        extra = [first + i for i in fresh]
        ids = np.concatenate([ids[keep], extra]).astype(np.int64)
        acc = np.concatenate([acc[keep], np.ones(len(extra), bool)])
        made = [int(x) for x in labels[fresh]]
        self._push(ids, acc, dict(op, new=made))
        return made

    def undo(self) -> Optional[Dict]:
        """Drop the last operation; returns it (None when there is nothing to undo)."""
        if len(self.states) < 2:
            return None
        return self.states.pop().op

    # -- helpers ---------------------------------------------------------------------------
    def _push(self, ids, accepted, op: Dict) -> None:
        op = dict(op, time=datetime.datetime.now().astimezone().isoformat(timespec="seconds"))
        self.states.append(State(np.asarray(ids, np.int64), np.asarray(accepted, bool), op))

    def _append(self, new: Components, labels) -> int:
        """Add components to the pool (with their numbers and quality); returns the first index."""
        first = len(self.pool)
        self.pool = self.pool.concat(new)
        self.labels = np.concatenate([self.labels, np.asarray(labels, np.int64)])
        q = basic_quality(new.A, new.C_raw, new.S, new.sn)
        for name in self.quality:
            add = q.get(name, np.full(len(new), np.nan, np.float32))
            self.quality[name] = np.concatenate([self.quality[name], add])
        return first

    def _quality(self, stored: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        p = self.pool
        computed = basic_quality(p.A, p.C_raw, p.S, p.sn)
        out = {}
        for name in QUALITY_METRICS:
            values = stored.get(name)
            if values is not None and len(values) == len(p):
                out[name] = np.asarray(values, np.float32)  # the extraction's own, preferred
            elif name in computed:
                out[name] = computed[name]
            else:
                out[name] = np.full(len(p), np.nan, np.float32)
        return out


def _join(numbers) -> str:
    return ", ".join(str(int(n)) for n in numbers)


def parse_numbers(text: str) -> List[int]:
    """``"3,7, 9-11"`` -> ``[3, 7, 9, 10, 11]`` (neuron numbers, 1-based).

    Examples
    --------
    >>> parse_numbers("3,7,9-11")
    [3, 7, 9, 10, 11]
    """
    out: List[int] = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                out.extend(range(a, b + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise CurationError(f"{part!r} is not a neuron number or a range like 9-11") \
                from None
    if any(n < 1 for n in out):
        raise CurationError("neuron numbers start at 1")
    return out


def parse_merges(text: str) -> List[List[int]]:
    """``"4+5,8+9+10"`` -> ``[[4, 5], [8, 9, 10]]``; each group has 2 or more.

    Examples
    --------
    >>> parse_merges("4+5, 8+9+10")
    [[4, 5], [8, 9, 10]]
    """
    groups = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        group = parse_numbers(part.replace("+", ","))
        if len(set(group)) < 2:
            raise CurationError(f"{part!r}: a merge needs two or more neurons, like 4+5")
        groups.append(group)
    return groups
