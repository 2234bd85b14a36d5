"""Onset labels on hand-made episodes: boundaries, duration, censoring, exclusions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.labels import observation_end, onset_labels
from features.market import Market
from features.panel import build_panel

T = pd.Timestamp("2024-01-01")  # a Monday
OBSERVED = pd.Timestamp("2024-12-31")


def day(offset: int) -> pd.Timestamp:
    return T + pd.Timedelta(days=offset)


def make_market(episodes: list[tuple[str, int, int | None, int | None]]) -> Market:
    """Packs A, B, C on the market since 2020; episodes as (pack, start, end, reported)
    in days relative to T (None: empty)."""
    products = pd.DataFrame(
        {
            "zi_number": ["A", "B", "C"],
            "name": ["a", "b", "c"],
            "gpk": ["G1", "G1", "G2"],
            "market_entry": [pd.Timestamp("2020-01-01")] * 3,
        }
    )
    rows = [
        {
            "zi_number": pack,
            "start_date": day(start),
            "end_date": None if end is None else day(end),
            "reported_on": None if reported is None else day(reported),
        }
        for pack, start, end, reported in episodes
    ]
    shortages = pd.DataFrame(rows, columns=["zi_number", "start_date", "end_date", "reported_on"])
    return Market.from_frames({"products": products, "shortages": shortages})


def labels_at(
    market: Market, t: pd.Timestamp = T, pack: str = "A", **kwargs: object
) -> dict[str, float] | None:
    """Labels of one row, or None when the row is not in the panel."""
    panel = build_panel(market, start=t, end=t, observed_until=OBSERVED, **kwargs)  # type: ignore[arg-type]
    row = panel[panel["zi_number"].astype(str) == pack]
    if row.empty:
        return None
    return {c: float(row[c].iloc[0]) for c in ("onset_4w", "onset_13w", "onset_26w")}


def test_episode_starting_on_the_as_of_date_counts_when_not_yet_known() -> None:
    labels = labels_at(make_market([("A", 0, 30, 3)]))
    assert labels == {"onset_4w": 1.0, "onset_13w": 1.0, "onset_26w": 1.0}


def test_episode_starting_and_reported_on_the_as_of_date_excludes_the_row() -> None:
    market = make_market([("A", 0, 30, None)])
    assert labels_at(market) is None
    assert labels_at(market, t=day(-7)) == {"onset_4w": 1.0, "onset_13w": 1.0, "onset_26w": 1.0}


@pytest.mark.parametrize(
    ("start", "expected_4w", "expected_13w"),
    [(27, 1.0, 1.0), (28, 0.0, 1.0), (7 * 13 - 1, 0.0, 1.0), (7 * 13, 0.0, 0.0)],
)
def test_horizon_is_half_open(start: int, expected_4w: float, expected_13w: float) -> None:
    labels = labels_at(make_market([("A", start, start + 30, None)]))
    assert labels is not None
    assert (labels["onset_4w"], labels["onset_13w"]) == (expected_4w, expected_13w)


@pytest.mark.parametrize(("length", "expected"), [(13, 0.0), (14, 1.0)])
def test_minimum_duration(length: int, expected: float) -> None:
    labels = labels_at(make_market([("A", 10, 10 + length, None)]))
    assert labels is not None and labels["onset_4w"] == expected


def test_minimum_duration_is_configurable() -> None:
    labels = labels_at(make_market([("A", 10, 23, None)]), min_days=7)
    assert labels is not None and labels["onset_4w"] == 1.0


def test_ongoing_episode_long_enough_counts() -> None:
    labels = labels_at(make_market([("A", 10, None, None)]))
    assert labels is not None and labels["onset_4w"] == 1.0


# OBSERVED is T + 365 days (a Tuesday); T + 336 is the last Monday whose 4-week window
# [t, t + 28) is fully observed, T + 343 the first one that is not.
LAST_SEEN_4W = 336


def test_ongoing_episode_too_short_so_far_is_undetermined() -> None:
    ongoing = ("A", 360, None, None)  # 6 days observed by the end
    labels = labels_at(make_market([ongoing]), t=day(LAST_SEEN_4W))
    assert labels is not None and math.isnan(labels["onset_4w"])
    # ... unless another qualifying episode decides the label.
    other = ("A", 337, 351, None)
    labels = labels_at(make_market([other, ongoing]), t=day(LAST_SEEN_4W))
    assert labels is not None and labels["onset_4w"] == 1.0


def test_end_after_the_observation_end_is_treated_as_ongoing() -> None:
    labels = labels_at(make_market([("A", 360, 385, None)]), t=day(LAST_SEEN_4W))
    assert labels is not None and math.isnan(labels["onset_4w"])


def test_censoring_at_the_end_of_the_data() -> None:
    seen = labels_at(make_market([]), t=day(LAST_SEEN_4W))
    assert seen is not None and seen["onset_4w"] == 0.0 and math.isnan(seen["onset_13w"])
    cut = labels_at(make_market([]), t=day(LAST_SEEN_4W + 7))
    assert cut is not None and math.isnan(cut["onset_4w"])
    # A qualifying episode already seen is a sure 1 even when the horizon is censored.
    sure = labels_at(make_market([("A", 345, 360, None)]), t=day(LAST_SEEN_4W + 7))
    assert sure is not None and sure["onset_4w"] == 1.0 and sure["onset_26w"] == 1.0


def test_exact_censoring_boundary_on_the_grid() -> None:
    days = np.array([0, 7])
    # observed_until = 27: the 4-week window of t=0 is [0, 28) -> complete; of t=7 -> not.
    out = onset_labels(days, 1, np.zeros(0, np.int64), np.zeros(0), np.zeros(0), 27, (4,))
    assert out["onset_4w"][0, 0] == 0.0 and math.isnan(out["onset_4w"][1, 0])


def test_episode_after_the_observation_end_is_not_seen() -> None:
    late = make_market([("A", 370, 400, None)])
    labels = labels_at(late, t=day(LAST_SEEN_4W + 7))
    assert labels is not None and math.isnan(labels["onset_4w"])


def test_packs_already_short_are_excluded() -> None:
    market = make_market([("A", -20, 30, None), ("B", -20, -5, None)])
    assert labels_at(market, pack="A") is None
    assert labels_at(market, pack="B") is not None  # ended before t: back on the panel
    assert labels_at(market, t=day(35), pack="A") is not None


def test_late_reported_episode_is_not_a_new_onset_and_not_a_feature() -> None:
    market = make_market([("A", -10, 30, 5)])
    labels = labels_at(market)
    assert labels == {"onset_4w": 0.0, "onset_13w": 0.0, "onset_26w": 0.0}
    panel = build_panel(market, start=T, end=day(14), observed_until=OBSERVED)
    a = panel[panel["zi_number"].astype(str) == "A"].set_index("as_of")
    assert a.loc[T, "hist_weeks_short_2y"] == 0.0
    assert day(7) not in a.index  # known on day 5: short on day 7


def test_observation_end_defaults_to_the_latest_data_date() -> None:
    market = make_market([("A", -10, 30, 5), ("B", 40, None, 45)])
    assert observation_end(market) == day(45)
