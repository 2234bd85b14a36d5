"""The promotion gate: ``@champion`` moves to ``@challenger`` only if it is not worse.

Both versions are compared on the same folds (same data, origins, horizon and
label rule). When the champion was backtested on other folds (older data), its
recorded configuration is backtested again on the challenger's folds, so the
comparison is always like for like. A worse model never becomes champion
silently: the gate refuses and says by how much.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion

from features.validation import load_market
from models.config import ModelConfig
from pipelines.backtest import MAIN_MODEL, BacktestConfig, backtest, onsets_from
from pipelines.tracking import (
    CHALLENGER,
    CHAMPION,
    TrackingConfig,
    combined_fingerprint,
    data_fingerprints,
    version_by_alias,
)
from pipelines.training_data import training_data

HEADLINE = f"backtest_{MAIN_MODEL}_pr_auc"
Progress = Callable[[str], None]


class PromotionError(RuntimeError):
    """Promotion is impossible (missing versions, backtests or data)."""


@dataclass(frozen=True)
class PromotionDecision:
    model_name: str
    promoted: bool
    challenger_version: str
    champion_version: str
    challenger_pr_auc: float
    champion_pr_auc: float
    margin: float
    fold_key: str
    reason: str


def _run_of(client: MlflowClient, version: ModelVersion) -> Run:
    if not version.run_id:
        raise PromotionError(f"version {version.version} of {version.name} has no MLflow run")
    return client.get_run(version.run_id)


def _run_value(client: MlflowClient, version: ModelVersion, key: str) -> tuple[str, float | None]:
    run = _run_of(client, version)
    return run.data.tags.get("backtest_folds", ""), run.data.metrics.get(key)


def _rebacktest_champion(
    client: MlflowClient,
    champion: ModelVersion,
    challenger: ModelVersion,
    backtest_config: BacktestConfig,
    horizon: int,
    progress: Progress | None,
) -> tuple[str, float]:
    """Backtest the champion's configuration on the challenger's data and folds."""
    run = _run_of(client, challenger)
    data_dir = Path(run.data.tags.get("data_dir", ""))
    if not data_dir.is_dir():
        raise PromotionError(f"the challenger's data directory {data_dir} is not available")
    fingerprint = combined_fingerprint(data_fingerprints(data_dir))
    if fingerprint != run.data.tags.get("data_fingerprint"):
        raise PromotionError(
            f"{data_dir} changed since the challenger was trained; retrain before promoting"
        )
    champion_run = _run_of(client, champion)
    config_path = mlflow.artifacts.download_artifacts(
        run_id=champion_run.info.run_id, artifact_path="config/model.json"
    )
    config = ModelConfig(**json.loads(Path(config_path).read_text()))
    min_days = int(run.data.params.get("min_shortage_days", 14))
    market = load_market(data_dir)
    data = training_data(market, horizon, min_days=min_days)
    result = backtest(
        data,
        config,
        backtest_config.model_copy(update={"baselines": False}),
        min_days,
        progress,
        onsets=onsets_from(market.shortages, min_days),
        data_fingerprint=fingerprint,
    )
    with mlflow.start_run(run_name=f"promote-evaluation-{horizon}w"):
        mlflow.set_tags(
            {
                "kind": "promotion-evaluation",
                "backtest_folds": result.fold_key,
                "evaluated_version": champion.version,
            }
        )
        mlflow.log_metrics(result.headline_metrics())
    return result.fold_key, float(result.pooled()["pr_auc"])


def promote(
    horizon: int,
    tracking: TrackingConfig,
    backtest_config: BacktestConfig,
    margin: float = 0.0,
    progress: Progress | None = None,
) -> PromotionDecision:
    """Move ``@champion`` to ``@challenger`` if its PR-AUC >= champion's - ``margin``."""
    client = tracking.activate()
    name = tracking.model_name(horizon)
    challenger = version_by_alias(client, name, CHALLENGER)
    champion = version_by_alias(client, name, CHAMPION)
    if challenger is None or champion is None:
        raise PromotionError(f"{name} has no @challenger or no @champion: run forecast train")
    challenger_folds, challenger_score = _run_value(client, challenger, HEADLINE)
    if challenger_score is None or not challenger_folds:
        raise PromotionError(
            f"{name} version {challenger.version} has no backtest: train it with the backtest on"
        )
    if challenger.version == champion.version:
        return PromotionDecision(
            name, False, str(challenger.version), str(champion.version), challenger_score,
            challenger_score, margin, challenger_folds, "the challenger already is the champion",
        )  # fmt: skip
    champion_folds, champion_score = _run_value(client, champion, HEADLINE)
    if champion_folds != challenger_folds or champion_score is None:
        if progress:
            progress(f"backtesting champion version {champion.version} on the challenger's folds")
        champion_folds, champion_score = _rebacktest_champion(
            client, champion, challenger, backtest_config, horizon, progress
        )
    promoted = challenger_score >= champion_score - margin
    comparison = (
        f"PR-AUC challenger v{challenger.version} {challenger_score:.4f} vs champion "
        f"v{champion.version} {champion_score:.4f} (margin {margin:.4f}, same folds)"
    )
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, challenger.version)
        client.set_model_version_tag(name, challenger.version, "promoted_over", champion.version)
    return PromotionDecision(
        model_name=name,
        promoted=promoted,
        challenger_version=str(challenger.version),
        champion_version=str(champion.version),
        challenger_pr_auc=challenger_score,
        champion_pr_auc=champion_score,
        margin=margin,
        fold_key=challenger_folds,
        reason=("promoted: " if promoted else "refused: challenger is worse; ") + comparison,
    )
