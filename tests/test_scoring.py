"""The weekly scoring batch: tables, explanations, safety in a cron."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.io import write_market
from features.synthetic_market import generate_market
from features.validation import load_market
from forecast.cli import app
from models.config import ModelConfig
from pipelines import score as score_module
from pipelines.score import RISK_COLUMNS, ScoreError, score
from pipelines.tracking import TrackingConfig
from pipelines.train import train

HORIZON = 4
FAST_MODEL = ModelConfig(
    max_rounds=40, early_stopping_rounds=10, early_stopping_weeks=13, calibration_weeks=13,
    min_data_in_leaf=40,
)  # fmt: skip


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrackingConfig, pd.Timestamp]:
    root = tmp_path_factory.mktemp("scoring")
    data_dir = root / "data"
    write_market(generate_market(n_packs=250, years=4, seed=5).market, data_dir)
    tracking = TrackingConfig(tracking_uri=f"sqlite:///{root / 'mlflow.db'}", experiment="score")
    train(data_dir, HORIZON, FAST_MODEL, tracking)
    shortages = load_market(data_dir).shortages
    last = shortages["reported_on"].max()
    as_of = (last - pd.Timedelta(days=last.weekday())).normalize()
    return data_dir, tracking, as_of


def run(setup: tuple[Path, TrackingConfig, pd.Timestamp], out: Path, **kwargs: object) -> Path:
    data_dir, tracking, as_of = setup
    return score(data_dir, as_of, out, tracking, horizons=(HORIZON,), report=False, **kwargs)  # type: ignore[arg-type]


def test_scores_every_eligible_pack_with_ranked_explained_rows(
    setup: tuple[Path, TrackingConfig, pd.Timestamp], tmp_path: Path
) -> None:
    target = run(setup, tmp_path / "scores")
    data_dir, _, as_of = setup
    assert target == tmp_path / "scores" / f"{as_of:%Y-%m-%d}"
    risk = pd.read_parquet(target / "risk.parquet")
    assert list(risk.columns) == RISK_COLUMNS
    assert sorted(risk["rank"]) == list(range(1, len(risk) + 1))
    ordered = risk.sort_values("rank")
    assert (np.diff(ordered["probability"].to_numpy()) <= 0).all()
    assert risk["risk_band"].isin(["high", "elevated", "moderate", "low"]).all()
    assert risk["driver_1_text"].str.len().gt(0).any()
    csv = pd.read_csv(target / "risk.csv", dtype={"zi_number": str, "gpk": str})
    assert csv["zi_number"].tolist() == risk["zi_number"].tolist()

    # Every pack is either scored or listed with its status, never silently dropped.
    status = pd.read_parquet(target / "status.parquet")
    products = load_market(data_dir).products
    assert set(risk["zi_number"]) | set(status["zi_number"]) == set(products["zi_number"])
    assert not set(risk["zi_number"]) & set(status["zi_number"])
    assert set(status["status"]) <= {"in shortage", "off market", "not yet on market"}

    # The long driver rows add up to the raw score the model gives.
    drivers = pd.read_parquet(target / "drivers.parquet")
    raw = drivers.groupby("zi_number")["shap"].sum()
    import mlflow

    model = mlflow.pyfunc.load_model(f"models:/shortage-risk-{HORIZON}w@champion")
    estimator = model.unwrap_python_model().model
    from features.panel import build_panel

    panel = build_panel(load_market(data_dir), start=as_of, end=as_of, horizons=(HORIZON,))
    expected = pd.Series(
        estimator.decision_function(panel[list(estimator.feature_names_in_)]),
        index=panel["zi_number"].astype(str),
    )
    np.testing.assert_allclose(raw.loc[expected.index], expected, atol=1e-9)

    gpk = pd.read_parquet(target / "gpk.parquet")
    assert gpk["packs_scored"].sum() == len(risk)
    trend = pd.read_parquet(target / "trend.parquet")
    assert trend["as_of"].max() < as_of and trend["as_of"].nunique() == score_module.TREND_WEEKS


def test_rerun_is_byte_identical(
    setup: tuple[Path, TrackingConfig, pd.Timestamp], tmp_path: Path
) -> None:
    first = run(setup, tmp_path / "a")
    second = run(setup, tmp_path / "b")
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_crash_mid_write_leaves_previous_output_intact(
    setup: tuple[Path, TrackingConfig, pd.Timestamp],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "scores"
    target = run(setup, out)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    original = pd.DataFrame.to_parquet
    calls = {"n": 0}

    def crash_on_third(self: pd.DataFrame, path: object, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        original(self, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pd.DataFrame, "to_parquet", crash_on_third)
    with pytest.raises(OSError, match="disk full"):
        run(setup, out)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in out.iterdir()) == [".score.lock", target.name]


def _score_in_process(args: tuple[str, str, str, str]) -> str:
    data_dir, uri, as_of, out = args
    tracking = TrackingConfig(tracking_uri=uri, experiment="score")
    path = score(data_dir, as_of, out, tracking, horizons=(HORIZON,), report=False)
    return str(path)


def test_two_runs_at_once_do_not_corrupt_each_other(
    setup: tuple[Path, TrackingConfig, pd.Timestamp], tmp_path: Path
) -> None:
    data_dir, tracking, as_of = setup
    out = tmp_path / "scores"
    job = (str(data_dir), tracking.tracking_uri, f"{as_of:%Y-%m-%d}", str(out))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        paths = pool.map(_score_in_process, [job, job])
    assert paths[0] == paths[1]
    reference = run(setup, tmp_path / "reference")
    target = Path(paths[0])
    for name in sorted(p.name for p in reference.iterdir()):
        assert (target / name).read_bytes() == (reference / name).read_bytes(), name
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".score")) == [target.name]


def test_refuses_dates_beyond_the_data_and_non_mondays(
    setup: tuple[Path, TrackingConfig, pd.Timestamp], tmp_path: Path
) -> None:
    data_dir, tracking, as_of = setup
    with pytest.raises(ScoreError, match="beyond the data"):
        score(data_dir, as_of + pd.Timedelta(weeks=30), tmp_path, tracking, horizons=(HORIZON,))
    with pytest.raises(ScoreError, match="not a Monday"):
        score(data_dir, as_of + pd.Timedelta(days=1), tmp_path, tracking, horizons=(HORIZON,))
    assert list(tmp_path.iterdir()) == []


def test_without_champion_fails_clearly(
    setup: tuple[Path, TrackingConfig, pd.Timestamp], tmp_path: Path
) -> None:
    data_dir, tracking, as_of = setup
    with pytest.raises(ScoreError, match="no model at models:/shortage-risk-26w@champion"):
        score(data_dir, as_of, tmp_path / "s", tracking, horizons=(26,))
    assert not (tmp_path / "s").exists() or list((tmp_path / "s").iterdir()) == []


def test_stale_required_table_is_an_error_unless_forced(
    setup: tuple[Path, TrackingConfig, pd.Timestamp], tmp_path: Path
) -> None:
    data_dir, tracking, as_of = setup
    stale = tmp_path / "stale"
    market = load_market(data_dir)
    cutoff = as_of - pd.Timedelta(weeks=12)
    shortages = market.shortages[market.shortages["reported_on"] < cutoff]
    import dataclasses

    write_market(dataclasses.replace(market, shortages=shortages), stale)
    with pytest.raises(ScoreError, match="shortages is stale"):
        score(stale, as_of, tmp_path / "s", tracking, horizons=(HORIZON,), report=False)
    target = score(
        stale, as_of, tmp_path / "s", tracking, horizons=(HORIZON,), report=False, force=True
    )
    assert (target / "risk.parquet").is_file()


def test_cli_score_exit_codes(
    setup: tuple[Path, TrackingConfig, pd.Timestamp], tmp_path: Path
) -> None:
    data_dir, tracking, as_of = setup
    runner = CliRunner()
    args = ["score", str(data_dir), "--out", str(tmp_path), "--horizons", str(HORIZON)]
    args += ["--tracking-uri", tracking.tracking_uri, "--no-report"]
    ok = runner.invoke(app, [*args, "--as-of", f"{as_of:%Y-%m-%d}"])
    assert ok.exit_code == 0, ok.output
    late = runner.invoke(app, [*args, "--as-of", f"{as_of + pd.Timedelta(weeks=30):%Y-%m-%d}"])
    assert late.exit_code == 1 and "beyond the data" in late.stderr
