"""The ``forecast`` command: one verb per job, each with ``--help``.

Exit codes: 0 success, 1 invalid input or a refused action, 2 usage error.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from features.validation import ValidationReport, validate_data_dir
from forecast import cli_import, cli_whatif
from forecast.cli_common import (
    ConfigOption,
    HorizonOption,
    HorizonsOption,
    ModelUriOption,
    TrackingOption,
    console,
    errors,
    fail,
    load_or_fail,
    parse_horizons,
    say,
    settings_or_fail,
)
from pipelines.tracking import CHAMPION_MODEL_URI

app = typer.Typer(
    name="forecast",
    help="Forecast which medicine packs on the Dutch market are about to go into shortage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class FileFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


class EngineName(StrEnum):
    pandas = "pandas"
    dask = "dask"


EngineOption = Annotated[
    EngineName,
    typer.Option(help="Compute in this process (pandas, the reference) or on Dask (same results)."),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        help="Dask scheduler address, e.g. tcp://host:8786 (default with --engine dask: "
        "a local cluster of 2 single-threaded worker processes)."
    ),
]


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
    countries: Annotated[
        int, typer.Option(min=1, max=27, help="EU-like data: N national markets of --packs each.")
    ] = 1,
) -> None:
    """Write the built-in synthetic Dutch market in the data contract."""
    from features.atomic import atomic_file
    from features.io import write_market
    from features.synthetic_market import generate_market

    if truth is not None and truth.resolve().is_relative_to(out.resolve()):
        raise fail("--truth must lie outside --out: the true hazard is not input data")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise fail(f"{out} is not empty; pass --overwrite to replace it")
    with console.status(f"Simulating {packs:,} packs over {years} years (seed {seed})"):
        simulated = generate_market(
            n_packs=packs,
            years=years,
            seed=seed,
            start=start.date(),
            with_truth=truth is not None,
            countries=countries,
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


@app.command()
def features(
    data_dir: Annotated[Path, typer.Argument(help="Directory with the contract tables.")],
    out: Annotated[Path, typer.Option(help="Parquet file to write the panel to.")] = Path(
        "panel.parquet"
    ),
    start: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First as-of Monday.")
    ] = None,
    end: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last as-of Monday.")
    ] = None,
    config: ConfigOption = None,
    engine: EngineOption = EngineName.pandas,
    scheduler: SchedulerOption = None,
) -> None:
    """Build the point-in-time weekly feature panel with onset labels."""
    from pipelines.engine import write_panel_with

    settings = settings_or_fail(config)
    market = load_or_fail(data_dir)
    summary = write_panel_with(
        engine.value,
        market,
        out,
        start=start,
        end=end,
        horizons=settings.horizons,
        min_days=settings.min_shortage_days,
        scheduler=scheduler,
        progress=True,
    )
    for family, tables in summary.families_skipped.items():
        console.print(f"family {family} left out: {', '.join(tables)} absent")
    console.print(
        f"wrote {summary.out_path}: {summary.rows:,} rows, {summary.weeks} weeks, "
        f"{len(summary.features)} features (checksum {summary.feature_checksum}) "
        f"in {summary.seconds:.1f} s",
        highlight=False,
    )


@app.command()
def train(
    data_dir: Annotated[Path, typer.Argument(help="Directory with the contract tables.")],
    horizon: HorizonOption = 13,
    config: ConfigOption = None,
    tracking_uri: TrackingOption = None,
    backtest: Annotated[
        bool, typer.Option(help="Backtest first (needed to promote the version later).")
    ] = True,
    engine: EngineOption = EngineName.pandas,
    scheduler: SchedulerOption = None,
) -> None:
    """Fit on all labelled history, log to MLflow, register as @challenger."""
    from pipelines.train import train as train_model

    settings = settings_or_fail(config, tracking_uri)
    market = load_or_fail(data_dir)
    result = train_model(
        data_dir,
        horizon,
        settings.model,
        settings.tracking,
        backtest_config=settings.backtest if backtest else None,
        min_days=settings.min_shortage_days,
        resolved_settings=settings.model_dump(mode="json"),
        progress=say,
        market=market,
        engine=engine.value,
        scheduler=scheduler,
    )
    if result.backtest is not None:
        _print_backtest(result.backtest.metrics)
    console.print(
        f"registered {result.model_name} version {result.model_version} "
        f"(aliases: {', '.join('@' + a for a in sorted(result.aliases))}); run {result.run_id}",
        highlight=False,
    )


def _print_backtest(metrics: pd.DataFrame) -> None:
    pooled = metrics[metrics["fold"] == "all"]
    shown = ["roc_auc", "brier", "ece", "precision@100", "recall@100"]
    table = Table(title="Backtest pooled over folds; PR-AUC with 95% whole-week interval")
    for column in ("model", "pr_auc", *shown):
        table.add_column(column, justify="left" if column == "model" else "right")
    for model, rows in pooled.groupby("model", sort=False):
        by_metric = rows.set_index("metric")
        pr = by_metric.loc["pr_auc"]
        cells = [f"{pr['value']:.3f} [{pr['ci_low']:.3f}, {pr['ci_high']:.3f}]"]
        cells += [f"{by_metric.loc[m, 'value']:.3f}" if m in by_metric.index else "" for m in shown]
        table.add_row(str(model), *cells)
    Console(width=max(console.width, 110)).print(table)


@app.command()
def backtest(
    data_dir: Annotated[Path, typer.Argument(help="Directory with the contract tables.")],
    horizon: HorizonOption = 13,
    folds: Annotated[int | None, typer.Option(min=1, help="Number of origins.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write every out-of-sample prediction here (Parquet).")
    ] = None,
    metrics_out: Annotated[
        Path | None, typer.Option(help="Write the metrics table here (Parquet or CSV).")
    ] = None,
    config: ConfigOption = None,
    engine: EngineOption = EngineName.pandas,
    scheduler: SchedulerOption = None,
) -> None:
    """Rolling-origin backtest of the model and the baselines over whole weeks."""
    from features.atomic import atomic_file
    from pipelines.backtest import backtest as run
    from pipelines.backtest import onsets_from
    from pipelines.tracking import combined_fingerprint, data_fingerprints
    from pipelines.training_data import training_data

    settings = settings_or_fail(config)
    backtest_config = settings.backtest
    if folds is not None:
        backtest_config = backtest_config.model_copy(update={"folds": folds})
    market = load_or_fail(data_dir)
    say(f"building the {horizon}-week feature panel")
    data = training_data(
        market, horizon, settings.min_shortage_days, engine=engine.value, scheduler=scheduler
    )
    try:
        result = run(
            data,
            settings.model,
            backtest_config,
            settings.min_shortage_days,
            say,
            onsets=onsets_from(market.shortages, settings.min_shortage_days),
            data_fingerprint=combined_fingerprint(data_fingerprints(data_dir)),
            engine=engine.value,
            scheduler=scheduler,
        )
    except ValueError as exc:
        raise fail(str(exc)) from exc
    _print_backtest(result.metrics)
    if out is not None:
        with atomic_file(out) as tmp:
            result.predictions.to_parquet(tmp, index=False)
        console.print(f"wrote {len(result.predictions):,} predictions to {out}", highlight=False)
    if metrics_out is not None:
        with atomic_file(metrics_out) as tmp:
            if metrics_out.suffix == ".csv":
                result.metrics.to_csv(tmp, index=False)
            else:
                result.metrics.to_parquet(tmp, index=False)
        console.print(f"wrote metrics to {metrics_out}", highlight=False)


@app.command()
def promote(
    horizon: HorizonOption = 13,
    config: ConfigOption = None,
    tracking_uri: TrackingOption = None,
    margin: Annotated[
        float | None, typer.Option(min=0, help="Allowed PR-AUC shortfall (default from config).")
    ] = None,
) -> None:
    """Move @champion to @challenger only if its backtest PR-AUC is not worse."""
    from pipelines.promote import PromotionError
    from pipelines.promote import promote as run

    settings = settings_or_fail(config, tracking_uri)
    try:
        decision = run(
            horizon,
            settings.tracking,
            settings.backtest,
            margin=settings.promotion_margin if margin is None else margin,
            progress=say,
        )
    except PromotionError as exc:
        raise fail(str(exc)) from exc
    if decision.promoted:
        console.print(f"[green]{decision.reason}[/]", highlight=False)
        return
    if decision.challenger_version == decision.champion_version:
        console.print(decision.reason, highlight=False)
        return
    raise fail(decision.reason)


@app.command()
def score(
    data_dir: Annotated[Path, typer.Argument(help="Directory with the contract tables.")],
    as_of: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="The Monday to score.")],
    out: Annotated[Path, typer.Option(help="Root directory; writes OUT/<as-of>/.")] = Path(
        "scores"
    ),
    horizons: HorizonsOption = "4,13,26",
    model_uri: ModelUriOption = CHAMPION_MODEL_URI,
    config: ConfigOption = None,
    tracking_uri: TrackingOption = None,
    force: Annotated[bool, typer.Option(help="Score even when a required table is stale.")] = False,
    report: Annotated[bool, typer.Option(help="Also write report.html.")] = True,
    engine: EngineOption = EngineName.pandas,
    scheduler: SchedulerOption = None,
) -> None:
    """Score every eligible pack for one week and write the ranked, explained risk table."""
    from pipelines.engine import use_engine
    from pipelines.score import ScoreError
    from pipelines.score import score as run

    settings = settings_or_fail(config, tracking_uri)
    load_or_fail(data_dir)
    try:
        with use_engine(engine.value, scheduler):
            target = run(
                data_dir,
                as_of,
                out,
                settings.tracking,
                horizons=parse_horizons(horizons),
                model_uri=model_uri,
                force=force,
                report=report,
                progress=say,
            )
    except ScoreError as exc:
        raise fail(str(exc)) from exc
    console.print(f"wrote {target}/ (risk.parquet, risk.csv, gpk.parquet, ...)", highlight=False)
    if report:
        console.print(f"report: {target / 'report.html'}", highlight=False)


@app.command()
def report(
    scores_dir: Annotated[Path, typer.Argument(help="A scores directory: OUT/<as-of>/.")],
    out: Annotated[
        Path | None, typer.Option(help="HTML file (default: SCORES_DIR/report.html).")
    ] = None,
) -> None:
    """Write the self-contained HTML report of one week's scores."""
    from pipelines.report import render_report

    try:
        path = render_report(scores_dir, out or scores_dir / "report.html")
    except ValueError as exc:
        raise fail(str(exc)) from exc
    console.print(f"wrote {path}", highlight=False)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where everything is written.")] = Path("demo"),
    packs: Annotated[int, typer.Option(min=200, help="Packs in the built-in market.")] = 5000,
    years: Annotated[int, typer.Option(min=4, max=30, help="Years of history.")] = 8,
    seed: Annotated[int, typer.Option(help="Random seed of the market.")] = 0,
    config: ConfigOption = None,
) -> None:
    """The main job on built-in data: generate, train 4/13/26 weeks, score, report."""
    from pipelines.demo import run_demo

    settings = settings_or_fail(config)
    started = dt.datetime.now()
    try:
        result = run_demo(
            workdir,
            packs=packs,
            years=years,
            seed=seed,
            horizons=settings.horizons,
            model_config=settings.model,
            backtest_config=settings.backtest.model_copy(
                update={"folds": 2, "baselines": False, "n_resamples": 50}
            ),
            progress=say,
        )
    except FileExistsError as exc:
        raise fail(str(exc)) from exc
    minutes = (dt.datetime.now() - started).total_seconds() / 60
    db = result.tracking_uri.removeprefix("sqlite:///")
    console.print(
        f"\n[bold]Done in {minutes:.1f} min.[/]\n"
        f"  data (the contract tables):  {result.data_dir}\n"
        f"  true hazard (for checking):  {result.truth}\n"
        f"  models and runs (MLflow):    {result.tracking_uri}\n"
        f"  this week's risk table:      {result.scores_dir / 'risk.csv'}\n"
        f"  report for policymakers:     {result.report}\n\n"
        f"Open the report in any browser (it works offline). Browse the runs with:\n"
        f"  mlflow ui --backend-store-uri sqlite:///{db}",
        highlight=False,
    )


cli_import.register(app)
cli_whatif.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
