"""The command line: exit codes, messages and help on every verb."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from forecast.cli import app

runner = CliRunner()


def test_validate_valid_directory_exits_zero(tiny_dir: Path) -> None:
    result = runner.invoke(app, ["validate", str(tiny_dir)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert "products" in result.stdout


def test_validate_invalid_directory_exits_one_with_report(tiny_dir: Path) -> None:
    text = (tiny_dir / "wgp_prices.csv").read_text().replace("9.10", "-9.10")
    (tiny_dir / "wgp_prices.csv").write_text(text)
    result = runner.invoke(app, ["validate", str(tiny_dir)])
    assert result.exit_code == 1
    assert "wgp_prices.csv, column 'max_price': must be >= 0" in result.stderr
    assert "line 3" in result.stderr


def test_validate_reports_absent_optional_tables(tiny_dir: Path) -> None:
    (tiny_dir / "tenders.csv").unlink()
    result = runner.invoke(app, ["validate", str(tiny_dir)])
    assert result.exit_code == 0
    assert "Optional tables absent" in result.stdout and "tenders" in result.stdout


VERBS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb: str) -> None:
    assert {"validate", "generate"} <= set(VERBS)
    result = runner.invoke(app, [verb, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout
