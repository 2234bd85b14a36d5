"""Plain-language sentences for the features that drive a pack's risk.

A policymaker reads "2 suppliers left, was 4 a year ago", not ``sup_mahs``.
Features without a sentence of their own fall back to their registry meaning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from features.registry import all_features

Row = Mapping[str, object]


def _num(row: Row, name: str) -> float | None:
    value = row.get(name)
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _suppliers(row: Row) -> str | None:
    now = _num(row, "sup_mahs")
    if now is None:
        return None
    change = _num(row, "sup_mahs_change_52w")
    text = f"{now:.0f} supplier{'s' if now != 1 else ''} left"
    if change:
        text += f", was {now - change:.0f} a year ago"
    return text


def _price(row: Row) -> str | None:
    aip = _num(row, "price_aip")
    if aip is None:
        return None
    cheap = " (low-price segment, at most EUR 15)" if aip <= 15 else ""
    return f"pharmacy purchase price EUR {aip:.2f}{cheap}"


def _change(row: Row, name: str, label: str) -> str | None:
    value = _num(row, name)
    if value is None:
        return None
    return f"{label} {'fell' if value < 0 else 'rose'} by {abs(value):.0%}" if value else None


def _history(row: Row) -> str | None:
    n = _num(row, "hist_episodes_156w")
    if n is None:
        return None
    return f"{n:.0f} shortage{'s' if n != 1 else ''} of this pack in the last 3 years"


def _recent(row: Row) -> str | None:
    n = _num(row, "hist_episodes_52w")
    return None if n is None else f"{n:.0f} shortage{'s' if n != 1 else ''} in the last year"


def _since(row: Row) -> str | None:
    weeks = _num(row, "hist_weeks_since_last_end")
    return None if weeks is None else f"last shortage ended {weeks:.0f} weeks ago"


def _siblings(row: Row) -> str | None:
    share = _num(row, "hist_sibling_short_share")
    return None if share is None else f"{share:.0%} of interchangeable packs are short now"


def _atc(row: Row) -> str | None:
    share = _num(row, "hist_atc4_short_share")
    return None if share is None else f"{share:.0%} of packs in its ATC group are short now"


def _notification(row: Row) -> str | None:
    if not _num(row, "notif_open"):
        return "no open supply-interruption notification"
    weeks = _num(row, "notif_weeks_to_expected_start")
    if weeks is None:
        return "an open supply-interruption notification (Meldpunt)"
    if weeks <= 0:
        return "the supplier notified a supply interruption that has already begun"
    return f"the supplier notified an expected supply interruption in {weeks:.0f} weeks"


def _tender(row: Row) -> str | None:
    share = _num(row, "tender_share")
    lost = _num(row, "tender_lost_share")
    if lost:
        return f"lost insurer preference covering {lost:.0%} of insured people"
    if share:
        return f"preferred pack for {share:.0%} of insured people"
    return None


def _copay(row: Row) -> str | None:
    amount = _num(row, "gvs_copay_amount")
    if amount:
        return f"price EUR {amount:.2f} above the GVS reimbursement limit"
    return None


SENTENCES: dict[str, Callable[[Row], str | None]] = {
    "sup_mahs": _suppliers,
    "sup_mahs_change_52w": _suppliers,
    "price_aip": _price,
    "price_aip_le_15": _price,
    "price_aip_change_52w": lambda r: _change(r, "price_aip_change_52w", "price over 52 weeks"),
    "price_wgp_change_last_recalibration": lambda r: _change(
        r, "price_wgp_change_last_recalibration", "Wgp maximum price at the last recalibration"
    ),
    "hist_episodes_156w": _history,
    "hist_episodes_52w": _recent,
    "hist_weeks_since_last_end": _since,
    "hist_sibling_short_share": _siblings,
    "hist_atc4_short_share": _atc,
    "notif_open": _notification,
    "notif_weeks_to_expected_start": _notification,
    "tender_share": _tender,
    "tender_lost": _tender,
    "tender_lost_share": _tender,
    "gvs_copay": _copay,
    "gvs_copay_amount": _copay,
}
MEANINGS = {f.name: f.meaning for _, f in all_features()}


def describe(feature: str, row: Row) -> str:
    """One sentence about ``feature`` for this pack, from the pack's feature values."""
    sentence = SENTENCES.get(feature, lambda _: None)(row)
    if sentence:
        return sentence
    value = row.get(feature)
    shown = (
        "unknown" if value is None or (isinstance(value, float) and math.isnan(value)) else value
    )
    if isinstance(shown, float):
        shown = f"{shown:.4g}"
    return f"{MEANINGS.get(feature, feature)}: {shown}"
