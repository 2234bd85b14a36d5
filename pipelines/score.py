"""The weekly batch: score every eligible pack with the champion of each horizon.

Features come from the same point-in-time panel code as training. Output goes
to ``<out>/<as_of>/`` (docs/scores-format.md) through a temporary directory
that is renamed into place, under a lock, so a crash or kill leaves nothing
half-written and two runs at once cannot interleave. Files contain nothing
that varies between runs (no timestamps), so a re-run with the same inputs and
model is byte-identical.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from features.atomic import atomic_directory
from features.labels import DEFAULT_HORIZONS, observation_end
from features.market import Market
from features.registry import all_features
from features.validation import load_market
from models.drift import DEFAULT_PSI_THRESHOLD, population_stability
from models.explain import global_importance
from models.shortage_model import ShortageRiskModel
from pipelines.engine import engine_panel
from pipelines.score_tables import (
    band_ranges,
    changes_since,
    driver_tables,
    freshness,
    gpk_view,
    pack_status,
    rank_by_horizon,
    rank_desc,
    risk_band,
)
from pipelines.tracking import (
    CHAMPION_MODEL_URI,
    TrackingConfig,
    combined_fingerprint,
    data_fingerprints,
    package_version,
)
from pipelines.train import CALIBRATION_TABLE, FEATURE_PROFILE

Progress = Callable[[str], None]
TREND_WEEKS = 8
DEFAULT_STALE_WEEKS = 8
REQUIRED_FRESH = ("shortages",)
RISK_COLUMNS = [
    "as_of", "zi_number", "name", "gpk", "atc", "mah", "horizon", "probability", "rank",
    "risk_band", "driver_1", "driver_1_shap", "driver_1_text", "driver_2", "driver_2_shap",
    "driver_2_text", "driver_3", "driver_3_shap", "driver_3_text", "model_name",
    "model_version", "run_id", "input_fingerprint",
]  # fmt: skip


class ScoreError(RuntimeError):
    """The run cannot score (no champion, date beyond the data, stale input)."""


@dataclass(frozen=True)
class Champion:
    horizon: int
    uri: str
    name: str
    version: str
    run_id: str
    model: ShortageRiskModel


_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))$")


def load_champion(client: MlflowClient, uri: str, horizon: int) -> Champion:
    match = _URI.match(uri)
    if match is None:
        raise ScoreError(f"model URI {uri!r} is not models:/NAME@ALIAS or models:/NAME/VERSION")
    name = match["name"]
    try:
        if match["alias"]:
            version = client.get_model_version_by_alias(name, match["alias"])
        else:
            version = client.get_model_version(name, match["version"])
    except MlflowException as exc:
        raise ScoreError(
            f"no model at {uri}: train one first (forecast train DATA_DIR --horizon {horizon})"
        ) from exc
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
    model = loaded.unwrap_python_model().model
    if model.horizon != horizon:
        raise ScoreError(f"{uri} predicts {model.horizon} weeks ahead, not {horizon}")
    return Champion(horizon, uri, name, str(version.version), str(version.run_id), model)


def _run_json(run_id: str, path: str) -> Any:
    try:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path)
    except (MlflowException, OSError):
        return None
    return json.loads(Path(local).read_text())


def _check_inputs(
    market: Market, as_of: pd.Timestamp, stale_weeks: int, force: bool
) -> dict[str, dict[str, object]]:
    if as_of.weekday() != 0:
        raise ScoreError(f"--as-of {as_of:%Y-%m-%d} is not a Monday")
    end = observation_end(market)
    if as_of > end + pd.Timedelta(days=7):
        raise ScoreError(f"--as-of {as_of:%Y-%m-%d} is beyond the data, which ends {end:%Y-%m-%d}")
    fresh = freshness(market, as_of)
    for table in REQUIRED_FRESH:
        weeks = fresh.get(table, {}).get("weeks_since_last_row")
        if not force and (weeks is None or float(weeks) > stale_weeks):  # type: ignore[arg-type]
            raise ScoreError(
                f"required table {table} is stale: no row in the {stale_weeks} weeks before "
                f"{as_of:%Y-%m-%d} (last {fresh[table]['last_date']}); pass --force to score anyway"
            )
    return fresh


def _week_features(
    market: Market, as_of: pd.Timestamp, horizon: int, trend_weeks: int = TREND_WEEKS
) -> pd.DataFrame:
    """Panel rows for ``as_of`` and the trend weeks before it (labels dropped)."""
    start = as_of - pd.Timedelta(weeks=trend_weeks)
    panel = engine_panel(market, start=start, end=as_of, horizons=(horizon,))
    return panel.drop(columns=[c for c in panel.columns if c.startswith("onset_")])


@dataclass(frozen=True)
class HorizonScores:
    """One champion's scores of one in-memory market, before anything is written."""

    champion: Champion
    features: list[str]
    now: pd.DataFrame  # panel rows of the as-of week, with ``probability``
    contributions: pd.DataFrame
    risk: pd.DataFrame  # RISK_COLUMNS
    drivers: pd.DataFrame  # long driver rows (docs/scores-format.md)
    trend: pd.DataFrame  # zi_number, horizon, as_of, probability of every panel week


