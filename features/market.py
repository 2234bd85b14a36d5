"""The in-memory form of a data directory: one typed DataFrame per contract table.

Typing is fixed here so that every consumer (validation, features, generator)
sees the same dtypes: identifiers and text as pandas ``str``, dates as
``datetime64[ns]`` (NaT when empty), amounts as ``float64``, flags as nullable
``boolean``. Columns come in contract order; extra columns are dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

import pandas as pd

from features.contract import TABLES, ColumnKind, TableSpec

PANDAS_DTYPE: dict[ColumnKind, str] = {
    "id": "str",
    "text": "str",
    "date": "datetime64[ns]",
    "float": "float64",
    "bool": "boolean",
}


def conform(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly the contract columns of ``table``, typed.

    Optional columns that are absent are added as all-missing, so downstream
    code never has to ask whether a column exists. The input is not modified.
    """
    spec: TableSpec = TABLES[table]
    out = {}
    for col in spec.columns:
        dtype = PANDAS_DTYPE[col.kind]
        if col.name in frame.columns:
            values = frame[col.name]
            if col.kind == "date":
                out[col.name] = pd.to_datetime(values).astype(dtype)
            else:
                out[col.name] = values.astype(dtype)
        else:
            out[col.name] = pd.Series(pd.array([None] * len(frame), dtype=dtype), dtype=dtype)
    result = pd.DataFrame(out)
    result.index = pd.RangeIndex(len(result))
    if table == "shortages":
        # Contract: reported_on defaults to start_date.
        result["reported_on"] = result["reported_on"].fillna(result["start_date"])
    return result


@dataclass(frozen=True)
class Market:
    """All tables of one data directory; optional tables may be ``None``."""

    products: pd.DataFrame
    shortages: pd.DataFrame
    wgp_prices: pd.DataFrame | None = None
    list_prices: pd.DataFrame | None = None
    gvs_limits: pd.DataFrame | None = None
    tenders: pd.DataFrame | None = None
    registrations: pd.DataFrame | None = None
    notifications: pd.DataFrame | None = None
    critical_list: pd.DataFrame | None = None

    def table(self, name: str) -> pd.DataFrame | None:
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; contract tables: {', '.join(TABLES)}")
        frame: pd.DataFrame | None = getattr(self, name)
        return frame

    def present(self) -> Iterator[tuple[str, pd.DataFrame]]:
        for f in fields(self):
            frame = getattr(self, f.name)
            if frame is not None:
                yield f.name, frame

    @property
    def missing_tables(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is None)

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame | None]) -> Market:
        """Build a market from raw frames, conforming each to the contract."""
        unknown = set(frames) - set(TABLES)
        if unknown:
            raise KeyError(f"unknown tables: {sorted(unknown)}")
        return cls(**{k: (None if v is None else conform(k, v)) for k, v in frames.items()})
