"""The synthetic market honours the contract and is calibrated to published Dutch figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.contract import DEFAULT_MIN_SHORTAGE_DAYS, TABLES
from features.market import conform
from features.synthetic_market import SyntheticMarket, generate_market

N_PACKS = 2000
YEARS = 6
WINTER_MONTHS = [11, 12, 1, 2, 3]


@pytest.fixture(scope="module")
def synthetic() -> SyntheticMarket:
    return generate_market(n_packs=N_PACKS, years=YEARS, seed=7)


@pytest.fixture(scope="module")
def window(synthetic: SyntheticMarket) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First Monday and exclusive end of the simulated data window."""
    assert synthetic.true_hazard is not None
    weeks = synthetic.true_hazard["week"]
    return weeks.min(), weeks.max() + pd.Timedelta(days=7)


@pytest.fixture(scope="module")
def exposure(synthetic: SyntheticMarket) -> pd.DataFrame:
    """At-risk pack-weeks with the AIP in force and whether a >= 14-day episode started."""
    market, truth = synthetic.market, synthetic.true_hazard
    assert truth is not None and market.list_prices is not None
    prices = market.list_prices.sort_values("valid_from")
    weeks = pd.merge_asof(
        truth.sort_values("week"), prices, left_on="week", right_on="valid_from", by="zi_number"
    )
    onsets = long_episodes(market.shortages)
    onset_week = onsets["start_date"] - pd.to_timedelta(onsets["start_date"].dt.day_of_week, "D")
    onset_keys = pd.MultiIndex.from_arrays([onsets["zi_number"], onset_week])
    weeks["onset"] = pd.MultiIndex.from_frame(weeks[["zi_number", "week"]]).isin(onset_keys)
    atc = market.products.set_index("zi_number")["atc"]
    weeks["seasonal"] = weeks["zi_number"].map(atc).str.match(r"J01|R")
    weeks["winter"] = weeks["week"].dt.month.isin(WINTER_MONTHS)
    return weeks


def long_episodes(shortages: pd.DataFrame) -> pd.DataFrame:
    days = (shortages["end_date"] - shortages["start_date"]).dt.days
    return shortages[(days >= DEFAULT_MIN_SHORTAGE_DAYS) | shortages["end_date"].isna()]


