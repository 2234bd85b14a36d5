"""Rolling-origin backtest over whole weeks.

At each origin the models are refitted on the rows whose label was final
before the origin (``as_of + 7*H days + min duration <= origin``: a gap of at
least the horizon), then score the weeks up to the next origin. Every
out-of-sample prediction is kept, so anyone can recompute the metrics.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.base import clone

from models.baselines import (
    HistoryHeuristic,
    LogisticBaseline,
    PrevalenceBaseline,
    PriceRuleBaseline,
)
from models.config import ModelConfig
from models.metrics import evaluate
from models.shortage_model import ShortageRiskModel
from pipelines.engine import Engine, run_tasks
from pipelines.training_data import TrainingData

MAIN_MODEL = "lightgbm"
Progress = Callable[[str], None]


class BacktestConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    folds: int = Field(8, ge=1, description="number of origins")
    origin_every_weeks: int = Field(13, ge=1, description="weeks between origins (quarterly)")
    baselines: bool = True
    n_resamples: int = Field(100, ge=1, description="whole-week bootstrap resamples for intervals")


@dataclass(frozen=True)
class Fold:
    number: int
    origin: pd.Timestamp
    test_end: pd.Timestamp  # exclusive


def label_column(horizon: int) -> str:
    return f"onset_{horizon}w"


def rolling_origins(weeks: Sequence[pd.Timestamp], config: BacktestConfig) -> list[Fold]:
    """Origins every ``origin_every_weeks`` weeks, the last test block ending at the data end."""
    labelled = pd.DatetimeIndex(sorted(set(weeks)))
    if len(labelled) == 0:
        raise ValueError("no labelled weeks to backtest on")
    step = pd.Timedelta(weeks=config.origin_every_weeks)
    end = labelled.max() + pd.Timedelta(weeks=1)
    origins = [end - step * (config.folds - k) for k in range(config.folds)]
    if origins[0] <= labelled.min():
        raise ValueError(
            f"{config.folds} folds of {config.origin_every_weeks} weeks reach back to "
            f"{origins[0]:%Y-%m-%d}, before the first labelled week {labelled.min():%Y-%m-%d}"
        )
    return [
        Fold(number=k, origin=origin, test_end=origin + step) for k, origin in enumerate(origins)
    ]


def candidate_models(
    model_config: ModelConfig, horizon: int, with_baselines: bool
) -> dict[str, object]:
    models: dict[str, object] = {MAIN_MODEL: ShortageRiskModel(model_config, horizon=horizon)}
    if with_baselines:
        models.update(
            prevalence=PrevalenceBaseline(),
            history=HistoryHeuristic(),
            price_rule=PriceRuleBaseline(),
            logistic=LogisticBaseline(),
        )
    return models


def fold_rows(
    labelled: pd.DataFrame, fold: Fold, horizon: int, min_shortage_days: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows whose label was final before the origin, and the fold's test rows."""
    label_final_after = pd.Timedelta(weeks=horizon) + pd.Timedelta(days=min_shortage_days)
    train = labelled[labelled["as_of"] + label_final_after <= fold.origin]
    test = labelled[(labelled["as_of"] >= fold.origin) & (labelled["as_of"] < fold.test_end)]
    return train, test


