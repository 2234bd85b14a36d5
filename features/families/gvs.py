"""GVS reimbursement: cluster, limit and the patient co-payment above it.

A co-payment pushes demand to cheaper siblings, making the pack less worth supplying.
"""

from __future__ import annotations

import numpy as np

from features.families.base import (
    YEAR_DAYS,
    FamilyOutput,
    Feature,
    FeatureFamily,
    asof_position,
    flag,
    relative_change,
    take,
)
from features.families.inputs import Chunk


def _gvs(chunk: Chunk) -> FamilyOutput:
    f = chunk.prepared.table("gvs_limits")
    pos = asof_position(chunk.days, chunk.n_packs, f["pack"].to_numpy(), f["valid_from"].to_numpy())
    has_cluster = f["cluster"].notna().to_numpy().astype(np.float64)
    limit = chunk.last_value("gvs_limits", "limit_price")
    limit_year_ago = chunk.last_value("gvs_limits", "limit_price", at=chunk.days - YEAR_DAYS)
    return {
        "gvs_in_cluster": take(has_cluster, pos),
        "gvs_limit": limit,
        "gvs_limit_change_52w": relative_change(limit, limit_year_ago),
    }


def _copay(chunk: Chunk) -> FamilyOutput:
    limit = chunk.last_value("gvs_limits", "limit_price")
    excess = chunk.aip - limit
    defined = ~np.isnan(excess)
    return {
        "gvs_copay": flag(excess > 0, defined),
        "gvs_copay_amount": np.where(defined, np.maximum(excess, 0.0), np.nan),
    }


GVS = FeatureFamily(
    name="gvs",
    meaning="GVS cluster membership and reimbursement limit",
    tables=("gvs_limits",),
    features=(
        Feature(
            "gvs_in_cluster",
            "1 when the GVS row in force has a cluster, 0 when it has none, NaN without a row",
        ),
        Feature("gvs_limit", "GVS reimbursement limit in force (EUR per pack)"),
        Feature(
            "gvs_limit_change_52w",
            "GVS limit now divided by the limit in force 52 weeks earlier, minus 1",
        ),
    ),
    compute=_gvs,
)

COPAY = FeatureFamily(
    name="gvs_copay",
    meaning="patient co-payment: AIP above the GVS limit",
    tables=("gvs_limits", "list_prices"),
    features=(
        Feature("gvs_copay", "1 when the AIP is above the GVS limit (patient pays), else 0"),
        Feature("gvs_copay_amount", "AIP minus GVS limit, floored at 0 (EUR per pack)"),
    ),
    compute=_copay,
)
