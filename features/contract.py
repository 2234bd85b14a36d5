"""The input data contract (`shared/data-contract.md`) as code.

Every loader, validator and generator reads its column names, types, keys and
rules from here, so the contract is defined exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["id", "text", "date", "float", "bool"]


@dataclass(frozen=True)
class ColumnSpec:
    """One contract column; ``required`` columns must be present in the file."""

    name: str
    kind: ColumnKind
    required: bool = True
    nullable: bool = False
    min_value: float | None = None
    max_value: float | None = None
    meaning: str = ""


@dataclass(frozen=True)
class Reference:
    """``column`` of this table must be a value of ``target_column`` in ``target_table``."""

    column: str
    target_table: str
    target_column: str


@dataclass(frozen=True)
class Interval:
    """``end`` (when given) must come after ``start``; ``strict`` forbids equality."""

    start: str
    end: str
    strict: bool = True


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: bool
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()
    intervals: tuple[Interval, ...] = ()
    references: tuple[Reference, ...] = ()
    meaning: str = ""
    # Date columns that define when a row became known (point-in-time).
    known_from: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


_PACK_REF = Reference("zi_number", "products", "zi_number")

PRODUCTS = TableSpec(
    name="products",
    required=True,
    meaning="product master, one row per pack",
    key=("zi_number",),
    columns=(
        ColumnSpec("zi_number", "id", meaning="pack identifier (ZI-nummer)"),
        ColumnSpec("name", "text", meaning="human-readable product name"),
        ColumnSpec("gpk", "id", meaning="generic product code (unit of interchangeability)"),
        ColumnSpec("atc", "id", required=False, nullable=True, meaning="ATC code"),
        ColumnSpec("mah", "text", required=False, nullable=True, meaning="supplier"),
        ColumnSpec("dosage_form", "text", required=False, nullable=True),
        ColumnSpec("is_originator", "bool", required=False, nullable=True),
        ColumnSpec("market_entry", "date", required=False, nullable=True),
        ColumnSpec("market_exit", "date", required=False, nullable=True),
    ),
    intervals=(Interval("market_entry", "market_exit"),),
)

SHORTAGES = TableSpec(
    name="shortages",
    required=True,
    meaning="historical shortage episodes, one row per episode",
    key=("zi_number", "start_date"),
    columns=(
        ColumnSpec("zi_number", "id"),
        ColumnSpec("start_date", "date", meaning="first day of unavailability"),
        ColumnSpec("end_date", "date", required=False, nullable=True),
        ColumnSpec("reported_on", "date", required=False, nullable=True),
        ColumnSpec("reason", "text", required=False, nullable=True),
    ),
    intervals=(Interval("start_date", "end_date"),),
    references=(_PACK_REF,),
    known_from=("reported_on",),
)

WGP_PRICES = TableSpec(
    name="wgp_prices",
    required=False,
    meaning="Wgp maximum prices",
    key=("zi_number", "valid_from"),
    columns=(
        ColumnSpec("zi_number", "id"),
        ColumnSpec("valid_from", "date"),
        ColumnSpec("max_price", "float", min_value=0.0),
    ),
    references=(_PACK_REF,),
    known_from=("valid_from",),
)

LIST_PRICES = TableSpec(
    name="list_prices",
    required=False,
    meaning="pharmacy purchase price (AIP)",
    key=("zi_number", "valid_from"),
    columns=(
        ColumnSpec("zi_number", "id"),
        ColumnSpec("valid_from", "date"),
        ColumnSpec("aip", "float", min_value=0.0),
    ),
    references=(_PACK_REF,),
    known_from=("valid_from",),
)

GVS_LIMITS = TableSpec(
    name="gvs_limits",
    required=False,
    meaning="GVS reimbursement clusters and limits",
    key=("zi_number", "valid_from"),
    columns=(
        ColumnSpec("zi_number", "id"),
        ColumnSpec("valid_from", "date"),
        ColumnSpec("cluster", "id", required=False, nullable=True),
        ColumnSpec("limit_price", "float", required=False, nullable=True, min_value=0.0),
    ),
    references=(_PACK_REF,),
    known_from=("valid_from",),
)

TENDERS = TableSpec(
    name="tenders",
    required=False,
    meaning="insurer preference designations",
    key=("insurer", "gpk", "zi_number", "valid_from"),
    columns=(
        ColumnSpec("insurer", "text"),
        ColumnSpec("gpk", "id"),
        ColumnSpec("zi_number", "id"),
        ColumnSpec("valid_from", "date"),
        ColumnSpec("valid_to", "date"),
        ColumnSpec(
            "market_share", "float", required=False, nullable=True, min_value=0.0, max_value=1.0
        ),
    ),
    intervals=(Interval("valid_from", "valid_to"),),
    references=(_PACK_REF,),
    known_from=("valid_from",),
)

REGISTRATIONS = TableSpec(
    name="registrations",
    required=False,
    meaning="marketing authorisations per GPK",
    key=("rvg_number",),
    columns=(
        ColumnSpec("rvg_number", "id"),
        ColumnSpec("gpk", "id"),
        ColumnSpec("mah", "text"),
        ColumnSpec("registered_on", "date"),
        ColumnSpec("withdrawn_on", "date", required=False, nullable=True),
    ),
    intervals=(Interval("registered_on", "withdrawn_on"),),
    known_from=("registered_on",),
)

NOTIFICATIONS = TableSpec(
    name="notifications",
    required=False,
    meaning="Meldpunt notifications of expected supply interruptions",
    key=("zi_number", "notified_on", "expected_start"),
    columns=(
        ColumnSpec("zi_number", "id"),
        ColumnSpec("notified_on", "date"),
        ColumnSpec("expected_start", "date"),
        ColumnSpec("expected_end", "date", required=False, nullable=True),
    ),
    intervals=(Interval("expected_start", "expected_end", strict=False),),
    references=(_PACK_REF,),
    known_from=("notified_on",),
)

CRITICAL_LIST = TableSpec(
    name="critical_list",
    required=False,
    meaning="national list of critical medicines",
    key=("gpk", "atc", "valid_from"),
    columns=(
        ColumnSpec("gpk", "id", required=False, nullable=True),
        ColumnSpec("atc", "id", required=False, nullable=True),
        ColumnSpec("category", "text"),
        ColumnSpec("valid_from", "date"),
    ),
    known_from=("valid_from",),
)

CRITICAL_CATEGORIES = ("red", "orange")

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        PRODUCTS,
        SHORTAGES,
        WGP_PRICES,
        LIST_PRICES,
        GVS_LIMITS,
        TENDERS,
        REGISTRATIONS,
        NOTIFICATIONS,
        CRITICAL_LIST,
    )
}
REQUIRED_TABLES = tuple(name for name, t in TABLES.items() if t.required)
OPTIONAL_TABLES = tuple(name for name, t in TABLES.items() if not t.required)

# KNMP definition: a pack nationally unavailable for at least 14 days.
DEFAULT_MIN_SHORTAGE_DAYS = 14
