"""Supply base of a GPK: registered suppliers and marketed packs.

Few suppliers means little slack when one of them fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.families.base import (
    YEAR_DAYS,
    FamilyOutput,
    Feature,
    FeatureFamily,
    active_sum,
    flag,
)
from features.families.inputs import Chunk

_GROUP_SPAN = 4 * 10**8  # larger than the whole day-number range, to keep groups apart


def union_intervals(
    groups: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge overlapping intervals of the same group, so each group counts once at any day."""
    order = np.lexsort((starts, groups))
    g, s, e = groups[order], starts[order], ends[order]
    if len(g) == 0:
        return g, s, e
    running_end = np.maximum.accumulate(e + g * _GROUP_SPAN) - g * _GROUP_SPAN
    new_group = np.r_[True, g[1:] != g[:-1]]
    new_block = new_group | (s > np.r_[0, running_end[:-1]])
    first = np.flatnonzero(new_block)
    last = np.r_[first[1:], len(g)] - 1
    return g[first], s[first], running_end[last]


def _suppliers(chunk: Chunk) -> FamilyOutput:
    f = chunk.prepared.table("registrations")
    f = f[f["gpk_code"] >= 0]
    mah = pd.factorize(f["mah"].astype("str"))[0]
    n_g = len(chunk.prepared.gpk)
    n_mah = int(mah.max()) + 1 if len(mah) else 1
    key, start, end = union_intervals(
        f["gpk_code"].to_numpy() * n_mah + mah,
        f["registered_on"].to_numpy(),
        f["withdrawn_on"].to_numpy(),
    )
    gpk = key // n_mah
    now = active_sum(chunk.days, n_g, gpk, start, end)
    year_ago = active_sum(chunk.days, n_g, gpk, start + YEAR_DAYS, end + YEAR_DAYS)
    pack_gpk = chunk.prepared.pack_gpk
    return {
        "sup_mahs": now[:, pack_gpk],
        "sup_mahs_change_52w": (now - year_ago)[:, pack_gpk],
    }


def _siblings(chunk: Chunk) -> FamilyOutput:
    p = chunk.prepared
    marketed = chunk.sum_by_group(chunk.on_market, p.pack_gpk, len(p.gpk))
    return {
        "sib_packs_marketed": marketed,
        "sib_only_pack": flag(marketed == 1, ~np.isnan(marketed)),
    }


SUPPLIERS = FeatureFamily(
    name="suppliers",
    meaning="registration holders of the pack's GPK",
    tables=("registrations",),
    features=(
        Feature(
            "sup_mahs",
            "distinct MAHs with a registration for the pack's GPK in force"
            " (registered_on <= t < withdrawn_on)",
        ),
        Feature("sup_mahs_change_52w", "sup_mahs now minus sup_mahs 52 weeks earlier"),
    ),
    compute=_suppliers,
)

SIBLINGS = FeatureFamily(
    name="siblings",
    meaning="marketed packs of the same GPK (from the product master)",
    tables=("products",),
    features=(
        Feature("sib_packs_marketed", "packs of the pack's GPK on the market, this one included"),
        Feature("sib_only_pack", "1 when this is the only pack of its GPK on the market"),
    ),
    compute=_siblings,
)
