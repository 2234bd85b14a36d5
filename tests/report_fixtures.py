"""A small but realistic weekly scores directory (docs/scores-format.md) for report tests.

Pack names include hostile strings so that every escaping path is exercised.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.score_tables import DRIVER_COLUMNS

AS_OF = date(2025, 3, 3)
HORIZONS = (4, 13, 26)
HOSTILE_NAME = "<script>alert(1)</script>"
QUOTES_NAME = '"quotes" & ampersands'
LINE_SEPARATOR_NAME = "Paracetamol\u2028500 mg </script><b>x</b>"
FEATURES: tuple[tuple[str, str], ...] = (
    ("hist_episodes_52w", "history"),
    ("hist_weeks_since_last_end", "history"),
    ("sup_mahs", "suppliers"),
    ("sib_only_pack", "siblings"),
    ("price_headroom", "price_headroom"),
    ("price_wgp_change_52w", "max_price"),
    ("tender_share", "tender"),
    ("notif_open", "notifications"),
    ("gvs_copay", "gvs_copay"),
    ("prod_weeks_on_market", "product"),
    ("crit_category", "critical"),
    ("cal_month", "calendar"),
)
ATCS = ("J01CA04", "J01FA10", "C07AB02", "C09AA05", "N02BE01", "N06AB06", "A02BC01", "B01AC06")
MAHS = ("Sandoz", "Teva", "Aurobindo", "Mylan", "Accord", "Centrafarm")
BASE_VALUE = -2.9


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def band(p: float) -> str:
    return "high" if p >= 0.30 else "elevated" if p >= 0.15 else "moderate" if p >= 0.05 else "low"


def _products(n_packs: int) -> pd.DataFrame:
    names = [f"Generiek {i} {10 * (i % 7 + 1)} mg tablet" for i in range(n_packs)]
    names[0], names[1], names[2] = HOSTILE_NAME, QUOTES_NAME, LINE_SEPARATOR_NAME
    names[3] = "Amoxicilline 500 mg capsule"
    return pd.DataFrame(
        {
            "zi_number": [f"{10_000_000 + 37 * i:08d}" for i in range(n_packs)],
            "name": names,
            "gpk": [f"{100 + i // 3:08d}" for i in range(n_packs)],
            "atc": [ATCS[i % len(ATCS)] for i in range(n_packs)],
            "mah": [MAHS[i % len(MAHS)] if i != 1 else "O'Brien & Zn <b>" for i in range(n_packs)],
        }
    )


def _explanations(
    products: pd.DataFrame, horizon: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Drivers rows (base, top 10, other) per pack; returns them and each pack's raw score."""
    rows, raw = [], {}
    shift = {4: -0.6, 13: 0.0, 26: 0.4}[horizon]
    for i, zi in enumerate(products["zi_number"]):
        level = 2.6 - 4.2 * i / len(products) + shift
        shaps = rng.normal(0.0, 0.5, len(FEATURES))
        shaps[0] += level
        picked = np.argsort(-np.abs(shaps))[:10]
        other = float(shaps[[k for k in range(len(FEATURES)) if k not in picked]].sum())
        rows.append((zi, horizon, "base_value", "", "", BASE_VALUE, 0, ""))
        for order, k in enumerate(picked, start=1):
            feature, family = FEATURES[k]
            verb = "verhoogt" if shaps[k] > 0 else "verlaagt"
            value = f"{rng.integers(0, 9)}" if k != 3 else "<img src=x onerror=alert(2)>\u2028"
            text = f"{feature} = {value} {verb} het risico"
            rows.append((zi, horizon, feature, family, value, float(shaps[k]), order, text))
        rows.append((zi, horizon, "other", "", "", other, 11, ""))
        raw[zi] = BASE_VALUE + float(shaps.sum())
    return pd.DataFrame(rows, columns=list(DRIVER_COLUMNS)), raw


