"""The ``forecast`` command: one verb per job, each with ``--help``.

Exit codes: 0 success, 1 invalid input or a refused action, 2 usage error.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from features.validation import ValidationReport, validate_data_dir

app = typer.Typer(
    name="forecast",
    help="Forecast which medicine packs on the Dutch market are about to go into shortage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


class FileFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=1)


def _print_summary(report: ValidationReport) -> None:
    table = Table(title=f"Data directory {report.data_dir}", show_lines=False)
    for column in ("table", "file", "rows", "first date", "last date", "packs"):
        table.add_column(column, justify="right" if column in ("rows", "packs") else "left")
    for s in report.summaries:
        if s.file is None:
            table.add_row(s.table, "[dim]absent[/]", "", "", "", "")
            continue
        table.add_row(
            s.table,
            s.file,
            f"{s.rows:,}",
            s.first_date.strftime("%Y-%m-%d") if s.first_date is not None else "",
            s.last_date.strftime("%Y-%m-%d") if s.last_date is not None else "",
            f"{s.packs:,}" if s.packs is not None else "",
        )
    console.print(table)


@app.command()
def validate(
    data_dir: Annotated[Path, typer.Argument(help="Directory with one file per contract table.")],
) -> None:
    """Check DATA_DIR against the data contract and summarise each table."""
    report, _ = validate_data_dir(data_dir)
    _print_summary(report)
    if report.absent_tables:
        console.print(
            "Optional tables absent (their features are left out): "
            + ", ".join(report.absent_tables)
        )
    if not report.ok:
        n = len(report.problems)
        errors.print(f"[bold red]{n} problem{'s' if n != 1 else ''} found:[/]")
        for problem in report.problems:
            errors.print(f"  - {problem.describe()}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1)
    console.print("[green]valid[/]: every table follows the data contract")


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Directory to write the nine contract tables to.")],
    packs: Annotated[int, typer.Option(min=10, help="Number of packs.")] = 5000,
    years: Annotated[int, typer.Option(min=1, max=30, help="Years of weekly history.")] = 8,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 0,
    start: Annotated[
        dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="First simulated week (a Monday).")
    ] = dt.datetime(2018, 1, 1),
    file_format: Annotated[
        FileFormat, typer.Option("--format", help="File format of the tables.")
    ] = FileFormat.parquet,
    truth: Annotated[
        Path | None,
        typer.Option(help="Also write the true weekly hazard per pack to this Parquet file."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing OUT directory.")] = False,
) -> None:
    """Write the built-in synthetic Dutch market in the data contract."""
    from features.atomic import atomic_file
    from features.io import write_market
    from features.synthetic_market import generate_market

    if truth is not None and truth.resolve().is_relative_to(out.resolve()):
        raise _fail("--truth must lie outside --out: the true hazard is not input data")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise _fail(f"{out} is not empty; pass --overwrite to replace it")
    with console.status(f"Simulating {packs:,} packs over {years} years (seed {seed})"):
        simulated = generate_market(
            n_packs=packs, years=years, seed=seed, start=start.date(), with_truth=truth is not None
        )
    with console.status(f"Writing tables to {out}"):
        paths = write_market(simulated.market, out, fmt=file_format.value, overwrite=overwrite)
        if truth is not None and simulated.true_hazard is not None:
            with atomic_file(truth) as tmp:
                simulated.true_hazard.to_parquet(tmp, index=False)
    for path in paths:
        console.print(f"wrote {path}", highlight=False)
    if truth is not None:
        console.print(f"wrote {truth} (true weekly hazard, for checking models)", highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
