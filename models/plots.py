"""Backtest plots: the calibration curve and the precision-recall curve per model."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: batch runs have no display

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.metrics import precision_recall_curve

from models.metrics import calibration_bins, pr_auc


def save_calibration_curve(predictions: pd.DataFrame, path: Path, n_bins: int = 10) -> Path:
    """Mean predicted probability against the observed onset rate, per equal-frequency bin."""
    table = calibration_bins(predictions["label"], predictions["probability"], n_bins=n_bins)
    fig, ax = plt.subplots(figsize=(5, 5))
    top = max(table["mean_probability"].max(), table["positive_rate"].max()) * 1.05
    ax.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="perfect")
    ax.plot(table["mean_probability"], table["positive_rate"], marker="o", label="model")
    ax.set_xlabel("predicted probability (bin mean)")
    ax.set_ylabel("observed onset rate")
    ax.set_title("Calibration (out-of-sample)")
    ax.legend()
    fig.savefig(path, bbox_inches="tight", dpi=110)
    plt.close(fig)
    return path


def save_pr_curves(predictions: pd.DataFrame, path: Path, model_column: str = "model") -> Path:
    """Precision-recall curves of every model in ``predictions`` on the same rows."""
    fig, ax = plt.subplots(figsize=(6, 5))
    groups = (
        predictions.groupby(model_column, sort=True)
        if model_column in predictions
        else [("model", predictions)]
    )
    for name, frame in groups:
        precision, recall, _ = precision_recall_curve(frame["label"], frame["probability"])
        score = pr_auc(frame["label"], frame["probability"])
        ax.plot(recall, precision, label=f"{name} (PR-AUC {score:.3f})", linewidth=1.2)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall (out-of-sample)")
    ax.legend(fontsize=8)
    fig.savefig(path, bbox_inches="tight", dpi=110)
    plt.close(fig)
    return path
