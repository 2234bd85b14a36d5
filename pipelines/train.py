"""Train one horizon on all labelled history, explain it, and record it in MLflow.

A run records everything needed to trust and reproduce it: parameters and the
resolved configuration, a fingerprint of every input file, the feature list and
its checksum, the package version and git commit, the backtest metrics (when
run) with the fold definition they were computed on, SHAP summaries and plots,
and the model itself as a pyfunc registered as ``@challenger``.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import numpy as np
import pandas as pd

from features.market import Market
from features.validation import load_market
from models.config import ModelConfig
from models.drift import profile
from models.explain import global_importance, save_plots
from models.metrics import calibration_bins
from models.plots import save_calibration_curve, save_pr_curves
from models.pyfunc import log_pyfunc
from models.shortage_model import ShortageRiskModel
from pipelines.backtest import BacktestConfig, BacktestResult, backtest, onsets_from
from pipelines.engine import Engine, dask_client, scheduler_for
from pipelines.tracking import (
    TrackingConfig,
    combined_fingerprint,
    data_fingerprints,
    git_commit,
    package_version,
    register_challenger,
)
from pipelines.training_data import TrainingData, dask_training_data, training_data

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

Progress = Callable[[str], None]
RECENT_WEEKS = 13
FEATURE_PROFILE = "data/feature_profile.json"
CALIBRATION_TABLE = "backtest/calibration.json"
EXPLAIN_MAX_ROWS = 5000


@dataclass
class TrainResult:
    horizon: int
    run_id: str
    model_name: str
    model_version: str
    aliases: list[str]
    best_iteration: int
    n_rows: dict[str, int]
    backtest: BacktestResult | None = None
    skipped_families: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _recent_rows(data: TrainingData) -> pd.DataFrame:
    """The latest labelled weeks: the reference for explanations and for drift.

    Prices erode and packs age, so comparing a week with all of history would
    flag trending features every week; the recent weeks are the fair reference.
    """
    last = data.panel["as_of"].max()
    return data.panel[data.panel["as_of"] > last - pd.Timedelta(weeks=RECENT_WEEKS)]


def _explanation_rows(data: TrainingData) -> pd.DataFrame:
    """A deterministic sample of the recent weeks: what the model sees now."""
    recent = _recent_rows(data)
    if len(recent) > EXPLAIN_MAX_ROWS:
        recent = recent.sample(EXPLAIN_MAX_ROWS, random_state=0).sort_index()
    return recent.reset_index(drop=True)


def _log_explanations(
    model: ShortageRiskModel, data: TrainingData, workdir: Path
) -> dict[str, float]:
    rows = _explanation_rows(data)
    contributions = model.contributions(rows[data.features])
    per_feature, per_family = global_importance(contributions, data.family_of)
    per_feature.to_parquet(workdir / "shap_global_features.parquet", index=False)
    per_family.to_parquet(workdir / "shap_global_families.parquet", index=False)
    raw = model.decision_function(rows[data.features])
    top = np.argsort(-raw, kind="stable")[:3]
    highlight = {str(rows["zi_number"].iloc[i]): int(i) for i in top}
    for path in save_plots(model, rows[data.features], contributions, workdir, highlight):
        mlflow.log_artifact(str(path), artifact_path="explanations")
    for name in ("shap_global_features.parquet", "shap_global_families.parquet"):
        mlflow.log_artifact(str(workdir / name), artifact_path="explanations")
    gap = float(np.abs(contributions.sum(axis=1).to_numpy() - raw).max())
    return {"shap_additivity_max_gap": gap}


def train(
    data_dir: Path | str,
    horizon: int,
    model_config: ModelConfig,
    tracking: TrackingConfig,
    backtest_config: BacktestConfig | None = None,
    min_days: int = 14,
    resolved_settings: dict | None = None,
    progress: Progress | None = None,
    market: Market | None = None,
    engine: Engine = "pandas",
    scheduler: str | None = None,
    start: str | pd.Timestamp | None = None,
) -> TrainResult:
    """Fit on every labelled row (from ``start`` on), log the run, register ``@challenger``.

    ``engine="dask"`` builds the panel, runs the backtest folds and grows the final
    trees on the Dask cluster at ``scheduler`` (or on one local cluster for the run).
    """
    with scheduler_for(engine, scheduler) as address:
        return _train(
            data_dir, horizon, model_config, tracking, backtest_config, min_days,
            resolved_settings, progress, market, engine, address, start,
        )  # fmt: skip


def _fit(
    data: TrainingData,
    model_config: ModelConfig,
    rows: dd.DataFrame | None = None,
    client: Client | None = None,
) -> ShortageRiskModel:
    """The final model; on dask (``rows``: the training rows as panel partitions on the
    workers of ``client``) a plain ``ShortageRiskModel`` with distributed-grown trees."""
    if rows is None or client is None:
        X, y, as_of = data.panel[data.features], data.panel[data.label], data.panel["as_of"]
        return ShortageRiskModel(model_config, horizon=data.horizon).fit(X, y, as_of)
    from models.dask_model import DaskShortageRiskModel

    model = DaskShortageRiskModel(model_config, horizon=data.horizon)
    model.fit_partitions(rows, data.features, data.label, client=client)
    return model.to_local()


def _train(
    data_dir: Path | str,
    horizon: int,
    model_config: ModelConfig,
    tracking: TrackingConfig,
    backtest_config: BacktestConfig | None,
    min_days: int,
    resolved_settings: dict | None,
    progress: Progress | None,
    market: Market | None,
    engine: Engine,
    scheduler: str | None,
    start: str | pd.Timestamp | None,
) -> TrainResult:
    say = progress or (lambda _: None)
    data_dir = Path(data_dir)
    market = market if market is not None else load_market(data_dir)
    fingerprints = data_fingerprints(data_dir)
    say(f"building the {horizon}-week feature panel ({engine} engine)")
    with contextlib.ExitStack() as stack:
        rows = dask = None
        if engine == "dask":
            # Built once on the workers; the fit reads the partitions there.
            dask = stack.enter_context(dask_client(scheduler))
            data, rows = dask_training_data(dask, market, horizon, min_days, start)
        else:
            data = training_data(market, horizon, min_days=min_days, start=start)
        for family, tables in data.skipped_families.items():
            say(f"feature family '{family}' left out: table(s) {', '.join(tables)} absent")

        result_backtest = None
        if backtest_config is not None:
            say(f"backtesting ({backtest_config.folds} folds)")
            result_backtest = backtest(
                data,
                model_config,
                backtest_config,
                min_days,
                progress,
                onsets=onsets_from(market.shortages, min_days),
                data_fingerprint=combined_fingerprint(fingerprints),
                engine=engine,
                scheduler=scheduler,
            )

        say(f"fitting on {len(data.panel):,} labelled rows")
        model = _fit(data, model_config, rows, dask)
    client = tracking.activate()
    name = tracking.model_name(horizon)
    with (
        mlflow.start_run(run_name=f"train-{horizon}w") as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        workdir = Path(tmp)
        mlflow.set_tags(
            {
                "kind": "train",
                "horizon": str(horizon),
                "data_fingerprint": combined_fingerprint(fingerprints),
                "feature_checksum": data.feature_checksum,
                "package_version": package_version(),
                "git_commit": git_commit(),
                "data_dir": str(data_dir.resolve()),
                "engine": engine,
            }
        )
        mlflow.log_params(
            {
                "horizon": horizon,
                "min_shortage_days": min_days,
                "n_features": len(data.features),
                "training_rows": len(data.panel),
                "training_first_week": f"{data.panel['as_of'].min():%Y-%m-%d}",
                "training_last_week": f"{data.panel['as_of'].max():%Y-%m-%d}",
                "observed_until": f"{data.observed_until:%Y-%m-%d}",
                "best_iteration": model.best_iteration_,
                **{f"rows_{k}": v for k, v in model.n_rows_.items()},
                **{f"model.{k}": v for k, v in model_config.model_dump().items()},
            }
        )
        mlflow.log_dict(model_config.model_dump(), "config/model.json")
        mlflow.log_dict(resolved_settings or {}, "config/settings.json")
        mlflow.log_dict(fingerprints, "data/fingerprints.json")
        mlflow.log_dict(
            {
                "features": data.features,
                "checksum": data.feature_checksum,
                "family_of": {f: data.family_of.get(f, "") for f in data.features},
                "skipped_families": {k: list(v) for k, v in data.skipped_families.items()},
            },
            "data/features.json",
        )
        mlflow.log_dict(profile(_recent_rows(data)[data.features]), FEATURE_PROFILE)
        say("explaining (SHAP: trees and linear offset)")
        mlflow.log_metrics(_log_explanations(model, data, workdir))
        if result_backtest is not None:
            mlflow.set_tag("backtest_folds", result_backtest.fold_key)
            mlflow.log_metrics(result_backtest.headline_metrics())
            result_backtest.metrics.to_parquet(workdir / "backtest_metrics.parquet", index=False)
            result_backtest.predictions.to_parquet(
                workdir / "backtest_predictions.parquet", index=False
            )
            main = result_backtest.main_predictions()
            calibration = calibration_bins(main["label"], main["probability"])
            mlflow.log_dict(calibration.to_dict(orient="records"), CALIBRATION_TABLE)
            plots = [
                save_calibration_curve(
                    result_backtest.main_predictions(), workdir / "calibration_curve.png"
                ),
                save_pr_curves(result_backtest.predictions, workdir / "pr_curve.png"),
            ]
            for path in plots:
                mlflow.log_artifact(str(path), artifact_path="backtest")
            for artifact in ("backtest_metrics.parquet", "backtest_predictions.parquet"):
                mlflow.log_artifact(str(workdir / artifact), artifact_path="backtest")
        say("logging the model")
        logged = log_pyfunc(model, data.panel[data.features].head(5), workdir)
        version = register_challenger(client, logged.model_uri, name)
    return TrainResult(
        horizon=horizon,
        run_id=run.info.run_id,
        model_name=name,
        model_version=str(version.version),
        aliases=list(version.aliases),
        best_iteration=model.best_iteration_,
        n_rows=dict(model.n_rows_),
        backtest=result_backtest,
        skipped_families=data.skipped_families,
    )
