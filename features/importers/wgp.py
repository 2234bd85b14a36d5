"""Wgp maximum-price annex -> ``wgp_prices``, ``products`` and ``registrations``.

The annex of the Regeling maximumprijzen lists, per product group (substance,
strength, form), a maximum price per unit and the registered articles in the
group. It has no ZI-nummers, so the registration number as listed stands in
for the pack, the product group for the GPK, and the base registration (the
parallel-import prefix removed) for the registration holder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from features.importers.base import (
    ImporterError,
    ImportResult,
    check_options,
    make_result,
    rejected_rows,
    split_inputs,
    squash_spaces,
)

SOURCE = "wgp"
OPTIONS = ()
PACK_PREFIX = "RVG"
_INPUT_KINDS = {
    "articles": "basis_registratienummer",
    "panel": "maximumprijs",
}
# A registration: national RVG numbers (``12605``, parallel ``23840/12605``,
# ``31034//26872``, ``20708=14225``) or central ``EU/1/99/112/002``.
_REGISTRATION = re.compile(r"^(?:EU/\d/\d{2}/\d+/\d+|\d+(?:\s*(?://|/|=)\s*\d+)*)$")


def pack_id(registration: str) -> str:
    """Stand-in pack id: ``RVG`` + the listed registration, EU numbers as they are."""
    return registration if registration.startswith("EU/") else f"{PACK_PREFIX}{registration}"


def dosage_form(group: str) -> str:
    """The form part of ``OMEPRAZOLE-20-MG-CAPSULE, MAAGSAPRESISTENT`` (``capsule, ...``)."""
    parts = group.split("-")
    return parts[3].strip().lower() if len(parts) >= 4 else ""


def read_csv_lines(path: Path) -> pd.DataFrame:
    """A derived CSV as text, with the line number a user sees (header is line 1)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["line"] = np.arange(2, len(frame) + 2)
    return frame


