"""Meldpunt notifications: announced interruptions and the supplier's record.

An open notification is the most direct warning; a supplier that often notifies
without a shortage following is precautionary, which weakens the warning.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.families.base import (
    NEVER,
    WEEK,
    YEAR_DAYS,
    FamilyOutput,
    Feature,
    FeatureFamily,
    active_sum,
    expand_intervals,
)
from features.families.inputs import Chunk

FOLLOW_UP_GRACE_DAYS = 28  # a shortage may start up to 4 weeks after the expected start


def first_follow_up_report(notifications: pd.DataFrame, shortages: pd.DataFrame) -> np.ndarray:
    """Per notification: earliest ``reported_on`` of an episode of the pack starting in
    ``[notified_on, expected_start + grace)``; ``NEVER`` when there is none."""
    n = notifications[["pack", "notified_on", "expected_start"]].reset_index(drop=True)
    n["row"] = np.arange(len(n))
    pairs = n.merge(shortages[["pack", "start_date", "reported_on"]], on="pack")
    follows = (pairs["start_date"] >= pairs["notified_on"]) & (
        pairs["start_date"] < pairs["expected_start"] + FOLLOW_UP_GRACE_DAYS
    )
    first = pairs[follows].groupby("row")["reported_on"].min()
    out = np.full(len(n), NEVER, dtype=np.int64)
    out[first.index.to_numpy()] = first.to_numpy()
    return out


def _notifications(chunk: Chunk) -> FamilyOutput:
    f = chunk.prepared.table("notifications")
    pack = f["pack"].to_numpy()
    notified = f["notified_on"].to_numpy()
    expected_start = f["expected_start"].to_numpy()
    expected_end = f["expected_end"].to_numpy()
    n_q, n_p = len(chunk.days), chunk.n_packs

    open_count = active_sum(chunk.days, n_p, pack, notified, expected_end)
    rows, q = expand_intervals(chunk.days, notified, expected_end)
    earliest_flat = np.full(n_q * n_p, np.inf)
    np.minimum.at(earliest_flat, q * n_p + pack[rows], expected_start[rows].astype(np.float64))
    earliest = np.where(np.isinf(earliest_flat), np.nan, earliest_flat).reshape(n_q, n_p)

    follow_up = first_follow_up_report(f, chunk.prepared.table("shortages"))
    unfollowed = active_sum(
        chunk.days,
        n_p,
        pack,
        np.maximum(expected_start + FOLLOW_UP_GRACE_DAYS, notified),
        np.minimum(notified + YEAR_DAYS, follow_up),
    )
    return {
        "notif_open": (open_count > 0).astype(np.float64),
        "notif_weeks_to_expected_start": (earliest - chunk.t) / WEEK,
        "notif_count_52w": active_sum(chunk.days, n_p, pack, notified, notified + YEAR_DAYS),
        "notif_unfollowed_52w": unfollowed,
    }


NOTIFICATIONS = FeatureFamily(
    name="notifications",
    meaning="Meldpunt notifications known on the as-of date (notified_on <= t)",
    tables=("notifications", "shortages"),
    features=(
        Feature(
            "notif_open",
            "1 when a notification of this pack is open (notified, expected end empty or later)",
        ),
        Feature(
            "notif_weeks_to_expected_start",
            "weeks until the earliest expected start among open notifications"
            " (negative: passed; NaN: none open)",
        ),
        Feature("notif_count_52w", "notifications of this pack in the last 52 weeks"),
        Feature(
            "notif_unfollowed_52w",
            "notifications of the last 52 weeks past expected start + 4 weeks with no known"
            " episode starting between notification and then",
        ),
    ),
    compute=_notifications,
)
