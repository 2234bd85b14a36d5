"""What every ``forecast`` verb shares: output, failure, settings, loading, options."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from features.market import Market
from features.validation import validate_data_dir
from forecast.settings import Settings, SettingsError, load_settings

console = Console()
errors = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file (see README: Configuration).")
]
TrackingOption = Annotated[
    str | None,
    typer.Option(help="MLflow tracking URI (default: sqlite:///mlflow.db in this directory)."),
]
HorizonOption = Annotated[int, typer.Option(min=1, max=104, help="Label horizon in weeks.")]
HorizonsOption = Annotated[str, typer.Option(help="Comma-separated horizons in weeks.")]
ModelUriOption = Annotated[
    str, typer.Option(help="Model to score with; {horizon} is filled in per horizon.")
]


def fail(message: str) -> typer.Exit:
    """Print ``message`` as an error; raise the result to exit with code 1."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def say(message: str) -> None:
    """Progress line with the time of day, for long runs in a terminal or a cron log."""
    console.print(f"[dim]{dt.datetime.now():%H:%M:%S}[/] {message}", highlight=False)


def parse_horizons(text: str) -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of weeks, e.g. 4,13,26")
    return values


def settings_or_fail(config: Path | None, tracking_uri: str | None = None) -> Settings:
    """Settings from defaults, ``config`` and the environment; ``tracking_uri`` wins."""
    try:
        settings = load_settings(config)
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    if tracking_uri:
        tracking = settings.tracking.model_copy(update={"tracking_uri": tracking_uri})
        settings = settings.model_copy(update={"tracking": tracking})
    return settings


def load_or_fail(data_dir: Path) -> Market:
    """The validated market, or exit 1 with the full report (nothing is written)."""
    report, market = validate_data_dir(data_dir)
    if market is None:
        errors.print(f"[bold red]{data_dir} is not valid input; nothing was written:[/]")
        for problem in report.problems:
            errors.print(f"  - {problem.describe()}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1)
    for table in report.absent_tables:
        console.print(f"[dim]optional table {table} absent: its features are left out[/]")
    return market
