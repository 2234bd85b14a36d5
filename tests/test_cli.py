"""The command line: exit codes, messages and help on every verb."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from features.contract import TABLES
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


def test_generate_then_validate_round_trip(tmp_path: Path) -> None:
    out, truth = tmp_path / "market", tmp_path / "truth" / "hazard.parquet"
    args = ["generate", "--out", str(out), "--packs", "200", "--years", "3", "--format", "csv"]
    result = runner.invoke(app, [*args, "--truth", str(truth)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    assert truth.is_file()
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 0, result.output

    again = runner.invoke(app, [*args, "--overwrite"])
    assert again.exit_code == 0, again.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_generate_refuses_to_overwrite_and_truth_inside_data(tmp_path: Path) -> None:
    out = tmp_path / "market"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["generate", "--out", str(out), "--packs", "50", "--years", "1"])
    assert result.exit_code == 1 and "not empty" in result.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    inside = ["generate", "--out", str(tmp_path / "m2"), "--truth", str(tmp_path / "m2" / "t.pq")]
    result = runner.invoke(app, inside)
    assert result.exit_code == 1 and "outside" in result.stderr
    assert not (tmp_path / "m2").exists()
