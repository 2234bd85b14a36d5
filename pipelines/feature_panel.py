"""Build the feature panel of a data directory and write it as one Parquet file.

The file is written chunk by chunk (bounded memory) into a temporary sibling
and renamed into place at the end, so a reader never sees half a panel.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.atomic import atomic_file
from features.contract import DEFAULT_MIN_SHORTAGE_DAYS
from features.labels import DEFAULT_HORIZONS
from features.market import Market
from features.panel import Progress, empty_panel, iter_panel, plan_panel
from features.registry import feature_checksum, render_feature_reference
from features.validation import load_market


@dataclass(frozen=True)
class PanelSummary:
    """What was written, for the CLI to print and for run metadata."""

    out_path: Path
    rows: int
    as_of_first: pd.Timestamp | None
    as_of_last: pd.Timestamp | None
    weeks: int
    observed_until: pd.Timestamp
    features: tuple[str, ...]
    feature_checksum: str
    families_used: tuple[str, ...]
    families_skipped: dict[str, tuple[str, ...]]
    label_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0


def _count_labels(table: pa.Table, labels: tuple[str, ...], into: dict) -> None:
    for name in labels:
        counts = into.setdefault(name, {"positive": 0, "negative": 0, "undetermined": 0})
        values = np.asarray(table.column(name))
        counts["positive"] += int((values == 1).sum())
        counts["negative"] += int((values == 0).sum())
        counts["undetermined"] += int(np.isnan(values).sum())


def _rich_progress() -> tuple[Progress, Callable[[], None]]:
    from rich.progress import Progress as RichProgress

    bar = RichProgress(transient=True)
    bar.start()
    task = bar.add_task("feature panel (as-of weeks)", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar.stop


def build_feature_panel(
    data: str | Path | Market,
    out_path: str | Path,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    min_days: int = DEFAULT_MIN_SHORTAGE_DAYS,
    observed_until: str | pd.Timestamp | None = None,
    chunk_weeks: int | None = None,
    progress: Progress | bool = False,
) -> PanelSummary:
    """Load (and validate) ``data``, build the panel, write ``out_path`` atomically.

    ``progress``: a ``callback(weeks_done, weeks_total)``, or True for a rich bar.
    """
    began = time.perf_counter()
    market = data if isinstance(data, Market) else load_market(data)
    plan = plan_panel(market, start, end, horizons, min_days, observed_until)
    stop: Callable[[], None] | None = None
    callback: Progress | None
    if progress is True:
        callback, stop = _rich_progress()
    else:
        callback = progress or None
    out_path = Path(out_path)
    rows = 0
    label_counts: dict[str, dict[str, int]] = {}
    try:
        with atomic_file(out_path) as tmp:
            writer: pq.ParquetWriter | None = None
            for table in iter_panel(market, plan, chunk_weeks, callback):
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                rows += table.num_rows
                _count_labels(table, plan.label_names, label_counts)
            if writer is None:  # no as-of week: still write an empty, well-typed panel
                pq.write_table(empty_panel(market, plan), tmp)
            else:
                writer.close()
    finally:
        if stop is not None:
            stop()
    features = tuple(f.name for f in plan.selection.features)
    return PanelSummary(
        out_path=out_path,
        rows=rows,
        as_of_first=plan.as_of[0] if len(plan.as_of) else None,
        as_of_last=plan.as_of[-1] if len(plan.as_of) else None,
        weeks=len(plan.as_of),
        observed_until=plan.observed_until,
        features=features,
        feature_checksum=feature_checksum(plan.selection.features),
        families_used=tuple(f.name for f in plan.selection.used),
        families_skipped=plan.selection.skipped,
        label_counts=label_counts,
        seconds=time.perf_counter() - began,
    )


def write_feature_reference(path: str | Path) -> Path:
    """Write the feature reference markdown rendered from the registry."""
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_text(render_feature_reference(), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=Path, help="write the feature reference to this path")
    args = parser.parse_args(argv)
    if args.docs:
        print(write_feature_reference(args.docs))


if __name__ == "__main__":
    main()
