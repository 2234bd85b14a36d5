"""Explanations of shortage risk from exact TreeSHAP values (log-odds).

Contributions come from LightGBM's own ``pred_contrib`` (exact and fast); the
shap package is used only to draw them, so the numbers in tables and plots are
the same ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: batch runs have no display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap

from models.shortage_model import ShortageRiskModel

BASE = "base_value"


def global_importance(
    contributions: pd.DataFrame, families: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean |SHAP| per feature and per feature family, largest first."""
    values = contributions.drop(columns=[BASE])
    per_feature = (
        values.abs()
        .mean()
        .rename("mean_abs_shap")
        .rename_axis("feature")
        .reset_index()
        .assign(family=lambda f: f["feature"].map(families or {}).fillna("other"))
        .sort_values(["mean_abs_shap", "feature"], ascending=[False, True], ignore_index=True)
    )
    # A family's effect on a row is the sum of its features' contributions.
    family_of = [(families or {}).get(c, "other") for c in values.columns]
    per_family = (
        values.T.groupby(family_of)
        .sum()
        .T.abs()
        .mean()
        .rename("mean_abs_shap")
        .rename_axis("family")
        .reset_index()
        .sort_values(["mean_abs_shap", "family"], ascending=[False, True], ignore_index=True)
    )
    return per_feature, per_family


def top_drivers(contributions: pd.DataFrame, n: int = 3) -> list[list[tuple[str, float]]]:
    """For each row, the ``n`` features that raise its risk most (largest positive SHAP)."""
    values = contributions.drop(columns=[BASE])
    names = np.asarray(values.columns)
    matrix = values.to_numpy()
    order = np.argsort(-matrix, axis=1, kind="stable")[:, :n]
    return [[(str(names[j]), float(matrix[i, j])) for j in row] for i, row in enumerate(order)]


def _explanation(
    model: ShortageRiskModel, X: pd.DataFrame, contributions: pd.DataFrame
) -> shap.Explanation:
    shown = X[list(model.feature_names_in_)].copy()
    for column in shown.columns:
        if isinstance(shown[column].dtype, pd.CategoricalDtype):
            shown[column] = shown[column].cat.codes.astype(float).where(shown[column].notna())
    return shap.Explanation(
        values=contributions.drop(columns=[BASE]).to_numpy(),
        base_values=contributions[BASE].to_numpy(),
        data=shown.to_numpy(dtype=float),
        feature_names=list(model.feature_names_in_),
    )


def save_plots(
    model: ShortageRiskModel,
    X: pd.DataFrame,
    contributions: pd.DataFrame,
    out_dir: Path,
    highlight: Mapping[str, int] | None = None,
    max_display: int = 15,
) -> list[Path]:
    """Beeswarm and bar of all rows, and one waterfall per highlighted pack (label -> row)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    explanation = _explanation(model, X, contributions)
    written = []
    for name, draw in (
        ("shap_beeswarm.png", shap.plots.beeswarm),
        ("shap_bar.png", shap.plots.bar),
    ):
        plt.figure()
        draw(explanation, max_display=max_display, show=False)
        path = out_dir / name
        plt.savefig(path, bbox_inches="tight", dpi=110)
        plt.close("all")
        written.append(path)
    for label, row in (highlight or {}).items():
        plt.figure()
        shap.plots.waterfall(explanation[row], max_display=max_display, show=False)
        path = out_dir / f"shap_waterfall_{label}.png"
        plt.savefig(path, bbox_inches="tight", dpi=110)
        plt.close("all")
        written.append(path)
    return written
