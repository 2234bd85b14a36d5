"""Onset labels: does a new shortage episode of the pack start within H weeks?

Labels look at the future, so they use event dates (``start_date``,
``end_date``), not the day an episode became known. What the data cannot yet
tell is left undetermined (NaN), never a false 0: a horizon that reaches past
the observation end, or an ongoing episode still too short to count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import DEFAULT_MIN_SHORTAGE_DAYS
from features.families.base import NEVER, WEEK, active_sum, day_numbers
from features.market import Market

DEFAULT_HORIZONS = (4, 13, 26)

# Tables whose dates show how far the data has been observed.
OBSERVATION_DATES = {
    "shortages": ("start_date", "end_date", "reported_on"),
    "notifications": ("notified_on",),
    "list_prices": ("valid_from",),
    "wgp_prices": ("valid_from",),
}


def label_name(horizon_weeks: int) -> str:
    return f"onset_{horizon_weeks}w"


def data_period(market: Market) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last date in the shortage, notification and price tables."""
    dates = [
        pd.Timestamp(value)
        for table, columns in OBSERVATION_DATES.items()
        if (frame := market.table(table)) is not None
        for col in columns
        for value in (frame[col].min(), frame[col].max())
        if pd.notna(value)
    ]
    if not dates:
        raise ValueError("no dates in shortages, notifications or prices: give dates explicitly")
    return min(dates), max(dates)


def observation_end(market: Market) -> pd.Timestamp:
    """The data is taken as complete up to and including its last date."""
    return data_period(market)[1]


def onset_labels(
    days: np.ndarray,
    n_packs: int,
    pack: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    observed_until: int,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    min_days: int = DEFAULT_MIN_SHORTAGE_DAYS,
) -> dict[str, np.ndarray]:
    """Label grids ``(n_weeks, n_packs)``: 1.0, 0.0 or NaN (undetermined) per horizon.

    ``start`` / ``end`` are day numbers (``end`` is ``NEVER`` when ongoing);
    ``observed_until`` is the last observed day. An episode counts if it lasts
    at least ``min_days`` (``end - start``); one still ongoing at the
    observation end counts once it has lasted that long, and until then is
    undetermined.
    """
    seen = start <= observed_until
    pack, start, end = pack[seen], start[seen], end[seen]
    ongoing = end > observed_until
    lasted = np.where(ongoing, observed_until + 1, end) - start
    counts = lasted >= min_days
    undetermined = ongoing & ~counts
    out = {}
    for h in horizons:
        span = WEEK * h
        # An episode starting on s lies in [t, t + span) for t in [s - span + 1, s + 1).
        lo, hi = start - span + 1, start + 1
        hit = active_sum(days, n_packs, pack[counts], lo[counts], hi[counts]) > 0
        open_ = active_sum(days, n_packs, pack[undetermined], lo[undetermined], hi[undetermined])
        horizon_seen = (days + span - 1 <= observed_until)[:, None]
        label = np.where(hit, 1.0, np.where(horizon_seen & (open_ == 0), 0.0, np.nan))
        out[label_name(h)] = label
    return out


def shortage_events(shortages: pd.DataFrame, zi: pd.Index) -> tuple[np.ndarray, ...]:
    """(pack code, start day, end day) of the episodes of known packs."""
    pack = zi.get_indexer(shortages["zi_number"].astype("str"))
    keep = pack >= 0
    return (
        pack[keep].astype(np.int64),
        day_numbers(shortages["start_date"], NEVER)[keep],
        day_numbers(shortages["end_date"], NEVER)[keep],
    )