def _risk(
    products: pd.DataFrame, drivers: pd.DataFrame, raw: dict[str, float], horizon: int
) -> pd.DataFrame:
    frame = products.copy()
    frame["as_of"] = AS_OF
    frame["horizon"] = horizon
    # A monotone calibration map, so calibrated and raw probabilities visibly differ.
    frame["probability"] = [sigmoid(0.85 * raw[zi] - 0.2) for zi in frame["zi_number"]]
    frame["rank"] = frame["probability"].rank(ascending=False, method="first").astype(int)
    frame["risk_band"] = frame["probability"].map(band)
    for zi_index, zi in enumerate(frame["zi_number"]):
        top = drivers[
            (drivers["zi_number"] == zi) & ~drivers["feature"].isin(["base_value", "other"])
        ]
        top = top.sort_values("shap", ascending=False).head(3).reset_index(drop=True)
        for k in range(3):
            frame.loc[zi_index, f"driver_{k + 1}"] = top.loc[k, "feature"]
            frame.loc[zi_index, f"driver_{k + 1}_shap"] = top.loc[k, "shap"]
            frame.loc[zi_index, f"driver_{k + 1}_text"] = top.loc[k, "text"]
    frame["model_name"] = f"shortage_h{horizon}"
    frame["model_version"] = "3"
    frame["run_id"] = f"run{horizon:04d}abcdef"
    frame["input_fingerprint"] = "sha256:0123456789abcdef"
    return frame.sort_values("rank").reset_index(drop=True)


def _gpk(risk: pd.DataFrame, horizon: int) -> pd.DataFrame:
    rows = []
    for gpk, packs in risk.groupby("gpk"):
        packs = packs.sort_values("probability", ascending=False)
        n = int(gpk) % 5
        rows.append(
            {
                "gpk": gpk,
                "horizon": horizon,
                "name": packs["name"].iloc[0],
                "atc": packs["atc"].iloc[0],
                "max_probability": packs["probability"].max(),
                "expected_packs_short": packs["probability"].sum(),
                "packs_marketed": len(packs) + 1,
                "packs_scored": len(packs),
                "packs_short": 1,
                "suppliers": float("nan") if n == 4 else float(n + 1),
                "critical": ("red", "orange", "", "", "")[int(gpk) % 5],
                "packs": ";".join(packs["zi_number"]),
            }
        )
    frame = pd.DataFrame(rows)
    frame["rank"] = frame["max_probability"].rank(ascending=False, method="first").astype(int)
    return frame.sort_values("rank").reset_index(drop=True)


