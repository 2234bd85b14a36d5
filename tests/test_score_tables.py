"""Pure pieces of the weekly scores: bands, ranks, drift, sentences, GPK view."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.validation import load_market
from models.drift import population_stability, profile
from pipelines.driver_text import describe
from pipelines.score_tables import (
    changes_since,
    critical_category,
    driver_tables,
    freshness,
    pack_status,
    rank_by_horizon,
    rank_desc,
    risk_band,
)


def test_risk_bands_use_fixed_thresholds() -> None:
    p = np.array([0.0, 0.049, 0.05, 0.149, 0.15, 0.299, 0.30, 1.0])
    assert risk_band(p).tolist() == [
        "low", "low", "moderate", "moderate", "elevated", "elevated", "high", "high"
    ]  # fmt: skip


def test_ranks_break_ties_by_pack_and_restart_per_horizon() -> None:
    assert rank_desc(np.array([0.2, 0.5, 0.2]), np.array(["b", "c", "a"])).tolist() == [3, 1, 2]
    frame = pd.DataFrame(
        {"horizon": [4, 13, 4, 13], "p": [0.1, 0.1, 0.3, 0.05], "zi_number": list("abcd")}
    )
    assert rank_by_horizon(frame, "p", "zi_number").tolist() == [2, 1, 1, 2]


def test_psi_is_zero_on_the_training_sample_and_large_after_a_shift() -> None:
    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {
            "price": rng.lognormal(2.7, 1, 5000),
            "form": pd.Categorical(rng.choice(["tablet", "capsule"], 5000)),
        }
    )
    reference = profile(train)
    same = population_stability(reference, train)
    assert same.max() < 1e-9
    shifted = train.assign(price=train["price"] * 3, form=pd.Categorical(["injection"] * 5000))
    psi = population_stability(reference, shifted)
    assert psi["price"] > 0.25 and psi["form"] > 0.25
    with_gaps = train.assign(price=train["price"].where(rng.random(5000) > 0.5))
    assert population_stability(reference, with_gaps)["price"] > 0.25


def test_sentences_speak_plainly() -> None:
    row = {"sup_mahs": 2.0, "sup_mahs_change_52w": -2.0}
    assert describe("sup_mahs", row) == "2 suppliers left, was 4 a year ago"
    assert describe("price_aip", {"price_aip": 7.5}) == (
        "pharmacy purchase price EUR 7.50 (low-price segment, at most EUR 15)"
    )
    fallback = describe("cal_month", {"cal_month": 3.0})
    assert fallback.startswith("calendar month") and fallback.endswith(": 3")
    assert describe("cal_month", {"cal_month": float("nan")}).endswith("unknown")


def test_status_lists_short_and_off_market_packs(tiny_dir) -> None:  # type: ignore[no-untyped-def]
    market = load_market(tiny_dir)
    status = pack_status(market, pd.Timestamp("2024-06-03"), scored={"00012346"})
    by_pack = status.set_index("zi_number")["status"].to_dict()
    # 00012345: ongoing episode since 2022-03-07; 00023456 left the market on 2024-01-01.
    assert by_pack == {"00012345": "in shortage", "00023456": "off market"}
    since = status.set_index("zi_number")["since"]
    assert since["00012345"] == pd.Timestamp("2022-03-07")


def test_critical_category_by_gpk_and_atc_prefix(tiny_dir) -> None:  # type: ignore[no-untyped-def]
    market = load_market(tiny_dir)
    before = critical_category(market, pd.Timestamp("2022-12-26"))
    assert before.isna().all()
    after = critical_category(market, pd.Timestamp("2023-07-03"))
    assert after.to_dict() == {"00000101": "red", "00000202": "orange"}


def test_changes_flag_new_top_entries_and_risers() -> None:
    now = pd.DataFrame(
        {"zi_number": ["a", "b", "c"], "horizon": 13, "probability": [0.5, 0.4, 0.1],
         "rank": [1, 2, 3]}
    )  # fmt: skip
    before = pd.DataFrame(
        {"zi_number": ["a", "b", "c"], "horizon": 13, "probability": [0.5, 0.1, 0.2],
         "rank": [1, 3, 2]}
    )  # fmt: skip
    changes = changes_since(now, before, top=2)
    assert set(changes.loc[changes["change"] == "new in top 100", "zi_number"]) == {"b"}
    assert changes.loc[changes["change"] == "riser", "zi_number"].tolist() == ["b"]
    with pytest.raises(KeyError):
        changes_since(now.drop(columns="rank"), before)


def test_freshness_flags_stale_time_series_but_not_event_tables(tiny_dir) -> None:  # type: ignore[no-untyped-def]
    market = load_market(tiny_dir)
    recent = freshness(market, pd.Timestamp("2022-03-14"))
    assert recent["shortages"]["weeks_since_last_row"] == 1.0
    assert recent["shortages"]["stale"] is False
    later = freshness(market, pd.Timestamp("2022-09-05"))
    assert later["shortages"]["stale"] is True
    assert later["products"]["stale"] is False and later["products"]["expected_weeks"] is None


def test_top_drivers_are_distinct_sentences_and_only_risk_raising() -> None:
    rows = pd.DataFrame(
        {"zi_number": ["a"], "notif_open": [1.0], "notif_weeks_to_expected_start": [-1.0],
         "sup_mahs": [1.0], "price_aip": [20.0]}
    )  # fmt: skip
    contributions = pd.DataFrame(
        {"notif_open": [0.9], "notif_weeks_to_expected_start": [0.8], "sup_mahs": [0.2],
         "price_aip": [-0.3], "base_value": [-3.0]}
    )  # fmt: skip
    wide, long = driver_tables(rows, contributions, {"sup_mahs": "suppliers"}, 13)
    assert wide.loc[0, ["driver_1", "driver_2", "driver_3"]].tolist() == [
        "notif_open", "sup_mahs", ""
    ]  # fmt: skip
    assert wide.loc[0, "driver_2_text"] == "1 supplier left"
    assert long["shap"].sum() == pytest.approx(-3.0 + 0.9 + 0.8 + 0.2 - 0.3)


def test_drift_skips_calendar_cycles_and_pools_rare_categories() -> None:
    rng = np.random.default_rng(1)
    codes = [f"C{i:03d}" for i in range(300)]
    train = pd.DataFrame(
        {
            "cal_month": np.full(3000, 9.0),
            "prod_atc4": pd.Categorical(rng.choice(codes, 3000)),
        }
    )
    reference = profile(train)
    assert "cal_month" not in reference
    assert set(reference["prod_atc4"]["shares"]) == {"__other__"}
    week = pd.DataFrame(
        {"cal_month": np.full(500, 12.0), "prod_atc4": pd.Categorical(rng.choice(codes, 500))}
    )
    psi = population_stability(reference, week)
    assert list(psi.index) == ["prod_atc4"] and psi["prod_atc4"] < 0.01
