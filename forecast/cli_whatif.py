"""The ``forecast whatif`` command: re-score one week under a policy scenario.

Kept apart from ``forecast.cli`` and added with :func:`register`, so the verb can
be wired in with one line. Exit codes follow the other verbs: 0 success, 1
invalid input or a refused action, 2 a usage error.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated

import typer

from forecast.cli_common import (
    ConfigOption,
    HorizonsOption,
    ModelUriOption,
    TrackingOption,
    console,
    fail,
    load_or_fail,
    parse_horizons,
    say,
    settings_or_fail,
)
from pipelines.tracking import CHAMPION_MODEL_URI

_FIRST_CLAUSE = re.compile(r"[;:]\s|\.\s")


def builtin_help() -> str:
    """One line per built-in scenario, for ``--list`` and the ``--scenario`` help."""
    from pipelines.scenarios import builtin_scenarios

    first = {name: _FIRST_CLAUSE.split(s.description)[0] for name, s in builtin_scenarios().items()}
    return "\n".join(f"{name}: {text.rstrip('.')}" for name, text in first.items())


def whatif(
    data_dir: Annotated[
        Path | None, typer.Argument(help="Directory with the contract tables.")
    ] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The Monday the scenario applies from."),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            help="A built-in scenario (wgp-plus-15, two-preferred, short-designation, "
            "keep-supplier; --list describes them) or a scenario TOML file."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Root directory; writes OUT/<as-of>-<scenario>/.")] = (
        Path("whatif")
    ),
    horizons: HorizonsOption = "4,13,26",
    model_uri: ModelUriOption = CHAMPION_MODEL_URI,
    config: ConfigOption = None,
    tracking_uri: TrackingOption = None,
    force: Annotated[bool, typer.Option(help="Run even when a required table is stale.")] = False,
    list_: Annotated[
        bool, typer.Option("--list", help="List the built-in scenarios and exit.")
    ] = False,
) -> None:
    """Apply a policy scenario to the inputs and report the change in predicted risk.

    The result is the model's association between its inputs and shortages, not a
    causal estimate of what the policy would do.
    """
    if list_:
        console.print(builtin_help(), highlight=False, soft_wrap=True)
        return
    if data_dir is None or as_of is None or scenario is None:
        raise typer.BadParameter("DATA_DIR, --as-of and --scenario are needed (or --list)")
    from pipelines.scenarios import ScenarioError, load_scenario
    from pipelines.score import ScoreError
    from pipelines.whatif import WhatIfError, run_whatif

    try:
        chosen = load_scenario(scenario)
    except ScenarioError as exc:
        raise fail(str(exc)) from exc
    tracking = settings_or_fail(config, tracking_uri).tracking
    load_or_fail(data_dir)
    try:
        target = run_whatif(
            data_dir,
            as_of,
            chosen,
            out,
            tracking,
            horizons=parse_horizons(horizons),
            model_uri=model_uri,
            force=force,
            progress=say,
        )
    except (ScoreError, WhatIfError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"wrote {target}/ (packs, gpk, atc, summary.json)", highlight=False)
    console.print(f"page: {target / 'whatif.html'}", highlight=False)
    console.print(
        "The changes are the model's association, not a causal estimate.", highlight=False
    )


def register(app: typer.Typer) -> None:
    """Add the ``whatif`` verb to the ``forecast`` command."""
    app.command(name="whatif")(whatif)
