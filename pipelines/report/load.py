"""Reading a scores directory (docs/scores-format.md) and refusing anything else early."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

REQUIRED_TABLES: dict[str, tuple[str, ...]] = {
    "risk.parquet": ("zi_number", "name", "horizon", "probability", "rank", "risk_band"),
    "drivers.parquet": ("zi_number", "horizon", "feature", "shap", "order"),
    "gpk.parquet": ("gpk", "horizon", "max_probability", "rank"),
    "changes.parquet": ("zi_number", "horizon", "change"),
    "families.parquet": ("horizon", "family", "mean_abs_shap"),
    "status.parquet": ("zi_number", "status"),
}
OPTIONAL_TABLES: dict[str, tuple[str, ...]] = {
    "trend.parquet": ("zi_number", "horizon", "as_of", "probability"),
    "drift.parquet": ("horizon", "feature", "psi", "warn"),
}
SUMMARY = "summary.json"


@dataclass(frozen=True)
class Scores:
    """Everything the report reads; optional tables are None when absent."""

    directory: Path
    summary: dict[str, Any]
    risk: pd.DataFrame
    drivers: pd.DataFrame
    gpk: pd.DataFrame
    changes: pd.DataFrame
    families: pd.DataFrame
    status: pd.DataFrame
    trend: pd.DataFrame | None
    drift: pd.DataFrame | None


def _read_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ValueError(f"{path.name} lacks column(s) {', '.join(absent)}")
    return frame


def _read_summary(path: Path) -> dict[str, Any]:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path.name} is not valid JSON: {exc}") from exc
    if not isinstance(summary, dict):
        raise ValueError(f"{path.name} must hold a JSON object")
    return summary


def load_scores(scores_dir: Path) -> Scores:
    """Read the directory, naming the first missing file so a wrong path is obvious."""
    scores_dir = Path(scores_dir)
    if not scores_dir.is_dir():
        raise ValueError(f"{scores_dir} is not a scores directory: no such directory")
    for name in (SUMMARY, *REQUIRED_TABLES):
        if not (scores_dir / name).is_file():
            raise ValueError(f"{scores_dir} is not a scores directory: {name} is missing")
    tables = {
        name.removesuffix(".parquet"): _read_table(scores_dir / name, columns)
        for name, columns in REQUIRED_TABLES.items()
    }
    optional = {
        name.removesuffix(".parquet"): (
            _read_table(scores_dir / name, columns) if (scores_dir / name).is_file() else None
        )
        for name, columns in OPTIONAL_TABLES.items()
    }
    return Scores(
        directory=scores_dir, summary=_read_summary(scores_dir / SUMMARY), **tables, **optional
    )
