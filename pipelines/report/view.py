"""Turning a scores directory into the plain values the template shows.

Kept free of HTML (except escaped SVG charts) so that it can be tested directly and
the template stays a thin layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from markupsafe import Markup

from pipelines.report import svg
from pipelines.report.load import Scores
from pipelines.report.waterfall import BASE_LABEL, probability_waterfall, sigmoid

EMBED_TOP = 250
DEFAULT_TOP = 100
DEFAULT_HORIZON = 13
TOP_CHOICES = (25, 50, 100, 250)
GPK_TOP = 50
RISERS_TOP = 20
STATUS_LIMIT = 1000
OTHER_LABEL = "other"
METRIC_ORDER = ("pr_auc", "roc_auc", "brier", "ece", "precision_at_100", "recall_at_100")
# How many weeks may pass without a new row before a source table counts as stale: the
# tables change at very different paces (maximum prices twice a year, shortages weekly).


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def text_of(value: Any) -> str:
    """Data value as display text; missing values become empty, never 'nan'."""
    if _missing(value) or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def iso_date(value: Any) -> str:
    """Dates may arrive as date, Timestamp or text; show them as YYYY-MM-DD."""
    if text_of(value) == "":
        return ""
    try:
        return pd.Timestamp(value).date().isoformat()
    except (ValueError, TypeError):
        return str(value)


def int_or_blank(value: Any) -> int | str:
    """Counts and ranks may be missing (NaN); show those as blank."""
    return "" if text_of(value) == "" else int(value)


def supplier_band(suppliers: Any) -> str:
    """The supplier-count filter groups: one supplier is the fragile case."""
    if text_of(suppliers) == "" or float(suppliers) < 1:
        return "unknown"
    n = int(suppliers)
    return "1" if n == 1 else "2-3" if n <= 3 else "4+"


@dataclass
class PackRow:
    rank: int
    zi_number: str
    name: str
    atc: str
    mah: str
    probability: float
    band: str
    critical: str
    suppliers: str
    sparkline: Markup
    drivers: list[str]

    @property
    def search(self) -> str:
        return f"{self.zi_number} {self.name}".lower()


@dataclass
class HorizonView:
    horizon: int
    scored: int = 0
    packs: list[PackRow] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    gpks: list[dict[str, Any]] = field(default_factory=list)
    new_in_top: list[dict[str, Any]] = field(default_factory=list)
    risers: list[dict[str, Any]] = field(default_factory=list)
    families: Markup = Markup("")
    model: dict[str, Any] | None = None
    drift: list[dict[str, Any]] | None = None

    @property
    def available(self) -> bool:
        return self.scored > 0


def horizons_of(scores: Scores) -> list[int]:
    """Declared horizons plus any that only the risk table has, in order."""
    declared = {int(h) for h in scores.summary.get("horizons", [])}
    return sorted(declared | {int(h) for h in scores.risk["horizon"].unique()})


def default_horizon(scores: Scores, horizons: list[int]) -> int:
    present = sorted(int(h) for h in scores.risk["horizon"].unique())
    if DEFAULT_HORIZON in present:
        return DEFAULT_HORIZON
    return present[0] if present else horizons[0]


def _gpk_facts(gpk: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Per GPK: critical-list colour and supplier band (same for every horizon)."""
    facts: dict[str, tuple[str, str]] = {}
    for row in gpk.drop_duplicates("gpk").itertuples(index=False):
        critical = text_of(getattr(row, "critical", ""))
        facts[text_of(row.gpk)] = (critical, supplier_band(getattr(row, "suppliers", None)))
    return facts


def _trend_points(trend: pd.DataFrame | None, horizon: int) -> dict[str, list[list[Any]]]:
    if trend is None:
        return {}
    frame = trend[trend["horizon"] == horizon].sort_values("as_of")
    points: dict[str, list[list[Any]]] = {}
    for row in frame.itertuples(index=False):
        points.setdefault(text_of(row.zi_number), []).append(
            [iso_date(row.as_of), round(float(row.probability), 6)]
        )
    return points


def _with_current(points: list[list[Any]], as_of: str, probability: float) -> list[list[Any]]:
    """The trend ends at this week's score, unless the table already has it."""
    if points and points[-1][0] == as_of:
        return points
    return [*points, [as_of, round(probability, 6)]]


def _driver_texts(row: Any) -> list[str]:
    texts = [text_of(getattr(row, f"driver_{k}_text", None)) for k in (1, 2, 3)]
    return [t for t in texts if t]


