"""Validate a data directory against the contract and load it.

All problems of all tables are collected into one report, each naming the
file, the column, the rule and the first offending rows, so a user fixes an
export in one round instead of one error at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from features.contract import TABLES, TableSpec
from features.io import DataFileError, RawTable, find_table_file, parse_column, read_raw_table
from features.market import Market, conform
from features.schemas import RULE_SEPARATOR, schema_for

MAX_ROWS_SHOWN = 5


@dataclass(frozen=True)
class Problem:
    """One broken rule: where it is and the first rows that break it."""

    table: str
    file: str
    column: str | None
    rule: str
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()
    count: int = 0
    row_word: str = "line"

    def describe(self) -> str:
        where = f"{self.file}"
        if self.column:
            where += f", column '{self.column}'"
        text = f"{where}: {self.rule}"
        if self.count:
            shown = ", ".join(
                f"{self.row_word} {r} ({v!r})" if v != "" else f"{self.row_word} {r}"
                for r, v in zip(self.rows, self.values, strict=True)
            )
            more = f" and {self.count - len(self.rows)} more" if self.count > len(self.rows) else ""
            text += f" [{self.count} row{'s' if self.count != 1 else ''}: {shown}{more}]"
        return text


@dataclass
class TableSummary:
    table: str
    file: str | None
    rows: int = 0
    first_date: pd.Timestamp | None = None
    last_date: pd.Timestamp | None = None
    packs: int | None = None


@dataclass
class ValidationReport:
    data_dir: Path
    summaries: list[TableSummary] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def absent_tables(self) -> list[str]:
        return [s.table for s in self.summaries if s.file is None]

    def describe(self) -> str:
        lines = [p.describe() for p in self.problems]
        return "\n".join(lines) if lines else "valid"


class InvalidDataError(ValueError):
    """Raised by :func:`load_market` with the full report of what is wrong."""

    def __init__(self, report: ValidationReport) -> None:
        n = len(report.problems)
        super().__init__(
            f"{report.data_dir}: {n} problem{'s' if n != 1 else ''} found\n{report.describe()}"
        )
        self.report = report


def _problem(
    raw: RawTable, column: str | None, rule: str, positions: np.ndarray, values: pd.Series | None
) -> Problem:
    positions = np.unique(positions)
    shown = positions[:MAX_ROWS_SHOWN]
    shown_values: tuple[str, ...] = ("",) * len(shown)
    if values is not None:
        shown_values = tuple(_display(values.iloc[p]) for p in shown)
    return Problem(
        table=raw.name,
        file=raw.path.name,
        column=column,
        rule=rule,
        rows=tuple(int(raw.row_numbers[p]) for p in shown),
        values=shown_values,
        count=len(positions),
        row_word=raw.row_word,
    )


def _display(value: object) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


ParsedTable = tuple[pd.DataFrame | None, list[Problem], dict[str, np.ndarray]]


def _parse_table(raw: RawTable, spec: TableSpec) -> ParsedTable:
    """Type every contract column; report missing columns and cells that do not parse.

    Also returns, per column, the rows that did not parse, so that later checks
    do not report the same cell twice.
    """
    problems = []
    missing = [c.name for c in spec.columns if c.required and c.name not in raw.frame.columns]
    for name in missing:
        problems.append(
            Problem(raw.name, raw.path.name, name, "required column is missing", row_word="")
        )
    if missing:
        return None, problems, {}
    parsed: dict[str, pd.Series] = {}
    unparsed: dict[str, np.ndarray] = {}
    for col in spec.columns:
        if col.name not in raw.frame.columns:
            continue
        series, failure = parse_column(raw, col)
        parsed[col.name] = series.reset_index(drop=True)
        if failure is not None:
            unparsed[col.name] = failure.positions
            problems.append(
                _problem(raw, col.name, failure.rule, failure.positions, raw.frame[col.name])
            )
    return conform(spec.name, pd.DataFrame(parsed)), problems, unparsed


def _check_schema(
    raw: RawTable, typed: pd.DataFrame, unparsed: dict[str, np.ndarray]
) -> list[Problem]:
    """Run the pandera schema; cells that did not parse are not reported twice."""
    try:
        schema_for(raw.name).validate(typed, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    problems = []
    cases = cases[cases["index"].notna()]
    for (column, check), group in cases.groupby(["column", "check"], sort=False):
        column, rule = _rule_of(str(column), str(check))
        positions = group["index"].astype(int).to_numpy()
        if rule == "value is missing" and column in unparsed:
            positions = np.setdiff1d(positions, unparsed[column])
        if len(positions) == 0:
            continue
        shown = raw.frame[column] if column in raw.frame.columns else typed[column]
        problems.append(_problem(raw, column, rule, positions, shown))
    return _dedupe(problems)


def _rule_of(column: str, check: str) -> tuple[str, str]:
    if check == "not_nullable":
        return column, "value is missing"
    if check == "multiple_fields_uniqueness" or check == "field_uniqueness":
        return column, "duplicate key"
    if RULE_SEPARATOR in check:
        named_column, rule = check.split(RULE_SEPARATOR, 1)
        return named_column, rule
    return column, check


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """Dataframe-level checks fail once per column; keep one problem per rule."""
    seen: dict[tuple[str | None, str], Problem] = {}
    merged: list[Problem] = []
    for p in problems:
        key = (p.column, p.rule)
        if p.rule == "duplicate key":
            key = (None, p.rule)
        if key in seen:
            continue
        if p.rule == "duplicate key":
            key_columns = TABLES[p.table].key
            p = Problem(
                p.table,
                p.file,
                ", ".join(key_columns),
                f"duplicate key ({', '.join(key_columns)})",
                p.rows,
                p.values,
                p.count,
                p.row_word,
            )
        seen[key] = p
        merged.append(p)
    return merged


def _check_table_rules(raw: RawTable, typed: pd.DataFrame) -> list[Problem]:
    """Rules over several rows that pandera's per-row checks cannot state."""
    if raw.name != "shortages":
        return []
    ordered = typed.sort_values(["zi_number", "start_date"], kind="stable")
    previous_end = ordered.groupby("zi_number")["end_date"].shift()
    previous_start = ordered.groupby("zi_number")["start_date"].shift()
    overlaps = previous_start.notna() & (
        previous_end.isna() | (ordered["start_date"] < previous_end)
    )
    positions = ordered.index[overlaps.to_numpy()].to_numpy()
    if len(positions) == 0:
        return []
    rule = "episode overlaps an earlier episode of the same pack"
    return [_problem(raw, "start_date", rule, positions, typed["start_date"])]