def group_prices(panel: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """One maximum price per (peildatum, productgroep); conflicting repeats are rejected."""
    price = pd.to_numeric(panel["maximumprijs"], errors="coerce")
    date = pd.to_datetime(panel["peildatum"], format="%Y-%m-%d", errors="coerce")
    bad_date = date.isna()
    bad_price = ~bad_date & (price.isna() | (price < 0))
    rejected = [
        rejected_rows(panel[bad_date], source, "line", "peildatum", "peildatum", "not an ISO date"),
        rejected_rows(
            panel[bad_price],
            source,
            "line",
            "maximumprijs",
            "maximumprijs",
            "maximum price missing or negative",
        ),
    ]
    ok = panel[~bad_date & ~bad_price].assign(date=date, price=price)
    ok = ok.drop_duplicates(["date", "productgroep", "price"])
    clash = ok.duplicated(["date", "productgroep"], keep=False)
    rejected.append(
        rejected_rows(
            ok[clash],
            source,
            "line",
            "maximumprijs",
            "maximumprijs",
            "product group listed twice on one date with different maximum prices",
        )
    )
    return ok[~clash][["date", "productgroep", "price", "eenheid"]], rejected


def import_wgp(inputs: Sequence[Path], **options: object) -> ImportResult:
    """Convert the product-group panel and the article list into contract tables."""
    check_options(SOURCE, options, OPTIONS)
    files = split_inputs(inputs, _INPUT_KINDS, SOURCE)
    if len(files["articles"]) != 1 or len(files["panel"]) != 1:
        raise ImporterError(
            "wgp needs the product-group panel (wgp_maxprijzen_productgroep_panel.csv.gz) "
            "and the article list (wgp_maxprijzen_artikelen_long.csv.gz), one of each"
        )
    panel_path, articles_path = files["panel"][0], files["articles"][0]
    prices, rejected = group_prices(read_csv_lines(panel_path), panel_path.name)
    articles = read_csv_lines(articles_path)
    articles["registratienummer"] = squash_spaces(articles["registratienummer"])
    not_reg = ~articles["registratienummer"].str.match(_REGISTRATION)
    rejected.append(
        rejected_rows(
            articles[not_reg],
            articles_path.name,
            "line",
            "registratienummer",
            "registratienummer",
            "not a registration number (header or group text in the cell)",
        )
    )
    articles = articles[~not_reg].assign(
        date=pd.to_datetime(articles["peildatum"], format="%Y-%m-%d", errors="coerce")
    )
    joined = articles.merge(prices, on=["date", "productgroep"], how="left")
    no_price = joined["price"].isna()
    rejected.append(
        rejected_rows(
            joined[no_price],
            articles_path.name,
            "line",
            "productgroep",
            "productgroep",
            "no usable maximum price for the group on this date",
        )
    )
    joined = joined[~no_price].copy()
    joined["zi_number"] = joined["registratienummer"].map(pack_id)
    listed = joined.drop_duplicates(["zi_number", "date", "price"])
    clash = listed.duplicated(["zi_number", "date"], keep=False)
    rejected.append(
        rejected_rows(
            listed[clash],
            articles_path.name,
            "line",
            "registratienummer",
            "registratienummer",
            "registration listed in groups with different maximum prices on one date",
        )
    )
    listed = listed[~clash].sort_values(["zi_number", "date"])
    snapshots = sorted(prices["date"].unique())
    wgp_prices = _price_changes(listed)
    products = _products(listed, snapshots)
    registrations = _registrations(joined, snapshots)
    notes = [
        f"{len(snapshots)} annex snapshots {snapshots[0]:%Y-%m-%d} .. {snapshots[-1]:%Y-%m-%d}; "
        "valid_from is the snapshot date (peildatum), not the legal start (1 April / 1 October)",
        "no ZI-nummers in the annex: the listed registration number stands in for the pack "
        f"({PACK_PREFIX}<number>, EU numbers as they are); several packs of one registration "
        "collapse into one",
        "max_price is the maximum price per unit (eenheid: stuk, ml, g ...), not per pack: "
        "pack sizes are not in the annex",
        f"wgp_prices keeps a row only when a pack's price changes: {len(wgp_prices)} of "
        f"{len(listed)} pack-snapshot rows",
        "market_entry/market_exit and registered_on/withdrawn_on are the first snapshot with "
        "and the first snapshot without the listing; listings already in the first snapshot "
        "are left-censored",
        "the MAH is not in the annex: registrations.mah is the base registration itself, so "
        "the supplier count is a count of base registrations (one holder with several "
        "registrations in a group counts several times)",
        "no ATC codes; names are English INN group names, not Dutch G-Standaard names",
    ]
    tables = {"products": products, "wgp_prices": wgp_prices, "registrations": registrations}
    return make_result(SOURCE, tables, rejected, notes)


def _price_changes(listed: pd.DataFrame) -> pd.DataFrame:
    """Per pack, the snapshots where its maximum price differs from the previous one."""
    previous = listed.groupby("zi_number")["price"].shift()
    changed = previous.isna() | (listed["price"] != previous)
    rows = listed[changed]
    return pd.DataFrame(
        {"zi_number": rows["zi_number"], "valid_from": rows["date"], "max_price": rows["price"]}
    ).reset_index(drop=True)


def _listing_span(frame: pd.DataFrame, key: str, snapshots: list[pd.Timestamp]) -> pd.DataFrame:
    """First snapshot with the listing, and the first snapshot after its last one."""
    span = frame.groupby(key)["date"].agg(first="min", last="max")
    following = {
        d: (snapshots[i + 1] if i + 1 < len(snapshots) else pd.NaT) for i, d in enumerate(snapshots)
    }
    span["after"] = span["last"].map(following)
    return span


def _products(listed: pd.DataFrame, snapshots: list[pd.Timestamp]) -> pd.DataFrame:
    """One product per stand-in pack, described by its latest listing."""
    latest = listed.drop_duplicates("zi_number", keep="last").set_index("zi_number")
    span = _listing_span(listed, "zi_number", snapshots).reindex(latest.index)
    return pd.DataFrame(
        {
            "zi_number": latest.index,
            "name": squash_spaces(latest["artikelnaam"]).to_numpy(),
            "gpk": latest["productgroep"].to_numpy(),
            "dosage_form": latest["productgroep"].map(dosage_form).to_numpy(),
            "market_entry": span["first"].to_numpy(),
            "market_exit": span["after"].to_numpy(),
        }
    )


def _registrations(joined: pd.DataFrame, snapshots: list[pd.Timestamp]) -> pd.DataFrame:
    """One registration per base registration number, in its latest product group."""
    base = joined.assign(rvg=squash_spaces(joined["basis_registratienummer"])).sort_values("date")
    latest = base.drop_duplicates("rvg", keep="last").set_index("rvg")
    span = _listing_span(base, "rvg", snapshots).reindex(latest.index)
    return pd.DataFrame(
        {
            "rvg_number": latest.index.map(pack_id),
            "gpk": latest["productgroep"].to_numpy(),
            "mah": [f"registration {pack_id(r)}" for r in latest.index],
            "registered_on": span["first"].to_numpy(),
            "withdrawn_on": span["after"].to_numpy(),
        }
    )
