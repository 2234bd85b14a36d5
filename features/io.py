"""Reading and writing contract tables (CSV or Parquet).

Reading is two steps so that every problem can be reported at once: the file
is read as text (identifiers keep their leading zeros), then each column is
parsed by its contract kind, collecting the rows that do not parse instead of
stopping at the first.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.atomic import atomic_directory
from features.contract import ColumnSpec
from features.market import PANDAS_DTYPE, Market

TABLE_SUFFIXES = (".csv", ".parquet")
_TRUE = {"true", "1", "yes", "y", "ja", "j", "waar", "t"}
_FALSE = {"false", "0", "no", "n", "nee", "onwaar", "f"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DataFileError(ValueError):
    """A file cannot be read as a table at all (encoding, empty, corrupt)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass
class RawTable:
    """A table as read from disk, before typing.

    ``row_numbers`` maps each row to what a user sees in the file: the CSV line
    (the header is line 1) or the 1-based Parquet row.
    """

    name: str
    path: Path
    frame: pd.DataFrame
    row_numbers: np.ndarray
    row_word: str  # "line" for CSV, "row" for Parquet
    decimal_comma: bool = False
    typed_columns: set[str] = field(default_factory=set)


def find_table_file(data_dir: Path, table: str) -> Path | None:
    """The file holding ``table`` in ``data_dir``; an error if both formats exist."""
    found = [data_dir / f"{table}{suffix}" for suffix in TABLE_SUFFIXES]
    found = [p for p in found if p.is_file()]
    if len(found) > 1:
        raise DataFileError(found[0], f"both {found[0].name} and {found[1].name} exist; keep one")
    return found[0] if found else None


def read_raw_table(path: Path, table: str) -> RawTable:
    """Read ``path`` without interpreting values, so parsing can report per row."""
    if path.suffix == ".parquet":
        return _read_parquet(path, table)
    return _read_csv(path, table)


def _read_csv(path: Path, table: str) -> RawTable:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFileError(
            path, f"not UTF-8 encoded (invalid byte at line {line}); re-export it as UTF-8"
        ) from exc
    if not text.strip():
        raise DataFileError(path, "the file is empty (no header row)")
    header = text.splitlines()[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            skipinitialspace=True,
            quoting=csv.QUOTE_MINIMAL,
        )
    except pd.errors.ParserError as exc:
        raise DataFileError(path, f"malformed CSV: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(
        name=table,
        path=path,
        frame=frame,
        row_numbers=np.arange(2, len(frame) + 2),
        row_word="line",
        decimal_comma=delimiter == ";",
    )


def _read_parquet(path: Path, table: str) -> RawTable:
    try:
        arrow = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(path, f"not a readable Parquet file: {exc}") from exc
    frame = arrow.to_pandas().reset_index(drop=True)
    typed = {
        name
        for name, typ in zip(arrow.schema.names, arrow.schema.types, strict=True)
        if not (pa.types.is_string(typ) or pa.types.is_large_string(typ))
    }
    return RawTable(
        name=table,
        path=path,
        frame=frame,
        row_numbers=np.arange(1, len(frame) + 1),
        row_word="row",
        typed_columns=typed,
    )


@dataclass(frozen=True)
class ParseFailure:
    """Rows of one column whose values do not parse as the contract kind."""

    column: str
    rule: str
    positions: np.ndarray  # 0-based positions in the frame


def parse_column(raw: RawTable, spec: ColumnSpec) -> tuple[pd.Series, ParseFailure | None]:
    """Type one raw column by its contract kind; unparseable cells become missing."""
    values = raw.frame[spec.name]
    if spec.name in raw.typed_columns:
        return _parse_typed(values, spec)
    text = values.astype("str").str.strip()
    empty = text.eq("") | values.isna()
    if spec.kind in ("id", "text"):
        return text.where(~empty).astype(PANDAS_DTYPE[spec.kind]), None
    if spec.kind == "date":
        iso = text.str.match(_ISO_DATE)
        parsed = pd.to_datetime(text.where(iso & ~empty), format="%Y-%m-%d", errors="coerce")
        bad = ~empty & parsed.isna()
        return parsed.astype("datetime64[ns]"), _failure(
            spec, "not a date in ISO format (YYYY-MM-DD)", bad
        )
    if spec.kind == "float":
        normalised = text
        if raw.decimal_comma:
            has_comma = text.str.contains(",", regex=False)
            normalised = text.where(
                ~has_comma,
                text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False),
            )
        parsed_num = pd.to_numeric(normalised.where(~empty), errors="coerce").astype("float64")
        bad = ~empty & (parsed_num.isna() | ~np.isfinite(parsed_num.fillna(0.0)))
        return parsed_num.where(~bad), _failure(spec, "not a number", bad)
    lowered = text.str.lower()
    flags = pd.Series(pd.NA, index=values.index, dtype="boolean")
    flags[lowered.isin(_TRUE)] = True
    flags[lowered.isin(_FALSE)] = False
    bad = ~empty & flags.isna()
    return flags, _failure(spec, "not a boolean (true/false, 1/0, ja/nee)", bad)


def _parse_typed(values: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, ParseFailure | None]:
    """Parquet columns that already carry a type: accept compatible ones only."""
    dtype = PANDAS_DTYPE[spec.kind]
    if spec.kind in ("id", "text"):
        if values.isna().all():
            return values.astype(dtype), None
        rule = "stored as a number; identifiers must be strings (leading zeros would be lost)"
        return pd.Series(pd.NA, index=values.index, dtype=dtype), _failure(
            spec, rule, values.notna()
        )
    try:
        if spec.kind == "date":
            return pd.to_datetime(values).astype(dtype), None
        return values.astype(dtype), None
    except (TypeError, ValueError):
        rule = f"stored with type {values.dtype}, expected {spec.kind}"
        return pd.Series(pd.NA, index=values.index).astype(dtype), _failure(
            spec, rule, values.notna()
        )


def _failure(spec: ColumnSpec, rule: str, bad: pd.Series) -> ParseFailure | None:
    positions = np.flatnonzero(bad.to_numpy(dtype=bool))
    return ParseFailure(spec.name, rule, positions) if len(positions) else None


def _format_value(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return str(value)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write one contract table; CSV uses ISO dates and a decimal point."""
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
        return
    out = pd.DataFrame({c: frame[c].map(_format_value) for c in frame.columns})
    out.to_csv(path, index=False, lineterminator="\n")


def write_market(
    market: Market, out_dir: str | Path, fmt: str = "parquet", overwrite: bool = False
) -> list[Path]:
    """Write every present table of ``market`` into ``out_dir`` atomically."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown format {fmt!r}: use 'parquet' or 'csv'")
    out_dir = Path(out_dir)
    names = []
    with atomic_directory(out_dir, overwrite=overwrite) as tmp:
        for name, frame in market.present():
            write_table(frame, tmp / f"{name}.{fmt}")
            names.append(f"{name}.{fmt}")
    return [out_dir / n for n in names]
