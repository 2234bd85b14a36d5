"""Backtest, train, registry and promotion on a small generated market."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.io import write_market
from features.synthetic_market import generate_market
from forecast.cli import app
from models.config import ModelConfig
from pipelines import backtest as backtest_module
from pipelines.backtest import BacktestConfig, backtest, onsets_from, rolling_origins
from pipelines.promote import promote
from pipelines.tracking import CHALLENGER, CHAMPION, TrackingConfig, version_by_alias
from pipelines.train import train
from pipelines.training_data import TrainingData, training_data

FAST_MODEL = ModelConfig(
    max_rounds=60, early_stopping_rounds=10, early_stopping_weeks=13, calibration_weeks=13,
    min_data_in_leaf=40,
)  # fmt: skip
FAST_BACKTEST = BacktestConfig(folds=2, origin_every_weeks=13, n_resamples=20)
HORIZON = 4


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("market") / "data"
    write_market(generate_market(n_packs=300, years=4, seed=3).market, directory)
    return directory


@pytest.fixture(scope="module")
def data(data_dir: Path) -> TrainingData:
    from features.validation import load_market

    return training_data(load_market(data_dir), HORIZON)


def test_origins_are_whole_weeks_ending_at_the_data() -> None:
    weeks = list(pd.date_range("2020-01-06", periods=200, freq="7D"))
    folds = rolling_origins(weeks, BacktestConfig(folds=4, origin_every_weeks=13))
    assert [f.origin.weekday() for f in folds] == [0, 0, 0, 0]
    assert folds[-1].test_end == weeks[-1] + pd.Timedelta(weeks=1)
    assert all(b.origin == a.test_end for a, b in zip(folds, folds[1:], strict=False))
    with pytest.raises(ValueError, match="before the first labelled week"):
        rolling_origins(weeks[:20], BacktestConfig(folds=4, origin_every_weeks=13))


class RecordingModel:
    """Stands in for every model and remembers the weeks it was trained on."""

    seen: list[tuple[pd.Timestamp, pd.Timestamp]] = []

    def get_params(self, deep: bool = True) -> dict:
        return {}

    def set_params(self, **params: object) -> RecordingModel:
        return self

    def fit(self, X: pd.DataFrame, y: pd.Series, as_of: pd.Series | None = None) -> RecordingModel:
        self.X_ = X
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack([np.full(len(X), 0.9), np.full(len(X), 0.1)])


def test_training_labels_are_final_before_each_origin(
    data: TrainingData, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained_on: list[pd.Index] = []

    class Spy(RecordingModel):
        def fit(self, X: pd.DataFrame, y: pd.Series, as_of: pd.Series | None = None) -> Spy:
            trained_on.append(X.index)
            return self

    monkeypatch.setattr(backtest_module, "candidate_models", lambda *a: {"spy": Spy()})
    predictions, folds = backtest_module.run_backtest(
        data.panel, data.features, HORIZON, FAST_MODEL, FAST_BACKTEST, min_shortage_days=14
    )
    for fold, index in zip(folds, trained_on, strict=True):
        last_week = data.panel.loc[index, "as_of"].max()
        assert last_week + pd.Timedelta(weeks=HORIZON, days=14) <= fold.origin
        tested = predictions[predictions["fold"] == fold.number]["as_of"]
        assert tested.min() >= fold.origin and tested.max() < fold.test_end
    assert not predictions.duplicated(["model", "zi_number", "as_of"]).any()


@pytest.fixture(scope="module")
def backtested(data: TrainingData, data_dir: Path) -> backtest_module.BacktestResult:
    from features.validation import load_market

    onsets = onsets_from(load_market(data_dir).shortages, 14)
    return backtest(data, FAST_MODEL, FAST_BACKTEST, onsets=onsets)


def test_backtest_writes_every_prediction_and_metric(
    backtested: backtest_module.BacktestResult,
) -> None:
    predictions = backtested.predictions
    expected = {"zi_number", "as_of", "horizon", "probability", "label", "fold", "model"}
    assert expected <= set(predictions.columns)
    assert set(predictions["model"]) == {
        "lightgbm", "prevalence", "history", "price_rule", "logistic"
    }  # fmt: skip
    pooled = backtested.pooled()
    for metric in ("pr_auc", "roc_auc", "brier", "log_loss", "ece", "precision@100"):
        assert np.isfinite(pooled[metric]), metric
    assert any(name.startswith("pr_auc[segment_price=") for name in pooled.index)
    # Anyone can recompute the headline metric from the written predictions.
    from sklearn.metrics import average_precision_score

    main = backtested.main_predictions()
    assert pooled["pr_auc"] == pytest.approx(
        average_precision_score(main["label"], main["probability"]), rel=1e-9
    )


def test_backtest_is_deterministic(
    data: TrainingData, backtested: backtest_module.BacktestResult
) -> None:
    again = backtest(data, FAST_MODEL, FAST_BACKTEST.model_copy(update={"baselines": False}))
    pd.testing.assert_frame_equal(
        again.main_predictions().reset_index(drop=True),
        backtested.main_predictions()[again.predictions.columns].reset_index(drop=True),
    )


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> TrackingConfig:
    store = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    return TrackingConfig(tracking_uri=f"sqlite:///{store}", experiment="tests")


def test_train_registers_logs_and_reloads_identically(
    data_dir: Path, data: TrainingData, tracking: TrackingConfig, tmp_path: Path
) -> None:
    result = train(data_dir, HORIZON, FAST_MODEL, tracking, FAST_BACKTEST)
    assert set(result.aliases) == {CHAMPION, CHALLENGER}
    client = tracking.activate()
    run = client.get_run(result.run_id)
    assert run.data.tags["feature_checksum"] == data.feature_checksum
    assert len(run.data.tags["data_fingerprint"]) == 64
    assert run.data.tags["backtest_folds"]
    assert run.data.metrics["backtest_lightgbm_pr_auc"] > 0
    assert run.data.metrics["shap_additivity_max_gap"] < 1e-6
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "explanations")}
    assert "explanations/shap_beeswarm.png" in artifacts
    assert "explanations/shap_global_families.parquet" in artifacts
    backtest_files = {a.path for a in client.list_artifacts(result.run_id, "backtest")}
    assert {"backtest/calibration_curve.png", "backtest/pr_curve.png"} <= backtest_files

    # A fresh process loading @champion scores exactly like this one.
    rows = data.panel[data.features].tail(40)
    from models.pyfunc import as_plain_columns

    as_plain_columns(rows).to_parquet(tmp_path / "rows.parquet")
    script = (
        "import mlflow, pandas as pd, sys\n"
        f"mlflow.set_tracking_uri({tracking.tracking_uri!r})\n"
        f"m = mlflow.pyfunc.load_model('models:/{result.model_name}@champion')\n"
        f"out = m.predict(pd.read_parquet({str(tmp_path / 'rows.parquet')!r}))\n"
        "print(out['probability'].to_json(orient='values', double_precision=15))\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    scored = np.array(json.loads(fresh.stdout.strip().splitlines()[-1]))
    import mlflow

    model = mlflow.pyfunc.load_model(f"models:/{result.model_name}/{result.model_version}")
    expected = model.unwrap_python_model().model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(scored, expected, rtol=0, atol=1e-15)


def test_promotion_gate_refuses_a_worse_challenger(
    data_dir: Path, tracking: TrackingConfig
) -> None:
    client = tracking.activate()
    name = tracking.model_name(HORIZON)
    if version_by_alias(client, name, CHAMPION) is None:
        train(data_dir, HORIZON, FAST_MODEL, tracking, FAST_BACKTEST)
    champion = version_by_alias(client, name, CHAMPION)
    assert champion is not None
    crippled = FAST_MODEL.model_copy(
        update={"max_rounds": 1, "num_leaves": 2, "calibration": "none", "feature_fraction": 0.05}
    )
    worse = train(data_dir, HORIZON, crippled, tracking, FAST_BACKTEST)
    decision = promote(HORIZON, tracking, FAST_BACKTEST)
    assert not decision.promoted
    assert decision.challenger_pr_auc < decision.champion_pr_auc
    assert "refused" in decision.reason
    still = version_by_alias(client, name, CHAMPION)
    assert still is not None and str(still.version) == str(champion.version)

    loose = promote(HORIZON, tracking, FAST_BACKTEST, margin=1.0)
    assert loose.promoted
    now = version_by_alias(client, name, CHAMPION)
    assert now is not None and str(now.version) == worse.model_version


def test_cli_train_backtest_promote(data_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    config = tmp_path / "settings.toml"
    config.write_text(
        "[model]\nmax_rounds = 40\nearly_stopping_rounds = 10\nearly_stopping_weeks = 13\n"
        "calibration_weeks = 13\nmin_data_in_leaf = 40\n"
        "[backtest]\nfolds = 2\nn_resamples = 10\nbaselines = false\n"
    )
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    common = ["--config", str(config), "--horizon", str(HORIZON)]
    result = runner.invoke(app, ["train", str(data_dir), *common, "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    assert "registered shortage-risk-4w version 1" in result.stdout
    result = runner.invoke(app, ["promote", *common, "--tracking-uri", uri])
    assert result.exit_code == 0 and "already is the champion" in result.stdout
    out = tmp_path / "preds.parquet"
    result = runner.invoke(app, ["backtest", str(data_dir), *common, "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(out)
    assert set(written["fold"]) == {0, 1} and written["probability"].between(0, 1).all()


def test_cli_train_on_invalid_data_writes_nothing(tiny_dir: Path, tmp_path: Path) -> None:
    (tiny_dir / "products.csv").write_text("zi_number,name\n1,x\n")
    uri = f"sqlite:///{tmp_path / 'none.db'}"
    result = CliRunner().invoke(app, ["train", str(tiny_dir), "--tracking-uri", uri])
    assert result.exit_code == 1
    assert "products.csv, column 'gpk': required column is missing" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_training_rows_have_their_whole_window_observed(data: TrainingData) -> None:
    closed = data.panel["as_of"] + pd.Timedelta(weeks=HORIZON) <= data.observed_until
    assert closed.all()
    # The last weeks are complete weeks, not a tail of sure positives.
    last = data.panel[data.panel["as_of"] == data.panel["as_of"].max()]
    first = data.panel[data.panel["as_of"] == data.panel["as_of"].min()]
    assert len(last) > 0.5 * len(first)
    assert data.panel[data.label].mean() < 0.5
