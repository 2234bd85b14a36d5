"""Shortage history of the pack and of its neighbours, as known on the as-of date.

An episode is known from ``max(start_date, reported_on)``; its end only once passed.
Shortages recur, and spread to substitutes when demand shifts onto them.
"""

from __future__ import annotations

import numpy as np

from features.families.base import (
    NEVER,
    WEEK,
    YEAR_DAYS,
    FamilyOutput,
    Feature,
    FeatureFamily,
    active_sum,
    ratio,
    running_max,
)
from features.families.inputs import Chunk

SHORT_WINDOW_DAYS = 2 * YEAR_DAYS


def days_short_in_window(
    days: np.ndarray,
    n_keys: int,
    keys: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    known: np.ndarray,
    window: int,
) -> np.ndarray:
    """Days of ``[t - window, t)`` covered by episodes known on t (an ongoing one up to t).

    Per episode this is piecewise linear in t, so it is a sum over three
    segments of ``slope * t + intercept``, each active on an interval of t.
    """
    a = np.maximum(start, known)
    lo = np.concatenate([a, np.maximum(a, end), np.maximum(a, start + window)])
    hi = np.concatenate([end, end + window, end + window])
    n = len(start)
    slope = np.r_[np.ones(n), np.zeros(n), -np.ones(n)]
    intercept = np.concatenate([-start, end - start, start + window]).astype(np.float64)
    intercept[n : 2 * n][end >= NEVER] = 0.0  # an ongoing episode never reaches its plateau
    k = np.tile(keys, 3)
    slopes = active_sum(days, n_keys, k, lo, hi, slope)
    intercepts = active_sum(days, n_keys, k, lo, hi, intercept)
    return slopes * days[:, None] + intercepts


def _share_of_others_short(chunk: Chunk, groups: np.ndarray, n_groups: int) -> np.ndarray:
    market = chunk.on_market.astype(np.float64)
    short = (chunk.known_short & chunk.on_market).astype(np.float64)
    others_short = chunk.sum_by_group(short, groups, n_groups) - short
    others = chunk.sum_by_group(market, groups, n_groups) - market
    return ratio(others_short, others)


def _history(chunk: Chunk) -> FamilyOutput:
    s = chunk.prepared.table("shortages")
    pack = s["pack"].to_numpy()
    start, end = s["start_date"].to_numpy(), s["end_date"].to_numpy()
    reported = s["reported_on"].to_numpy()
    known_start = np.maximum(start, reported)
    n_p = chunk.n_packs
    ended = end < NEVER
    last_end = running_max(
        chunk.days, n_p, pack[ended], np.maximum(end, reported)[ended], end[ended]
    )
    short_days = days_short_in_window(
        chunk.days, n_p, pack, start, end, reported, SHORT_WINDOW_DAYS
    )
    p = chunk.prepared
    return {
        "hist_episodes_52w": active_sum(chunk.days, n_p, pack, known_start, start + YEAR_DAYS),
        "hist_episodes_156w": active_sum(chunk.days, n_p, pack, known_start, start + 3 * YEAR_DAYS),
        "hist_weeks_since_last_end": (chunk.t - last_end) / WEEK,
        "hist_weeks_short_2y": short_days / WEEK,
        "hist_sibling_short_share": _share_of_others_short(chunk, p.pack_gpk, len(p.gpk)),
        "hist_atc4_short_share": _share_of_others_short(chunk, p.pack_atc4, len(p.atc4)),
    }


HISTORY = FeatureFamily(
    name="history",
    meaning="shortage episodes known on the as-of date (reported_on <= t)",
    tables=("shortages",),
    features=(
        Feature(
            "hist_episodes_52w", "known episodes of this pack that started in the last 52 weeks"
        ),
        Feature(
            "hist_episodes_156w", "known episodes of this pack that started in the last 156 weeks"
        ),
        Feature(
            "hist_weeks_since_last_end",
            "weeks since the latest known end of an episode of this pack (NaN: none ended)",
        ),
        Feature(
            "hist_weeks_short_2y",
            "weeks of the last 104 this pack was in a known shortage",
        ),
        Feature(
            "hist_sibling_short_share",
            "share of the other marketed packs of the GPK in a known shortage (NaN: no other)",
        ),
        Feature(
            "hist_atc4_short_share",
            "share of the other marketed packs of the ATC-4 group in a known shortage"
            " (NaN: no ATC-4 code or no other)",
        ),
    ),
    compute=_history,
)
