"""Building blocks of the feature panel: feature specs and point-in-time grid operations.

Every feature is computed on a dense grid of ``(as-of week, key)`` cells, where
the key is a pack, a GPK or an ATC-4 group. Event tables are mapped onto that
grid with a handful of vectorised operations (last known value, sum over
intervals in force, running maximum), so each family is a few lines of array
code and the point-in-time rule lives in how each family chooses its dates.

Dates are integer day numbers (days since 1970-01-01). An empty end date is
``NEVER`` (after every as-of date), an empty start date is ``ALWAYS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from features.families.inputs import Chunk

NEVER = 10**8
ALWAYS = -(10**8)
WEEK = 7
YEAR_DAYS = 52 * WEEK

FeatureKind = Literal["float32", "category"]


@dataclass(frozen=True)
class Feature:
    """One output column: a deterministic name, its dtype and a one-line meaning."""

    name: str
    meaning: str
    kind: FeatureKind = "float32"


@dataclass(frozen=True)
class Categories:
    """Integer codes (``-1`` missing) on the grid plus their fixed, sorted categories."""

    codes: np.ndarray
    categories: tuple[str, ...]


FamilyOutput = dict[str, "np.ndarray | Categories"]


@dataclass(frozen=True)
class FeatureFamily:
    """A declarative unit: which tables it reads, what it outputs, how it computes.

    ``tables`` lists the contract tables it reads (the docs show them); when an
    optional one is absent the family is skipped (and reported), never zero-filled.
    ``compute`` returns one ``(n_weeks, n_packs)`` array per feature.
    """

    name: str
    meaning: str
    tables: tuple[str, ...]
    features: tuple[Feature, ...]
    compute: Callable[[Chunk], FamilyOutput]

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)


def day_numbers(values: pd.Series, missing: int) -> np.ndarray:
    """Dates as int64 day numbers; NaT becomes ``missing`` (``NEVER`` or ``ALWAYS``)."""
    arr = values.to_numpy(dtype="datetime64[ns]")
    days = arr.astype("datetime64[D]").astype(np.int64)
    return np.where(np.isnat(arr), missing, days)


def grid_index(days: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Index of the first as-of day that is on or after ``when`` (``len(days)`` if none)."""
    return np.searchsorted(days, when, side="left")


def active_sum(
    days: np.ndarray,
    n_keys: int,
    keys: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Sum of ``weights`` over intervals ``[start, end)`` that contain each as-of day.

    A difference array per key, cumulated over the weeks: O(events + cells).
    """
    n_q = len(days)
    lo = grid_index(days, starts)
    hi = grid_index(days, ends)
    keep = lo < hi
    w = np.ones(int(keep.sum())) if weights is None else np.asarray(weights, float)[keep]
    size = (n_q + 1) * n_keys
    k = keys[keep]
    diff = np.bincount(lo[keep] * n_keys + k, w, minlength=size)
    diff -= np.bincount(hi[keep] * n_keys + k, w, minlength=size)
    return np.cumsum(diff.reshape(n_q + 1, n_keys)[:n_q], axis=0)


def asof_position(days: np.ndarray, n_keys: int, keys: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Row of the latest event known on each as-of day, per key (``-1``: none yet).

    The latest is the one with the largest ``known`` day; ties go to the later row.
    """
    n_q = len(days)
    if len(keys) == 0:
        return np.full((n_q, n_keys), -1, dtype=np.int64)
    if _is_sorted(keys, known):  # prepared tables are, which saves a sort per chunk
        order = rank = np.arange(len(keys))
    else:
        order = np.lexsort((np.arange(len(keys)), known, keys))
        rank = np.empty(len(keys), dtype=np.int64)
        rank[order] = np.arange(len(keys))
    q = grid_index(days, known)
    keep = q < n_q
    best = np.full(n_q * n_keys, -1, dtype=np.int64)
    np.maximum.at(best, q[keep] * n_keys + keys[keep], rank[keep])
    best = np.maximum.accumulate(best.reshape(n_q, n_keys), axis=0)
    return np.where(best >= 0, order[np.maximum(best, 0)], -1)


def _is_sorted(keys: np.ndarray, known: np.ndarray) -> bool:
    dk = np.diff(keys)
    return bool(np.all((dk > 0) | ((dk == 0) & (np.diff(known) >= 0))))


def take(values: np.ndarray, position: np.ndarray) -> np.ndarray:
    """``values[position]`` as float64 with NaN where ``position`` is ``-1``."""
    vals = np.asarray(values, dtype=np.float64)
    if len(vals) == 0:
        return np.full(position.shape, np.nan)
    return np.where(position >= 0, vals[np.maximum(position, 0)], np.nan)


def running_max(
    days: np.ndarray, n_keys: int, keys: np.ndarray, known: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """Largest ``value`` among events known on each as-of day, per key (NaN: none)."""
    n_q = len(days)
    q = grid_index(days, known)
    keep = q < n_q
    best = np.full(n_q * n_keys, -np.inf)
    np.maximum.at(best, q[keep] * n_keys + keys[keep], np.asarray(values, float)[keep])
    best = np.maximum.accumulate(best.reshape(n_q, n_keys), axis=0)
    return np.where(np.isneginf(best), np.nan, best)


def expand_intervals(
    days: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each interval ``[start, end)`` repeated once per as-of day it contains.

    Returns (interval row, week index); used where sums are not enough
    (distinct counts, minima).
    """
    lo = grid_index(days, starts)
    hi = grid_index(days, ends)
    length = np.maximum(hi - lo, 0)
    rows = np.repeat(np.arange(len(starts)), length)
    offsets = np.cumsum(length) - length
    weeks = lo[rows] + (np.arange(len(rows)) - offsets[rows])
    return rows, weeks


def group_sum(cells: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum ``(n_weeks, n_packs)`` cells per group; packs with group ``-1`` are ignored."""
    out = np.zeros((cells.shape[0], n_groups))
    keep = np.flatnonzero(groups >= 0)
    if len(keep) == 0:
        return out
    order = keep[np.argsort(groups[keep], kind="stable")]
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    sums = np.add.reduceat(cells[:, order].astype(np.float64), starts, axis=1)
    out[:, sorted_groups[starts]] = sums
    return out


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with NaN where the denominator is missing or not positive."""
    ok = den > 0
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=ok)


def relative_change(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """``now / before - 1``; NaN when either is missing or ``before`` is not positive."""
    return ratio(now, before) - 1.0


def flag(condition: np.ndarray, defined: np.ndarray) -> np.ndarray:
    """1.0 / 0.0 where ``defined``, NaN elsewhere."""
    return np.where(defined, condition.astype(np.float64), np.nan)