Timings = dict[str, float]


@contextlib.contextmanager
def _timed(timings: Timings | None, stage: str) -> Iterator[None]:
    """Add the seconds spent in the block to ``timings[stage]`` (for the benchmark)."""
    began = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - began


def _score_champion(
    market: Market,
    as_of: pd.Timestamp,
    champion: Champion,
    fingerprint: str,
    source: str,
    trend_weeks: int,
    timings: Timings | None = None,
) -> HorizonScores:
    family_of = {f.name: family.name for family, f in all_features()}
    products = market.products.set_index("zi_number")
    with _timed(timings, "features"):
        panel = _week_features(market, as_of, champion.horizon, trend_weeks)
    features = list(champion.model.feature_names_in_)
    missing = [f for f in features if f not in panel.columns]
    if missing:
        raise ScoreError(
            f"{champion.uri} needs features {missing} whose tables are absent in {source}"
        )
    with _timed(timings, "predict"):
        panel["probability"] = champion.model.predict_proba(panel[features])[:, 1]
    now = panel[panel["as_of"] == as_of].reset_index(drop=True)
    zi = now["zi_number"].astype(str).to_numpy()
    with _timed(timings, "shap"):
        contributions = champion.model.contributions(now[features])
        wide, long = driver_tables(now, contributions, family_of, champion.horizon)
    info = products.loc[zi, ["name", "gpk", "atc", "mah"]].reset_index(drop=True)
    probability = now["probability"].to_numpy(dtype=float)
    risk = pd.concat(
        [
            pd.DataFrame({"as_of": as_of, "zi_number": zi}),
            info,
            pd.DataFrame(
                {
                    "horizon": champion.horizon,
                    "probability": probability,
                    "rank": rank_desc(probability, zi),
                    "risk_band": risk_band(probability),
                }
            ),
            wide,
            pd.DataFrame(
                {
                    "model_name": champion.name,
                    "model_version": champion.version,
                    "run_id": champion.run_id,
                    "input_fingerprint": fingerprint,
                },
                index=range(len(zi)),
            ),
        ],
        axis=1,
    )[RISK_COLUMNS]
    trend = pd.DataFrame(
        {
            "zi_number": panel["zi_number"].astype(str),
            "horizon": champion.horizon,
            "as_of": panel["as_of"],
            "probability": panel["probability"].astype(float),
        }
    )
    return HorizonScores(champion, features, now, contributions, risk, long, trend)


