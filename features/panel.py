"""The feature panel: one row per (pack, as-of Monday), point-in-time features and labels.

The as-of weeks are processed in chunks; within a chunk every family fills a
dense ``(weeks, packs)`` grid, and the rows to keep (on the market, not in a
known shortage) are gathered from it. Memory is bounded by the chunk size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from features.contract import DEFAULT_MIN_SHORTAGE_DAYS
from features.families.base import Categories, FeatureFamily
from features.families.inputs import Chunk, PreparedMarket
from features.labels import (
    DEFAULT_HORIZONS,
    data_period,
    label_name,
    observation_end,
    onset_labels,
    shortage_events,
)
from features.market import Market
from features.registry import FamilySelection, select_families

# Grid cells (weeks x packs) per chunk: large enough to amortise per-chunk work,
# small enough that a family's float64 grids stay at tens of MiB.
CELLS_PER_CHUNK = 4_000_000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PanelPlan:
    """What a panel build will do: the Mondays, the families, the label horizon settings."""

    as_of: pd.DatetimeIndex
    selection: FamilySelection
    horizons: tuple[int, ...]
    min_days: int
    observed_until: pd.Timestamp

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(label_name(h) for h in self.horizons)


def _monday_on_or_after(day: pd.Timestamp) -> pd.Timestamp:
    day = pd.Timestamp(day).normalize()
    return day + pd.Timedelta(days=(7 - day.weekday()) % 7)


def _monday_on_or_before(day: pd.Timestamp) -> pd.Timestamp:
    day = pd.Timestamp(day).normalize()
    return day - pd.Timedelta(days=day.weekday())


def plan_panel(
    market: Market,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    min_days: int = DEFAULT_MIN_SHORTAGE_DAYS,
    observed_until: str | pd.Timestamp | None = None,
) -> PanelPlan:
    """Resolve defaults: Mondays from the first data day (or ``start``) to the observation
    end (or ``end``); ``start`` / ``end`` snap inwards to Mondays."""
    obs_end = observation_end(market) if observed_until is None else pd.Timestamp(observed_until)
    first = _monday_on_or_after(
        pd.Timestamp(start) if start is not None else data_period(market)[0]
    )
    last = _monday_on_or_before(pd.Timestamp(end) if end is not None else obs_end)
    as_of = pd.date_range(first, last, freq="7D") if first <= last else pd.DatetimeIndex([])
    return PanelPlan(
        as_of=pd.DatetimeIndex(as_of.astype("datetime64[ns]")),
        selection=select_families(market),
        horizons=tuple(horizons),
        min_days=min_days,
        observed_until=obs_end,
    )


Cells = tuple[np.ndarray, np.ndarray]  # (week index, pack code) of the rows to keep


def _take(values: np.ndarray, flat: np.ndarray, cells: Cells) -> np.ndarray:
    grid = np.asarray(values)
    if grid.flags.c_contiguous:
        return np.take(grid.reshape(-1), flat)
    return grid[cells]  # broadcast (pack-level or week-level) grids


def _column(values: np.ndarray | Categories, flat: np.ndarray, cells: Cells) -> pa.Array:
    """One panel column: float32, or a dictionary (categorical) with fixed categories."""
    if isinstance(values, Categories):
        codes = _take(values.codes, flat, cells).astype(np.int32)
        dictionary = pa.array(list(values.categories), type=pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), dictionary)
    return pa.array(_take(values, flat, cells).astype(np.float32))


def _family_columns(family: FeatureFamily, chunk: Chunk) -> dict[str, np.ndarray | Categories]:
    out = family.compute(chunk)
    if set(out) != set(family.feature_names):
        raise RuntimeError(
            f"family {family.name} returned {sorted(out)}, declared {list(family.feature_names)}"
        )
    return out


def panel_chunk(prepared: PreparedMarket, plan: PanelPlan, days: np.ndarray) -> pa.Table:
    """Rows, features and labels for the as-of weeks ``days`` (day numbers), as Arrow
    (no pandas block consolidation: columns go to Parquet as computed)."""
    chunk = Chunk(prepared, days)
    keep = chunk.on_market & ~chunk.known_short
    flat = np.flatnonzero(keep)
    cells = (flat // prepared.n_packs, flat % prepared.n_packs)
    as_of = days.astype("datetime64[D]").astype("datetime64[ns]")
    zi = pa.array(list(prepared.zi), type=pa.string())
    columns: dict[str, pa.Array] = {
        "zi_number": pa.DictionaryArray.from_arrays(pa.array(cells[1].astype(np.int32)), zi),
        "as_of": pa.array(as_of[cells[0]]),
    }
    for family in plan.selection.used:
        for name, values in _family_columns(family, chunk).items():
            columns[name] = _column(values, flat, cells)
    pack, start, end = shortage_events(prepared.market.shortages, prepared.zi)
    observed = int(np.datetime64(plan.observed_until.normalize(), "D").astype(np.int64))
    labels = onset_labels(
        days, prepared.n_packs, pack, start, end, observed, plan.horizons, plan.min_days
    )
    for name, values in labels.items():
        columns[name] = _column(values, flat, cells)
    names = ["zi_number", "as_of", *(f.name for f in plan.selection.features), *labels]
    return pa.table({n: columns[n] for n in names})


def iter_panel(
    market: Market,
    plan: PanelPlan,
    chunk_weeks: int | None = None,
    progress: Progress | None = None,
) -> Iterator[pa.Table]:
    """Panel chunks (Arrow tables) in as-of order; ``progress(weeks_done, weeks_total)`` after each.

    ``chunk_weeks`` defaults to about ``CELLS_PER_CHUNK`` grid cells per chunk.
    """
    prepared = PreparedMarket.from_market(market)
    days = plan.as_of.to_numpy().astype("datetime64[D]").astype(np.int64)
    if chunk_weeks is None:
        chunk_weeks = max(1, CELLS_PER_CHUNK // max(prepared.n_packs, 1))
    for lo in range(0, len(days), chunk_weeks):
        yield panel_chunk(prepared, plan, days[lo : lo + chunk_weeks])
        if progress is not None:
            progress(min(lo + chunk_weeks, len(days)), len(days))


def build_panel(
    market: Market,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    min_days: int = DEFAULT_MIN_SHORTAGE_DAYS,
    observed_until: str | pd.Timestamp | None = None,
    chunk_weeks: int | None = None,
) -> pd.DataFrame:
    """The whole panel in memory (for small markets and tests)."""
    plan = plan_panel(market, start, end, horizons, min_days, observed_until)
    chunks = list(iter_panel(market, plan, chunk_weeks)) or [empty_panel(market, plan)]
    return pa.concat_tables(chunks).to_pandas()


def empty_panel(market: Market, plan: PanelPlan) -> pa.Table:
    """A panel without rows but with every column and type (no as-of week in range)."""
    return panel_chunk(PreparedMarket.from_market(market), plan, np.zeros(0, dtype=np.int64))
