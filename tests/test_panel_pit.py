"""Point-in-time property: features at t do not change when anything dated after t does.

Every row dated after t is removed or altered (prices, designations,
registrations, notifications, critical-list entries, shortages reported after
t), and every end date after t is cleared or moved; the features of the rows
at t must stay identical.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.market import Market
from features.panel import build_panel
from features.registry import feature_names
from tests.reference_panel import random_market

FIRST_MONDAY = pd.Timestamp("2020-01-06")
WEEKS = 156


def _later(values: pd.Series, rng: np.random.Generator) -> pd.Series:
    return values + pd.to_timedelta(rng.integers(1, 400, len(values)), unit="D")


def _scramble(values: pd.Series, rng: np.random.Generator) -> pd.Series:
    return values * rng.uniform(0.3, 3.0, len(values))


def _forget(
    frame: pd.DataFrame | None,
    t: pd.Timestamp,
    known: str,
    dates: tuple[str, ...],
    amounts: tuple[str, ...],
    remove: bool,
    rng: np.random.Generator,
) -> pd.DataFrame | None:
    """Remove the rows known after t, or move all their dates later and change amounts."""
    if frame is None:
        return None
    future = frame[known] > t
    if remove:
        return frame[~future].reset_index(drop=True)
    frame = frame.copy()
    shift = pd.to_timedelta(rng.integers(1, 400, int(future.sum())), unit="D")
    for col in dates:
        frame.loc[future, col] = frame.loc[future, col] + shift
    for col in amounts:
        frame.loc[future, col] = _scramble(frame.loc[future, col], rng)
    return frame


def _unknown_ends(
    frame: pd.DataFrame | None, t: pd.Timestamp, column: str, rng: np.random.Generator
) -> pd.DataFrame | None:
    """End dates after t are not known on t: clear some, move the others later."""
    if frame is None:
        return None
    frame = frame.copy()
    future = frame[column] > t
    clear = future & (rng.random(len(frame)) < 0.5)
    frame.loc[future, column] = _later(frame.loc[future, column], rng)
    frame.loc[clear, column] = pd.NaT
    return frame


def forget_after(market: Market, t: pd.Timestamp, remove: bool, seed: int) -> Market:
    rng = np.random.default_rng(seed)
    forget: Callable[..., pd.DataFrame | None] = lambda frame, *args: _forget(  # noqa: E731
        frame, t, *args, remove=remove, rng=rng
    )
    products = _unknown_ends(market.products, t, "market_exit", rng)
    assert products is not None
    entering = products["market_entry"] > t
    products.loc[entering, "market_entry"] = _later(products.loc[entering, "market_entry"], rng)
    shortages = forget(
        market.shortages, "reported_on", ("start_date", "end_date", "reported_on"), ()
    )
    return Market(
        products=products,
        shortages=_unknown_ends(shortages, t, "end_date", rng),  # type: ignore[arg-type]
        list_prices=forget(market.list_prices, "valid_from", ("valid_from",), ("aip",)),
        wgp_prices=forget(market.wgp_prices, "valid_from", ("valid_from",), ("max_price",)),
        gvs_limits=forget(market.gvs_limits, "valid_from", ("valid_from",), ("limit_price",)),
        tenders=forget(market.tenders, "valid_from", ("valid_from", "valid_to"), ("market_share",)),
        registrations=_unknown_ends(
            forget(market.registrations, "registered_on", ("registered_on", "withdrawn_on"), ()),
            t,
            "withdrawn_on",
            rng,
        ),
        notifications=_unknown_ends(
            forget(
                market.notifications,
                "notified_on",
                ("notified_on", "expected_start", "expected_end"),
                (),
            ),
            t,
            "expected_end",
            rng,
        ),
        critical_list=forget(market.critical_list, "valid_from", ("valid_from",), ()),
    )


def features_at(market: Market, t: pd.Timestamp) -> pd.DataFrame:
    """Features of the rows at t, computed in a panel that spans weeks around t."""
    panel = build_panel(
        market,
        start=t - pd.Timedelta(weeks=3),
        end=t + pd.Timedelta(weeks=3),
        observed_until=pd.Timestamp("2023-06-30"),
        chunk_weeks=4,
    )
    rows = panel[panel["as_of"] == t]
    return rows[["zi_number", "as_of", *feature_names()]].reset_index(drop=True)


def assert_point_in_time(market: Market, t: pd.Timestamp, remove: bool, seed: int) -> None:
    before = features_at(market, t)
    after = features_at(forget_after(market, t, remove, seed), t)
    pd.testing.assert_frame_equal(before, after, check_exact=True)


@settings(max_examples=60, deadline=None)
@given(
    market_seed=st.integers(0, 2**32 - 1),
    week=st.integers(0, WEEKS),
    remove=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_markets_features_ignore_the_future(
    market_seed: int, week: int, remove: bool, seed: int
) -> None:
    t = FIRST_MONDAY + pd.Timedelta(weeks=week)
    assert_point_in_time(random_market(market_seed), t, remove, seed)


@pytest.fixture(scope="module")
def generated() -> Market:
    from features.synthetic_market import generate_market

    return generate_market(n_packs=60, years=3, seed=11, start="2020-01-01").market


@settings(max_examples=12, deadline=None)
@given(week=st.integers(0, WEEKS), remove=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_generated_market_features_ignore_the_future(
    generated: Market, week: int, remove: bool, seed: int
) -> None:
    t = FIRST_MONDAY + pd.Timedelta(weeks=week)
    assert_point_in_time(generated, t, remove, seed)


def test_the_property_test_can_fail() -> None:
    """A feature that peeks at the future must be caught by the same comparison."""
    market = random_market(3)
    t = FIRST_MONDAY + pd.Timedelta(weeks=80)
    leaky = forget_after(market, t, remove=True, seed=0)
    peeking = Market(**{**leaky.__dict__, "shortages": market.shortages.iloc[:0]})
    assert not features_at(market, t).equals(features_at(peeking, t))
