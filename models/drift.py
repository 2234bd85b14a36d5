"""Data drift: how far this week's feature distributions are from training.

A training run stores a compact profile of every feature (quantile bins for
numbers, shares for categories, the missing share for both); scoring compares
the week's features with it by the population stability index (PSI). Common
reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large shift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

DEFAULT_PSI_THRESHOLD = 0.25
_EPS = 1e-4
OTHER = "__other__"
MIN_CATEGORY_SHARE = 0.01  # rarer categories are pooled: PSI on tiny shares is noise
# Features that move with the calendar by design (month, recalibration and
# designation cycles): a shift there is the date, not the data.
CYCLICAL_FEATURES = frozenset(
    {"cal_month", "cal_weeks_to_recalibration", "tender_weeks_since_start", "tender_weeks_to_end"}
)


def profile(X: pd.DataFrame, bins: int = 10) -> dict[str, dict[str, Any]]:
    """Per feature: bin edges (numeric) or categories, and the share in each, plus missing."""
    out: dict[str, dict[str, Any]] = {}
    for column in X.columns:
        if column in CYCLICAL_FEATURES:
            continue
        values = X[column]
        missing = float(values.isna().mean()) if len(values) else 0.0
        if isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object:
            n = max(len(values), 1)
            counts = values.astype("object").value_counts(dropna=True)
            shares = {str(k): float(v) / n for k, v in sorted(counts.items())}
            kept = {k: v for k, v in shares.items() if v >= MIN_CATEGORY_SHARE}
            kept[OTHER] = sum(v for k, v in shares.items() if k not in kept)
            out[column] = {"kind": "category", "shares": kept, "missing": missing}
            continue
        numbers = values.dropna().to_numpy(dtype=float)
        edges = (
            np.unique(np.quantile(numbers, np.linspace(0, 1, bins + 1)[1:-1]))
            if len(numbers)
            else np.array([])
        )
        counts = np.bincount(
            np.searchsorted(edges, numbers, side="right"), minlength=len(edges) + 1
        )
        shares_num = counts / max(len(values), 1)
        out[column] = {
            "kind": "numeric",
            "edges": [float(e) for e in edges],
            "shares": [float(s) for s in shares_num],
            "missing": missing,
        }
    return out


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.clip(expected, _EPS, None)
    a = np.clip(actual, _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def population_stability(reference: dict[str, dict[str, Any]], X: pd.DataFrame) -> pd.Series:
    """PSI of every profiled feature present in ``X`` (missing values are a bin of their own)."""
    result = {}
    for column, ref in reference.items():
        if column not in X.columns:
            continue
        values = X[column]
        n = max(len(values), 1)
        missing = float(values.isna().sum()) / n
        if ref["kind"] == "category":
            keys = sorted(ref["shares"])
            current = values.astype("object").dropna().astype(str)
            current = current.where(current.isin(keys), OTHER).value_counts() / n
            expected = np.array([ref["shares"][k] for k in keys] + [ref["missing"]])
            actual = np.array([float(current.get(k, 0.0)) for k in keys] + [missing])
        else:
            numbers = values.dropna().to_numpy(dtype=float)
            edges = np.asarray(ref["edges"], dtype=float)
            counts = np.bincount(
                np.searchsorted(edges, numbers, side="right"), minlength=len(edges) + 1
            )
            expected = np.array([*ref["shares"], ref["missing"]])
            actual = np.array([*(counts / n), missing])
        result[column] = _psi(expected, actual)
    return pd.Series(result, name="psi", dtype=float)
