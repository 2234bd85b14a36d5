"""The Dask engine: partitions, identical panels, distributed training, parallel folds, EU data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score
from typer.testing import CliRunner

from features.families.inputs import atc_prefix
from features.market import Market
from features.panel import build_panel
from features.partitioning import pack_units, partition_market
from features.synthetic_market import generate_market
from features.validation import validate_data_dir
from forecast.cli import app
from models.dask_model import DaskShortageRiskModel
from models.shortage_model import ShortageRiskModel
from pipelines.backtest import BacktestConfig, run_backtest
from pipelines.engine import build_panel_with, dask_client
from tests.test_shortage_model import FAST, FEATURES, planted_panel

# The distributed model may differ from the single-machine one (data-parallel histograms,
# rounds fixed from a sample): its held-out PR-AUC must be within this absolute distance.
PR_AUC_TOLERANCE = 0.02


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """One LocalCluster of two single-threaded worker processes for the whole module
    (processes: LightGBM's distributed training needs one network per process)."""
    with dask_client(n_workers=2) as client:
        yield str(client.scheduler_info()["address"])


@pytest.fixture(scope="module")
def market() -> Market:
    return generate_market(n_packs=400, years=4, seed=5, with_truth=False).market


def test_partitions_hold_every_pack_once_with_whole_gpks_and_atc4_groups(market: Market) -> None:
    parts = partition_market(market, 4)
    assert len(parts) == 4
    zi = pd.concat([p.products["zi_number"] for p in parts])
    assert zi.is_unique and set(zi) == set(market.products["zi_number"])
    for column in ("gpk", "atc4"):
        owner: dict[str, int] = {}
        for k, part in enumerate(parts):
            keys = (
                part.products["gpk"]
                if column == "gpk"
                else atc_prefix(part.products["atc"], "atc4")
            )
            for key in keys.dropna().unique():
                assert owner.setdefault(key, k) == k, f"{column} {key} split across partitions"
    sizes = [len(p.products) for p in parts]
    assert max(sizes) - min(sizes) <= max(pack_units(market.products).value_counts())
    for name, frame in market.present():
        if name == "critical_list":
            assert all(p.critical_list is not None and p.critical_list.equals(frame) for p in parts)
        elif name != "products":
            assert sum(len(p.table(name)) for p in parts) == len(frame), name  # type: ignore[arg-type]


def test_a_gpk_spanning_two_atc4_groups_joins_them_into_one_unit() -> None:
    products = pd.DataFrame(
        {
            "zi_number": ["1", "2", "3", "4"],
            "gpk": ["A", "A", "B", "C"],
            "atc": ["C07AB02", "C07AA05", "C07AA06", "J01CA04"],
        }
    )
    units = pack_units(products)
    assert units.iloc[0] == units.iloc[1] == units.iloc[2] != units.iloc[3]


@pytest.mark.parametrize(
    ("partitions", "start", "end"), [(3, None, None), (5, "2019-06-03", "2020-12-28")]
)
def test_dask_panel_is_identical_to_the_pandas_panel(
    market: Market, scheduler: str, partitions: int, start: str | None, end: str | None
) -> None:
    expected = build_panel(market, start=start, end=end)
    got = build_panel_with(
        "dask", market, start=start, end=end, scheduler=scheduler, partitions=partitions
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    key = ["zi_number", "as_of"]
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
        check_exact=True,
    )


def test_distributed_model_matches_single_machine_pr_auc(scheduler: str, tmp_path: Path) -> None:
    panel = planted_panel(n_packs=300, n_weeks=140, seed=1)
    panel["pack"] = np.repeat(np.arange(300), 140).astype(str)
    last_train = panel["as_of"].min() + pd.Timedelta(weeks=105)
    train = panel[panel["as_of"] <= last_train]
    test = panel[panel["as_of"] > last_train + pd.Timedelta(weeks=4)]
    local = ShortageRiskModel(FAST, horizon=4).fit(train[FEATURES], train["label"], train["as_of"])
    with dask_client(scheduler) as client:
        model = DaskShortageRiskModel(FAST, horizon=4, sample_share=0.5).fit(
            train[FEATURES], train["label"], train["as_of"], packs=train["pack"], client=client
        )
    plain = model.to_local()
    assert type(plain) is ShortageRiskModel and plain.best_iteration_ == model.best_iteration_
    pr_local = average_precision_score(test["label"], local.predict_proba(test[FEATURES])[:, 1])
    pr_dask = average_precision_score(test["label"], plain.predict_proba(test[FEATURES])[:, 1])
    assert abs(pr_dask - pr_local) <= PR_AUC_TOLERANCE, (pr_local, pr_dask)
    rows = test[FEATURES].head(20)
    contributions = plain.contributions(rows)  # SHAP works on the distributed booster
    np.testing.assert_allclose(contributions.sum(axis=1), plain.decision_function(rows), atol=1e-6)
    joblib.dump(plain, tmp_path / "model.joblib")  # how the MLflow pyfunc stores it
    restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(restored.predict_proba(rows), plain.predict_proba(rows))
    print(f"held-out PR-AUC: single machine {pr_local:.4f}, distributed {pr_dask:.4f}")


def test_backtest_folds_on_dask_give_the_pandas_predictions(scheduler: str) -> None:
    panel = planted_panel(n_packs=80, n_weeks=150, seed=2).rename(columns={"label": "onset_4w"})
    panel["zi_number"] = np.repeat(np.arange(80), 150).astype(str)
    config = BacktestConfig(folds=2, origin_every_weeks=13, baselines=False)
    expected, _ = run_backtest(panel, FEATURES, 4, FAST, config)
    got, _ = run_backtest(panel, FEATURES, 4, FAST, config, engine="dask", scheduler=scheduler)
    pd.testing.assert_frame_equal(got, expected)


def test_features_command_with_the_dask_engine_writes_the_pandas_panel(
    tiny_dir: Path, tmp_path: Path, scheduler: str
) -> None:
    runner = CliRunner()
    outputs = {}
    for engine in ("pandas", "dask"):
        out = tmp_path / f"{engine}.parquet"
        args = ["features", str(tiny_dir), "--out", str(out), "--engine", engine]
        result = runner.invoke(app, [*args, "--scheduler", scheduler] if engine == "dask" else args)
        assert result.exit_code == 0, result.output
        outputs[engine] = pd.read_parquet(out)
    pd.testing.assert_frame_equal(outputs["dask"], outputs["pandas"])


def test_generate_countries_writes_valid_eu_like_data(tmp_path: Path) -> None:
    out = tmp_path / "eu"
    result = CliRunner().invoke(
        app,
        ["generate", "--out", str(out), "--packs", "60", "--years", "2", "--countries", "3",
         "--format", "csv"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report, loaded = validate_data_dir(out)
    assert report.ok, [p.describe() for p in report.problems]
    assert loaded is not None
    zi = loaded.products["zi_number"]
    assert len(zi) == 180 and zi.is_unique and (zi.str.len() == 8).all()
    assert sorted(zi.str[:2].unique()) == ["BE", "DE", "NL"]
    written = pd.read_csv(out / "products.csv", dtype=str)
    assert (written["country"] == written["zi_number"].str[:2]).all()
    nl = generate_market(n_packs=60, years=2, seed=0, with_truth=False).market
    assert len(loaded.shortages[loaded.shortages["zi_number"].str.startswith("NL")]) == len(
        nl.shortages
    )
