"""The vectorised panel equals the slow obvious one, row for row, for every family and label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.market import Market
from features.panel import build_panel, plan_panel
from features.registry import FAMILIES, feature_names
from tests.reference_panel import as_float, random_market, reference_panel


def compare_with_reference(market: Market, n_dates: int, seed: int) -> set[str]:
    """Assert equality on a sample of as-of dates; return the columns compared."""
    plan = plan_panel(market, start="2020-01-06", end="2022-12-26")
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(plan.as_of), size=min(n_dates, len(plan.as_of)), replace=False)
    dates = list(plan.as_of[np.sort(picked)])
    fast = build_panel(
        market, start=plan.as_of[0], end=plan.as_of[-1], observed_until=plan.observed_until
    )
    fast = fast[fast["as_of"].isin(dates)].reset_index(drop=True)
    slow = reference_panel(market, dates, observed_until=plan.observed_until)
    assert list(zip(fast["zi_number"].astype(str), fast["as_of"], strict=True)) == list(
        zip(slow.get("zi_number", []), slow.get("as_of", []), strict=True)
    )
    compared = set()
    for column in slow.columns.drop(["zi_number", "as_of"], errors="ignore"):
        compared.add(column)
        got, want = fast[column], slow[column]
        if isinstance(got.dtype, pd.CategoricalDtype):
            g = got.astype(object).where(got.notna(), None).tolist()
            w = want.astype(object).where(want.notna(), None).tolist()
            assert g == w, column
            continue
        assert got.dtype == np.float32, column
        np.testing.assert_allclose(
            as_float(got), as_float(want), rtol=1e-5, atol=1e-4, err_msg=column
        )
    assert set(fast.columns) == {"zi_number", "as_of", *compared} or slow.empty
    return compared


@pytest.mark.parametrize("seed", range(8))
def test_random_tiny_markets_match_the_reference(seed: int) -> None:
    compared = compare_with_reference(random_market(seed), n_dates=14, seed=seed)
    assert set(feature_names()) <= compared


def test_without_optional_tables_only_product_families_run() -> None:
    market = random_market(1, optional=False)
    compared = compare_with_reference(market, n_dates=10, seed=1)
    always = {
        f.name
        for fam in FAMILIES
        if set(fam.tables) <= {"products", "shortages"}
        for f in fam.features
    }
    assert {c for c in compared if not c.startswith("onset_")} == always


def test_generated_market_matches_the_reference() -> None:
    from features.synthetic_market import generate_market

    market = generate_market(n_packs=25, years=3, seed=3, start="2020-01-01").market
    compare_with_reference(market, n_dates=8, seed=0)


def test_present_but_empty_optional_tables_match_the_reference() -> None:
    full = random_market(6)
    empty = {name: frame.iloc[:0] for name, frame in full.present() if name != "products"}
    market = Market(**{**full.__dict__, **empty, "shortages": full.shortages})
    compare_with_reference(market, n_dates=6, seed=6)
