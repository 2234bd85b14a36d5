"""Speed of the pandas and the dask engine on growing panels, up to an EU-like market.

Builds the feature panel of synthetic markets of several sizes with both engines
(the dask one on a LocalCluster of 2 single-threaded workers capped at
``--memory-limit`` each, spilling to disk allowed). The largest panel is bigger
than one worker's memory limit. Then, unless ``--no-train``, one horizon is
trained with ``TRAIN_ROUNDS`` fixed rounds and all three stages of
``ModelConfig`` (defaults otherwise): single machine on the pandas training rows
(``--threads`` LightGBM threads) against ``DaskShortageRiskModel.fit_partitions``
on the training rows as panel partitions built and kept on a cluster of two
single-threaded ``TRAIN_MEMORY`` workers (the rows never pass through this
process; building them is timed apart, as ``dask_rows_s``). ``--train-sizes``
limits training to the first N sizes. Prints wall time, rows per second and how
the cost grows with the rows (the exponent b in time ~ rows^b between sizes).

    python benchmarks/bench_dask.py            # about 10 minutes on 2 idle cores
    python benchmarks/bench_dask.py --quick    # smaller sizes, a few minutes
"""

from __future__ import annotations

import argparse
import gc
import math
import time
from dataclasses import dataclass

import pandas as pd
from distributed import wait

from features.labels import label_name
from features.market import Market
from features.panel import build_panel
from features.synthetic_market import generate_market
from models.config import ModelConfig
from models.dask_model import DaskShortageRiskModel
from models.shortage_model import ShortageRiskModel
from pipelines.engine import build_panel_with, dask_client
from pipelines.training_data import dask_training_rows, training_data


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
TRAIN_MEMORY = "4GiB"  # panel partitions kept on the workers plus LightGBM's Datasets


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


def short_training(market: Market, threads: int) -> dict[str, float]:
    """Seconds for ``TRAIN_ROUNDS`` rounds per stage: single machine on the pandas rows,
    and distributed from panel partitions kept on the workers."""
    config = ModelConfig(
        max_rounds=TRAIN_ROUNDS, early_stopping_rounds=TRAIN_ROUNDS, n_threads=threads
    )
    data = training_data(market, HORIZON)
    X, y, as_of = data.panel[data.features], data.panel[data.label], data.panel["as_of"]
    _, local = timed(ShortageRiskModel(config, horizon=HORIZON).fit, X, y, as_of)
    n_rows = len(data.panel)
    del data, X, y, as_of
    gc.collect()
    with dask_client(n_workers=2, memory_limit=TRAIN_MEMORY) as client:
        rows, features = dask_training_rows(client, market, HORIZON)
        began = time.perf_counter()
        rows = client.persist(rows)
        wait(rows)
        built = time.perf_counter() - began
        model = DaskShortageRiskModel(config, horizon=HORIZON, n_rounds=TRAIN_ROUNDS)
        _, distributed = timed(
            model.fit_partitions, rows, features, label_name(HORIZON), client=client
        )
    return {
        "train_rows": n_rows,
        "train_local_s": local,
        "dask_rows_s": built,
        "train_dask_s": distributed,
        "train_local_rows_per_s": n_rows / local,
        "train_dask_rows_per_s": n_rows / distributed,
    }


def run(sizes: tuple[Size, ...], memory_limit: str, train_sizes: int, threads: int) -> pd.DataFrame:
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
            del reference, panel
            gc.collect()
            records.append(record)
            print(record, flush=True)
    for record, size in list(zip(records, sizes, strict=True))[:train_sizes]:
        market = generate_market(
            size.packs, size.years, seed=0, with_truth=False, countries=size.countries
        ).market
        record.update(short_training(market, threads))
        del market
        gc.collect()
        print(record, flush=True)
    table = pd.DataFrame(records)
    table["pandas_growth"] = growth(table["rows"].tolist(), table["pandas_s"].tolist())
    table["dask_growth"] = growth(table["rows"].tolist(), table["dask_s"].tolist())
    if "train_rows" in table and table["train_rows"].notna().sum() > 1:
        trained = table[table["train_rows"].notna()]
        for column in ("train_local_s", "train_dask_s"):
            table.loc[trained.index, column.replace("_s", "_growth")] = growth(
                trained["train_rows"].tolist(), trained[column].tolist()
            )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--memory-limit", default="1GiB", help="per Dask worker")
    parser.add_argument("--no-train", action="store_true", help="panels only")
    parser.add_argument("--train-sizes", type=int, default=3, help="train on the first N sizes")
    parser.add_argument("--threads", type=int, default=2, help="single-machine LightGBM threads")
    args = parser.parse_args()
    train_sizes = 0 if args.no_train else args.train_sizes
    table = run(QUICK if args.quick else FULL, args.memory_limit, train_sizes, args.threads)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(2).to_string(index=False))


if __name__ == "__main__":
    main()
