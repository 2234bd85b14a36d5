"""Shared fixtures: a tiny valid data directory written as a user would export it."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_TABLES: dict[str, str] = {
    "products": (
        "zi_number,name,gpk,atc,mah,dosage_form,is_originator,market_entry,market_exit\n"
        "00012345,Amoxicilline 500 mg,00000101,J01CA04,Sandoz,capsule,false,2015-01-01,\n"
        "00012346,Amoxicilline 500 mg,00000101,J01CA04,Aurobindo,capsule,false,2016-03-01,\n"
        "00023456,Metoprolol 50 mg tablet,00000202,C07AB02,Teva,tablet,true,2010-06-01,2024-01-01\n"
    ),
    "shortages": (
        "zi_number,start_date,end_date,reported_on,reason\n"
        "00012345,2021-01-04,2021-02-15,2021-01-06,production\n"
        "00012345,2022-03-07,,2022-03-07,quality\n"
        "00023456,2020-05-04,2020-05-11,,logistics\n"
    ),
    "wgp_prices": (
        "zi_number,valid_from,max_price\n"
        "00012345,2020-04-01,9.80\n"
        "00012345,2020-10-01,9.10\n"
        "00023456,2020-04-01,31.00\n"
    ),
    "list_prices": (
        "zi_number,valid_from,aip\n"
        "00012345,2020-01-01,8.50\n"
        "00012346,2020-01-01,8.75\n"
        "00023456,2020-01-01,29.00\n"
    ),
    "gvs_limits": (
        "zi_number,valid_from,cluster,limit_price\n"
        "00012345,2020-01-01,0J01CAAO V,9.00\n"
        "00023456,2020-01-01,,\n"
    ),
    "tenders": (
        "insurer,gpk,zi_number,valid_from,valid_to,market_share\n"
        "VGZ,00000101,00012345,2020-07-01,2022-07-01,0.25\n"
        "CZ,00000101,00012346,2021-01-01,2023-01-01,0.21\n"
    ),
    "registrations": (
        "rvg_number,gpk,mah,registered_on,withdrawn_on\n"
        "RVG 100001,00000101,Sandoz,2010-01-01,\n"
        "RVG 100002,00000101,Aurobindo,2012-01-01,\n"
        "RVG 100003,00000202,Teva,2005-01-01,2024-01-01\n"
    ),
    "notifications": (
        "zi_number,notified_on,expected_start,expected_end\n"
        "00012345,2020-11-16,2021-01-04,2021-03-01\n"
    ),
    "critical_list": (
        "gpk,atc,category,valid_from\n00000101,,red,2023-01-01\n,C07,orange,2023-06-01\n"
    ),
}


def write_tables(directory: Path, tables: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (directory / f"{name}.csv").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    return write_tables(tmp_path / "data", TINY_TABLES)
