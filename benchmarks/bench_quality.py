"""Quality bar: does the model recover the generator's known shortage mechanism?

Generates the default built-in market (with its true weekly hazard), then runs
the rolling-origin backtest at one horizon in three settings and prints PR-AUC
on identical out-of-sample rows:

* without notifications: model vs the true hazard (target: >= 0.9 of it) and
  vs every baseline;
* with notifications (they are drawn from the simulated future, so the model
  may beat the hazard);
* with only the required tables and list prices: model vs the history heuristic.

Usage: python benchmarks/bench_quality.py [--packs 5000] [--years 8] [--seed 0]
       [--horizon 13] [--folds 8]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import pandas as pd

from features.market import Market
from features.synthetic_market import generate_market
from models.config import ModelConfig
from models.metrics import pr_auc
from pipelines.backtest import BacktestConfig, backtest
from pipelines.training_data import training_data


def true_onset_probability(hazard: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """The generator's own risk at t: 1 - (1 - h_t)^H with the weekly hazard h_t.

    It uses the true mechanism and the true state at t, nothing later. (Summing
    the realised future hazards instead would condition on the outcome: after
    an onset the pack is short and has no hazard, which lowers the "oracle" for
    exactly the positive rows.)
    """
    return pd.DataFrame(
        {
            "zi_number": hazard["zi_number"].to_numpy(),
            "as_of": hazard["week"].to_numpy(),
            "true_probability": 1.0 - (1.0 - hazard["hazard"].to_numpy()) ** horizon,
        }
    )


def run(name: str, market: Market, horizon: int, config: BacktestConfig) -> pd.DataFrame:
    began = time.perf_counter()
    data = training_data(market, horizon)
    result = backtest(data, ModelConfig(), config)
    seconds = time.perf_counter() - began
    print(
        f"  [{name}] {len(data.features)} features, {len(data.panel):,} labelled rows, "
        f"backtest {config.folds} folds in {seconds:.0f} s"
    )
    return result.predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packs", type=int, default=5000)
    parser.add_argument("--years", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--horizon", type=int, default=13)
    parser.add_argument("--folds", type=int, default=8)
    args = parser.parse_args()

    synthetic = generate_market(n_packs=args.packs, years=args.years, seed=args.seed)
    assert synthetic.true_hazard is not None
    truth = true_onset_probability(synthetic.true_hazard, args.horizon)
    config = BacktestConfig(folds=args.folds, n_resamples=20)
    full = synthetic.market
    no_notifications = dataclasses.replace(full, notifications=None)
    minimal = Market(products=full.products, shortages=full.shortages, list_prices=full.list_prices)
    print(
        f"market: {args.packs} packs x {args.years} years, seed {args.seed}; "
        f"horizon {args.horizon} weeks"
    )

    rows = []
    for name, market in (
        ("without notifications", no_notifications),
        ("with notifications", full),
        ("required tables + list prices", minimal),
    ):
        predictions = run(name, market, args.horizon, config)
        scored = predictions.merge(truth, on=["zi_number", "as_of"], how="inner")
        for model, frame in scored.groupby("model", sort=True):
            rows.append(
                {
                    "setting": name,
                    "model": model,
                    "rows": len(frame),
                    "pr_auc": pr_auc(frame["label"], frame["probability"]),
                    "true_hazard_pr_auc": pr_auc(frame["label"], frame["true_probability"]),
                }
            )
    table = pd.DataFrame(rows)
    table["ratio_to_truth"] = table["pr_auc"] / table["true_hazard_pr_auc"]
    with pd.option_context("display.width", 140, "display.float_format", "{:.4f}".format):
        print(table.to_string(index=False))
    for setting, frame in table.groupby("setting", sort=False):
        by_model = frame.set_index("model")["pr_auc"]
        best_baseline = by_model.drop("lightgbm").max()
        print(
            f"{setting}: lightgbm {by_model['lightgbm']:.4f}, best baseline "
            f"{by_model.drop('lightgbm').idxmax()} {best_baseline:.4f}, "
            f"lift {by_model['lightgbm'] / best_baseline:.2f}x, ratio to true hazard "
            f"{frame.set_index('model').loc['lightgbm', 'ratio_to_truth']:.3f}"
        )


if __name__ == "__main__":
    main()