def pack_years(products: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> float:
    entry = products["market_entry"].clip(lower=start)
    exit_ = products["market_exit"].fillna(end).clip(upper=end)
    return float((exit_ - entry).dt.days.clip(lower=0).sum() / 365.25)


def in_force(rows: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    """The row per pack in force on ``at`` (point-in-time)."""
    return rows[rows["valid_from"] <= at].sort_values("valid_from").groupby("zi_number").last()


# --- contract -----------------------------------------------------------------


def test_every_table_is_present_and_typed_as_the_contract(synthetic: SyntheticMarket) -> None:
    for name, spec in TABLES.items():
        frame = synthetic.market.table(name)
        assert frame is not None, name
        assert tuple(frame.columns) == spec.column_names, name
        pd.testing.assert_frame_equal(frame, conform(name, frame), obj=name)
        assert len(frame) > 0, name


def test_keys_unique_intervals_ordered_references_exist(synthetic: SyntheticMarket) -> None:
    packs = set(synthetic.market.products["zi_number"])
    for name, spec in TABLES.items():
        frame = synthetic.market.table(name)
        assert frame is not None
        if spec.key:
            assert not frame.duplicated(list(spec.key)).any(), name
        for interval in spec.intervals:
            both = frame[interval.start].notna() & frame[interval.end].notna()
            gap = frame.loc[both, interval.end] - frame.loc[both, interval.start]
            assert (gap > pd.Timedelta(0) if interval.strict else gap >= pd.Timedelta(0)).all()
        for ref in spec.references:
            assert set(frame[ref.column]) <= packs, name


def test_identifiers_are_zero_padded_strings(synthetic: SyntheticMarket) -> None:
    products = synthetic.market.products
    assert products["zi_number"].str.fullmatch(r"\d{8}").all()
    assert products["zi_number"].str.startswith("0").mean() > 0.2
    assert products["gpk"].str.fullmatch(r"\d{8}").all()
    assert products["atc"].str.fullmatch(r"[A-Z]\d\d[A-Z]{2}\d\d").all()
    registrations = synthetic.market.registrations
    assert registrations is not None
    assert registrations["rvg_number"].str.fullmatch(r"RVG \d{5,6}").all()
    assert not registrations.duplicated(["gpk", "mah"]).any()


def test_same_seed_same_market_other_seed_other_market() -> None:
    first = generate_market(n_packs=300, years=2, seed=3, start="2020-06-17")
    again = generate_market(n_packs=300, years=2, seed=3, start="2020-06-17")
    other = generate_market(n_packs=300, years=2, seed=4, start="2020-06-17")
    for name, frame in first.market.present():
        pd.testing.assert_frame_equal(frame, again.market.table(name), obj=name)
    assert first.true_hazard is not None and again.true_hazard is not None
    pd.testing.assert_frame_equal(first.true_hazard, again.true_hazard)
    assert not first.market.products.equals(other.market.products)
    assert not first.market.shortages.equals(other.market.shortages)
    assert first.true_hazard["week"].min() == pd.Timestamp("2020-06-15")  # Monday before


def test_without_truth_gives_the_same_market() -> None:
    with_truth = generate_market(n_packs=300, years=2, seed=5)
    without = generate_market(n_packs=300, years=2, seed=5, with_truth=False)
    assert without.true_hazard is None
    for name, frame in with_truth.market.present():
        pd.testing.assert_frame_equal(frame, without.market.table(name), obj=name)


# --- market structure ---------------------------------------------------------


def test_suppliers_per_gpk_are_skewed(synthetic: SyntheticMarket) -> None:
    products = synthetic.market.products
    suppliers = products.groupby("gpk")["mah"].nunique()
    assert suppliers.min() >= 1 and suppliers.max() <= 8
    assert (suppliers <= 3).mean() > 0.55
    assert 3.0 <= len(products) / len(suppliers) <= 4.0
    originators = products.groupby("gpk")["is_originator"].sum()
    assert originators.max() <= 2  # one originator supplier, 1-2 packs
    assert 0.6 < (originators > 0).mean() < 0.95


def test_entries_and_exits_during_the_window(
    synthetic: SyntheticMarket, window: tuple[pd.Timestamp, pd.Timestamp]
) -> None:
    start, end = window
    products = synthetic.market.products
    registrations = synthetic.market.registrations
    assert registrations is not None
    assert ((products["market_entry"] > start) & (products["market_entry"] < end)).mean() > 0.03
    exits = products["market_exit"].dropna()
    assert len(exits) > 0.02 * len(products)
    assert (exits.dt.day == 1).all()
    withdrawn = registrations.dropna(subset=["withdrawn_on"])
    assert len(withdrawn) > 0
    assert (registrations["registered_on"] < start).mean() > 0.75


def test_median_aip_near_fifteen_with_long_tail(
    synthetic: SyntheticMarket, window: tuple[pd.Timestamp, pd.Timestamp]
) -> None:
    start, end = window
    assert synthetic.market.list_prices is not None
    aip = in_force(synthetic.market.list_prices, start + (end - start) / 2)["aip"]
    assert 10 <= aip.median() <= 22
    assert aip.quantile(0.99) > 8 * aip.median()


def test_originators_are_dearer(synthetic: SyntheticMarket) -> None:
    assert synthetic.market.list_prices is not None
    first = synthetic.market.list_prices.groupby("zi_number")["aip"].first()
    originator = synthetic.market.products.set_index("zi_number")["is_originator"]
    by_kind = first.groupby(originator.reindex(first.index).astype(bool)).median()
    assert by_kind[True] > 1.5 * by_kind[False]


def test_price_changes_follow_the_dutch_calendar(synthetic: SyntheticMarket) -> None:
    market = synthetic.market
    assert market.wgp_prices is not None and market.list_prices is not None
    entry = market.products.set_index("zi_number")["market_entry"]
    wgp = market.wgp_prices
    first_row = ~wgp.duplicated("zi_number")
    recalibration = wgp["valid_from"].dt.day.eq(1) & wgp["valid_from"].dt.month.isin([4, 10])
    at_entry = wgp["valid_from"].eq(wgp["zi_number"].map(entry))
    assert recalibration[~first_row].all()
    assert (recalibration | at_entry)[first_row].all()
    assert at_entry[first_row & ~recalibration].any()
    assert (market.list_prices["valid_from"].dt.day == 1).all()
    # the maximum erodes over recalibrations
    assert wgp.groupby("zi_number")["max_price"].agg(lambda s: s.iloc[-1] < s.iloc[0]).mean() > 0.6


def test_aip_never_above_the_maximum_price(synthetic: SyntheticMarket) -> None:
    market = synthetic.market
    assert market.wgp_prices is not None and market.list_prices is not None
    aip = market.list_prices.sort_values("valid_from")
    wgp = market.wgp_prices.sort_values("valid_from")
    change_points = (
        pd.concat([aip[["zi_number", "valid_from"]], wgp[["zi_number", "valid_from"]]])
        .drop_duplicates()
        .sort_values("valid_from")
    )
    state = pd.merge_asof(change_points, aip, on="valid_from", by="zi_number")
    state = pd.merge_asof(state, wgp, on="valid_from", by="zi_number")
    state = state.dropna(subset=["aip"])
    assert state["max_price"].notna().all()
    assert (state["aip"] <= state["max_price"] + 1e-9).all()
    # and cuts to the maximum actually happen
    assert (np.isclose(state["aip"], state["max_price"])).mean() > 0.01


def test_gvs_clusters_limits_and_annex_1b(
    synthetic: SyntheticMarket, window: tuple[pd.Timestamp, pd.Timestamp]
) -> None:
    start, end = window
    market = synthetic.market
    assert market.gvs_limits is not None and market.list_prices is not None
    gvs = market.gvs_limits
    assert gvs["cluster"].isna().eq(gvs["limit_price"].isna()).all()
    mid = start + (end - start) / 2
    state = in_force(gvs, mid).join(in_force(market.list_prices, mid)["aip"])
    assert 0.05 < state["cluster"].isna().mean() < 0.25
    clustered = state.dropna(subset=["cluster"])
    assert 0.08 < (clustered["aip"] > clustered["limit_price"]).mean() < 0.22
    assert gvs.groupby("zi_number").size().max() > 1  # limits are re-set


def test_tenders_are_two_year_staggered_designations(synthetic: SyntheticMarket) -> None:
    tenders = synthetic.market.tenders
    assert tenders is not None
    length = (tenders["valid_to"] - tenders["valid_from"]).dt.days
    assert length.between(730, 731).all()
    assert tenders["valid_from"].dt.day.eq(1).all()
    assert tenders["valid_from"].dt.month.isin([1, 7]).all()
    assert tenders["insurer"].nunique() == 5
    shares = tenders.groupby("insurer")["market_share"].first()
    assert shares.max() == pytest.approx(0.30) and shares.sum() <= 1.0
    assert tenders.groupby("insurer")["valid_from"].nunique().min() >= 3
    per_period = tenders.groupby(["insurer", "gpk", "valid_from"]).size()
    assert per_period.max() <= 3 and (per_period == 1).mean() > 0.7
    products = synthetic.market.products.set_index("zi_number")
    assert (tenders["gpk"] == tenders["zi_number"].map(products["gpk"])).all()
    assert products.loc[tenders["zi_number"], "is_originator"].mean() < 0.3


def test_critical_list_by_gpk_and_atc(
    synthetic: SyntheticMarket, window: tuple[pd.Timestamp, pd.Timestamp]
) -> None:
    start, end = window
    critical = synthetic.market.critical_list
    assert critical is not None
    assert (critical["gpk"].isna() ^ critical["atc"].isna()).all()
    assert set(critical["category"]) == {"red", "orange"}
    share = critical["gpk"].nunique() / synthetic.market.products["gpk"].nunique()
    assert 0.04 < share < 0.11
    assert critical["valid_from"].between(start, end).all()


# --- shortages: calibration ---------------------------------------------------


def test_about_ten_percent_of_packs_start_a_shortage_per_year(
    synthetic: SyntheticMarket, window: tuple[pd.Timestamp, pd.Timestamp]
) -> None:
    start, end = window
    episodes = long_episodes(synthetic.market.shortages)
    in_window = episodes["start_date"].between(start, end, inclusive="left")
    rate = in_window.sum() / pack_years(synthetic.market.products, start, end)
    assert 0.07 <= rate <= 0.13


def test_cheap_packs_have_about_three_times_the_rate(exposure: pd.DataFrame) -> None:
    cheap = exposure["aip"] <= 15
    assert 0.3 < cheap.mean() < 0.7
    ratio = exposure.loc[cheap, "onset"].mean() / exposure.loc[~cheap, "onset"].mean()
    assert 2.2 <= ratio <= 4.0


def test_winter_raises_onsets_of_antibiotics_and_respiratory_drugs(exposure: pd.DataFrame) -> None:
    seasonal = exposure[exposure["seasonal"]]
    rate = seasonal.groupby("winter")["onset"].mean()
    assert rate[True] > 1.3 * rate[False]
    other = exposure[~exposure["seasonal"]].groupby("winter")["onset"].mean()
    assert 0.75 < other[True] / other[False] < 1.3


def test_episode_durations(synthetic: SyntheticMarket) -> None:
    shortages = synthetic.market.shortages
    days = (shortages["end_date"] - shortages["start_date"]).dt.days.dropna()
    assert 14 <= days.median() <= 56
    assert (days > 26 * 7).sum() > 0
    assert 0.15 < (days < 14).mean() < 0.35
    assert days.min() >= 7
    assert shortages["end_date"].isna().sum() > 0  # some still ongoing


def test_episode_reporting_and_reasons(synthetic: SyntheticMarket) -> None:
    shortages = synthetic.market.shortages
    delay = (shortages["reported_on"] - shortages["start_date"]).dt.days
    assert delay.between(0, 10).all()
    assert (delay <= 3).mean() > 0.7
    assert set(shortages["reason"]) == {"production", "quality", "demand", "logistics", "other"}
    assert shortages["start_date"].dt.day_of_week.nunique() == 5


def test_notifications_announce_most_long_episodes_and_some_false_alarms(
    synthetic: SyntheticMarket, window: tuple[pd.Timestamp, pd.Timestamp]
) -> None:
    start, end = window
    notifications = synthetic.market.notifications
    assert notifications is not None
    episodes = long_episodes(synthetic.market.shortages)
    episodes = episodes[episodes["start_date"].between(start + pd.Timedelta(days=90), end)]
    pairs = episodes.merge(notifications, on="zi_number")
    near = (pairs["expected_start"] - pairs["start_date"]).dt.days.abs() <= 21
    matched = pairs[near]
    announced = matched.drop_duplicates(["zi_number", "start_date"])
    assert 0.6 < len(announced) / len(episodes) < 0.8
    lead = (announced["start_date"] - announced["notified_on"]).dt.days
    assert (lead >= 14).mean() > 0.7 and (lead < 0).any()
    matched_keys = pd.MultiIndex.from_frame(matched[["zi_number", "notified_on"]])
    all_keys = pd.MultiIndex.from_frame(notifications[["zi_number", "notified_on"]])
    false_alarms = (~all_keys.isin(matched_keys)).sum()
    assert 0.5 < false_alarms / len(announced) < 2.0


# --- true hazard --------------------------------------------------------------


def test_true_hazard_schema(synthetic: SyntheticMarket) -> None:
    truth = synthetic.true_hazard
    assert truth is not None
    assert list(truth.columns) == ["zi_number", "week", "hazard", "frailty"]
    assert truth["zi_number"].dtype == "str"
    assert truth["week"].dtype == "datetime64[ns]"
    assert truth["hazard"].dtype == "float64"
    assert (truth["week"].dt.day_of_week == 0).all()
    assert truth["hazard"].between(0, 1).all()
    assert (truth["frailty"] > 0).all()
    assert (truth.groupby("zi_number")["frailty"].nunique() == 1).all()
    assert not truth.duplicated(["zi_number", "week"]).any()


def test_true_hazard_covers_exactly_marketed_packs_not_in_shortage(
    synthetic: SyntheticMarket, window: tuple[pd.Timestamp, pd.Timestamp]
) -> None:
    start, end = window
    truth = synthetic.true_hazard
    assert truth is not None
    products = synthetic.market.products
    mondays = pd.date_range(start, end - pd.Timedelta(days=1), freq="7D")
    grid = products[["zi_number", "market_entry", "market_exit"]].merge(
        pd.DataFrame({"week": mondays}), how="cross"
    )
    marketed = (grid["market_entry"] <= grid["week"]) & (
        grid["market_exit"].isna() | (grid["week"] < grid["market_exit"])
    )
    grid = grid[marketed]
    shortages = synthetic.market.shortages
    short = grid.merge(shortages[["zi_number", "start_date", "end_date"]], on="zi_number")
    # an episode starting on the Monday itself is an onset in that week, not a prior shortage
    is_short = (short["start_date"] < short["week"]) & (
        short["end_date"].isna() | (short["week"] < short["end_date"])
    )
    short_keys = pd.MultiIndex.from_frame(short.loc[is_short, ["zi_number", "week"]])
    at_risk = grid[~pd.MultiIndex.from_frame(grid[["zi_number", "week"]]).isin(short_keys)]
    expected = at_risk[["zi_number", "week"]].sort_values(["zi_number", "week"])
    got = truth[["zi_number", "week"]].sort_values(["zi_number", "week"])
    pd.testing.assert_frame_equal(
        expected.reset_index(drop=True), got.reset_index(drop=True), check_dtype=False
    )


def test_true_hazard_matches_realised_onsets(exposure: pd.DataFrame) -> None:
    expected = exposure["hazard"].sum()
    observed = exposure["onset"].sum()
    assert abs(observed - expected) < 4 * np.sqrt(expected)
    # and it ranks: the riskiest fifth of pack-weeks has a much higher realised rate
    top = exposure["hazard"] >= exposure["hazard"].quantile(0.8)
    assert exposure.loc[top, "onset"].mean() > 2.5 * exposure.loc[~top, "onset"].mean()
