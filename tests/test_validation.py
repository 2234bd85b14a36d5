"""Bad input of every kind gets a clear, located error; good input loads exactly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from features.io import write_market
from features.validation import InvalidDataError, load_market, validate_data_dir
from tests.conftest import TINY_TABLES, write_tables

Edit = Callable[[dict[str, str]], None]


def _replace(table: str, old: str, new: str) -> Edit:
    def edit(tables: dict[str, str]) -> None:
        assert old in tables[table], f"test setup: {old!r} not in {table}"
        tables[table] = tables[table].replace(old, new, 1)

    return edit


def _append(table: str, line: str) -> Edit:
    def edit(tables: dict[str, str]) -> None:
        tables[table] += line + "\n"

    return edit


# (edit, file, column, words in the rule, CSV lines named)
BAD_INPUT = {
    "missing_column": (
        _replace("products", "name,gpk,", "name,"),
        "products.csv",
        "gpk",
        "required column is missing",
        (),
    ),
    "bad_calendar_date": (
        _replace("shortages", "2021-01-04,2021-02-15", "2021-13-04,2021-02-15"),
        "shortages.csv",
        "start_date",
        "not a date",
        (2,),
    ),
    "non_iso_date": (
        _replace("list_prices", "00012346,2020-01-01", "00012346,01-01-2020"),
        "list_prices.csv",
        "valid_from",
        "ISO format",
        (3,),
    ),
    "negative_price": (
        _replace("wgp_prices", "9.10", "-9.10"),
        "wgp_prices.csv",
        "max_price",
        "must be >= 0",
        (3,),
    ),
    "not_a_number": (
        _replace("list_prices", "29.00", "n/a"),
        "list_prices.csv",
        "aip",
        "not a number",
        (4,),
    ),
    "duplicate_key": (
        _append("products", "00012345,Duplicate,00000101,J01CA04,X,capsule,false,2015-01-01,"),
        "products.csv",
        "zi_number",
        "duplicate key",
        (2, 5),
    ),
    "duplicate_composite_key": (
        _append("list_prices", "00012345,2020-01-01,8.60"),
        "list_prices.csv",
        "zi_number, valid_from",
        "duplicate key",
        (2, 5),
    ),
    "end_before_start": (
        _replace("shortages", "2021-01-04,2021-02-15", "2021-01-04,2020-12-01"),
        "shortages.csv",
        "end_date",
        "must be after start_date",
        (2,),
    ),
    "empty_interval": (
        _replace("tenders", "2021-01-01,2023-01-01", "2021-01-01,2021-01-01"),
        "tenders.csv",
        "valid_to",
        "must be after valid_from",
        (3,),
    ),
    "withdrawn_before_registered": (
        _replace("registrations", "2005-01-01,2024-01-01", "2005-01-01,2004-01-01"),
        "registrations.csv",
        "withdrawn_on",
        "must be after registered_on",
        (4,),
    ),
    "expected_end_before_start": (
        _replace("notifications", "2021-01-04,2021-03-01", "2021-01-04,2020-12-01"),
        "notifications.csv",
        "expected_end",
        "on or after expected_start",
        (2,),
    ),
    "unknown_pack_in_shortages": (
        _append("shortages", "99999999,2021-01-04,,,"),
        "shortages.csv",
        "zi_number",
        "unknown zi_number",
        (5,),
    ),
    "unknown_pack_in_prices": (
        _append("list_prices", "00099999,2021-01-01,3.10"),
        "list_prices.csv",
        "zi_number",
        "not in products",
        (5,),
    ),
    "share_above_one": (
        _replace("tenders", "0.25", "1.25"),
        "tenders.csv",
        "market_share",
        "must be <= 1",
        (2,),
    ),
    "missing_value_in_required_column": (
        _replace("products", "Metoprolol 50 mg tablet,00000202", "Metoprolol 50 mg tablet,"),
        "products.csv",
        "gpk",
        "value is missing",
        (4,),
    ),
    "not_a_boolean": (
        _replace("products", "capsule,false,2015", "capsule,maybe,2015"),
        "products.csv",
        "is_originator",
        "not a boolean",
        (2,),
    ),
    "overlapping_episodes": (
        _append("shortages", "00012345,2021-02-01,2021-03-01,2021-02-01,demand"),
        "shortages.csv",
        "start_date",
        "overlaps an earlier episode",
        (5,),
    ),
    "limit_without_cluster": (
        _replace("gvs_limits", "00023456,2020-01-01,,", "00023456,2020-01-01,,12.00"),
        "gvs_limits.csv",
        "limit_price",
        "needs a cluster",
        (3,),
    ),
    "critical_entry_without_gpk_or_atc": (
        _append("critical_list", ",,red,2024-01-01"),
        "critical_list.csv",
        "gpk",
        "one of gpk or atc",
        (4,),
    ),
    "unknown_critical_category": (
        _replace("critical_list", "red", "purple"),
        "critical_list.csv",
        "category",
        "must be one of red, orange",
        (2,),
    ),
    "atc_too_long": (
        _replace("products", "C07AB02", "C07AB02X"),
        "products.csv",
        "atc",
        "at most 7 characters",
        (4,),
    ),
    "empty_file": (
        _replace("registrations", TINY_TABLES["registrations"], ""),
        "registrations.csv",
        None,
        "empty",
        (),
    ),
    "products_without_rows": (
        _replace("products", TINY_TABLES["products"], TINY_TABLES["products"].splitlines()[0]),
        "products.csv",
        None,
        "no rows",
        (),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_reported_with_file_column_rule_and_rows(tmp_path: Path, case: str) -> None:
    edit, file, column, rule, lines = BAD_INPUT[case]
    tables = dict(TINY_TABLES)
    edit(tables)
    report, market = validate_data_dir(write_tables(tmp_path / "data", tables))
    assert market is None and not report.ok
    matching = [p for p in report.problems if p.file == file and rule in p.rule]
    assert matching, f"no problem for {file} / {rule!r} in:\n{report.describe()}"
    problem = matching[0]
    assert problem.column == column
    assert problem.rows == lines
    text = problem.describe()
    assert file in text and rule in text
    if column:
        assert column in text


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    data = write_tables(tmp_path / "data", TINY_TABLES)
    text = TINY_TABLES["products"].replace("Teva", "Téva")
    (data / "products.csv").write_bytes(text.encode("latin-1"))
    report, _ = validate_data_dir(data)
    [problem] = [p for p in report.problems if p.file == "products.csv"]
    assert "not UTF-8" in problem.rule and "line 4" in problem.rule


def test_missing_required_table(tmp_path: Path) -> None:
    tables = {k: v for k, v in TINY_TABLES.items() if k != "shortages"}
    report, _ = validate_data_dir(write_tables(tmp_path / "data", tables))
    assert [p.rule for p in report.problems] == [
        "required table is missing (shortages.csv or shortages.parquet)"
    ]


def test_missing_data_directory(tmp_path: Path) -> None:
    report, market = validate_data_dir(tmp_path / "nowhere")
    assert market is None and "does not exist" in report.describe()


def test_table_in_both_formats_is_ambiguous(tiny_dir: Path) -> None:
    pd.DataFrame({"zi_number": ["00012345"]}).to_parquet(tiny_dir / "list_prices.parquet")
    report, _ = validate_data_dir(tiny_dir)
    assert any("both list_prices.csv and list_prices.parquet" in p.rule for p in report.problems)


def test_parquet_identifier_stored_as_integer_is_refused(tiny_dir: Path) -> None:
    (tiny_dir / "list_prices.csv").unlink()
    frame = pd.DataFrame(
        {"zi_number": [12345], "valid_from": pd.to_datetime(["2020-01-01"]), "aip": [8.5]}
    )
    frame.to_parquet(tiny_dir / "list_prices.parquet")
    report, _ = validate_data_dir(tiny_dir)
    [problem] = report.problems
    assert problem.column == "zi_number" and "leading zeros" in problem.rule
    assert problem.rows == (1,) and problem.row_word == "row"


def test_corrupt_parquet_is_reported(tiny_dir: Path) -> None:
    (tiny_dir / "tenders.csv").unlink()
    (tiny_dir / "tenders.parquet").write_bytes(b"PAR1 not really parquet")
    report, _ = validate_data_dir(tiny_dir)
    assert any(p.file == "tenders.parquet" and "Parquet" in p.rule for p in report.problems)


def test_all_problems_of_all_tables_come_in_one_report(tmp_path: Path) -> None:
    tables = dict(TINY_TABLES)
    for case in ("negative_price", "bad_calendar_date", "duplicate_key", "share_above_one"):
        BAD_INPUT[case][0](tables)
    report, _ = validate_data_dir(write_tables(tmp_path / "data", tables))
    files = {p.file for p in report.problems}
    assert files == {"wgp_prices.csv", "shortages.csv", "products.csv", "tenders.csv"}


def test_many_offending_rows_are_summarised(tmp_path: Path) -> None:
    tables = dict(TINY_TABLES)
    tables["list_prices"] += "".join(f"00012345,2021-{m:02d}-01,-1\n" for m in range(1, 9))
    report, _ = validate_data_dir(write_tables(tmp_path / "data", tables))
    [problem] = report.problems
    assert problem.count == 8 and len(problem.rows) == 5
    assert problem.rows == (5, 6, 7, 8, 9)
    assert "and 3 more" in problem.describe()


def test_load_market_raises_with_the_report(tmp_path: Path) -> None:
    tables = dict(TINY_TABLES)
    BAD_INPUT["negative_price"][0](tables)
    with pytest.raises(InvalidDataError, match=r"wgp_prices.csv, column 'max_price'"):
        load_market(write_tables(tmp_path / "data", tables))


def test_valid_directory_loads_typed(tiny_dir: Path) -> None:
    market = load_market(tiny_dir)
    assert market.products["zi_number"].tolist() == ["00012345", "00012346", "00023456"]
    assert market.products["gpk"].iloc[0] == "00000101"
    assert str(market.shortages["start_date"].dtype) == "datetime64[ns]"
    assert market.products["is_originator"].tolist() == [False, False, True]
    assert pd.isna(market.products["market_exit"].iloc[0])


def test_reported_on_defaults_to_start_date(tiny_dir: Path) -> None:
    shortages = load_market(tiny_dir).shortages
    row = shortages[shortages["zi_number"] == "00023456"].iloc[0]
    assert row["reported_on"] == row["start_date"] == pd.Timestamp("2020-05-04")


def test_extra_columns_are_ignored(tmp_path: Path) -> None:
    tables = dict(TINY_TABLES)
    lines = tables["wgp_prices"].splitlines()
    tables["wgp_prices"] = "\n".join(
        [lines[0] + ",source"] + [line + ",annex" for line in lines[1:]]
    )
    market = load_market(write_tables(tmp_path / "data", tables))
    assert market.wgp_prices is not None
    assert list(market.wgp_prices.columns) == ["zi_number", "valid_from", "max_price"]


def test_semicolon_and_decimal_comma_are_read(tmp_path: Path) -> None:
    tables = dict(TINY_TABLES)
    tables["list_prices"] = (
        "zi_number;valid_from;aip\n"
        "00012345;2020-01-01;8,50\n"
        "00012346;2020-01-01;1.234,75\n"
        "00023456;2020-01-01;29\n"
    )
    market = load_market(write_tables(tmp_path / "data", tables))
    assert market.list_prices is not None
    assert market.list_prices["aip"].tolist() == [8.5, 1234.75, 29.0]


def test_optional_tables_absent_are_fine_and_reported(tmp_path: Path) -> None:
    tables = {k: TINY_TABLES[k] for k in ("products", "shortages")}
    report, market = validate_data_dir(write_tables(tmp_path / "data", tables))
    assert report.ok and market is not None
    assert market.tenders is None
    assert set(report.absent_tables) == {
        "wgp_prices", "list_prices", "gvs_limits", "tenders",
        "registrations", "notifications", "critical_list",
    }  # fmt: skip


def test_summary_counts_rows_dates_and_packs(tiny_dir: Path) -> None:
    report, _ = validate_data_dir(tiny_dir)
    shortages = next(s for s in report.summaries if s.table == "shortages")
    assert (shortages.rows, shortages.packs) == (3, 2)
    assert shortages.first_date == pd.Timestamp("2020-05-04")
    assert shortages.last_date == pd.Timestamp("2022-03-07")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_then_load_round_trips(tiny_dir: Path, tmp_path: Path, fmt: str) -> None:
    market = load_market(tiny_dir)
    write_market(market, tmp_path / "copy", fmt=fmt)
    again = load_market(tmp_path / "copy")
    for name, frame in market.present():
        pd.testing.assert_frame_equal(frame, again.table(name), check_dtype=True)


def test_write_market_refuses_to_clobber(tiny_dir: Path, tmp_path: Path) -> None:
    market = load_market(tiny_dir)
    target = tmp_path / "out"
    write_market(market, target)
    with pytest.raises(FileExistsError):
        write_market(market, target)
    assert sorted(p.name for p in target.iterdir()) == sorted(
        f"{name}.parquet" for name, _ in market.present()
    )


def test_all_missing_optional_columns_round_trip_through_csv(
    tiny_dir: Path, tmp_path: Path
) -> None:
    import dataclasses

    market = load_market(tiny_dir)
    products = market.products.assign(is_originator=pd.NA, market_entry=pd.NaT)
    market = dataclasses.replace(market, products=products.astype(market.products.dtypes))
    write_market(market, tmp_path / "copy", fmt="csv")
    assert "<NA>" not in (tmp_path / "copy" / "products.csv").read_text()
    report, again = validate_data_dir(tmp_path / "copy")
    assert report.ok and again is not None
    pd.testing.assert_frame_equal(again.products, market.products)


def test_unparseable_and_missing_values_in_one_table_are_reported_once_each(
    tmp_path: Path,
) -> None:
    tables = dict(TINY_TABLES)
    tables["list_prices"] = (
        "zi_number,valid_from,aip\n00012345,2020-01-01,abc\n00012346,,8.75\n00023456,2020-01-01,29\n"
    )
    report, _ = validate_data_dir(write_tables(tmp_path / "data", tables))
    rules = sorted((p.column or "", p.rule, p.rows) for p in report.problems)
    assert rules == [("aip", "not a number", (2,)), ("valid_from", "value is missing", (3,))]