def fold_predictions(
    fold: Fold,
    labelled: pd.DataFrame,
    features: list[str],
    horizon: int,
    model_config: ModelConfig,
    config: BacktestConfig,
    min_shortage_days: int,
) -> pd.DataFrame:
    """Every model refitted at one origin and its test predictions (one task per fold)."""
    target = label_column(horizon)
    train, test = fold_rows(labelled, fold, horizon, min_shortage_days)
    frames = []
    for name, template in candidate_models(model_config, horizon, config.baselines).items():
        model = clone(template)
        if isinstance(model, ShortageRiskModel):
            model.fit(train[features], train[target], train["as_of"])
        else:
            model.fit(train[features], train[target])
        probability = model.predict_proba(test[features])[:, 1]
        frames.append(
            pd.DataFrame(
                {
                    "zi_number": test["zi_number"].astype(str).to_numpy(),
                    "as_of": test["as_of"].to_numpy(),
                    "horizon": horizon,
                    "model": name,
                    "probability": probability.astype(np.float64),
                    "label": test[target].to_numpy(dtype=np.float64),
                    "fold": fold.number,
                    "origin": fold.origin,
                    **segments(test),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def run_backtest(
    panel: pd.DataFrame,
    features: list[str],
    horizon: int,
    model_config: ModelConfig,
    config: BacktestConfig,
    min_shortage_days: int = 14,
    progress: Progress | None = None,
    engine: Engine = "pandas",
    scheduler: str | None = None,
) -> tuple[pd.DataFrame, list[Fold]]:
    """Out-of-sample predictions of every model at every origin (long format).

    A training label is final once its window has closed and an onset near the
    window's end has lasted ``min_shortage_days``; only such rows are used. With
    ``engine="dask"`` the folds run in parallel, one Dask task each (same results).
    """
    target = label_column(horizon)
    labelled = panel[panel[target].notna()]
    folds = rolling_origins(labelled["as_of"].unique(), config)
    shared = {
        "labelled": labelled,
        "features": features,
        "horizon": horizon,
        "model_config": model_config,
        "config": config,
        "min_shortage_days": min_shortage_days,
    }
    frames = []
    for fold in folds:
        if progress:
            train, test = fold_rows(labelled, fold, horizon, min_shortage_days)
            progress(
                f"fold {fold.number + 1}/{len(folds)}: origin {fold.origin:%Y-%m-%d}, "
                f"{len(train):,} training rows, {len(test):,} test rows"
                + (" (one dask task per fold)" if engine == "dask" else "")
            )
        if engine == "pandas":  # in turn, so progress follows the work
            frames.append(fold_predictions(fold, **shared))
    if engine != "pandas":
        frames = run_tasks(engine, fold_predictions, folds, scheduler, **shared)
    return pd.concat(frames, ignore_index=True), folds


def segments(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Policy-relevant groups to break PR-AUC down by (only those the panel has)."""
    out: dict[str, np.ndarray] = {}
    if "price_aip_le_15" in rows:
        flag = rows["price_aip_le_15"]
        out["segment_price"] = np.where(
            flag.isna(), "unknown", np.where(flag > 0, "aip<=15", "aip>15")
        )
    if "sup_mahs" in rows:
        n = rows["sup_mahs"]
        out["segment_suppliers"] = np.select(
            [n.isna(), n <= 1, n <= 3], ["unknown", "1", "2-3"], default="4+"
        )
    if "prod_atc1" in rows:
        out["segment_atc"] = rows["prod_atc1"].astype(str).to_numpy()
    if "crit_category" in rows:
        out["segment_critical"] = rows["crit_category"].astype(str).to_numpy()
    return out


def onsets_from(shortages: pd.DataFrame, min_days: int) -> pd.DataFrame:
    """Onset dates of episodes that count as shortages (lasted at least ``min_days``)."""
    lasted = shortages["end_date"] - shortages["start_date"]
    counts = lasted.isna() | (lasted >= pd.Timedelta(days=min_days))
    frame = shortages.loc[counts, ["zi_number", "start_date"]]
    return frame.rename(columns={"start_date": "onset_date"}).reset_index(drop=True)


@dataclass
class BacktestResult:
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    folds: list[Fold]
    fold_key: str

    def main_predictions(self) -> pd.DataFrame:
        return self.predictions[self.predictions["model"] == MAIN_MODEL]

    def pooled(self, model: str = MAIN_MODEL) -> pd.Series:
        rows = self.metrics[(self.metrics["model"] == model) & (self.metrics["fold"] == "all")]
        return rows.set_index("metric")["value"]

    def headline_metrics(self) -> dict[str, float]:
        """Pooled metrics of every model, named ``backtest_<model>_<metric>`` for MLflow."""
        pooled = self.metrics[self.metrics["fold"] == "all"]
        out = {}
        for row in pooled.itertuples(index=False):
            key = f"backtest_{row.model}_{row.metric}"
            out[_metric_key(key)] = float(row.value)
            if not np.isnan(row.ci_low):
                out[_metric_key(key + "_ci_low")] = float(row.ci_low)
                out[_metric_key(key + "_ci_high")] = float(row.ci_high)
        return out


def _metric_key(name: str) -> str:
    """MLflow metric names allow letters, digits and ``_-. /`` only."""
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in name)


def fold_key(folds: list[Fold], horizon: int, min_days: int, data_fingerprint: str) -> str:
    """Identifies "the same folds": same data, horizon, label rule and origins."""
    text = json.dumps(
        {
            "data": data_fingerprint,
            "horizon": horizon,
            "min_days": min_days,
            "origins": [f"{f.origin:%Y-%m-%d}" for f in folds],
            "step": [f"{f.test_end:%Y-%m-%d}" for f in folds],
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def backtest(
    data: TrainingData,
    model_config: ModelConfig,
    config: BacktestConfig,
    min_days: int = 14,
    progress: Progress | None = None,
    onsets: pd.DataFrame | None = None,
    data_fingerprint: str = "",
    engine: Engine = "pandas",
    scheduler: str | None = None,
) -> BacktestResult:
    """Rolling-origin predictions and their metrics (per fold and pooled, with intervals)."""
    predictions, folds = run_backtest(
        data.panel,
        data.features,
        data.horizon,
        model_config,
        config,
        min_days,
        progress,
        engine=engine,
        scheduler=scheduler,
    )
    if progress:
        progress(f"evaluating ({config.n_resamples} bootstrap resamples of whole weeks)")
    segment_columns = [c for c in predictions.columns if c.startswith("segment_")]
    metrics = evaluate(
        predictions,
        onsets=onsets,
        segment_columns=segment_columns,
        n_resamples=config.n_resamples,
        seed=model_config.seed,
    )
    return BacktestResult(
        predictions=predictions,
        metrics=metrics,
        folds=folds,
        fold_key=fold_key(folds, data.horizon, min_days, data_fingerprint),
    )