def explanation(rows: pd.DataFrame) -> tuple[float, list[list[Any]]]:
    """Raw score and waterfall bars for one pack's drivers rows (base, top 10, other)."""
    base_rows = rows[rows["feature"] == BASE_LABEL]
    base = float(base_rows["shap"].iloc[0]) if len(base_rows) else 0.0
    parts = rows[rows["feature"] != BASE_LABEL].assign(_last=lambda f: f["feature"] == OTHER_LABEL)
    parts = parts.sort_values(["_last", "order"], kind="stable")
    contributions = [(text_of(r.feature), float(r.shap)) for r in parts.itertuples(index=False)]
    bars = probability_waterfall(base, contributions)
    meta = [("", "")] + [
        (text_of(getattr(r, "feature_value", "")), text_of(getattr(r, "text", "")))
        for r in parts.itertuples(index=False)
    ]
    shaps = [base] + [s for _, s in contributions]
    out = [
        [label, value, round(shap, 6), round(start, 6), round(end, 6), sentence]
        for (label, start, end), (value, sentence), shap in zip(bars, meta, shaps, strict=True)
    ]
    return base + sum(s for _, s in contributions), out


def _pack_rows(scores: Scores, view: HorizonView, top: int, as_of: str) -> None:
    risk = scores.risk[scores.risk["horizon"] == view.horizon]
    view.scored = len(risk)
    chosen = risk.sort_values("rank").head(top)
    facts = _gpk_facts(scores.gpk)
    trend = _trend_points(scores.trend, view.horizon)
    drivers = scores.drivers[
        (scores.drivers["horizon"] == view.horizon)
        & scores.drivers["zi_number"].isin(chosen["zi_number"])
    ]
    by_pack = {text_of(zi): rows for zi, rows in drivers.groupby("zi_number", sort=False)}
    for row in chosen.itertuples(index=False):
        zi = text_of(row.zi_number)
        probability = float(row.probability)
        points = _with_current(trend.get(zi, []), as_of, probability) if trend else []
        critical, suppliers = facts.get(text_of(getattr(row, "gpk", "")), ("", "unknown"))
        view.packs.append(
            PackRow(
                rank=int(row.rank),
                zi_number=zi,
                name=text_of(row.name),
                atc=text_of(getattr(row, "atc", "")),
                mah=text_of(getattr(row, "mah", "")),
                probability=probability,
                band=text_of(row.risk_band),
                critical=critical,
                suppliers=suppliers,
                sparkline=svg.sparkline([p for _, p in points]),
                drivers=_driver_texts(row),
            )
        )
        raw, bars = explanation(by_pack[zi]) if zi in by_pack else (math.nan, [])
        view.details[zi] = {
            "p": round(probability, 6),
            "raw": None if math.isnan(raw) else round(raw, 6),
            "praw": None if math.isnan(raw) else round(sigmoid(raw), 6),
            "bars": bars,
            "trend": points,
        }


def _gpk_rows(scores: Scores, view: HorizonView, names: dict[str, str]) -> None:
    frame = scores.gpk[scores.gpk["horizon"] == view.horizon].sort_values("rank").head(GPK_TOP)
    for row in frame.itertuples(index=False):
        packs = [p for p in text_of(getattr(row, "packs", "")).split(";") if p]
        marketed = int_or_blank(getattr(row, "packs_marketed", None))
        short = int_or_blank(getattr(row, "packs_short", None))
        remaining = marketed - short if isinstance(marketed, int) and isinstance(short, int) else ""
        view.gpks.append(
            {
                "rank": int(row.rank),
                "gpk": text_of(row.gpk),
                "name": text_of(getattr(row, "name", "")),
                "atc": text_of(getattr(row, "atc", "")),
                "max_probability": float(row.max_probability),
                "expected_short": float(getattr(row, "expected_packs_short", math.nan)),
                "remaining": remaining,
                "marketed": marketed,
                "suppliers": int_or_blank(getattr(row, "suppliers", None)),
                "critical": text_of(getattr(row, "critical", "")),
                "packs": [(zi, names.get(zi, "")) for zi in packs],
            }
        )


def _rise(row: dict[str, Any]) -> float:
    delta = float(row["delta"])
    return 0.0 if math.isnan(delta) else delta


def _change_rows(scores: Scores, view: HorizonView, names: dict[str, str]) -> None:
    frame = scores.changes[scores.changes["horizon"] == view.horizon]
    rows = []
    for row in frame.itertuples(index=False):
        probability = float(getattr(row, "probability", math.nan))
        previous = float(getattr(row, "previous_probability", math.nan))
        rows.append(
            {
                "change": text_of(row.change),
                "zi_number": text_of(row.zi_number),
                "name": names.get(text_of(row.zi_number), ""),
                "probability": probability,
                "previous": previous,
                "delta": probability - previous,
                "rank": int_or_blank(getattr(row, "rank", None)),
                "previous_rank": int_or_blank(getattr(row, "previous_rank", None)),
            }
        )
    view.new_in_top = sorted(
        (r for r in rows if r["change"] == "new in top 100"), key=lambda r: -float(r["probability"])
    )
    risers = [r for r in rows if r["change"] == "riser"]
    view.risers = sorted(risers, key=_rise, reverse=True)[:RISERS_TOP]


def _families(scores: Scores, view: HorizonView) -> None:
    frame = scores.families[scores.families["horizon"] == view.horizon]
    frame = frame.sort_values("mean_abs_shap", ascending=False)
    items = [(text_of(r.family), float(r.mean_abs_shap)) for r in frame.itertuples(index=False)]
    view.families = svg.bar_chart(items)


