"""Insurer preference lists (preferentiebeleid) -> ``tenders`` and ``products``.

The lists name, per insurer, the preferred pack (ZI-nummer) of a substance and
strength for a period. They are extracted from PDFs and spreadsheets, so the
converter repairs what can be repaired unambiguously (a unit that slipped from
the strength into the supplier column, several ZI-nummers in one cell) and
rejects the rest with a reason.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from features.importers.base import (
    ImporterError,
    ImportResult,
    check_options,
    make_result,
    rejected_rows,
    slug,
    split_inputs,
    squash_spaces,
)

SOURCE = "preferentie"
OPTIONS = ("market_shares",)

# Approximate shares of insured lives per insurer group (the concern's whole
# basic-insurance book, rounded; they move by about a point a year). Override
# with the ``market_shares`` option when better figures are at hand.
DEFAULT_MARKET_SHARES: dict[str, float] = {
    "Zilveren Kruis": 0.29,  # Achmea
    "VGZ": 0.24,  # Cooperatie VGZ
    "CZ": 0.22,  # CZ groep
    "Menzis": 0.12,  # Menzis groep
    "DSW": 0.05,  # DSW Zorgverzekeraar
}

_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y")
_UNIT = r"(?:mg|mcg|ug|µg|microgram|g|gram|ml|ie|e|%|mmol)"
_LEAKED_UNIT = re.compile(rf"^{_UNIT}(?:/|\s|$)", re.IGNORECASE)
_BARE_STRENGTH = re.compile(r"^[\d.,/ ]+$")
_LEGAL_FORM = re.compile(
    r"[\s,]+(?:b\.?\s?v\.?|n\.?\s?v\.?|gmbh|ltd\.?|limited|s\.?a\.?|a/s|ag|inc\.?|plc|"
    r"s\.?r\.?l\.?|s\.?p\.?a\.?|oy|ab)$",
    re.IGNORECASE,
)
_STRENGTH_IN_NAME = re.compile(
    rf"(\d[\d,./]*\s*{_UNIT}(?:/\s*\d*[\d,.]*\s*{_UNIT})?)", re.IGNORECASE
)


def parse_date(text: str) -> dt.date | None:
    """A date in any of the formats the insurers use (``1-7-2025``, ``01.01.2026`` ...)."""
    value = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def split_leaked_supplier(supplier: str) -> tuple[str, str, str] | None:
    """Split ``"mg   Amarox"`` into (unit text, supplier, how) or None when ambiguous.

    The Menzis extract shifts the unit (and sometimes a pack remark) of the
    strength into the supplier cell, separated from the real supplier by a run
    of spaces. The split is accepted only when there are exactly two parts and
    the second looks like a company name (a word of three or more letters, and
    not itself starting with a unit).
    """
    parts = [p.strip() for p in re.split(r"\s{2,}", supplier.strip()) if p.strip()]
    if len(parts) == 1:
        return ("", parts[0], "clean") if not _LEAKED_UNIT.match(parts[0]) else None
    if len(parts) != 2:
        return None
    leaked, company = parts
    if _LEAKED_UNIT.match(company) or not re.search(r"[A-Za-z]{3,}", company):
        return None
    company = re.sub(r"\s*\([^)]*$", "", company).strip()  # an unclosed "(" is cut text
    how = "unit" if _LEAKED_UNIT.match(leaked) else "remark"
    return leaked, company, how


def clean_mah(supplier: str) -> str:
    """Supplier without legal form, so ``Sandoz B.V.`` and ``Sandoz Bv`` are one MAH."""
    name = re.sub(r"\s+", " ", supplier).strip(" ,")
    previous = None
    while previous != name:
        previous, name = name, _LEGAL_FORM.sub("", name).strip(" ,")
    return name


def normalise_strength(strength: str) -> str:
    """``600 mg/300 mg``, ``600/300MG`` and ``600/300 mg`` -> ``600/300mg``."""
    text = re.sub(r"\s+", "", strength.lower())
    final = re.search(rf"{_UNIT}(?:/{_UNIT})?$", text)
    if final:
        unit = re.escape(final.group(0).split("/")[0])
        text = re.sub(rf"(?<=\d){unit}/(?=\d)", "/", text)
    return text


def suspicious_substance(substance: str) -> bool:
    """Substance cells that swallowed neighbouring PDF text (remarks, brands, numbers)."""
    if re.search(r"\d", substance) or re.search(r"\w-\s", substance):
        return True
    words = [w for w in re.split(r"[\s/]+", substance) if w and w != "*"]
    return len(words) > 4


def load_rows(path: Path) -> pd.DataFrame:
    """The JSON list as text columns with its 1-based record number."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ImporterError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(records, list) or not records:
        raise ImporterError(f"{path}: expected a non-empty JSON list of preference rows")
    frame = pd.DataFrame.from_records(records)
    needed = {"verzekeraar", "werkzame_stof", "zi_nummer", "leverancier", "start", "eind"}
    if needed - set(frame.columns):
        raise ImporterError(f"{path}: missing fields {sorted(needed - set(frame.columns))}")
    for col in ("toedieningsweg", "sterkte", "etiketnaam", "artikelnaam"):
        if col not in frame.columns:
            frame[col] = ""
    frame = frame.astype("object").where(frame.notna(), "").astype("str")
    frame["record"] = range(1, len(frame) + 1)
    return frame


def _strength_from_name(name: str) -> str:
    """The strength written in an article label (DSW lists have no strength column)."""
    match = _STRENGTH_IN_NAME.search(name)
    return match.group(1) if match else ""


def convert(
    frame: pd.DataFrame, source: str, shares: dict[str, float]
) -> tuple[pd.DataFrame, pd.DataFrame, list[pd.DataFrame], list[str]]:
    """Rows -> (tenders, products, rejected parts, notes)."""
    rejected: list[pd.DataFrame] = []
    notes: list[str] = []

    def reject(mask: pd.Series, column: str, value: str, reason: str) -> None:
        rejected.append(rejected_rows(frame[mask], source, "record", column, value, reason))

    df = frame.copy()
    df["insurer"] = squash_spaces(df["verzekeraar"])
    df["substance"] = squash_spaces(df["werkzame_stof"]).str.rstrip(" *")
    df["route"] = squash_spaces(df["toedieningsweg"]).str.lower()
    df["strength"] = squash_spaces(df["sterkte"])
    label = squash_spaces(df["etiketnaam"]).where(df["etiketnaam"] != "", df["artikelnaam"])
    df["label"] = squash_spaces(label)

    split = df["leverancier"].map(split_leaked_supplier)
    ambiguous = split.isna()
    frame_ok = ~ambiguous
    df["leaked"] = split.map(lambda s: s[0] if s else "")
    df["supplier"] = split.map(lambda s: s[1] if s else "")
    how = split.map(lambda s: s[2] if s else "")
    moved = (how == "unit") & df["strength"].str.match(_BARE_STRENGTH)
    df.loc[moved, "strength"] = df.loc[moved, "strength"] + " " + df.loc[moved, "leaked"]
    notes.append(
        f"{int((how != 'clean').sum() - ambiguous.sum())} supplier cells repaired "
        f"(unit or remark split off; {int(moved.sum())} units moved back into the strength)"
    )
    frame_ok &= _reject_and_keep(
        ambiguous,
        reject,
        "leverancier",
        "leverancier",
        "supplier cell holds leaked text that cannot be split unambiguously",
    )
    df["noisy"] = df["substance"].map(suspicious_substance)
    start = df["start"].map(parse_date)
    end = df["eind"].map(parse_date)
    frame_ok &= _reject_and_keep(
        start.isna() & frame_ok, reject, "start", "start", "start date not parseable"
    )
    frame_ok &= _reject_and_keep(
        end.isna() & frame_ok, reject, "eind", "eind", "end date not parseable"
    )
    inverted = frame_ok & pd.Series(
        [bool(s and e and e < s) for s, e in zip(start, end, strict=True)], index=df.index
    )
    frame_ok &= _reject_and_keep(inverted, reject, "eind", "eind", "end date before start date")
    df["valid_from"] = pd.to_datetime(start.where(frame_ok))
    # ``eind`` is the last day of the period; the contract's valid_to is exclusive.
    df["valid_to"] = pd.to_datetime(end.where(frame_ok)) + pd.Timedelta(days=1)

    zi = df["zi_nummer"].str.replace(r"\s+", "", regex=True).str.split("/")
    bad_zi = frame_ok & zi.map(lambda parts: not all(re.fullmatch(r"\d{1,8}", p) for p in parts))
    frame_ok &= _reject_and_keep(bad_zi, reject, "zi_nummer", "zi_nummer", "not a ZI-nummer")
    several = frame_ok & (zi.map(len) > 1)
    notes.append(
        f"{int(several.sum())} rows list several ZI-nummers (a/b); one tender row per ZI-nummer"
    )
    df["zi_list"] = zi
    kept = df[frame_ok].explode("zi_list")
    kept["zi_number"] = kept["zi_list"].str.zfill(8)
    strength = kept["strength"].where(
        kept["strength"] != "", kept["label"].map(_strength_from_name)
    )
    kept["strength_key"] = strength.map(normalise_strength)
    kept["gpk_key"] = [
        "|".join(slug(x) for x in parts)
        for parts in zip(kept["substance"], kept["strength_key"], kept["route"], strict=True)
    ]
    kept["mah"] = kept["supplier"].map(clean_mah)
    kept["name"] = [
        lab if lab else " ".join(p for p in (sub, st, rt) if p)
        for lab, sub, st, rt in zip(
            kept["label"], kept["substance"], kept["strength"], kept["route"], strict=True
        )
    ]
    products = _products(kept)
    noisy_only = kept.groupby("zi_number")["noisy"].all()
    notes.append(
        f"{int(kept['noisy'].sum())} rows' substance cells carry extra text "
        "(strength, form, remarks); "
        f"{int(noisy_only.sum())} packs have no cleaner row, so their gpk key may not group "
        "them with equivalent packs"
    )
    kept["gpk"] = kept["zi_number"].map(products.set_index("zi_number")["gpk"])
    tenders, dup_parts = _tenders(kept, shares, source)
    rejected += dup_parts
    unknown = sorted(set(tenders["insurer"]) - set(shares))
    if unknown:
        notes.append(f"no market share for {', '.join(unknown)}: market_share left empty")
    notes += [
        "gpk is a stand-in key substance|strength|route (the real GPK is not in the lists); "
        "a pack listed with different texts gets the key of its most complete row",
        "only currently valid preferences are listed: expired designations are not in the source",
        "market_share is an approximate share of insured lives per insurer, not per product",
    ]
    return tenders, products, rejected, notes


