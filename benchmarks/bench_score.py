"""Weekly scoring speed at Dutch scale: 25,000 packs, three horizons, SHAP and report.

Trains a champion per horizon on the most recent two years of a generated
25,000-pack market (the scoring cost does not depend on how long the history
is), then times one scoring run of the latest week and prints the share of
feature building, prediction, SHAP, writing and the report. Target on a 2-core
machine: under 60 seconds.

Usage: python benchmarks/bench_score.py [--packs 25000] [--years 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from features.io import write_market
from features.labels import observation_end
from features.synthetic_market import generate_market
from models.config import ModelConfig
from pipelines.score import score
from pipelines.tracking import TrackingConfig
from pipelines.train import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packs", type=int, default=25_000)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-score-"))
    market = generate_market(n_packs=args.packs, years=args.years, seed=0, with_truth=False).market
    data_dir = work / "data"
    write_market(market, data_dir)
    tracking = TrackingConfig(
        tracking_uri=f"sqlite:///{work / 'mlflow.db'}", artifact_location=(work / "mlruns").as_uri()
    )
    end = observation_end(market)
    as_of = (end - pd.Timedelta(days=end.weekday())).normalize()
    began = time.perf_counter()
    for horizon in (4, 13, 26):
        train(
            data_dir,
            horizon,
            ModelConfig(),
            tracking,
            market=market,
            start=as_of - pd.Timedelta(weeks=104 + horizon),
        )
    print(f"trained 3 champions on the last two years in {time.perf_counter() - began:.0f} s")

    timings: dict[str, float] = {}
    began = time.perf_counter()
    target = score(data_dir, as_of, work / "scores", tracking, timings=timings)
    total = time.perf_counter() - began
    scored = len(pd.read_parquet(target / "risk.parquet"))
    print(f"scored {scored:,} pack-horizons for {as_of:%Y-%m-%d} in {total:.1f} s (target < 60 s)")
    for stage, seconds in timings.items():
        print(f"  {stage:<10} {seconds:6.1f} s  {seconds / total:5.0%}")
    print(f"  {'other':<10} {total - sum(timings.values()):6.1f} s  (loading, MLflow, tables)")
    size = (target / "report.html").stat().st_size / 2**20
    print(f"report: {target / 'report.html'} ({size:.1f} MiB)")


if __name__ == "__main__":
    main()