def _trend(risk: pd.DataFrame, horizon: int, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for zi, p in zip(risk["zi_number"], risk["probability"], strict=True):
        walk = p * np.exp(np.cumsum(rng.normal(0, 0.15, 8))[::-1] * 0.5)
        for week, q in enumerate(walk, start=1):
            rows.append((zi, horizon, AS_OF - timedelta(weeks=9 - week), float(min(q, 0.99))))
    return pd.DataFrame(rows, columns=["zi_number", "horizon", "as_of", "probability"])


def _changes(risk: pd.DataFrame, horizon: int) -> pd.DataFrame:
    rows = []
    for _, r in risk.iloc[[2, 5, 9]].iterrows():
        rows.append((r.zi_number, horizon, "new in top 100", r.probability, r.probability / 3,
                     r["rank"], 140 + r["rank"]))  # fmt: skip
    for _, r in risk.iloc[[0, 4, 7, 12]].iterrows():
        rows.append((r.zi_number, horizon, "riser", r.probability, r.probability * 0.6,
                     r["rank"], r["rank"] + 5))  # fmt: skip
    columns = ["zi_number", "horizon", "change", "probability", "previous_probability", "rank",
               "previous_rank"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _status(n_packs: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "zi_number": [f"{20_000_000 + i:08d}" for i in range(5)],
            "name": ["Lisinopril 10 mg", HOSTILE_NAME, "Oxazepam 10 mg", "Nieuw 5 mg", "Oud"],
            "gpk": ["00000900"] * 5,
            "atc": ["C09AA03", "N05BA04", "N05BA04", "A10BA02", "A10BA02"],
            "mah": ["Teva"] * 5,
            "status": ["in shortage", "in shortage", "off market", "not yet on market", "x<y"],
            "since": [date(2025, 1, 6), date(2025, 2, 3), date(2024, 6, 1), None, None],
        }
    )


def _summary(horizons: tuple[int, ...], n_packs: int) -> dict[str, object]:
    models = {
        str(h): {
            "name": f"shortage_h{h}",
            "version": "3",
            "run_id": f"run{h:04d}abcdef",
            "training_first_week": "2019-01-07",
            "training_last_week": "2024-09-30",
            "backtest": {
                "pr_auc": {"value": 0.31, "ci_low": 0.27, "ci_high": 0.35},
                "roc_auc": {"value": 0.84, "ci_low": 0.82, "ci_high": 0.86},
                "brier": {"value": 0.041, "ci_low": 0.038, "ci_high": 0.044},
                "ece": {"value": 0.012, "ci_low": 0.008, "ci_high": 0.017},
                "precision_at_100": {"value": 0.42, "ci_low": 0.35, "ci_high": 0.5},
            },
            "calibration": [
                {"mean_probability": m, "positive_rate": m * f, "weight": w}
                for m, f, w in [
                    (0.01, 0.9, 5000),
                    (0.05, 1.1, 900),
                    (0.12, 0.95, 300),
                    (0.25, 1.05, 80),
                    (0.45, 0.9, 20),
                ]  # fmt: skip
            ],
        }
        for h in horizons
    }
    return {
        "as_of": AS_OF.isoformat(),
        "created_by": "shortage-forecast 0.1.0",
        "horizons": list(HORIZONS),
        "models": models,
        "input_fingerprint": "sha256:0123456789abcdef",
        "freshness": {
            "shortages": {
                "rows": 1200,
                "last_date": "2025-02-28",
                "weeks_since_last_row": 0,
                "expected_weeks": 4,
                "stale": False,
            },
            "wgp_prices": {
                "rows": 5000,
                "last_date": "2024-10-01",
                "weeks_since_last_row": 21,
                "expected_weeks": 30,
                "stale": False,
            },
            "notifications": {
                "rows": 300,
                "last_date": "2024-11-04",
                "weeks_since_last_row": 17,
                "expected_weeks": 4,
                "stale": True,
            },
            "tenders": {
                "rows": 0,
                "last_date": None,
                "weeks_since_last_row": None,
                "expected_weeks": 60,
                "stale": True,
            },
            "registrations": {
                "rows": 40,
                "last_date": "2023-01-02",
                "weeks_since_last_row": 112,
                "expected_weeks": None,
                "stale": False,
            },
        },
        "counts": {"scored": n_packs, "short": 2, "off market": 1},
        "risk_bands": {
            "high": [0.3, 1.0],
            "elevated": [0.15, 0.3],
            "moderate": [0.05, 0.15],
            "low": [0.0, 0.05],
        },  # fmt: skip
        "drift_threshold": 0.25,
        "drift_warnings": ["price_headroom (13 weeks): PSI 0.31"],
    }


def write_scores_dir(
    root: Path,
    *,
    n_packs: int = 40,
    horizons: tuple[int, ...] = HORIZONS,
    with_trend: bool = True,
    with_drift: bool = True,
    with_changes: bool = True,
    seed: int = 7,
) -> Path:
    """Write ``root/<as_of>/`` with every file of the format; horizons may be left out."""
    rng = np.random.default_rng(seed)
    directory = root / AS_OF.isoformat()
    directory.mkdir(parents=True, exist_ok=True)
    products = _products(n_packs)
    risks, drivers, gpks, trends, changes = [], [], [], [], []
    for h in horizons:
        explained, raw = _explanations(products, h, rng)
        risk = _risk(products, explained, raw, h)
        risks.append(risk)
        drivers.append(explained)
        gpks.append(_gpk(risk, h))
        trends.append(_trend(risk, h, rng))
        changes.append(_changes(risk, h))
    risk = pd.concat(risks, ignore_index=True)
    risk.to_parquet(directory / "risk.parquet", index=False)
    risk.to_csv(directory / "risk.csv", index=False)
    pd.concat(drivers, ignore_index=True).to_parquet(directory / "drivers.parquet", index=False)
    pd.concat(gpks, ignore_index=True).to_parquet(directory / "gpk.parquet", index=False)
    change_frame = pd.concat(changes, ignore_index=True)
    if not with_changes:
        change_frame = change_frame.iloc[0:0]
    change_frame.to_parquet(directory / "changes.parquet", index=False)
    families = (
        pd.concat(drivers)
        .query("feature not in ['base_value', 'other']")
        .assign(abs_shap=lambda f: f["shap"].abs())
        .groupby(["horizon", "family"], as_index=False)["abs_shap"]
        .mean()
        .rename(columns={"abs_shap": "mean_abs_shap"})
    )
    families.to_parquet(directory / "families.parquet", index=False)
    _status(n_packs).to_parquet(directory / "status.parquet", index=False)
    if with_trend:
        pd.concat(trends, ignore_index=True).to_parquet(directory / "trend.parquet", index=False)
    if with_drift:
        drift = pd.DataFrame(
            [
                (h, f, 0.05 + 0.03 * k, 0.05 + 0.03 * k > 0.25)
                for h in horizons
                for k, (f, _) in enumerate(FEATURES)
            ],  # fmt: skip
            columns=["horizon", "feature", "psi", "warn"],
        )
        drift.to_parquet(directory / "drift.parquet", index=False)
    summary = _summary(horizons, n_packs)
    (directory / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return directory
