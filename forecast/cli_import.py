"""``forecast import``: convert a real public source into a contract data directory.

Kept apart from ``forecast.cli`` so the command can be added with one call:
``cli_import.register(app)``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from features.importers import IMPORTERS, ImporterError
from forecast.cli_common import console, fail
from pipelines.importing import ImportFailedError, ImportSummary, run_import

Source = StrEnum("Source", {name: name for name in IMPORTERS})  # type: ignore[misc]


class FileFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


def _print_summary(summary: ImportSummary) -> None:
    table = Table(title=f"Imported {summary.source} into {summary.out_dir}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"Rejected rows: {summary.rejected_rows:,} (listed in {summary.rejected_path})")
    for reason, count in summary.rejected_by_reason.items():
        console.print(f"  {count:>7,}  {reason}", highlight=False)
    if summary.absent_required:
        console.print(
            "Required tables this source does not provide (combine with another import): "
            + ", ".join(summary.absent_required)
        )
    console.print("What the conversion loses or assumes:")
    for note in summary.notes:
        console.print(f"  - {note}", highlight=False, soft_wrap=True)


def _options(
    anomalous_week: list[str] | None, bridge_gaps: int | None, market_share: list[str] | None
) -> dict[str, object]:
    """Only the options the user gave, so each importer refuses the ones it does not know."""
    options: dict[str, object] = {}
    if anomalous_week is not None:
        options["anomalous_weeks"] = [w for w in anomalous_week if w.lower() != "none"]
    if bridge_gaps is not None:
        options["bridge_gaps"] = bridge_gaps
    if market_share:
        options["market_shares"] = ",".join(market_share)
    return options


def import_command(
    source: Annotated[Source, typer.Argument(help="Which source the files come from.")],
    inputs: Annotated[list[Path], typer.Argument(help="Source files (any order).")],
    out: Annotated[Path, typer.Option("--out", help="Data directory to create.")],
    fmt: Annotated[FileFormat, typer.Option("--format", help="Table file format.")] = (
        FileFormat.parquet
    ),
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing non-empty --out.")
    ] = False,
    rejected: Annotated[
        Path | None,
        typer.Option(help="Where to list rejected rows (default: <out>.rejected.csv)."),
    ] = None,
    anomalous_week: Annotated[
        list[str] | None,
        typer.Option(
            help="sfk: ISO week to repair from its neighbours (repeatable; 'none' for none) "
            "(default: 2024-W52 and 2025-W52)."
        ),
    ] = None,
    bridge_gaps: Annotated[
        int | None, typer.Option(help="sfk: merge episodes separated by at most N off-weeks.")
    ] = None,
    market_share: Annotated[
        list[str] | None,
        typer.Option(help="preferentie: INSURER=SHARE overriding a default share (repeatable)."),
    ] = None,
) -> None:
    """Convert INPUT files of SOURCE (sfk, preferentie, wgp) into a validated data directory.

    Rows that cannot be converted are listed with file, row, column and reason;
    the summary says what the contract cannot hold.
    """
    options = _options(anomalous_week, bridge_gaps, market_share)
    try:
        summary = run_import(
            source.value,
            inputs,
            out,
            fmt=fmt.value,
            overwrite=overwrite,
            rejected=rejected,
            **options,
        )
    except (ImporterError, ImportFailedError, FileExistsError) as exc:
        raise fail(str(exc)) from None
    _print_summary(summary)


def register(app: typer.Typer) -> None:
    """Add the ``import`` command to ``app``."""
    app.command(name="import")(import_command)