def _model_for(summary: dict[str, Any], horizon: int) -> dict[str, Any] | None:
    """``models`` is keyed by horizon (a string in JSON); a list with 'horizon' also works."""
    models = summary.get("models") or {}
    if isinstance(models, list):
        return next((m for m in models if int(m.get("horizon", -1)) == horizon), None)
    found = models.get(str(horizon), models.get(horizon))
    return found if isinstance(found, dict) else None


def metric_key(name: str) -> str:
    return name.lower().replace("@", "_at_").replace("-", "_")


def _model_card(scores: Scores, view: HorizonView) -> None:
    model = _model_for(scores.summary, view.horizon)
    if model is None:
        return
    metrics = []
    backtest = model.get("backtest") or {}
    ordered = sorted(
        backtest,
        key=lambda k: (
            (METRIC_ORDER.index(metric_key(k)), "")
            if metric_key(k) in METRIC_ORDER
            else (len(METRIC_ORDER), k)
        ),
    )
    for name in ordered:
        entry = backtest[name]
        entry = entry if isinstance(entry, dict) else {"value": entry}
        metrics.append(
            {
                "key": metric_key(name),
                "name": name,
                "value": entry.get("value"),
                "low": entry.get("ci_low"),
                "high": entry.get("ci_high"),
            }
        )
    points = [
        (float(c["mean_probability"]), float(c["positive_rate"]), float(c.get("weight", 1.0)))
        for c in model.get("calibration") or []
    ]
    view.model = {
        "name": text_of(model.get("name")),
        "version": text_of(model.get("version")),
        "run_id": text_of(model.get("run_id")),
        "first_week": iso_date(model.get("training_first_week")),
        "last_week": iso_date(model.get("training_last_week")),
        "metrics": metrics,
        "calibration": svg.calibration_plot(points),
    }


def _drift(scores: Scores, view: HorizonView) -> None:
    if scores.drift is None:
        return
    frame = scores.drift[(scores.drift["horizon"] == view.horizon) & scores.drift["warn"]]
    view.drift = [
        {"feature": text_of(r.feature), "psi": float(r.psi)}
        for r in frame.sort_values("psi", ascending=False).itertuples(index=False)
    ]


def horizon_view(scores: Scores, horizon: int, top: int, as_of: str) -> HorizonView:
    view = HorizonView(horizon=horizon)
    _pack_rows(scores, view, top, as_of)
    risk = scores.risk[scores.risk["horizon"] == horizon]
    names = {text_of(z): text_of(n) for z, n in zip(risk["zi_number"], risk["name"], strict=True)}
    _gpk_rows(scores, view, names)
    _change_rows(scores, view, names)
    _families(scores, view)
    _model_card(scores, view)
    _drift(scores, view)
    return view


def freshness(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per source table: rows, last date, age, and whether it is stale for its pace."""
    rows = []
    for table, facts in (summary.get("freshness") or {}).items():
        facts = facts or {}
        weeks = facts.get("weeks_since_last_row")
        limit = facts.get("expected_weeks")
        n_rows = facts.get("rows")
        rows.append(
            {
                "table": str(table),
                "rows": n_rows,
                "last_date": iso_date(facts.get("last_date")),
                "weeks": weeks,
                "limit": limit,
                "empty": n_rows == 0,
                "stale": bool(facts.get("stale")),
            }
        )
    return rows


def drift_warning_texts(summary: dict[str, Any]) -> list[str]:
    """``drift_warnings`` is free-form in the format; show strings and dicts readably."""
    texts = []
    for item in summary.get("drift_warnings") or []:
        if isinstance(item, dict):
            texts.append(", ".join(f"{k}: {v}" for k, v in item.items()))
        else:
            texts.append(str(item))
    return texts


def status_rows(status: pd.DataFrame) -> list[dict[str, str]]:
    frame = status.assign(_since=status.get("since")).sort_values(
        ["status", "_since"], ascending=[True, False], na_position="last"
    )
    return [
        {
            "zi_number": text_of(r.zi_number),
            "name": text_of(getattr(r, "name", "")),
            "gpk": text_of(getattr(r, "gpk", "")),
            "atc": text_of(getattr(r, "atc", "")),
            "mah": text_of(getattr(r, "mah", "")),
            "status": text_of(r.status),
            "since": iso_date(getattr(r, "since", "")),
        }
        for r in frame.head(STATUS_LIMIT).itertuples(index=False)
    ]


def atc_options(views: list[HorizonView]) -> list[tuple[str, list[str]]]:
    """ATC main groups with the ATC-3 codes under them, from the packs on the page."""
    codes = {p.atc.upper() for v in views for p in v.packs if p.atc}
    groups: dict[str, set[str]] = {}
    for code in codes:
        groups.setdefault(code[0], set())
        if len(code) >= 3:
            groups[code[0]].add(code[:3])
    return [(g, sorted(groups[g])) for g in sorted(groups)]
