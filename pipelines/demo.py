"""The main job on built-in data: generate, train every horizon, score, report."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.atomic import atomic_file
from features.io import write_market
from features.labels import DEFAULT_HORIZONS, observation_end
from features.synthetic_market import generate_market
from models.config import ModelConfig
from pipelines.backtest import BacktestConfig
from pipelines.score import score
from pipelines.tracking import TrackingConfig
from pipelines.train import TrainResult, train

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    data_dir: Path
    truth: Path
    tracking_uri: str
    trained: list[TrainResult]
    scores_dir: Path
    report: Path


TRAINING_YEARS = 4
DEMO_CONTENT = {"data", "truth", "mlflow.db", "mlruns", "scores"}


def _clear_previous_demo(workdir: Path) -> None:
    """A demo starts from scratch; refuse to touch a directory that is not a demo's."""
    if not workdir.exists():
        return
    found = {p.name for p in workdir.iterdir()}
    if found - DEMO_CONTENT:
        raise FileExistsError(
            f"{workdir} holds other files ({', '.join(sorted(found - DEMO_CONTENT))}); "
            "choose an empty or new --workdir"
        )
    for name in found:
        path = workdir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def latest_monday(day: pd.Timestamp) -> pd.Timestamp:
    return (day - pd.Timedelta(days=day.weekday())).normalize()


def run_demo(
    workdir: Path,
    packs: int = 5000,
    years: int = 8,
    seed: int = 0,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    model_config: ModelConfig | None = None,
    backtest_config: BacktestConfig | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Everything a new user should see, in ``workdir`` (re-running replaces it)."""
    say = progress or (lambda _: None)
    workdir = workdir.resolve()
    _clear_previous_demo(workdir)
    data_dir, truth = workdir / "data", workdir / "truth" / "true_hazard.parquet"
    say(f"generating the built-in market: {packs:,} packs over {years} years (seed {seed})")
    simulated = generate_market(n_packs=packs, years=years, seed=seed)
    write_market(simulated.market, data_dir, overwrite=True)
    if simulated.true_hazard is not None:
        with atomic_file(truth) as tmp:
            simulated.true_hazard.to_parquet(tmp, index=False)
    tracking = TrackingConfig(
        tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}",
        artifact_location=(workdir / "mlruns").as_uri(),
    )
    # The most recent years carry what the weekly batch needs and keep the demo short.
    start = observation_end(simulated.market) - pd.Timedelta(weeks=52 * TRAINING_YEARS)
    trained = []
    for horizon in horizons:
        say(f"training the {horizon}-week model")
        trained.append(
            train(
                data_dir,
                horizon,
                model_config or ModelConfig(),
                tracking,
                backtest_config,
                progress=say,
                market=simulated.market,
                start=start,
            )
        )
    as_of = latest_monday(observation_end(simulated.market))
    say(f"scoring the week of {as_of:%Y-%m-%d}")
    scores_dir = score(
        data_dir, as_of, workdir / "scores", tracking, horizons=horizons, progress=say
    )
    return DemoResult(
        data_dir=data_dir,
        truth=truth,
        tracking_uri=tracking.tracking_uri,
        trained=trained,
        scores_dir=scores_dir,
        report=scores_dir / "report.html",
    )