def _reject_and_keep(
    mask: pd.Series,
    reject: Callable[[pd.Series, str, str, str], None],
    column: str,
    value: str,
    reason: str,
) -> pd.Series:
    """Record ``mask`` rows as rejected; return the mask of rows still kept."""
    if mask.any():
        reject(mask, column, value, reason)
    return ~mask


def _products(kept: pd.DataFrame) -> pd.DataFrame:
    """One product per ZI-nummer, taken from its most complete row."""
    ranked = kept.assign(
        completeness=(~kept["noisy"]).astype(int) * 4
        + (kept["strength_key"] != "").astype(int) * 2
        + (kept["route"] != "").astype(int)
        + (kept["label"] != "").astype(int)
    ).sort_values(["zi_number", "completeness", "record"], ascending=[True, False, True])
    first = ranked.drop_duplicates("zi_number")
    return pd.DataFrame(
        {
            "zi_number": first["zi_number"],
            "name": first["name"],
            "gpk": first["gpk_key"],
            "mah": first["mah"].where(first["mah"] != ""),
        }
    ).reset_index(drop=True)


def _tenders(
    kept: pd.DataFrame, shares: dict[str, float], source: str
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Tender rows; repeated keys keep the first row and reject the others."""
    key = ["insurer", "gpk", "zi_number", "valid_from"]
    exact = kept.duplicated([*key, "valid_to", "mah"])
    clash = kept.duplicated(key) & ~exact
    rejected = [
        rejected_rows(kept[exact], source, "record", "zi_nummer", "zi_number", "duplicate row"),
        rejected_rows(
            kept[clash],
            source,
            "record",
            "zi_nummer",
            "zi_number",
            "same insurer, product and start as an earlier row, with different details",
        ),
    ]
    rows = kept[~kept.duplicated(key)]
    tenders = pd.DataFrame(
        {
            "insurer": rows["insurer"],
            "gpk": rows["gpk"],
            "zi_number": rows["zi_number"],
            "valid_from": rows["valid_from"],
            "valid_to": rows["valid_to"],
            "market_share": rows["insurer"].map(shares).astype("float64"),
        }
    ).reset_index(drop=True)
    return tenders, rejected


def parse_shares(value: object) -> dict[str, float]:
    """Shares given as a mapping or as ``"CZ=0.2,VGZ=0.25"``, each within 0..1."""
    if isinstance(value, str):
        pairs = [p.split("=", 1) for p in value.split(",") if p.strip()]
        if any(len(p) != 2 for p in pairs):
            raise ImporterError(f"market_shares must look like 'CZ=0.21,VGZ=0.25', got {value!r}")
        value = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(value, dict):
        raise ImporterError(f"market_shares must be a mapping insurer -> share, got {value!r}")
    shares = {}
    for insurer, share in value.items():
        try:
            number = float(share)
        except (TypeError, ValueError) as exc:
            raise ImporterError(f"market share of {insurer} is not a number: {share!r}") from exc
        if not 0.0 <= number <= 1.0:
            raise ImporterError(f"market share of {insurer} must be within 0..1, got {number}")
        shares[str(insurer)] = number
    return shares


def import_preferentie(inputs: Sequence[Path], **options: object) -> ImportResult:
    """Convert one or more preference-list JSON files into tenders and products."""
    check_options(SOURCE, options, OPTIONS)
    shares = dict(DEFAULT_MARKET_SHARES)
    if "market_shares" in options:
        shares.update(parse_shares(options["market_shares"]))
    files = split_inputs(inputs, {"json": '"verzekeraar"'}, SOURCE)["json"]
    tenders, products, rejected, notes = [], [], [], []
    for path in files:
        t, p, r, n = convert(load_rows(path), path.name, shares)
        tenders.append(t)
        products.append(p)
        rejected += r
        notes += [f"{path.name}: {line}" for line in n] if len(files) > 1 else n
    all_products = pd.concat(products, ignore_index=True).drop_duplicates("zi_number")
    tables = {"products": all_products, "tenders": pd.concat(tenders, ignore_index=True)}
    return make_result(SOURCE, tables, rejected, notes)