def score_market(
    market: Market,
    as_of: pd.Timestamp,
    champions: list[Champion],
    fingerprint: str = "",
    source: str = "the input",
    trend_weeks: int = TREND_WEEKS,
    progress: Progress | None = None,
    timings: Timings | None = None,
) -> list[HorizonScores]:
    """Score a market held in memory with each champion, writing nothing.

    Shared by the weekly batch and the what-if runs, so that a scenario's
    baseline is exactly what ``forecast score`` gives for the same week.
    """
    say = progress or (lambda _: None)
    scored = []
    for champion in champions:
        say(f"{champion.horizon} weeks: features and scores with {champion.name} "
            f"v{champion.version}")  # fmt: skip
        scored.append(
            _score_champion(market, as_of, champion, fingerprint, source, trend_weeks, timings)
        )
    return scored


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".score.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class ScoringInputs:
    """A validated market, its as-of Monday, freshness and fingerprint, and the champions."""

    market: Market
    as_of: pd.Timestamp
    freshness: dict[str, dict[str, object]]
    fingerprint: str
    champions: list[Champion]


def prepare_scoring(
    data_dir: Path,
    as_of: str | pd.Timestamp,
    tracking: TrackingConfig,
    horizons: tuple[int, ...],
    model_uri: str,
    force: bool,
    stale_weeks: int,
) -> ScoringInputs:
    """Everything checked before anything is scored: input, date, freshness, champions."""
    # One time unit whatever the caller passed, so the files do not depend on it.
    day = pd.Timestamp(as_of).normalize().as_unit("ns")
    if "{horizon}" not in model_uri and len(horizons) > 1:
        raise ScoreError("--model-uri names one model; give one --horizons value or use {horizon}")
    market = load_market(data_dir)
    fresh = _check_inputs(market, day, stale_weeks, force)
    client = tracking.activate()
    champions = [
        load_champion(client, model_uri.format(horizon=h), h) for h in sorted(set(horizons))
    ]
    fingerprint = combined_fingerprint(data_fingerprints(data_dir))
    return ScoringInputs(market, day, fresh, fingerprint, champions)


