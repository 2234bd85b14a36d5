"""Prices: the pharmacy purchase price (AIP) and the Wgp maximum price.

Low and falling prices squeeze margins, a classic driver of supply exits.
"""

from __future__ import annotations

import numpy as np

from features.families.base import (
    YEAR_DAYS,
    FamilyOutput,
    Feature,
    FeatureFamily,
    active_sum,
    flag,
    ratio,
    relative_change,
)
from features.families.calendar import last_recalibration
from features.families.inputs import Chunk

LOW_PRICE_EUR = 15.0
CUT_WINDOW_DAYS = 2 * YEAR_DAYS


def _list_price(chunk: Chunk) -> FamilyOutput:
    aip = chunk.aip
    aip_year_ago = chunk.last_value("list_prices", "aip", at=chunk.days - YEAR_DAYS)
    return {
        "price_aip": aip,
        "price_aip_change_52w": relative_change(aip, aip_year_ago),
        "price_aip_le_15": flag(aip <= LOW_PRICE_EUR, ~np.isnan(aip)),
    }


def _wgp_cut_days(chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
    """(pack, valid_from) of each Wgp row whose maximum is below the pack's previous one."""
    f = chunk.prepared.table("wgp_prices").sort_values(["pack", "valid_from"], kind="stable")
    pack = f["pack"].to_numpy()
    price = f["max_price"].to_numpy(dtype=np.float64)
    same_pack = np.r_[False, pack[1:] == pack[:-1]]
    cut = same_pack & (price < np.r_[np.inf, price[:-1]])
    return pack[cut], f["valid_from"].to_numpy()[cut]


def _max_price(chunk: Chunk) -> FamilyOutput:
    wgp = chunk.last_value("wgp_prices", "max_price")
    recal = last_recalibration(chunk.days)
    at_recal = chunk.last_value("wgp_prices", "max_price", at=recal)
    before_recal = chunk.last_value("wgp_prices", "max_price", at=recal - 1)
    year_ago = chunk.last_value("wgp_prices", "max_price", at=chunk.days - YEAR_DAYS)
    cut_pack, cut_day = _wgp_cut_days(chunk)
    cuts = active_sum(chunk.days, chunk.n_packs, cut_pack, cut_day, cut_day + CUT_WINDOW_DAYS)
    return {
        "price_wgp_max": wgp,
        "price_wgp_change_last_recalibration": relative_change(at_recal, before_recal),
        "price_wgp_change_52w": relative_change(wgp, year_ago),
        "price_wgp_cuts_2y": cuts,
    }


def _headroom(chunk: Chunk) -> FamilyOutput:
    return {"price_headroom": ratio(chunk.aip, chunk.last_value("wgp_prices", "max_price"))}


LIST_PRICE = FeatureFamily(
    name="list_price",
    meaning="pharmacy purchase price (AIP) in force",
    tables=("list_prices",),
    features=(
        Feature("price_aip", "AIP in force on the as-of date (EUR per pack)"),
        Feature(
            "price_aip_change_52w", "AIP now divided by the AIP in force 52 weeks earlier, minus 1"
        ),
        Feature("price_aip_le_15", "1 when the AIP is at most EUR 15 (low-price segment), else 0"),
    ),
    compute=_list_price,
)

MAX_PRICE = FeatureFamily(
    name="max_price",
    meaning="Wgp maximum price and its recalibrations",
    tables=("wgp_prices",),
    features=(
        Feature("price_wgp_max", "Wgp maximum price in force on the as-of date (EUR per pack)"),
        Feature(
            "price_wgp_change_last_recalibration",
            "Wgp maximum in force on the latest 1 April / 1 October divided by the one in force"
            " the day before, minus 1",
        ),
        Feature(
            "price_wgp_change_52w",
            "Wgp maximum now divided by the one in force 52 weeks earlier, minus 1",
        ),
        Feature(
            "price_wgp_cuts_2y",
            "Wgp rows taking effect in the last 104 weeks whose maximum is below the previous one",
        ),
    ),
    compute=_max_price,
)

HEADROOM = FeatureFamily(
    name="price_headroom",
    meaning="how close the AIP is to the Wgp maximum",
    tables=("list_prices", "wgp_prices"),
    features=(Feature("price_headroom", "AIP divided by the Wgp maximum price, both in force"),),
    compute=_headroom,
)
