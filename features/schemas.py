"""Pandera schemas of the contract tables, derived from ``features.contract``.

The schemas check what can be checked within one typed table: presence of
values, ranges, keys, intervals and table-specific rules. Parsing (is this a
date?) happens before, in ``features.io``; rules across tables (does this pack
exist?) after, in ``features.validation``.

Each dataframe-level check is named ``"<column>: <rule>"`` so that a failure
can be reported against the column a user has to fix.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import pandera.pandas as pa

from features.contract import CRITICAL_CATEGORIES, TABLES, ColumnSpec, Interval, TableSpec
from features.market import PANDAS_DTYPE

RULE_SEPARATOR = ": "


def _column_checks(col: ColumnSpec) -> list[pa.Check]:
    checks = []
    if col.min_value is not None:
        checks.append(pa.Check.ge(col.min_value, error=f"must be >= {col.min_value:g}"))
    if col.max_value is not None:
        checks.append(pa.Check.le(col.max_value, error=f"must be <= {col.max_value:g}"))
    return checks


def _interval_check(interval: Interval) -> pa.Check:
    relation = "after" if interval.strict else "on or after"

    def ordered(frame: pd.DataFrame) -> pd.Series:
        start, end = frame[interval.start], frame[interval.end]
        wrong = (end <= start) if interval.strict else (end < start)
        return ~(wrong.fillna(False).astype(bool))

    return pa.Check(
        ordered, name=f"{interval.end}{RULE_SEPARATOR}must be {relation} {interval.start}"
    )


def _table_rules(spec: TableSpec) -> list[pa.Check]:
    """Rules that the column-level contract cannot express."""
    rules: list[pa.Check] = []
    if spec.name == "gvs_limits":
        rules.append(
            pa.Check(
                lambda f: ~(f["limit_price"].notna() & f["cluster"].isna()),
                name=f"limit_price{RULE_SEPARATOR}a limit needs a cluster (annex 1B has neither)",
            )
        )
    if spec.name == "critical_list":
        rules.append(
            pa.Check(
                lambda f: f["gpk"].notna() | f["atc"].notna(),
                name=f"gpk{RULE_SEPARATOR}one of gpk or atc must be given",
            )
        )
        allowed = ", ".join(CRITICAL_CATEGORIES)
        rules.append(
            pa.Check(
                lambda f: f["category"].isin(CRITICAL_CATEGORIES) | f["category"].isna(),
                name=f"category{RULE_SEPARATOR}must be one of {allowed}",
            )
        )
    if "atc" in spec.column_names:
        rules.append(
            pa.Check(
                lambda f: f["atc"].isna() | f["atc"].str.len().le(7),
                name=f"atc{RULE_SEPARATOR}an ATC code has at most 7 characters",
            )
        )
    return rules


@cache
def schema_for(table: str) -> pa.DataFrameSchema:
    """The pandera schema of one contract table (typed as ``features.market``)."""
    spec = TABLES[table]
    columns = {
        col.name: pa.Column(
            PANDAS_DTYPE[col.kind] if col.kind != "text" and col.kind != "id" else None,
            nullable=col.nullable,
            checks=_column_checks(col),
            required=True,
        )
        for col in spec.columns
    }
    checks = [_interval_check(i) for i in spec.intervals] + _table_rules(spec)
    return pa.DataFrameSchema(
        columns,
        checks=checks,
        unique=list(spec.key) if spec.key else None,
        report_duplicates="all",
        name=table,
    )
