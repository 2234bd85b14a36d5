"""Quality bar: does the model recover the generator's known shortage mechanism?

Generates the default built-in market (with its true weekly hazard), then runs
the rolling-origin backtest at one horizon in three settings and prints PR-AUC
on identical out-of-sample rows:

* without notifications: model vs the true hazard (target: >= 0.9 of it) and
  vs every baseline;

The true hazard carries a hidden per-pack frailty that no table holds, so no
model can reach it. Two more references show what is within reach: the
hazard with the frailty removed (every pack average), and a Bayes oracle that
knows the mechanism exactly and replaces the frailty by its posterior mean
given the pack's onsets so far, ``(a + k) / (a + expected onsets)`` for the
gamma(a) prior: the best any model can do with what is observable (it even
sees onsets before they are reported).
* with notifications (they are drawn from the simulated future, so the model
  may beat the hazard);
* with only the required tables and list prices: model vs the history heuristic.

PR-AUC is printed pooled over all folds (the headline) and as the mean over
folds (ranking within each origin only).

Usage: python benchmarks/bench_quality.py [--packs 5000] [--years 8] [--seed 0]
       [--horizon 13] [--folds 8]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd

from features.contract import DEFAULT_MIN_SHORTAGE_DAYS
from features.market import Market
from features.synthetic_market import FRAILTY_SHAPE, generate_market, prob_at_least
from models.config import ModelConfig
from models.metrics import pr_auc
from pipelines.backtest import BacktestConfig, backtest
from pipelines.training_data import training_data


def reference_probabilities(
    hazard: pd.DataFrame, shortages: pd.DataFrame, horizon: int
) -> pd.DataFrame:
    """The generator's own risk at t, 1 - (1 - h_t)^H, for three weekly hazards h_t.

    ``true``: the hazard at t (true mechanism and state at t, nothing later;
    summing the realised future hazards would condition on the outcome).
    ``without_frailty``: the hazard divided by the pack's hidden frailty.
    ``bayes``: the frailty replaced by its posterior mean given the pack's onsets
    before t and its expected onsets (hazard without frailty, summed over its
    weeks at risk before t).
    """
    truth = hazard.sort_values(["zi_number", "week"], kind="stable").reset_index(drop=True)
    weekly = truth["hazard"].to_numpy()
    plain = weekly / truth["frailty"].to_numpy()
    onset_rate = pd.Series(plain / prob_at_least(DEFAULT_MIN_SHORTAGE_DAYS))
    expected = onset_rate.groupby(truth["zi_number"].to_numpy()).cumsum() - onset_rate
    window_start = truth["week"].min()
    seen = shortages[shortages["start_date"] >= window_start]
    starts = seen.groupby(seen["zi_number"].astype("str"))["start_date"].agg(np.sort)
    onsets = np.zeros(len(truth), dtype=np.int64)
    for pack, rows in truth.groupby("zi_number", sort=False).indices.items():
        if pack in starts.index:
            onsets[rows] = np.searchsorted(starts[pack], truth["week"].to_numpy()[rows])
    posterior = (FRAILTY_SHAPE + onsets) / (FRAILTY_SHAPE + expected.to_numpy())

    def within(h: np.ndarray) -> np.ndarray:
        return 1.0 - (1.0 - np.clip(h, 0.0, 1.0)) ** horizon

    return pd.DataFrame(
        {
            "zi_number": truth["zi_number"].to_numpy(),
            "as_of": truth["week"].to_numpy(),
            "true": within(weekly),
            "without_frailty": within(plain),
            "bayes": within(plain * posterior),
        }
    )


REFERENCES = ("true", "without_frailty", "bayes")


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


def _fold_mean(frame: pd.DataFrame, column: str) -> float:
    """Mean of the per-fold PR-AUCs: ranking within each origin only, so a level that
    drifts between origins (calibration) does not count, unlike the pooled figure."""
    return float(frame.groupby("fold").apply(lambda f: pr_auc(f["label"], f[column])).mean())


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
    truth = reference_probabilities(synthetic.true_hazard, synthetic.market.shortages, args.horizon)
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
                    **{f"{r}_pr_auc": pr_auc(frame["label"], frame[r]) for r in REFERENCES},
                    "fold_mean": _fold_mean(frame, "probability"),
                    **{f"{r}_fold_mean": _fold_mean(frame, r) for r in REFERENCES},
                }
            )
    table = pd.DataFrame(rows)
    table["ratio_to_true"] = table["pr_auc"] / table["true_pr_auc"]
    table["ratio_to_bayes"] = table["pr_auc"] / table["bayes_pr_auc"]
    with pd.option_context("display.width", 200, "display.float_format", "{:.4f}".format):
        print(table.to_string(index=False))
    for setting, frame in table.groupby("setting", sort=False):
        by_model = frame.set_index("model")
        score = by_model["pr_auc"]
        best = score.drop("lightgbm").idxmax()
        main = by_model.loc["lightgbm"]
        print(
            f"{setting}: lightgbm {score['lightgbm']:.4f}, best baseline {best} "
            f"{score[best]:.4f}, lift {score['lightgbm'] / score[best]:.2f}x; true hazard "
            f"{main['true_pr_auc']:.4f} (ratio {main['ratio_to_true']:.3f}), without frailty "
            f"{main['without_frailty_pr_auc']:.4f}, Bayes oracle {main['bayes_pr_auc']:.4f} "
            f"(ratio {main['ratio_to_bayes']:.3f}; the oracle reaches "
            f"{main['bayes_pr_auc'] / main['true_pr_auc']:.3f} of the true hazard)"
        )
        folds = by_model["fold_mean"]
        best_fold = folds.drop("lightgbm").idxmax()
        print(
            f"  mean over folds: lightgbm {folds['lightgbm']:.4f}, best baseline {best_fold} "
            f"{folds[best_fold]:.4f}, lift {folds['lightgbm'] / folds[best_fold]:.2f}x; true "
            f"hazard {main['true_fold_mean']:.4f}, Bayes oracle {main['bayes_fold_mean']:.4f}"
        )


if __name__ == "__main__":
    main()
