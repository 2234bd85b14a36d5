"""The one place that lists the features: names, meanings, dtypes, checksum, reference doc."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from features.contract import DEFAULT_MIN_SHORTAGE_DAYS
from features.families.base import Feature, FeatureFamily
from features.families.calendar import CALENDAR
from features.families.gvs import COPAY, GVS
from features.families.history import HISTORY
from features.families.notifications import NOTIFICATIONS
from features.families.price import HEADROOM, LIST_PRICE, MAX_PRICE
from features.families.product import CRITICAL, PRODUCT
from features.families.suppliers import SIBLINGS, SUPPLIERS
from features.families.tender import TENDER
from features.labels import DEFAULT_HORIZONS, label_name
from features.market import Market

FAMILIES: tuple[FeatureFamily, ...] = (
    LIST_PRICE,
    MAX_PRICE,
    HEADROOM,
    GVS,
    COPAY,
    TENDER,
    SUPPLIERS,
    SIBLINGS,
    HISTORY,
    NOTIFICATIONS,
    PRODUCT,
    CRITICAL,
    CALENDAR,
)

ID_COLUMNS = ("zi_number", "as_of")


@dataclass(frozen=True)
class FamilySelection:
    """Families that can run on a market, and the skipped ones with their missing tables."""

    used: tuple[FeatureFamily, ...]
    skipped: dict[str, tuple[str, ...]]

    @property
    def features(self) -> tuple[Feature, ...]:
        return tuple(f for family in self.used for f in family.features)


def all_features() -> tuple[tuple[FeatureFamily, Feature], ...]:
    return tuple((family, f) for family in FAMILIES for f in family.features)


def feature_names() -> tuple[str, ...]:
    return tuple(f.name for _, f in all_features())


def select_families(market: Market) -> FamilySelection:
    """Skip every family that reads an absent table (never fill its features with zeros)."""
    missing = set(market.missing_tables)
    used, skipped = [], {}
    for family in FAMILIES:
        absent = tuple(t for t in family.tables if t in missing)
        if absent:
            skipped[family.name] = absent
        else:
            used.append(family)
    return FamilySelection(tuple(used), skipped)


def feature_checksum(features: tuple[Feature, ...] | None = None) -> str:
    """Hash of names, dtypes and meanings: changes whenever a feature's definition does."""
    chosen = features if features is not None else tuple(f for _, f in all_features())
    text = "\n".join(f"{f.name}\t{f.kind}\t{f.meaning}" for f in chosen)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_unique_names() -> None:
    names = feature_names()
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"feature names defined twice: {duplicated}")


_check_unique_names()


def _sources(family: FeatureFamily) -> str:
    return ", ".join(family.tables) or "none (the as-of date)"


def render_feature_reference() -> str:
    """The feature reference (docs/features.md), rendered from the registry."""
    lines = [
        "# Feature reference",
        "",
        "<!-- Generated from features/registry.py by"
        " `python -m pipelines.feature_panel --docs docs/features.md`; do not edit. -->",
        "",
        "One row per (pack, as-of Monday t) for packs on the market at t (market_entry <= t"
        " or empty, market_exit empty or after t) and not in a known shortage at t"
        " (an episode with reported_on <= t, start_date <= t and end_date empty or after t).",
        "Every feature uses only what was known on t: rows with reported_on / notified_on /"
        " valid_from / registered_on <= t, and an end date only once it is <= t.",
        "Numeric features are float32 (NaN: unknown); categorical features have categories"
        " sorted from the full products table (critical category: the contract's).",
        "A family whose optional table is absent is skipped and reported, not zero-filled.",
        "",
        "An episode that starts on t and is reported on t makes the pack short at t (no row);"
        " one reported later leaves the row in, with onset labels 1 and no trace in the features."
        " Tender designation periods are published with their end, so valid_to is known from"
        " valid_from.",
        "",
        f"Feature checksum: `{feature_checksum()}`",
        "",
        "## Labels",
        "",
        "| name | meaning |",
        "|---|---|",
    ]
    for h in DEFAULT_HORIZONS:
        lines.append(
            f"| `{label_name(h)}` | 1 when an episode of the pack lasting at least"
            f" {DEFAULT_MIN_SHORTAGE_DAYS} days (configurable) starts in [t, t + {7 * h} days);"
            " NaN when the data cannot tell yet (horizon past the observation end, or an"
            " ongoing episode still shorter than the minimum) |"
        )
    lines += [
        "",
        "Labels use event dates (start_date, end_date), not reported_on. The observation end"
        " defaults to the latest date in the shortages, notifications and price tables.",
        "",
        "## Features",
        "",
        "| name | family | dtype | source tables | meaning |",
        "|---|---|---|---|---|",
    ]
    for family, f in all_features():
        lines.append(
            f"| `{f.name}` | {family.name} | {f.kind} | {_sources(family)} | {f.meaning} |"
        )
    lines += ["", "## Families", "", "| family | reads | meaning |", "|---|---|---|"]
    for family in FAMILIES:
        lines.append(f"| {family.name} | {_sources(family)} | {family.meaning} |")
    return "\n".join(lines) + "\n"
