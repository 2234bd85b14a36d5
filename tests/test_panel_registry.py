"""Registry, dtypes, skipped families, the written Parquet file and the generated reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.families.base import Feature
from features.market import Market
from features.panel import build_panel
from features.registry import (
    FAMILIES,
    all_features,
    feature_checksum,
    feature_names,
    render_feature_reference,
)
from pipelines.feature_panel import build_feature_panel
from tests.reference_panel import random_market

DOCS = Path(__file__).resolve().parents[1] / "docs" / "features.md"


def test_committed_feature_reference_is_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_feature_reference(), (
        "regenerate with: python -m pipelines.feature_panel --docs docs/features.md"
    )


def test_every_feature_is_named_once_and_documented() -> None:
    names = feature_names()
    assert len(names) == len(set(names))
    for family, feature in all_features():
        assert feature.meaning and "\n" not in feature.meaning, feature.name
        assert feature.name.islower() and " " not in feature.name
        assert family.name and family.meaning


def test_checksum_tracks_names_meanings_and_dtypes() -> None:
    features = tuple(f for _, f in all_features())
    assert feature_checksum(features) == feature_checksum()
    first = features[0]
    for changed in (
        Feature(first.name + "_x", first.meaning, first.kind),
        Feature(first.name, first.meaning + ".", first.kind),
        Feature(first.name, first.meaning, "category"),
    ):
        assert feature_checksum((changed, *features[1:])) != feature_checksum()


def test_dtypes_and_fixed_categories() -> None:
    market = random_market(5)
    early = build_panel(market, start="2020-01-06", end="2020-03-30")
    late = build_panel(market, start="2022-06-06", end="2022-09-26")
    kinds = {f.name: f.kind for _, f in all_features()}
    for name, kind in kinds.items():
        if kind == "float32":
            assert early[name].dtype == np.float32, name
        else:
            assert isinstance(early[name].dtype, pd.CategoricalDtype), name
            categories = list(early[name].cat.categories)
            assert categories == sorted(categories)
            assert categories == list(late[name].cat.categories), name
    atc = market.products["atc"].dropna()
    assert list(early["prod_atc1"].cat.categories) == sorted(atc.str[:1].unique())
    assert list(early["crit_category"].cat.categories) == ["orange", "red"]
    for label in ("onset_4w", "onset_13w", "onset_26w"):
        assert early[label].dtype == np.float32
    assert early["zi_number"].cat.categories.tolist() == sorted(market.products["zi_number"])
    labels = ["onset_4w", "onset_13w", "onset_26w"]
    assert list(early.columns) == ["zi_number", "as_of", *feature_names(), *labels]


def test_absent_optional_table_skips_its_families_and_says_so(tmp_path: Path) -> None:
    full = random_market(2)
    market = Market(**{**full.__dict__, "tenders": None, "list_prices": None})
    summary = build_feature_panel(market, tmp_path / "panel.parquet", start="2021-01-04")
    assert summary.families_skipped == {
        "list_price": ("list_prices",),
        "price_headroom": ("list_prices",),
        "gvs_copay": ("list_prices",),
        "tender": ("tenders",),
    }
    panel = pd.read_parquet(tmp_path / "panel.parquet")
    assert not any(c.startswith(("tender_", "price_aip", "gvs_copay")) for c in panel.columns)
    assert "price_wgp_max" in panel.columns
    assert summary.feature_checksum != feature_checksum()


def test_parquet_panel_round_trips_and_reports_progress(tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "panel.parquet"
    calls: list[tuple[int, int]] = []
    summary = build_feature_panel(
        tiny_dir, out, end="2022-06-27", chunk_weeks=20, progress=lambda d, t: calls.append((d, t))
    )
    written = pd.read_parquet(out)
    assert len(written) == summary.rows > 0
    assert calls[-1] == (summary.weeks, summary.weeks) and len(calls) > 1
    assert [p.name for p in out.parent.iterdir()] == ["panel.parquet"]
    from features.validation import load_market

    expected = build_panel(load_market(tiny_dir), end="2022-06-27")
    pd.testing.assert_frame_equal(written, expected)
    assert summary.families_used == tuple(f.name for f in FAMILIES)
    total = summary.label_counts["onset_4w"]
    assert sum(total.values()) == summary.rows


def test_invalid_data_writes_nothing(tiny_dir: Path, tmp_path: Path) -> None:
    (tiny_dir / "shortages.csv").write_text("zi_number,start_date\n00012345,not-a-date\n")
    out = tmp_path / "panel.parquet"
    with pytest.raises(ValueError):
        build_feature_panel(tiny_dir, out)
    assert not out.exists()
    assert not list(tmp_path.glob(".panel.parquet*"))


def test_chunking_does_not_change_the_panel() -> None:
    market = random_market(4)
    whole = build_panel(market, chunk_weeks=1000)
    pieces = build_panel(market, chunk_weeks=3)
    pd.testing.assert_frame_equal(whole, pieces)
