"""Import a real source into a data directory, validated before it appears.

The tables are written into a temporary directory, validated with the
contract validator, and only then moved into place, so a failed import never
leaves a half-valid data directory behind. Rejected rows go to a CSV beside
the data directory (``<out_dir>.rejected.csv`` unless another path is given),
not into it: a data directory holds contract tables only.

Sources that do not provide a required table (``wgp`` and ``preferentie``
have no shortage episodes) give a partial data directory: validation must
pass except for those absent tables, which the summary lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from features.atomic import atomic_directory, atomic_file
from features.contract import REQUIRED_TABLES, TABLES
from features.importers import ImporterError, ImportResult, import_source
from features.io import write_market
from features.market import Market, conform
from features.validation import Problem, validate_data_dir


class ImportFailedError(ValueError):
    """The converted tables do not pass validation; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        lines = "\n".join(f"  - {p.describe()}" for p in problems)
        super().__init__(f"the imported tables are not valid:\n{lines}")
        self.problems = problems


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote, what it rejected and what the contract could not hold."""

    source: str
    out_dir: Path
    files: list[Path]
    rows: dict[str, int]
    rejected_path: Path
    rejected_by_reason: dict[str, int]
    notes: list[str] = field(default_factory=list)
    absent_required: tuple[str, ...] = ()

    @property
    def rejected_rows(self) -> int:
        return sum(self.rejected_by_reason.values())


def default_rejected_path(out_dir: Path) -> Path:
    """``data/sfk`` -> ``data/sfk.rejected.csv``: beside, not inside, the data directory."""
    return out_dir.with_name(f"{out_dir.name}.rejected.csv")


def _as_paths(inputs: list[Path] | Path) -> list[Path]:
    return [Path(p) for p in inputs] if isinstance(inputs, list | tuple) else [Path(inputs)]


def _blocking(problems: list[Problem], produced: set[str]) -> tuple[list[Problem], tuple[str, ...]]:
    """Problems that fail the import; required tables the source cannot give are tolerated."""
    tolerated = tuple(t for t in REQUIRED_TABLES if t not in produced)
    blocking = [
        p
        for p in problems
        if not (p.table in tolerated and p.rule.startswith("required table is missing"))
    ]
    return blocking, tolerated


def run_import(
    source: str,
    inputs: list[Path] | Path,
    out_dir: Path,
    *,
    fmt: str = "parquet",
    overwrite: bool = False,
    rejected: Path | None = None,
    **options: object,
) -> ImportSummary:
    """Convert ``inputs`` of ``source``, validate, then write ``out_dir`` and the rejects."""
    out_dir = Path(out_dir)
    rejected_path = Path(rejected) if rejected is not None else default_rejected_path(out_dir)
    if rejected_path.resolve().is_relative_to(out_dir.resolve()):
        raise ImporterError(f"{rejected_path}: the rejected-rows file must be outside {out_dir}")
    result: ImportResult = import_source(source, _as_paths(inputs), **options)
    market = _market(result.tables)
    with atomic_directory(out_dir, overwrite=overwrite) as staging:
        write_market(market, staging, fmt=fmt, overwrite=True)
        report, _ = validate_data_dir(staging)
        blocking, absent = _blocking(report.problems, set(result.tables))
        if blocking:
            raise ImportFailedError(blocking)
        _write_rejected(result.rejected, rejected_path)
        files = sorted(p.name for p in staging.iterdir())
    return ImportSummary(
        source=source,
        out_dir=out_dir,
        files=[out_dir / name for name in files],
        rows={name: len(frame) for name, frame in result.tables.items()},
        rejected_path=rejected_path,
        rejected_by_reason=result.rejected_by_reason,
        notes=list(result.notes),
        absent_required=absent,
    )


def _without_empty_optional(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Drop optional columns the source never fills: absent says more than a column of blanks.

    It also keeps all-missing nullable booleans out of CSV files, which the
    table writer would spell ``<NA>``.
    """
    empty = [
        c.name
        for c in TABLES[name].columns
        if not c.required and c.name in frame.columns and frame[c.name].isna().all()
    ]
    return frame.drop(columns=empty)


def _market(tables: dict[str, pd.DataFrame]) -> Market:
    """The tables as a market, contract-typed, without columns the source leaves empty."""
    frames: dict[str, Any] = {name: None for name in REQUIRED_TABLES}
    for name, frame in tables.items():
        frames[name] = _without_empty_optional(name, conform(name, frame))
    return Market(**frames)


def _write_rejected(rejected: pd.DataFrame, path: Path) -> None:
    """Rejected rows as CSV (header only when nothing was rejected), written atomically."""
    with atomic_file(path) as tmp:
        rejected.to_csv(tmp, index=False, lineterminator="\n")