def _check_references(raws: dict[str, RawTable], typed: dict[str, pd.DataFrame]) -> list[Problem]:
    problems = []
    for name, frame in typed.items():
        for ref in TABLES[name].references:
            target = typed.get(ref.target_table)
            if target is None:
                continue
            known = frame[ref.column].isna() | frame[ref.column].isin(target[ref.target_column])
            positions = np.flatnonzero(~known.to_numpy(dtype=bool))
            if len(positions):
                rule = f"unknown {ref.target_column}: not in {ref.target_table}"
                problems.append(
                    _problem(raws[name], ref.column, rule, positions, frame[ref.column])
                )
    return problems


def _summarise(name: str, file: str | None, frame: pd.DataFrame | None) -> TableSummary:
    summary = TableSummary(table=name, file=file)
    if frame is None:
        return summary
    summary.rows = len(frame)
    dates = [frame[c.name] for c in TABLES[name].columns if c.kind == "date"]
    stacked = pd.concat(dates) if dates else pd.Series(dtype="datetime64[ns]")
    if stacked.notna().any():
        summary.first_date, summary.last_date = stacked.min(), stacked.max()
    if "zi_number" in frame.columns:
        summary.packs = int(frame["zi_number"].nunique())
    return summary


def validate_data_dir(data_dir: str | Path) -> tuple[ValidationReport, Market | None]:
    """Check every contract table in ``data_dir``; the market only when all is valid."""
    data_dir = Path(data_dir)
    report = ValidationReport(data_dir=data_dir)
    if not data_dir.is_dir():
        report.problems.append(Problem("-", str(data_dir), None, "data directory does not exist"))
        return report, None
    raws: dict[str, RawTable] = {}
    typed: dict[str, pd.DataFrame] = {}
    for name, spec in TABLES.items():
        try:
            path = find_table_file(data_dir, name)
            if path is None:
                if spec.required:
                    rule = f"required table is missing ({name}.csv or {name}.parquet)"
                    report.problems.append(Problem(name, f"{name}.csv", None, rule))
                report.summaries.append(TableSummary(table=name, file=None))
                continue
            raw = read_raw_table(path, name)
        except DataFileError as exc:
            report.problems.append(Problem(name, exc.path.name, None, exc.message))
            report.summaries.append(TableSummary(table=name, file=exc.path.name))
            continue
        raws[name] = raw
        frame, problems, unparsed = _parse_table(raw, spec)
        report.problems.extend(problems)
        if frame is not None:
            report.problems.extend(_check_schema(raw, frame, unparsed))
            report.problems.extend(_check_table_rules(raw, frame))
            if spec.name == "products" and frame.empty:
                report.problems.append(Problem(name, path.name, None, "table has no rows"))
            typed[name] = frame
        report.summaries.append(_summarise(name, path.name, frame))
    report.problems.extend(_check_references(raws, typed))
    if not report.ok:
        return report, None
    market = Market(**{name: typed.get(name) for name in TABLES})
    return report, market


def load_market(data_dir: str | Path) -> Market:
    """Load ``data_dir`` as a typed market, or raise :class:`InvalidDataError`."""
    report, market = validate_data_dir(data_dir)
    if market is None:
        raise InvalidDataError(report)
    return market
