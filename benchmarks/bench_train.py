"""Training speed at Dutch scale: one horizon on a ~12-million-row weekly panel.

Generates a 25,000-pack market over 10 years, builds the labelled panel for the
horizon and fits the default model on all of it, printing wall time per step
and the peak resident memory of the process. Target on a 2-core machine:
under 10 minutes and 12 GiB.

Usage: python benchmarks/bench_train.py [--packs 25000] [--years 10] [--horizon 13]
"""

from __future__ import annotations

import argparse
import resource
import time

from features.synthetic_market import generate_market
from models.config import ModelConfig
from models.shortage_model import ShortageRiskModel
from pipelines.training_data import training_data


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packs", type=int, default=25_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--horizon", type=int, default=13)
    args = parser.parse_args()

    began = time.perf_counter()
    market = generate_market(n_packs=args.packs, years=args.years, seed=0, with_truth=False).market
    generated = time.perf_counter()
    data = training_data(market, args.horizon)
    built = time.perf_counter()
    model = ShortageRiskModel(ModelConfig(), horizon=args.horizon).fit(
        data.panel[data.features], data.panel[data.label], data.panel["as_of"]
    )
    fitted = time.perf_counter()
    rows = len(data.panel)
    print(
        f"market {args.packs:,} packs x {args.years} years generated in {generated - began:.1f} s"
    )
    print(
        f"labelled panel {rows:,} rows x {len(data.features)} features in {built - generated:.1f} s"
    )
    print(
        f"fit {args.horizon} weeks: {fitted - built:.1f} s "
        f"({model.best_iteration_} trees; rows per slice {model.n_rows_})"
    )
    print(f"total wall time {fitted - began:.1f} s; peak memory {peak_gib():.2f} GiB")


if __name__ == "__main__":
    main()