def score(
    data_dir: Path | str,
    as_of: str | pd.Timestamp,
    out_root: Path | str,
    tracking: TrackingConfig,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    model_uri: str = CHAMPION_MODEL_URI,
    force: bool = False,
    stale_weeks: int = DEFAULT_STALE_WEEKS,
    drift_threshold: float = DEFAULT_PSI_THRESHOLD,
    report: bool = True,
    progress: Progress | None = None,
    timings: Timings | None = None,
) -> Path:
    """Score ``as_of`` and write ``<out_root>/<as_of>/``; returns that directory."""
    say = progress or (lambda _: None)
    data_dir, out_root = Path(data_dir), Path(out_root)
    inputs = prepare_scoring(data_dir, as_of, tracking, horizons, model_uri, force, stale_weeks)
    market, as_of, fresh = inputs.market, inputs.as_of, inputs.freshness
    champions, fingerprint = inputs.champions, inputs.fingerprint
    client = MlflowClient(tracking_uri=tracking.tracking_uri, registry_uri=tracking.tracking_uri)
    family_of = {f.name: family.name for family, f in all_features()}
    risks, drivers, trends, families, drifts, models = [], [], [], [], [], {}
    for scored in score_market(
        market, as_of, champions, fingerprint, source=str(data_dir), progress=say, timings=timings
    ):
        champion, features, now = scored.champion, scored.features, scored.now
        contributions = scored.contributions
        risks.append(scored.risk)
        drivers.append(scored.drivers)
        trends.append(scored.trend)
        _, per_family = global_importance(contributions, family_of)
        families.append(per_family.assign(horizon=champion.horizon)[
            ["horizon", "family", "mean_abs_shap"]
        ])  # fmt: skip
        reference = _run_json(champion.run_id, FEATURE_PROFILE)
        if reference is not None:
            psi = population_stability(reference, now[features])
            drifts.append(
                pd.DataFrame(
                    {
                        "horizon": champion.horizon,
                        "feature": psi.index,
                        "psi": psi.to_numpy(),
                        "warn": psi.to_numpy() > drift_threshold,
                    }
                )
            )
        run = client.get_run(champion.run_id)
        metrics = run.data.metrics
        backtest = {
            key.removeprefix("backtest_lightgbm_"): {
                "value": metrics[key],
                "ci_low": metrics.get(key + "_ci_low"),
                "ci_high": metrics.get(key + "_ci_high"),
            }
            for key in sorted(metrics)
            if key.startswith("backtest_lightgbm_") and not key.endswith(("_ci_low", "_ci_high"))
        }
        models[str(champion.horizon)] = {
            "name": champion.name,
            "version": champion.version,
            "run_id": champion.run_id,
            "training_first_week": run.data.params.get("training_first_week"),
            "training_last_week": run.data.params.get("training_last_week"),
            "backtest": backtest,
            "calibration": _run_json(champion.run_id, CALIBRATION_TABLE) or [],
        }

    risk_all = pd.concat(risks, ignore_index=True)
    trend_all = pd.concat(trends, ignore_index=True)
    previous_week = as_of - pd.Timedelta(weeks=1)
    previous = trend_all[trend_all["as_of"] == previous_week].copy()
    previous["rank"] = rank_by_horizon(previous, "probability", "zi_number")
    status = pack_status(market, as_of, set(risk_all["zi_number"]))
    drift = (
        pd.concat(drifts, ignore_index=True)
        if drifts
        else pd.DataFrame(columns=["horizon", "feature", "psi", "warn"])
    )
    warnings = sorted(set(drift.loc[drift["warn"].astype(bool), "feature"]))
    summary = {
        "as_of": f"{as_of:%Y-%m-%d}",
        "created_by": f"shortage-forecast {package_version()}",
        "horizons": [c.horizon for c in champions],
        "models": models,
        "input_fingerprint": fingerprint,
        "freshness": fresh,
        "counts": {
            "scored": int(risk_all["zi_number"].nunique()),
            **{k: int(v) for k, v in status["status"].value_counts().sort_index().items()},
        },
        "risk_bands": band_ranges(),
        "drift_threshold": drift_threshold,
        "drift_warnings": warnings,
    }
    if warnings:
        say(f"drift warning (PSI > {drift_threshold} against the last training weeks): "
            + ", ".join(warnings))  # fmt: skip

    target = out_root / f"{as_of:%Y-%m-%d}"
    tables = {
        "risk": risk_all,
        "drivers": pd.concat(drivers, ignore_index=True),
        "status": status,
        "gpk": gpk_view(risk_all, status, market, as_of),
        "trend": trend_all[trend_all["as_of"] < as_of].reset_index(drop=True),
        "changes": changes_since(risk_all, previous),
        "families": pd.concat(families, ignore_index=True),
        "drift": drift,
    }
    with _locked(out_root), atomic_directory(target, overwrite=True) as tmp:
        with _timed(timings, "write"):
            for name, frame in tables.items():
                frame.to_parquet(tmp / f"{name}.parquet", index=False)
            risk_all.to_csv(
                tmp / "risk.csv", index=False, date_format="%Y-%m-%d", lineterminator="\n"
            )
            (tmp / "summary.json").write_text(
                json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n",
                encoding="utf-8",
            )
        if report:
            from pipelines.report import render_report

            say("writing the report")
            with _timed(timings, "report"):
                render_report(tmp, tmp / "report.html")

    with mlflow.start_run(run_name=f"score-{as_of:%Y-%m-%d}"):
        mlflow.set_tags(
            {"kind": "score", "as_of": f"{as_of:%Y-%m-%d}", "data_fingerprint": fingerprint}
        )
        mlflow.log_metrics(
            {
                "scored_packs": float(summary["counts"]["scored"]),  # type: ignore[index]
                "drift_warnings": float(len(warnings)),
                **{
                    f"high_risk_{h}w": float(
                        ((risk_all["horizon"] == h) & (risk_all["risk_band"] == "high")).sum()
                    )
                    for h in summary["horizons"]  # type: ignore[attr-defined]
                },
            }
        )
        mlflow.log_artifacts(str(target), artifact_path="scores")
    return target
