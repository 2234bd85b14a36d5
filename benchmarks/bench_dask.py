"""Speed of the pandas and the dask engine on growing panels, up to an EU-like market.

Builds the feature panel of synthetic markets of several sizes with both engines
(the dask one on a LocalCluster of 2 single-threaded workers capped at
``--memory-limit`` each, spilling to disk allowed), then a short training of
fixed rounds, single machine against distributed on its own cluster of two
4 GiB workers (national sizes only, to stay within minutes). The largest panel is bigger
than one worker's memory limit. Prints wall time, rows per second and how the
cost grows with the rows (the exponent b in time ~ rows^b between sizes).

    python benchmarks/bench_dask.py            # about 5 minutes on 2 cores
    python benchmarks/bench_dask.py --quick    # smaller sizes, about a minute
"""

from __future__ import annotations

import argparse
import gc
import math
import time
from dataclasses import dataclass

import pandas as pd

from features.labels import label_name
from features.market import Market
from features.panel import build_panel
from features.synthetic_market import generate_market
from models.config import ModelConfig
from models.dask_model import DaskShortageRiskModel
from models.shortage_model import ShortageRiskModel
from pipelines.engine import build_panel_with, dask_client


@dataclass(frozen=True)
class Size:
    packs: int
    years: int
    countries: int

    @property
    def name(self) -> str:
        return f"{self.countries}x{self.packs} packs, {self.years} y"


FULL = (Size(1500, 6, 1), Size(5000, 8, 1), Size(5000, 8, 4))
QUICK = (Size(500, 4, 1), Size(1500, 6, 1), Size(1500, 6, 3))
TRAIN_ROUNDS = 40
HORIZON = 13
TRAIN_MEMORY = "4GiB"  # LightGBM's distributed training needs more than the panel tasks


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - began


def growth(rows: list[int], seconds: list[float]) -> list[str]:
    """Exponent b of time ~ rows^b between consecutive sizes (1: linear)."""
    out = ["-"]
    for i in range(1, len(rows)):
        ratio = math.log(seconds[i] / seconds[i - 1]) / math.log(rows[i] / rows[i - 1])
        out.append(f"{ratio:.2f}")
    return out


def short_training(panel: pd.DataFrame) -> tuple[float, float]:
    """Seconds for ``TRAIN_ROUNDS`` rounds: single machine (no early stopping) and Dask."""
    label = label_name(HORIZON)
    rows = panel[panel[label].notna()].reset_index(drop=True)
    features = [c for c in rows.columns if c not in ("zi_number", "as_of") and "onset_" not in c]
    config = ModelConfig(max_rounds=TRAIN_ROUNDS, early_stopping_rounds=TRAIN_ROUNDS)
    X, y, as_of = rows[features], rows[label], rows["as_of"]
    _, local = timed(ShortageRiskModel(config, horizon=HORIZON).fit, X, y, as_of)
    with dask_client(n_workers=2, memory_limit=TRAIN_MEMORY) as client:
        model = DaskShortageRiskModel(config, horizon=HORIZON, n_rounds=TRAIN_ROUNDS)
        _, distributed = timed(model.fit, X, y, as_of, client=client)
    return local, distributed


def run(sizes: tuple[Size, ...], memory_limit: str, train: bool) -> pd.DataFrame:
    records = []
    with dask_client(n_workers=2, memory_limit=memory_limit) as client:
        scheduler = str(client.scheduler_info()["address"])
        for size in sizes:
            market: Market = generate_market(
                size.packs, size.years, seed=0, with_truth=False, countries=size.countries
            ).market
            reference, pandas_s = timed(build_panel, market)
            rows = len(reference)
            mib = reference.memory_usage(deep=True).sum() / 2**20
            panel, dask_s = timed(build_panel_with, "dask", market, scheduler=scheduler)
            assert panel.shape == reference.shape
            record = {
                "size": size.name,
                "rows": rows,
                "panel_MiB": round(mib),
                "pandas_s": pandas_s,
                "dask_s": dask_s,
                "pandas_rows_per_s": rows / pandas_s,
                "dask_rows_per_s": rows / dask_s,
            }
            del reference
            gc.collect()
            if train and size.countries == 1:
                record["train_local_s"], record["train_dask_s"] = short_training(panel)
            records.append(record)
            del panel, market
            gc.collect()
            print(record, flush=True)
    table = pd.DataFrame(records)
    table["pandas_growth"] = growth(table["rows"].tolist(), table["pandas_s"].tolist())
    table["dask_growth"] = growth(table["rows"].tolist(), table["dask_s"].tolist())
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--memory-limit", default="1GiB", help="per Dask worker")
    parser.add_argument("--no-train", action="store_true", help="panels only")
    args = parser.parse_args()
    table = run(QUICK if args.quick else FULL, args.memory_limit, not args.no_train)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(2).to_string(index=False))


if __name__ == "__main__":
    main()
