"""Insurer preference policy: who is preferred, by how many lives, and who lost.

A pack that loses a tender sees its volume collapse; a sole preferred pack
carries the whole GPK and any hiccup becomes a shortage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.families.base import (
    WEEK,
    FamilyOutput,
    Feature,
    FeatureFamily,
    active_sum,
    expand_intervals,
    group_sum,
)
from features.families.inputs import Chunk


def _max_per_cell(n_cells: int, cells: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Largest value per cell, ``-inf`` where a cell has none."""
    out = np.full(n_cells, -np.inf)
    np.maximum.at(out, cells, values)
    return out


def _tender(chunk: Chunk) -> FamilyOutput:
    """Insurers are few, so each insurer's designations are painted onto the week x pack
    (and week x GPK) grid in turn; an insurer counts once per pack, with its largest share."""
    f = chunk.prepared.table("tenders")
    n_q, n_p, n_g = len(chunk.days), chunk.n_packs, len(chunk.prepared.gpk)
    pack_gpk = chunk.prepared.pack_gpk
    insurer = pd.factorize(f["insurer"].astype("str"))[0]
    start, end = f["valid_from"].to_numpy(), f["valid_to"].to_numpy()
    share = np.nan_to_num(f["market_share"].to_numpy(dtype=np.float64, na_value=np.nan))
    pack, gpk = f["pack"].to_numpy(), f["gpk_code"].to_numpy()

    pack_share = np.zeros(n_q * n_p)
    pack_insurers = np.zeros(n_q * n_p)
    gpk_insurers = np.zeros((n_q, n_g))
    lost_share = np.zeros((n_q, n_p))
    lost_insurers = np.zeros((n_q, n_p))
    first_start = np.full(n_q * n_p, np.inf)
    first_end = np.full(n_q * n_p, np.inf)
    for i in range(int(insurer.max()) + 1 if len(insurer) else 0):
        mine = np.flatnonzero(insurer == i)
        rows, q = expand_intervals(chunk.days, start[mine], end[mine])
        rows = mine[rows]
        cells = q * n_p + pack[rows]
        by_pack = _max_per_cell(n_q * n_p, cells, share[rows])
        prefers = np.isfinite(by_pack)
        pack_share += np.maximum(by_pack, 0.0)  # shares are >= 0; -inf (no designation) -> 0
        pack_insurers += prefers
        np.minimum.at(first_start, cells, start[rows].astype(np.float64))
        np.minimum.at(first_end, cells, end[rows].astype(np.float64))
        in_gpk = gpk[rows] >= 0
        by_gpk = _max_per_cell(
            n_q * n_g, (q * n_g + gpk[rows])[in_gpk], share[rows][in_gpk]
        ).reshape(n_q, n_g)
        designates = np.isfinite(by_gpk)
        gpk_insurers += designates
        passed_over = ~prefers.reshape(n_q, n_p)
        lost_share += np.where(passed_over, np.maximum(by_gpk, 0.0)[:, pack_gpk], 0.0)
        lost_insurers += designates[:, pack_gpk] & passed_over

    # Distinct packs preferred per GPK: one key per (GPK, pack) pair of the table.
    in_gpk = gpk >= 0
    pairs, pair = np.unique(np.c_[gpk[in_gpk], pack[in_gpk]], axis=0, return_inverse=True)
    pair_active = active_sum(chunk.days, len(pairs), pair.ravel(), start[in_gpk], end[in_gpk])
    packs_per_gpk = np.zeros((n_q, n_g))
    if len(pairs):
        packs_per_gpk = group_sum(pair_active > 0, pairs[:, 0], n_g)

    shape = (n_q, n_p)
    first_start = np.where(np.isinf(first_start), np.nan, first_start).reshape(shape)
    first_end = np.where(np.isinf(first_end), np.nan, first_end).reshape(shape)
    return {
        "tender_share": pack_share.reshape(shape),
        "tender_insurers": pack_insurers.reshape(shape),
        "tender_gpk_preferred_packs": packs_per_gpk[:, pack_gpk],
        "tender_weeks_since_start": (chunk.t - first_start) / WEEK,
        "tender_weeks_to_end": (first_end - chunk.t) / WEEK,
        "tender_gpk_tendered": (gpk_insurers > 0)[:, pack_gpk].astype(np.float64),
        "tender_lost": (lost_insurers > 0).astype(np.float64),
        "tender_lost_share": lost_share,
    }


TENDER = FeatureFamily(
    name="tender",
    meaning="insurer preference designations in force (valid_from <= t < valid_to)",
    tables=("tenders",),
    features=(
        Feature(
            "tender_share",
            "sum over insurers preferring this pack of their market share"
            " (an insurer's largest share among its designations in force; missing share: 0)",
        ),
        Feature("tender_insurers", "number of distinct insurers preferring this pack"),
        Feature(
            "tender_gpk_preferred_packs", "number of distinct packs preferred in the pack's GPK"
        ),
        Feature(
            "tender_weeks_since_start",
            "weeks since the earliest start of this pack's designations in force (NaN: none)",
        ),
        Feature(
            "tender_weeks_to_end",
            "weeks until the earliest end of this pack's designations in force (NaN: none)",
        ),
        Feature("tender_gpk_tendered", "1 when any insurer has a designation for the pack's GPK"),
        Feature(
            "tender_lost",
            "1 when an insurer designates packs of the pack's GPK but not this pack",
        ),
        Feature(
            "tender_lost_share",
            "sum of the market shares of the insurers counted by tender_lost",
        ),
    ),
    compute=_tender,
)
