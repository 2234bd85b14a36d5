"""Importers on the real public Dutch files, read from ``shared/data/external``.

The files are never copied into the repository; without the folder the
tests skip. Facts checked here were read from the files themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from features.importers import ImporterError, import_source
from features.importers.preferentie import parse_date, split_leaked_supplier
from features.importers.sfk import iso_week_monday
from features.validation import validate_data_dir
from forecast.cli_import import register
from pipelines.importing import ImportSummary, run_import

EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"
pytestmark = pytest.mark.skipif(
    not EXTERNAL.is_dir(), reason=f"real source files not found in {EXTERNAL}"
)
SFK = EXTERNAL / "nl_sfk_monitor"
SFK_JSON = SFK / "sfk_verloop_2024W40_2026W39.json"
SFK_CSV = SFK / "sfk_verloop_long.csv.gz"
SFK_SNAPSHOT = SFK / "sfk_monitor_week5_2026_snapshot.csv"
PREF = EXTERNAL / "nl_preferentie_2026" / "preferentie_5_verzekeraars_2026.json"
WGP = [
    EXTERNAL / "nl_wgp_maxprijzen" / "wgp_maxprijzen_productgroep_panel.csv.gz",
    EXTERNAL / "nl_wgp_maxprijzen" / "wgp_maxprijzen_artikelen_long.csv.gz",
]
ts = pd.Timestamp


def _references_resolve(tables: dict[str, pd.DataFrame]) -> None:
    packs = set(tables["products"]["zi_number"])
    assert tables["products"]["zi_number"].is_unique
    for name, frame in tables.items():
        if name != "products" and "zi_number" in frame.columns:
            assert set(frame["zi_number"]) <= packs, name


@pytest.fixture(scope="module")
def sfk() -> dict[str, pd.DataFrame]:
    return import_source("sfk", [SFK_JSON]).tables


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ImportSummary]:
    root = tmp_path_factory.mktemp("imports")
    return {
        "sfk": run_import("sfk", [SFK_JSON, SFK_SNAPSHOT], root / "sfk", fmt="csv"),
        "preferentie": run_import("preferentie", PREF, root / "preferentie", fmt="csv"),
        "wgp": run_import("wgp", WGP, root / "wgp", fmt="parquet"),
    }


# --- SFK -----------------------------------------------------------------------------------


def test_sfk_one_pseudo_pack_per_prk_and_valid_episodes(sfk: dict[str, pd.DataFrame]) -> None:
    products, shortages = sfk["products"], sfk["shortages"]
    assert len(products) == 528
    assert products["zi_number"].str.startswith("PRK").all()
    assert (products["zi_number"] == "PRK" + products["gpk"]).all()
    _references_resolve(sfk)
    assert len(shortages) == 1884
    ended = shortages.dropna(subset=["end_date"])
    assert (ended["start_date"] < ended["end_date"]).all()
    assert (shortages["start_date"].dt.day_of_week == 0).all()  # Mondays
    assert (shortages["reported_on"] == shortages["start_date"] + pd.Timedelta(days=7)).all()
    ordered = shortages.sort_values(["zi_number", "start_date"])
    previous_end = ordered.groupby("zi_number")["end_date"].shift()
    later = ordered.groupby("zi_number").cumcount() > 0
    assert (ordered.loc[later, "start_date"] > previous_end[later]).all()  # no overlap, no touch
    # every PRK is on the monitor in the last week: exactly one ongoing episode each
    assert shortages.groupby("zi_number")["end_date"].apply(lambda s: s.isna().sum()).eq(1).all()


def test_sfk_known_prk_starts_in_its_first_week_and_bridges_the_anomalous_week(
    sfk: dict[str, pd.DataFrame],
) -> None:
    # PRK 85782 (chloroquine 100 mg) is first on the monitor in 2025-W35 and stays on to
    # 2026-W39 except in 2025-W52, one of the two weeks the source marks as anomalous.
    episodes = sfk["shortages"][sfk["shortages"]["zi_number"] == "PRK85782"]
    assert len(episodes) == 1
    assert episodes["start_date"].iloc[0] == ts(iso_week_monday("2025-W35")) == ts("2025-08-25")
    assert pd.isna(episodes["end_date"].iloc[0])
    raw = import_source("sfk", [SFK_JSON], anomalous_weeks=[]).tables["shortages"]
    split = raw[raw["zi_number"] == "PRK85782"].sort_values("start_date")
    assert list(split["start_date"]) == [ts("2025-08-25"), ts("2025-12-29")]  # 2026-W01
    assert split["end_date"].iloc[0] == ts("2025-12-22")


def test_sfk_long_csv_gives_the_same_episodes(sfk: dict[str, pd.DataFrame]) -> None:
    from_csv = import_source("sfk", [SFK_CSV]).tables["shortages"]
    key = ["zi_number", "start_date"]
    pd.testing.assert_frame_equal(
        from_csv.sort_values(key).reset_index(drop=True),
        sfk["shortages"].sort_values(key).reset_index(drop=True),
    )


def test_sfk_bridge_gaps_only_merges(sfk: dict[str, pd.DataFrame]) -> None:
    bridged = import_source("sfk", [SFK_JSON], bridge_gaps=2).tables["shortages"]
    assert len(bridged) < len(sfk["shortages"])
    assert bridged["end_date"].isna().sum() == 528


def test_sfk_snapshot_gives_real_zi_numbers_where_unambiguous() -> None:
    result = import_source("sfk", [SFK_JSON, SFK_SNAPSHOT])
    products = result.tables["products"].set_index("gpk")
    assert products.loc["85782", "zi_number"] == "15702944"  # A-CQ 100 chloroquine 100 mg
    real = products[~products["zi_number"].str.startswith("PRK")]
    assert len(real) == 56 and real["zi_number"].str.fullmatch(r"\d{8}").all()
    _references_resolve(result.tables)


def test_sfk_rejects_unknown_options_and_wrong_files() -> None:
    with pytest.raises(ImporterError, match="unknown option"):
        import_source("sfk", [SFK_JSON], bridge=1)
    with pytest.raises(ImporterError, match="not a recognised sfk input"):
        import_source("sfk", [PREF])


# --- preferentie ---------------------------------------------------------------------------


def _pref() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    result = import_source("preferentie", [PREF])
    return result.tables["tenders"], result.tables["products"], result.rejected


def test_preferentie_counts_and_invariants() -> None:
    tenders, products, rejected = _pref()
    # 3,920 rows; 13 rows list two ZI-nummers; 3 rows rejected (2 exact duplicates, 1 clash)
    assert len(tenders) == 3920 + 13 - 3 == 3930
    assert len(rejected) == 3
    assert products["zi_number"].str.fullmatch(r"\d{8}").all()
    _references_resolve({"products": products, "tenders": tenders})
    assert (tenders["valid_from"] < tenders["valid_to"]).all()
    assert not tenders.duplicated(["insurer", "gpk", "zi_number", "valid_from"]).any()
    assert set(tenders["insurer"]) == {"CZ", "DSW", "Menzis", "VGZ", "Zilveren Kruis"}
    assert tenders["market_share"].between(0, 1).all()
    gpk_of = products.set_index("zi_number")["gpk"]
    assert (tenders["gpk"] == tenders["zi_number"].map(gpk_of)).all()


def test_preferentie_dates_and_the_menzis_unit_defect() -> None:
    tenders, products, _ = _pref()
    # Menzis: sterkte "600/300", leverancier "mg   Amarox", start "01.01.2026", eind "31.12.2027"
    menzis = tenders[(tenders["insurer"] == "Menzis") & (tenders["zi_number"] == "16922026")]
    assert len(menzis) == 1
    assert menzis["valid_from"].iloc[0] == ts("2026-01-01")
    assert menzis["valid_to"].iloc[0] == ts("2028-01-01")  # eind is inclusive
    # CZ lists the same pack as "600 mg/300 mg" from "1-1-2025": one stand-in gpk for both
    cz = tenders[(tenders["insurer"] == "CZ") & (tenders["zi_number"] == "16922026")]
    assert cz["valid_from"].iloc[0] == ts("2025-01-01")
    assert cz["gpk"].iloc[0] == menzis["gpk"].iloc[0] == "abacavir/lamivudine|600/300mg|oraal"
    assert products.set_index("zi_number").loc["16922026", "mah"] == "Amarox Pharma"
    # "16975553/15276783" (Menzis acetylsalicylzuur) becomes two tender rows
    both = tenders[
        (tenders["insurer"] == "Menzis") & tenders["zi_number"].isin(["16975553", "15276783"])
    ]
    assert len(both) == 2


def test_preferentie_rejected_rows_name_row_column_and_reason() -> None:
    _, _, rejected = _pref()
    by_row = rejected.set_index("row")
    assert by_row.loc[1123, "reason"] == "duplicate row"  # Mebeverine, Menzis, listed twice
    assert by_row.loc[1123, "column"] == "zi_nummer"
    assert "different details" in by_row.loc[1102, "reason"]  # same pack, substance reversed
    assert set(rejected["source"]) == {PREF.name}


def test_preferentie_rejects_what_cannot_be_repaired(tmp_path: Path) -> None:
    base = {"verzekeraar": "Menzis", "werkzame_stof": "Stofnaam", "toedieningsweg": "oraal",
            "sterkte": "10", "zi_nummer": "1234567", "leverancier": "mg   Firma",
            "start": "01.01.2026", "eind": "31.12.2026"}  # fmt: skip
    rows = [
        base,
        {**base, "zi_nummer": "2345678", "leverancier": "mg"},
        {**base, "zi_nummer": "3456789", "start": "2026-13-01"},
        {**base, "zi_nummer": "4567890", "eind": "31-12-2025"},
        base,
    ]
    path = tmp_path / "lists.json"
    path.write_text(json.dumps(rows))
    result = import_source("preferentie", [path], market_shares="Menzis=0.5")
    tenders = result.tables["tenders"]
    assert list(tenders["zi_number"]) == ["01234567"]
    assert tenders["market_share"].iloc[0] == 0.5
    assert result.tables["products"]["mah"].iloc[0] == "Firma"
    reasons = dict(zip(result.rejected["row"], result.rejected["reason"], strict=True))
    assert reasons[2].startswith("supplier cell holds leaked text")
    assert reasons[3] == "start date not parseable"
    assert reasons[4] == "end date before start date"
    assert reasons[5] == "duplicate row"


def test_date_and_supplier_parsing() -> None:
    assert str(parse_date("1-7-2025")) == "2025-07-01"
    assert str(parse_date("01.01.2026")) == "2026-01-01"
    assert str(parse_date("2026-12-31")) == "2026-12-31"
    assert parse_date("31-02-2026") is None
    assert split_leaked_supplier("mg   Amarox") == ("mg", "Amarox", "unit")
    assert split_leaked_supplier("G.L. Pharma GmbH") == ("", "G.L. Pharma GmbH", "clean")
    assert split_leaked_supplier("mg") is None


# --- wgp -----------------------------------------------------------------------------------


def test_wgp_tables_and_a_known_price(imported: dict[str, ImportSummary]) -> None:
    summary = imported["wgp"]
    assert summary.rows == {"products": 15324, "wgp_prices": 158036, "registrations": 10212}
    report, _ = validate_data_dir(summary.out_dir)
    assert [p.table for p in report.problems] == ["shortages"]  # not in the source
    prices = pd.read_parquet(summary.out_dir / "wgp_prices.parquet")
    # raw_2019-04-20.json: ABACAVIR-300-MG-TABLET, Maximumprijs 3.781954, registration 117142
    abacavir = prices[(prices["zi_number"] == "RVG117142")]
    in_force = abacavir[abacavir["valid_from"] <= ts("2019-04-20")].iloc[-1]
    assert in_force["max_price"] == pytest.approx(3.781954)
    products = pd.read_parquet(summary.out_dir / "products.parquet").set_index("zi_number")
    assert products.loc["RVG117142", "gpk"] == "ABACAVIR-300-MG-TABLET"
    assert "not a registration number" in " ".join(summary.rejected_by_reason)


# --- pipeline and command line -------------------------------------------------------------


def test_written_directories_validate(imported: dict[str, ImportSummary]) -> None:
    report, market = validate_data_dir(imported["sfk"].out_dir)
    assert report.ok and market is not None
    assert len(market.shortages) == 1884
    for source in ("preferentie", "wgp"):
        summary = imported[source]
        assert summary.absent_required == ("shortages",)
        report, _ = validate_data_dir(summary.out_dir)
        assert all(p.table == "shortages" for p in report.problems)


def test_rejected_rows_are_written_beside_the_data_directory(
    imported: dict[str, ImportSummary],
) -> None:
    summary = imported["preferentie"]
    assert summary.rejected_path == summary.out_dir.with_name("preferentie.rejected.csv")
    written = pd.read_csv(summary.rejected_path)
    assert list(written.columns) == ["source", "row", "column", "value", "reason"]
    assert len(written) == summary.rejected_rows == 3
    assert not any(p.name.startswith("rejected") for p in summary.out_dir.iterdir())


def test_refuses_to_overwrite_without_permission(imported: dict[str, ImportSummary]) -> None:
    with pytest.raises(FileExistsError):
        run_import("sfk", [SFK_JSON], imported["sfk"].out_dir)


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    return app


def test_cli_import_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "pref"
    args = ["import", "preferentie", str(PREF), "--out", str(out), "--format", "csv"]
    result = CliRunner().invoke(_app(), [*args, "--market-share", "DSW=0.04"])
    assert result.exit_code == 0, result.output
    assert "tenders" in result.stdout and "3,930" in result.stdout
    assert "duplicate row" in result.stdout
    assert "stand-in key" in result.stdout
    assert (
        pd.read_csv(out / "tenders.csv", dtype=str)
        .query("insurer == 'DSW'")["market_share"]
        .eq("0.04")
        .all()
    )
    again = CliRunner().invoke(_app(), args)
    assert again.exit_code == 1 and "not empty" in again.stderr
    assert CliRunner().invoke(_app(), [*args, "--overwrite"]).exit_code == 0


def test_cli_import_errors_exit_one(tmp_path: Path) -> None:
    runner = CliRunner()
    wrong = runner.invoke(_app(), ["import", "wgp", str(PREF), "--out", str(tmp_path / "w")])
    assert wrong.exit_code == 1 and "not a recognised wgp input" in wrong.stderr
    missing = runner.invoke(_app(), ["import", "sfk", "nope.json", "--out", str(tmp_path / "s")])
    assert missing.exit_code == 1 and "no such file" in missing.stderr
    option = runner.invoke(
        _app(),
        ["import", "sfk", str(SFK_JSON), "--out", str(tmp_path / "s"), "--market-share", "CZ=2"],
    )
    assert option.exit_code == 1 and "unknown option" in option.stderr
    assert not (tmp_path / "s").exists()
    help_text = runner.invoke(_app(), ["import", "--help"])
    assert help_text.exit_code == 0 and "--out" in help_text.stdout
