"""SHAP explanations on the probability scale.

SHAP values are additive in log-odds, which few readers can interpret. Walking the
contributions through the sigmoid turns them into percentage-point steps that add up
exactly to the model's uncalibrated probability, at the price of depending on order:
the order given (largest |SHAP| first, then "other") is kept so the page is stable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

BASE_LABEL = "base_value"


def sigmoid(x: float) -> float:
    """Logistic function, written so that large |x| cannot overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def probability_waterfall(
    base: float, contributions: Iterable[tuple[str, float]]
) -> list[tuple[str, float, float]]:
    """Return ``(label, start, end)`` bars: the base bar, then one per contribution.

    The base bar runs from 0 to sigmoid(base); each next bar from sigmoid of the
    cumulative log-odds before it to sigmoid after it, so the bar widths sum to
    sigmoid(base + sum of contributions).
    """
    cumulative = base
    bars = [(BASE_LABEL, 0.0, sigmoid(base))]
    for label, shap in contributions:
        start = sigmoid(cumulative)
        cumulative += shap
        bars.append((label, start, sigmoid(cumulative)))
    return bars
