"""Where the feature panel is computed: in this process (pandas) or on a Dask cluster.

The pandas engine is the reference. The dask engine splits the market into
sub-markets of whole GPK / ATC-4 units (``features.partitioning``) and builds
each sub-market's panel as one Dask task. Everything that depends on the whole
market is decided once, before the split, and handed to every task: the as-of
weeks and the observation end (the plan) and the column types, including the
categories of every categorical column. So the concatenated panel equals the
pandas panel cell for cell, row for row.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pandas as pd
import pyarrow as pa

from features.atomic import atomic_file
from features.contract import DEFAULT_MIN_SHORTAGE_DAYS
from features.labels import DEFAULT_HORIZONS
from features.market import Market
from features.panel import PanelPlan, build_panel, empty_panel, iter_panel, plan_panel
from features.partitioning import partition_market
from features.registry import feature_checksum
from pipelines.feature_panel import PanelSummary, build_feature_panel

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

Engine = Literal["pandas", "dask"]
ENGINES: tuple[str, ...] = ("pandas", "dask")
DEFAULT_WORKERS = 2
PANEL_ORDER = ["as_of", "zi_number"]  # the pandas engine's row order
PACKS_PER_PARTITION = 1_000
T = TypeVar("T")
R = TypeVar("R")
# The engine a flow runs on, for code that builds panels deep inside it (scoring).
_IN_USE: ContextVar[tuple[Engine, str | None]] = ContextVar("engine", default=("pandas", None))


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None,
    n_workers: int = DEFAULT_WORKERS,
    memory_limit: str | None = None,
    processes: bool = True,
) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a LocalCluster started (and stopped)
    here: ``n_workers`` processes with one thread each, so workers never share the GIL."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=processes,
            memory_limit=memory_limit or "auto",
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@contextlib.contextmanager
def scheduler_for(engine: Engine, scheduler: str | None = None) -> Iterator[str | None]:
    """One scheduler address for a whole flow (panel, folds, fit): the given one, or a
    LocalCluster started once for the flow instead of once per step; None for pandas."""
    if engine == "pandas" or scheduler:
        yield scheduler
        return
    with dask_client() as client:
        yield str(client.scheduler_info()["address"])


def run_tasks(
    engine: Engine,
    fn: Callable[..., R],
    items: Sequence[T],
    scheduler: str | None = None,
    **shared: Any,
) -> list[R]:
    """``fn(item, **shared)`` for every item, in item order: here one after the other, or
    as one Dask task per item (large shared arguments are sent to the workers once)."""
    if engine == "pandas":
        return [fn(item, **shared) for item in items]
    with dask_client(scheduler) as client:
        sent = {k: client.scatter(v, broadcast=True) for k, v in shared.items()}
        futures = [client.submit(fn, item, **sent, pure=False) for item in items]
        return list(client.gather(futures))


def panel_dtypes(market: Market, plan: PanelPlan) -> pd.Series:
    """Column types of the whole market's panel: categorical columns carry the categories
    of the whole products table (a sub-market alone would see only its own)."""
    return empty_panel(market, plan).to_pandas().dtypes


def conform_panel(frame: pd.DataFrame, dtypes: pd.Series) -> pd.DataFrame:
    """Re-cast a partition's panel to the whole market's column types (category codes
    are re-mapped by value, so no cell changes)."""
    out = frame.copy()
    for column, dtype in dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype) and out[column].dtype != dtype:
            out[column] = out[column].astype(object).astype(dtype)
    return out[list(dtypes.index)]


def partition_panel(
    part: Market, plan: PanelPlan, dtypes: pd.Series, chunk_weeks: int | None = None
) -> pd.DataFrame:
    """One sub-market's panel, built with the whole market's plan and types (a Dask task)."""
    chunks = list(iter_panel(part, plan, chunk_weeks)) or [empty_panel(part, plan)]
    return conform_panel(pa.concat_tables(chunks).to_pandas(), dtypes)


def default_partitions(client: Client, n_packs: int) -> int:
    """Two partitions per worker thread (to balance unequal ones), and no more than
    ``PACKS_PER_PARTITION`` packs in one, so a task's panel stays far below a worker's
    memory (about 150 MiB for 1,000 packs over 8 years)."""
    threads = max(1, sum(client.nthreads().values()))
    return max(2 * threads, -(-n_packs // PACKS_PER_PARTITION))


def dask_panel(
    client: Client,
    market: Market,
    plan: PanelPlan,
    partitions: int | None = None,
    chunk_weeks: int | None = None,
) -> dd.DataFrame:
    """The panel as a lazy Dask DataFrame, one partition per sub-market (rows in pandas
    engine order within a partition; sort after computing to get the pandas order)."""
    import dask
    import dask.dataframe as dd

    dtypes = panel_dtypes(market, plan)
    meta = empty_panel(market, plan).to_pandas()
    n_parts = partitions or default_partitions(client, len(market.products))
    parts = partition_market(market, n_parts)
    futures = client.scatter(parts)  # sub-markets go to the workers once, not in the graph
    tasks = [dask.delayed(partition_panel)(future, plan, dtypes, chunk_weeks) for future in futures]
    return dd.from_delayed(tasks, meta=meta, verify_meta=False)


def sort_panel(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in the pandas engine's order: as-of week, then pack (zi_number categories are
    sorted, so their codes order the packs)."""
    return frame.sort_values(PANEL_ORDER, kind="stable").reset_index(drop=True)


