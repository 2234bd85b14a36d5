"""The market in the form the families compute on: integer codes and day numbers.

``PreparedMarket`` is built once per panel; ``Chunk`` is a block of consecutive
as-of weeks and caches the grids several families share (on the market, in a
known shortage, AIP in force).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from features.families.base import (
    ALWAYS,
    NEVER,
    active_sum,
    asof_position,
    day_numbers,
    group_sum,
    take,
)
from features.market import Market

# Date columns that close an interval: empty means "still open".
END_COLUMNS = frozenset({"end_date", "market_exit", "valid_to", "withdrawn_on", "expected_end"})
# ATC levels by code length: anatomical group, pharmacological and chemical subgroup.
ATC_LEVEL_LENGTHS = {"atc1": 1, "atc3": 4, "atc4": 5}


def atc_prefix(atc: pd.Series, level: str) -> pd.Series:
    """The ATC code cut to ``level``; missing when the code is shorter than that."""
    length = ATC_LEVEL_LENGTHS[level]
    text = atc.astype("str")
    return text.where(text.str.len() >= length).str[:length]


def _codes(values: pd.Series, index: pd.Index) -> np.ndarray:
    return np.asarray(index.get_indexer(values.astype("str")), dtype=np.int64)


@dataclass(frozen=True)
class PreparedMarket:
    market: Market
    products: pd.DataFrame  # sorted by zi_number: row i is pack code i
    zi: pd.Index
    gpk: pd.Index
    atc4: pd.Index
    pack_gpk: np.ndarray
    pack_atc4: np.ndarray  # -1: no ATC-4
    entry: np.ndarray
    exit: np.ndarray
    tables: dict[str, pd.DataFrame]

    @property
    def n_packs(self) -> int:
        return len(self.zi)

    @classmethod
    def from_market(cls, market: Market) -> PreparedMarket:
        products = market.products.sort_values("zi_number", kind="stable")
        zi = pd.Index(products["zi_number"].astype("str").to_numpy())
        gpk = pd.Index(np.sort(products["gpk"].astype("str").unique()))
        atc4_values = atc_prefix(products["atc"], "atc4")
        atc4 = pd.Index(np.sort(atc4_values.dropna().unique()))
        tables: dict[str, pd.DataFrame] = {}
        for name, frame in market.present():
            if name == "products":
                continue
            tables[name] = _prepare_table(frame, zi, gpk)
        return cls(
            market=market,
            products=products.reset_index(drop=True),
            zi=zi,
            gpk=gpk,
            atc4=atc4,
            pack_gpk=_codes(products["gpk"], gpk),
            pack_atc4=np.where(
                atc4_values.isna().to_numpy(),
                -1,
                atc4.get_indexer(atc4_values.fillna("")),
            ).astype(np.int64),
            entry=day_numbers(products["market_entry"], ALWAYS),
            exit=day_numbers(products["market_exit"], NEVER),
            tables=tables,
        )

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def _prepare_table(frame: pd.DataFrame, zi: pd.Index, gpk: pd.Index) -> pd.DataFrame:
    """Codes for pack / GPK columns and day numbers for dates; unknown packs are dropped."""
    out = frame.copy()
    for col in frame.columns:
        if str(frame[col].dtype).startswith("datetime64"):
            out[col] = day_numbers(frame[col], NEVER if col in END_COLUMNS else ALWAYS)
    if "gpk" in frame.columns:
        missing = frame["gpk"].isna().to_numpy()
        out["gpk_code"] = np.where(missing, -1, _codes(frame["gpk"].fillna(""), gpk))
    if "zi_number" in frame.columns:
        out["pack"] = _codes(frame["zi_number"], zi)
        out = out[out["pack"] >= 0]
        if "valid_from" in out.columns:
            out = out.sort_values(["pack", "valid_from"], kind="stable")
    return out.reset_index(drop=True)


@dataclass
class Chunk:
    """A block of as-of weeks; grids are ``(n_weeks, n_packs)``."""

    prepared: PreparedMarket
    days: np.ndarray  # as-of day numbers, ascending

    @property
    def n_packs(self) -> int:
        return self.prepared.n_packs

    @property
    def t(self) -> np.ndarray:
        """As-of day numbers as a column, to broadcast against ``(n_weeks, n_packs)`` grids."""
        return self.days[:, None].astype(np.float64)

    @cached_property
    def on_market(self) -> np.ndarray:
        p = self.prepared
        return (p.entry[None, :] <= self.days[:, None]) & (p.exit[None, :] > self.days[:, None])

    @cached_property
    def known_short(self) -> np.ndarray:
        """In a shortage known on t: reported and started on or before t, not ended by t."""
        s = self.prepared.table("shortages")
        start = np.maximum(s["start_date"].to_numpy(), s["reported_on"].to_numpy())
        count = active_sum(
            self.days, self.n_packs, s["pack"].to_numpy(), start, s["end_date"].to_numpy()
        )
        return count > 0

    @cached_property
    def aip(self) -> np.ndarray:
        return self.last_value("list_prices", "aip")

    def last_value(self, table: str, column: str, at: np.ndarray | None = None) -> np.ndarray:
        """Value of the latest row (by ``valid_from``) in force on each day of ``at``, per pack.

        ``at`` defaults to the as-of days; it must be ascending.
        """
        f = self.prepared.table(table)
        when = self.days if at is None else at
        pos = asof_position(when, self.n_packs, f["pack"].to_numpy(), f["valid_from"].to_numpy())
        return take(f[column].to_numpy(dtype=np.float64, na_value=np.nan), pos)

    def per_pack(self, group_cells: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Spread ``(n_weeks, n_groups)`` values to packs; NaN for packs without a group."""
        if group_cells.shape[1] == 0:
            return np.full((group_cells.shape[0], len(groups)), np.nan)
        out = group_cells[:, np.maximum(groups, 0)]
        return np.where(groups[None, :] >= 0, out, np.nan)

    def sum_by_group(self, cells: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
        """Total of the pack cells of each pack's group, spread back to the packs."""
        return self.per_pack(group_sum(cells, groups, n_groups), groups)
