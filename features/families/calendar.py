"""Calendar: seasonality and the half-yearly Wgp recalibration cycle."""

from __future__ import annotations

import numpy as np

from features.families.base import WEEK, FamilyOutput, Feature, FeatureFamily
from features.families.inputs import Chunk

RECALIBRATION_MONTH_DAYS = ("04-01", "10-01")  # Wgp maxima are re-set on 1 April and 1 October


def _recalibrations_around(days: np.ndarray) -> np.ndarray:
    """All recalibration days from the year before to the year after each day: ``(n, 6)``."""
    years = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    out = []
    for offset in (-1, 0, 1):
        for month_day in RECALIBRATION_MONTH_DAYS:
            stamps = np.array([f"{y + offset:04d}-{month_day}" for y in years], "datetime64[D]")
            out.append(stamps.astype(np.int64))
    return np.stack(out, axis=1) if out and len(days) else np.zeros((len(days), 6), np.int64)


def last_recalibration(days: np.ndarray) -> np.ndarray:
    """The latest 1 April / 1 October on or before each day."""
    cands = _recalibrations_around(days)
    return np.where(cands <= days[:, None], cands, np.iinfo(np.int64).min).max(axis=1)


def next_recalibration(days: np.ndarray) -> np.ndarray:
    """The first 1 April / 1 October on or after each day."""
    cands = _recalibrations_around(days)
    return np.where(cands >= days[:, None], cands, np.iinfo(np.int64).max).min(axis=1)


def _calendar(chunk: Chunk) -> FamilyOutput:
    months = chunk.days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    to_next = (next_recalibration(chunk.days) - chunk.days) / WEEK
    shape = (len(chunk.days), chunk.n_packs)
    return {
        "cal_month": np.broadcast_to(months[:, None].astype(np.float64), shape),
        "cal_weeks_to_recalibration": np.broadcast_to(to_next[:, None], shape),
    }


CALENDAR = FeatureFamily(
    name="calendar",
    meaning="seasonality and the Wgp recalibration cycle; needs no table",
    tables=(),
    features=(
        Feature("cal_month", "calendar month of the as-of date (1-12)"),
        Feature(
            "cal_weeks_to_recalibration",
            "weeks from the as-of date to the next Wgp recalibration"
            " (1 April / 1 October; 0 on the day)",
        ),
    ),
    compute=_calendar,
)
