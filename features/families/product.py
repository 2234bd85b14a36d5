"""Static product attributes and the national critical-medicines list."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import CRITICAL_CATEGORIES
from features.families.base import (
    ALWAYS,
    WEEK,
    Categories,
    FamilyOutput,
    Feature,
    FeatureFamily,
    running_max,
)
from features.families.inputs import ATC_LEVEL_LENGTHS, Chunk, atc_prefix

CRITICAL_SEVERITY = {"orange": 1, "red": 2}  # the more severe category wins


def categorical(values: pd.Series, n_weeks: int) -> Categories:
    """Pack-level text as codes with categories sorted from the full products table."""
    text = values.astype("str")
    categories = tuple(sorted(text.dropna().unique()))
    codes = pd.Index(categories).get_indexer(text.fillna("\0"))
    return Categories(np.broadcast_to(codes[None, :], (n_weeks, len(codes))), categories)


def _product(chunk: Chunk) -> FamilyOutput:
    products = chunk.prepared.products
    n_q = len(chunk.days)
    out: FamilyOutput = {}
    for level in ATC_LEVEL_LENGTHS:
        out[f"prod_{level}"] = categorical(atc_prefix(products["atc"], level), n_q)
    out["prod_dosage_form"] = categorical(products["dosage_form"], n_q)
    originator = products["is_originator"].astype("Float64").to_numpy(np.float64, na_value=np.nan)
    out["prod_originator"] = np.broadcast_to(originator[None, :], (n_q, len(originator)))
    entry = chunk.prepared.entry.astype(np.float64)
    entry[chunk.prepared.entry == ALWAYS] = np.nan
    out["prod_weeks_on_market"] = (chunk.t - entry[None, :]) / WEEK
    return out


def critical_matches(chunk: Chunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pack, valid_from, severity) for every pack a critical-list row covers."""
    f = chunk.prepared.table("critical_list")
    f = f[f["category"].isin(list(CRITICAL_SEVERITY))]
    atc = chunk.prepared.products["atc"].astype("str").fillna("").to_numpy()
    packs, starts, severity = [], [], []
    pack_gpk = chunk.prepared.pack_gpk
    for gpk, prefix, category, valid_from in zip(
        f["gpk_code"], f["atc"], f["category"], f["valid_from"], strict=True
    ):
        hit = np.zeros(len(atc), bool)
        if gpk >= 0:
            hit |= pack_gpk == gpk
        if isinstance(prefix, str) and prefix:
            hit |= np.char.startswith(atc.astype(str), prefix)
        idx = np.flatnonzero(hit)
        packs.append(idx)
        starts.append(np.full(len(idx), valid_from))
        severity.append(np.full(len(idx), CRITICAL_SEVERITY[category]))
    if not packs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(packs), np.concatenate(starts), np.concatenate(severity)


def _critical(chunk: Chunk) -> FamilyOutput:

    pack, start, severity = critical_matches(chunk)
    worst = running_max(chunk.days, chunk.n_packs, pack, start, severity)
    categories = tuple(sorted(CRITICAL_CATEGORIES))
    by_severity = {v: categories.index(k) for k, v in CRITICAL_SEVERITY.items()}
    codes = np.full(worst.shape, -1, dtype=np.int64)
    for level, code in by_severity.items():
        codes[worst == level] = code
    return {"crit_category": Categories(codes, categories)}


PRODUCT = FeatureFamily(
    name="product",
    meaning="product master attributes",
    tables=("products",),
    features=(
        Feature("prod_atc1", "ATC anatomical main group (1st character)", "category"),
        Feature("prod_atc3", "ATC pharmacological subgroup (first 4 characters)", "category"),
        Feature("prod_atc4", "ATC chemical subgroup (first 5 characters)", "category"),
        Feature("prod_dosage_form", "dosage form", "category"),
        Feature("prod_originator", "1 for an originator (brand), 0 for a generic"),
        Feature("prod_weeks_on_market", "weeks since market entry (NaN: entry date unknown)"),
    ),
    compute=_product,
)

CRITICAL = FeatureFamily(
    name="critical",
    meaning="national list of critical medicines (LCG), by GPK or ATC prefix",
    tables=("critical_list",),
    features=(
        Feature(
            "crit_category",
            "most severe critical-list category (red > orange) covering the pack's GPK or ATC,"
            " listed on or before t",
            "category",
        ),
    ),
    compute=_critical,
)