def build_panel_with(
    engine: Engine,
    market: Market,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    min_days: int = DEFAULT_MIN_SHORTAGE_DAYS,
    observed_until: str | pd.Timestamp | None = None,
    chunk_weeks: int | None = None,
    scheduler: str | None = None,
    partitions: int | None = None,
) -> pd.DataFrame:
    """The whole panel in memory, built by ``engine``; both engines give the same frame.

    ``scheduler``: address of a running Dask scheduler (``tcp://host:8786``); without
    one, the dask engine starts a local cluster of two single-threaded processes.
    """
    if engine == "pandas":
        return build_panel(market, start, end, horizons, min_days, observed_until, chunk_weeks)
    if engine != "dask":
        raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    from distributed import as_completed

    plan = plan_panel(market, start, end, horizons, min_days, observed_until)
    with dask_client(scheduler) as client:
        frame = dask_panel(client, market, plan, partitions, chunk_weeks)
        parts = []
        # Each partition to this process as soon as it is done, then released: a worker
        # never holds the whole panel, nor every finished partition at once.
        for future in as_completed(client.compute(frame.to_delayed())):
            parts.append(future.result())
            future.release()
    return sort_panel(pd.concat(parts, ignore_index=True))


def write_panel_with(
    engine: Engine,
    market: Market,
    out_path: str | Path,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    min_days: int = DEFAULT_MIN_SHORTAGE_DAYS,
    scheduler: str | None = None,
    partitions: int | None = None,
    progress: bool = False,
) -> PanelSummary:
    """Build the panel with ``engine`` and write it to one Parquet file atomically. The
    pandas engine streams chunks (``pipelines.feature_panel``); the dask engine gathers
    the partitions, sorts them into the pandas row order and writes them at once."""
    if engine == "pandas":
        return build_feature_panel(
            market, out_path, start, end, horizons, min_days, progress=progress
        )
    began = time.perf_counter()
    plan = plan_panel(market, start, end, horizons, min_days)
    panel = build_panel_with(
        engine, market, start, end, horizons, min_days, scheduler=scheduler, partitions=partitions
    )
    out_path = Path(out_path)
    with atomic_file(out_path) as tmp:
        panel.to_parquet(tmp, index=False)
    counts = {
        name: {
            "positive": int((panel[name] == 1).sum()),
            "negative": int((panel[name] == 0).sum()),
            "undetermined": int(panel[name].isna().sum()),
        }
        for name in plan.label_names
    }
    return PanelSummary(
        out_path=out_path,
        rows=len(panel),
        as_of_first=plan.as_of[0] if len(plan.as_of) else None,
        as_of_last=plan.as_of[-1] if len(plan.as_of) else None,
        weeks=len(plan.as_of),
        observed_until=plan.observed_until,
        features=tuple(f.name for f in plan.selection.features),
        feature_checksum=feature_checksum(plan.selection.features),
        families_used=tuple(f.name for f in plan.selection.used),
        families_skipped=plan.selection.skipped,
        label_counts=counts,
        seconds=time.perf_counter() - began,
    )


@contextlib.contextmanager
def use_engine(engine: Engine, scheduler: str | None = None) -> Iterator[None]:
    """Build every ``engine_panel`` inside the block with ``engine`` (one local cluster for
    the whole block when the dask engine has no scheduler), without threading the choice
    through every function in between."""
    with scheduler_for(engine, scheduler) as address:
        token = _IN_USE.set((engine, address))
        try:
            yield
        finally:
            _IN_USE.reset(token)


def engine_panel(
    market: Market,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    min_days: int = DEFAULT_MIN_SHORTAGE_DAYS,
) -> pd.DataFrame:
    """``build_panel`` on the engine in use (``use_engine``; pandas by default)."""
    engine, scheduler = _IN_USE.get()
    return build_panel_with(engine, market, start, end, horizons, min_days, scheduler=scheduler)
