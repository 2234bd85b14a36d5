"""What-if runs: apply a scenario to the inputs, re-score, report the change in risk.

The scenario's operations (pipelines/scenarios) are applied to the contract
tables as rows dated on or before the as-of date, so the point-in-time features
of that week see them; both markets are then scored by the same champion with
the same code as the weekly batch (``score_market``). The difference is the
model's association between its inputs and shortages, not a causal effect: the
output says so wherever it is read.

Output: ``<out>/<as_of>-<scenario>/`` with packs, gpk and atc tables (Parquet
and CSV), the resolved ``scenario.toml``, ``summary.json`` and ``whatif.html``,
written atomically and without timestamps (a re-run is byte-identical).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment

from features.atomic import atomic_directory
from features.labels import DEFAULT_HORIZONS
from features.market import Market, conform
from pipelines.scenarios import (
    LOW_TURNOVER_AIP,
    AddPreferred,
    AddSupplier,
    Operation,
    PackFilter,
    ScalePrice,
    Scenario,
    ShortenDesignation,
    to_toml,
)
from pipelines.score import (
    DEFAULT_STALE_WEEKS,
    HorizonScores,
    prepare_scoring,
    score_market,
)
from pipelines.score_tables import rank_by_horizon
from pipelines.tracking import CHAMPION_MODEL_URI, TrackingConfig

Progress = Callable[[str], None]
ATC_GROUP_CHARS = 4  # ATC level 3, the pharmacological subgroup (e.g. J01C)
ASSOCIATION = (
    "These numbers are the model's association, not a causal estimate. They show how the "
    "predicted risk moves when the model's inputs are changed as described; the model learned "
    "from past data in which this policy did not happen, suppliers and insurers would react to "
    "it, and the inputs it changes may stand in for other causes. Read them as a question for "
    "analysis, not as the effect the policy would have."
)
PRICE_COLUMN = {"wgp_prices": "max_price", "list_prices": "aip"}
PACK_COLUMNS = [
    "as_of", "zi_number", "name", "gpk", "atc", "horizon", "baseline_probability",
    "scenario_probability", "change", "baseline_rank", "scenario_rank", "rank_change",
    "affected", "changed_features",
]  # fmt: skip


class WhatIfError(RuntimeError):
    """The scenario cannot be applied or scored (absent table, different packs scored)."""


@dataclass(frozen=True)
class Change:
    """What one operation did to the input tables, for the summary and the page."""

    operation: int
    op: str
    table: str
    rows_added: int
    rows_changed: int
    packs: tuple[str, ...]
    gpks: tuple[str, ...]
    note: str


# --- point in time ---------------------------------------------------------------------------


def on_market(products: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Packs marketed on ``as_of`` (entered, not yet left), as the panel defines it."""
    entry, exit_ = products["market_entry"], products["market_exit"]
    return (entry.isna() | (entry <= as_of)) & (exit_.isna() | (exit_ > as_of))


def in_force(frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The latest row per pack with ``valid_from <= as_of`` (the value in force)."""
    known = frame[frame["valid_from"] <= as_of].sort_values(["zi_number", "valid_from"])
    return known.drop_duplicates("zi_number", keep="last")


def designations_in_force(tenders: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Mask of tender rows whose period ``[valid_from, valid_to)`` contains ``as_of``."""
    return (tenders["valid_from"] <= as_of) & (tenders["valid_to"] > as_of)


def registrations_in_force(registrations: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    withdrawn = registrations["withdrawn_on"]
    return (registrations["registered_on"] <= as_of) & (withdrawn.isna() | (withdrawn > as_of))


def known_short(market: Market, as_of: pd.Timestamp) -> set[str]:
    """Packs in a shortage known on ``as_of`` (never offered as a new preferred pack)."""
    s = market.shortages
    now = (
        (s["reported_on"] <= as_of)
        & (s["start_date"] <= as_of)
        & (s["end_date"].isna() | (s["end_date"] > as_of))
    )
    return set(s.loc[now, "zi_number"].astype(str))


def select_packs(market: Market, as_of: pd.Timestamp, where: PackFilter) -> set[str]:
    """zi_numbers on the market at ``as_of`` meeting every condition of ``where``."""
    products = market.products
    keep = on_market(products, as_of)
    if where.atc_prefix:
        atc = products["atc"].fillna("").astype(str)
        keep &= atc.str.startswith(tuple(where.atc_prefix)) & (atc != "")
    if where.gpk:
        keep &= products["gpk"].astype(str).isin(where.gpk)
    if where.zi_number:
        keep &= products["zi_number"].astype(str).isin(where.zi_number)
    low = LOW_TURNOVER_AIP if where.low_turnover else None
    ceilings = [c for c in (where.aip_at_most, low) if c is not None]
    if ceilings:
        if market.list_prices is None:
            raise WhatIfError("the filter needs the AIP, but list_prices is absent")
        aip = in_force(market.list_prices, as_of).set_index("zi_number")["aip"]
        keep &= products["zi_number"].map(aip).le(min(ceilings)).fillna(False).astype(bool)
    if where.preferred is not None or where.tendered is not None:
        tenders = market.tenders
        if tenders is None:
            raise WhatIfError("the filter needs tender designations, but tenders is absent")
        current = tenders[designations_in_force(tenders, as_of)]
        if where.preferred is not None:
            keep &= products["zi_number"].isin(current["zi_number"]) == where.preferred
        if where.tendered is not None:
            keep &= products["gpk"].isin(current["gpk"]) == where.tendered
    return set(products.loc[keep, "zi_number"].astype(str))


def _gpks_of(market: Market, packs: set[str]) -> set[str]:
    products = market.products
    return set(products.loc[products["zi_number"].isin(packs), "gpk"].astype(str))


def _required(market: Market, table: str) -> pd.DataFrame:
    frame = market.table(table)
    if frame is None:
        raise WhatIfError(f"the scenario changes {table}, which is absent from the data")
    return frame


def _replace(market: Market, table: str, frame: pd.DataFrame) -> Market:
    return dataclasses.replace(market, **{table: conform(table, frame)})


# --- operations --------------------------------------------------------------------------------


def scale_price(market: Market, op: ScalePrice, as_of: pd.Timestamp) -> tuple[Market, Change]:
    """New price rows dated ``as_of`` (or the row dated ``as_of`` changed) for selected packs."""
    frame = _required(market, op.table).copy()
    column = PRICE_COLUMN[op.table]
    current = in_force(frame, as_of)
    current = current[current["zi_number"].isin(select_packs(market, as_of, op.select))]
    same_day = current["valid_from"] == as_of
    frame.loc[current.index[same_day], column] = current.loc[same_day, column] * op.factor
    added = current.loc[~same_day, ["zi_number"]].assign(
        valid_from=as_of, **{column: current.loc[~same_day, column] * op.factor}
    )
    frame = pd.concat([frame, added], ignore_index=True)
    packs = set(current["zi_number"].astype(str))
    note = f"{column} x {op.factor:g} from {as_of:%Y-%m-%d} for {len(packs)} packs with a price"
    change = Change(
        0, op.op, op.table, len(added), int(same_day.sum()), tuple(sorted(packs)),
        tuple(sorted(_gpks_of(market, packs))), note,
    )  # fmt: skip
    return _replace(market, op.table, frame), change


def _candidates(market: Market, as_of: pd.Timestamp) -> dict[str, list[str]]:
    """Marketed packs not known short, per GPK, lowest zi_number first."""
    products = market.products
    ok = on_market(products, as_of) & ~products["zi_number"].isin(known_short(market, as_of))
    packs = products.loc[ok].sort_values("zi_number")
    return {str(g): list(rows["zi_number"].astype(str)) for g, rows in packs.groupby("gpk")}


def add_preferred(market: Market, op: AddPreferred, as_of: pd.Timestamp) -> tuple[Market, Change]:
    """Extra preferred packs for each insurer designation in force with too few."""
    tenders = _required(market, "tenders")
    current = tenders[designations_in_force(tenders, as_of)]
    selected_gpks = _gpks_of(market, select_packs(market, as_of, op.select))
    candidates = _candidates(market, as_of)
    rows, short_of = [], 0
    for (insurer, gpk), group in current.groupby(["insurer", "gpk"], sort=True):
        preferred = set(group["zi_number"].astype(str))
        need = op.min_preferred - len(preferred)
        if need <= 0 or str(gpk) not in selected_gpks:
            continue
        extra = [z for z in candidates.get(str(gpk), []) if z not in preferred][:need]
        short_of += need - len(extra)
        share = group["market_share"].max()
        for zi in extra:
            rows.append((insurer, gpk, zi, as_of, group["valid_to"].min(), share))
    added = pd.DataFrame(rows, columns=list(tenders.columns))
    frame = pd.concat([tenders, added], ignore_index=True) if rows else tenders
    packs = set(added["zi_number"].astype(str))
    note = (
        f"{len(added)} preferred packs added to designations in force; "
        f"{short_of} could not be added (no other marketed pack of the GPK not in shortage)"
    )
    change = Change(
        0, op.op, "tenders", len(added), 0, tuple(sorted(packs)),
        tuple(sorted(set(added["gpk"].astype(str)))), note,
    )  # fmt: skip
    return _replace(market, "tenders", frame), change


def shorten_designation(
    market: Market, op: ShortenDesignation, as_of: pd.Timestamp
) -> tuple[Market, Change]:
    """Designations in force end ``months`` after their start, but not before next week."""
    frame = _required(market, "tenders").copy()
    current = designations_in_force(frame, as_of) & frame["zi_number"].isin(
        select_packs(market, as_of, op.select)
    )
    shortened = (frame["valid_from"] + pd.DateOffset(months=op.months)).clip(
        lower=as_of + pd.Timedelta(weeks=1)
    )
    new_end = frame["valid_to"].where(~current, np.minimum(frame["valid_to"], shortened))
    moved = current & (new_end != frame["valid_to"])
    frame["valid_to"] = new_end
    packs = set(frame.loc[moved, "zi_number"].astype(str))
    note = f"{int(moved.sum())} designation rows in force now end {op.months} months after start"
    change = Change(
        0, op.op, "tenders", 0, int(moved.sum()), tuple(sorted(packs)),
        tuple(sorted(set(frame.loc[moved, "gpk"].astype(str)))), note,
    )  # fmt: skip
    return _replace(market, "tenders", frame), change


def add_supplier(market: Market, op: AddSupplier, as_of: pd.Timestamp) -> tuple[Market, Change]:
    """New registrations so that GPKs with exactly ``suppliers`` holders get ``add`` more."""
    registrations = _required(market, "registrations")
    current = registrations[registrations_in_force(registrations, as_of)]
    holders = current.groupby("gpk")["mah"].nunique()
    selected = _gpks_of(market, select_packs(market, as_of, op.select))
    counts = {g: int(holders.get(g, 0)) for g in selected}
    chosen = sorted(g for g, n in counts.items() if n == op.suppliers)
    since = as_of - pd.Timedelta(weeks=op.registered_weeks_before)
    taken = set(registrations["rvg_number"].astype(str))
    rows = []
    for gpk in chosen:
        for k in range(1, op.add + 1):
            rvg = f"WHATIF {gpk} {k}"
            if rvg in taken:
                raise WhatIfError(f"registration {rvg!r} already exists; cannot add it")
            rows.append((rvg, gpk, f"Additional supplier {k} (scenario)", since, pd.NaT))
    added = pd.DataFrame(rows, columns=list(registrations.columns))
    frame = pd.concat([registrations, added], ignore_index=True) if rows else registrations
    products = market.products
    marketed = on_market(products, as_of) & products["gpk"].isin(chosen)
    packs = set(products.loc[marketed, "zi_number"].astype(str))
    note = (
        f"{len(chosen)} GPKs with {op.suppliers} supplier(s) in force get {op.add} more, "
        f"registered {since:%Y-%m-%d}"
    )
    change = Change(
        0, op.op, "registrations", len(added), 0, tuple(sorted(packs)),
        tuple(chosen), note,
    )  # fmt: skip
    return _replace(market, "registrations", frame), change


def apply_operation(market: Market, op: Operation, as_of: pd.Timestamp) -> tuple[Market, Change]:
    if isinstance(op, ScalePrice):
        return scale_price(market, op, as_of)
    if isinstance(op, AddPreferred):
        return add_preferred(market, op, as_of)
    if isinstance(op, ShortenDesignation):
        return shorten_designation(market, op, as_of)
    return add_supplier(market, op, as_of)


def apply_scenario(
    market: Market, scenario: Scenario, as_of: pd.Timestamp
) -> tuple[Market, list[Change]]:
    """The market with every operation applied in order, and what each one did."""
    changes = []
    for i, op in enumerate(scenario.operations):
        market, change = apply_operation(market, op, as_of)
        changes.append(dataclasses.replace(change, operation=i))
    return market, changes


# --- comparison ----------------------------------------------------------------------------


def _differs(before: pd.Series, after: pd.Series) -> pd.Series:
    """Element-wise "value changed", with missing equal to missing."""
    if isinstance(before.dtype, pd.CategoricalDtype) or before.dtype == object:
        return before.astype(object).fillna("\0").astype(str) != after.astype(object).fillna(
            "\0"
        ).astype(str)
    x, y = before.to_numpy(dtype=float), after.to_numpy(dtype=float)
    return pd.Series(~((x == y) | (np.isnan(x) & np.isnan(y))), index=before.index)


def feature_changes(base: HorizonScores, alt: HorizonScores) -> pd.Series:
    """Per zi_number, the model features whose as-of value the scenario changed (';'-joined)."""
    before = base.now.set_index(base.now["zi_number"].astype(str))[base.features]
    after = alt.now.set_index(alt.now["zi_number"].astype(str)).loc[before.index, base.features]
    changed = pd.DataFrame({f: _differs(before[f], after[f]) for f in base.features})
    return changed.apply(lambda row: ";".join(row.index[row.to_numpy()]), axis=1)


def pack_changes(
    baseline: list[HorizonScores], scenario: list[HorizonScores], as_of: pd.Timestamp
) -> pd.DataFrame:
    """One row per scored pack and horizon: baseline and scenario risk, change, ranks."""
    frames = []
    for base, alt in zip(baseline, scenario, strict=True):
        rows = base.risk[["zi_number", "name", "gpk", "atc", "horizon", "probability"]]
        rows = rows.rename(columns={"probability": "baseline_probability"})
        other = alt.risk.set_index("zi_number")["probability"]
        if set(other.index) != set(rows["zi_number"]):
            raise WhatIfError("the scenario changed which packs are scored; it must not")
        rows = rows.assign(
            scenario_probability=rows["zi_number"].map(other).astype(float),
            changed_features=rows["zi_number"].map(feature_changes(base, alt)),
        )
        frames.append(rows)
    packs = pd.concat(frames, ignore_index=True)
    packs["change"] = packs["scenario_probability"] - packs["baseline_probability"]
    packs["baseline_rank"] = rank_by_horizon(packs, "baseline_probability", "zi_number")
    packs["scenario_rank"] = rank_by_horizon(packs, "scenario_probability", "zi_number")
    # Positive: the pack moved up the risk list.
    packs["rank_change"] = packs["baseline_rank"] - packs["scenario_rank"]
    packs["affected"] = packs["changed_features"] != ""
    packs["as_of"] = as_of
    packs = packs.sort_values(["horizon", "baseline_rank"], ignore_index=True)
    return packs[PACK_COLUMNS]


def aggregate(packs: pd.DataFrame, key: str) -> pd.DataFrame:
    """Mean / max / min change and expected packs short before and after, per key and horizon."""
    grouped = packs.groupby([key, "horizon"], sort=True)
    out = grouped.agg(
        packs_scored=("zi_number", "size"),
        packs_affected=("affected", "sum"),
        mean_change=("change", "mean"),
        max_change=("change", "max"),
        min_change=("change", "min"),
        expected_packs_short_baseline=("baseline_probability", "sum"),
        expected_packs_short_scenario=("scenario_probability", "sum"),
    ).reset_index()
    out["expected_packs_short_change"] = (
        out["expected_packs_short_scenario"] - out["expected_packs_short_baseline"]
    )
    out["packs_affected"] = out["packs_affected"].astype("int64")
    return out


def gpk_table(packs: pd.DataFrame) -> pd.DataFrame:
    first = packs.sort_values("zi_number").drop_duplicates("gpk").set_index("gpk")
    out = aggregate(packs, "gpk")
    out.insert(1, "name", out["gpk"].map(first["name"]))
    out.insert(2, "atc", out["gpk"].map(first["atc"]))
    return out


def atc_table(packs: pd.DataFrame) -> pd.DataFrame:
    group = packs["atc"].fillna("").astype(str).str[:ATC_GROUP_CHARS].replace("", "(none)")
    return aggregate(packs.assign(atc_group=group), "atc_group")


def _mean_or_none(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


def horizon_summary(packs: pd.DataFrame) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for horizon, rows in packs.groupby("horizon", sort=True):
        affected = rows[rows["affected"]]
        out.append(
            {
                "horizon": int(horizon),
                "packs_scored": len(rows),
                "packs_affected": len(affected),
                "mean_change": _mean_or_none(rows["change"]),
                "mean_change_affected": _mean_or_none(affected["change"]),
                "packs_risk_up": int((rows["change"] > 0).sum()),
                "packs_risk_down": int((rows["change"] < 0).sum()),
                "expected_packs_short_baseline": float(rows["baseline_probability"].sum()),
                "expected_packs_short_scenario": float(rows["scenario_probability"].sum()),
            }
        )
    return out


def features_changed(packs: pd.DataFrame) -> dict[str, int]:
    """Feature -> number of packs whose as-of value the scenario changed."""
    per_pack = packs.drop_duplicates("zi_number")["changed_features"]
    names = [f for text in per_pack for f in text.split(";") if f]
    return {k: int(v) for k, v in sorted(pd.Series(names).value_counts().items())} if names else {}


# --- the page ----------------------------------------------------------------------------------

TOP_ROWS = 15
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>What-if {{ s.scenario.name }}, {{ s.as_of }}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}h3{font-size:1rem}
.caution{border-left:6px solid #b35900;background:#fff4e5;padding:.8rem 1rem;margin:1rem 0}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border-bottom:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.down{color:#1a7f37}.up{color:#cf222e}pre{background:#f6f8fa;padding:.8rem;overflow:auto}
small{color:#59636e}
</style>
</head>
<body>
<h1>What-if: {{ s.scenario.name }} &middot; week of {{ s.as_of }}</h1>
<p class="caution" id="association"><strong>Association, not causation.</strong>
{{ s.statement }}</p>
<p>{{ s.scenario.description }}</p>

<h2>What the scenario changed in the input tables</h2>
<table><tr><th>#</th><th>operation</th><th>table</th><th class="n">rows added</th>
<th class="n">rows changed</th><th class="n">packs</th><th class="n">GPKs</th><th>note</th></tr>
{% for c in s.changes %}<tr><td>{{ c.operation + 1 }}</td><td>{{ c.op }}</td><td>{{ c.table }}</td>
<td class="n">{{ c.rows_added }}</td><td class="n">{{ c.rows_changed }}</td>
<td class="n">{{ c.packs }}</td><td class="n">{{ c.gpks }}</td><td>{{ c.note }}</td></tr>
{% endfor %}</table>
<h3>Model features that moved on the as-of date</h3>
{% if s.features_changed %}<table><tr><th>feature</th><th class="n">packs</th></tr>
{% for f, n in s.features_changed.items() %}<tr><td>{{ f }}</td><td class="n">{{ n }}</td></tr>
{% endfor %}</table>{% else %}<p>None: the scenario left every feature of this week as it was.</p>
{% endif %}

<h2>Change in predicted risk</h2>
<table><tr><th class="n">horizon</th><th class="n">packs scored</th><th class="n">affected</th>
<th class="n">mean change (all)</th><th class="n">mean change (affected)</th>
<th class="n">risk up</th><th class="n">risk down</th>
<th class="n">expected packs short: before</th><th class="n">after</th></tr>
{% for h in s.horizons %}<tr><td class="n">{{ h.horizon }} weeks</td>
<td class="n">{{ h.packs_scored }}</td><td class="n">{{ h.packs_affected }}</td>
<td class="n">{{ pp(h.mean_change) }}</td><td class="n">{{ pp(h.mean_change_affected) }}</td>
<td class="n">{{ h.packs_risk_up }}</td><td class="n">{{ h.packs_risk_down }}</td>
<td class="n">{{ "%.1f"|format(h.expected_packs_short_baseline) }}</td>
<td class="n">{{ "%.1f"|format(h.expected_packs_short_scenario) }}</td></tr>
{% endfor %}</table>
<p><small>Changes in percentage points of the calibrated probability that a new shortage
starts within the horizon. "Affected": a feature of the pack moved.</small></p>

{% for h in views %}
<h2>{{ h.horizon }} weeks</h2>
{% for title, rows in [("Largest falls in risk", h.falls), ("Largest rises in risk", h.rises)] %}
<h3>{{ title }}</h3>
{% if rows %}<table><tr><th>pack</th><th>name</th><th>GPK</th><th>ATC</th>
<th class="n">before</th><th class="n">after</th><th class="n">change</th>
<th class="n">rank before</th><th class="n">rank after</th><th>features moved</th></tr>
{% for r in rows %}<tr><td>{{ r.zi_number }}</td><td>{{ r.name }}</td><td>{{ r.gpk }}</td>
<td>{{ r.atc }}</td><td class="n">{{ pct(r.baseline_probability) }}</td>
<td class="n">{{ pct(r.scenario_probability) }}</td>
<td class="n {{ 'down' if r.change < 0 else 'up' }}">{{ pp(r.change) }}</td>
<td class="n">{{ r.baseline_rank }}</td><td class="n">{{ r.scenario_rank }}</td>
<td>{{ r.changed_features.replace(";", ", ") }}</td></tr>
{% endfor %}</table>{% else %}<p>None.</p>{% endif %}
{% endfor %}
<h3>Generic products (GPK) with the largest mean change</h3>
{% if h.gpks %}<table><tr><th>GPK</th><th>name</th><th>ATC</th><th class="n">packs</th>
<th class="n">mean change</th><th class="n">expected short: before</th><th class="n">after</th></tr>
{% for r in h.gpks %}<tr><td>{{ r.gpk }}</td><td>{{ r.name }}</td><td>{{ r.atc }}</td>
<td class="n">{{ r.packs_scored }}</td><td class="n">{{ pp(r.mean_change) }}</td>
<td class="n">{{ "%.2f"|format(r.expected_packs_short_baseline) }}</td>
<td class="n">{{ "%.2f"|format(r.expected_packs_short_scenario) }}</td></tr>
{% endfor %}</table>{% else %}<p>None.</p>{% endif %}
<h3>ATC groups (first {{ atc_chars }} characters)</h3>
<table><tr><th>ATC group</th><th class="n">packs</th><th class="n">affected</th>
<th class="n">mean change</th><th class="n">expected short: before</th><th class="n">after</th></tr>
{% for r in h.atc %}<tr><td>{{ r.atc_group }}</td><td class="n">{{ r.packs_scored }}</td>
<td class="n">{{ r.packs_affected }}</td><td class="n">{{ pp(r.mean_change) }}</td>
<td class="n">{{ "%.2f"|format(r.expected_packs_short_baseline) }}</td>
<td class="n">{{ "%.2f"|format(r.expected_packs_short_scenario) }}</td></tr>
{% endfor %}</table>
{% endfor %}

<h2>The scenario as applied</h2>
<pre>{{ scenario_toml }}</pre>
<p><small>{{ s.created_by }}; models:
{% for h, m in s.models.items() %}{{ m.name }} v{{ m.version }}{{ ", " if not loop.last }}
{% endfor %}.
Tables: packs, gpk and atc (Parquet and CSV) beside this page.</small></p>
</body>
</html>
"""


def _pp(value: float | None) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * value:+.2f} pp"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def render_html(
    summary: dict[str, object],
    packs: pd.DataFrame,
    gpk: pd.DataFrame,
    atc: pd.DataFrame,
    scenario_toml: str,
) -> str:
    """The self-contained page: inline CSS, no scripts or external resources, all text escaped."""
    views = []
    for horizon, rows in packs.groupby("horizon", sort=True):
        falls, rises = rows[rows["change"] < 0], rows[rows["change"] > 0]
        g = gpk[(gpk["horizon"] == horizon) & (gpk["mean_change"] != 0)]
        views.append(
            {
                "horizon": int(horizon),
                "falls": falls.nsmallest(TOP_ROWS, "change").to_dict("records"),
                "rises": rises.nlargest(TOP_ROWS, "change").to_dict("records"),
                "gpks": g.reindex(g["mean_change"].abs().sort_values(ascending=False).index)
                .head(TOP_ROWS)
                .to_dict("records"),
                "atc": atc[atc["horizon"] == horizon].to_dict("records"),
            }
        )
    env = Environment(autoescape=True, keep_trailing_newline=True)
    template = env.from_string(_PAGE)
    return template.render(
        s=summary,
        views=views,
        scenario_toml=scenario_toml,
        atc_chars=ATC_GROUP_CHARS,
        pp=_pp,
        pct=_pct,
    )


# --- the run -----------------------------------------------------------------------------------


def _write_table(frame: pd.DataFrame, folder: Path, name: str) -> None:
    frame.to_parquet(folder / f"{name}.parquet", index=False)
    frame.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d", lineterminator="\n")


def run_whatif(
    data_dir: Path | str,
    as_of: str | pd.Timestamp,
    scenario: Scenario,
    out_root: Path | str,
    tracking: TrackingConfig,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    model_uri: str = CHAMPION_MODEL_URI,
    force: bool = False,
    stale_weeks: int = DEFAULT_STALE_WEEKS,
    progress: Progress | None = None,
) -> Path:
    """Apply ``scenario`` at ``as_of``, score both markets, write ``<out>/<as_of>-<name>/``."""
    from pipelines.tracking import package_version

    say = progress or (lambda _: None)
    data_dir, out_root = Path(data_dir), Path(out_root)
    inputs = prepare_scoring(data_dir, as_of, tracking, horizons, model_uri, force, stale_weeks)
    market, as_of = inputs.market, inputs.as_of
    champions, fingerprint = inputs.champions, inputs.fingerprint
    altered, changes = apply_scenario(market, scenario, as_of)
    for change in changes:
        say(f"scenario {scenario.name}, {change.op} on {change.table}: {change.note}")
    say("baseline")
    baseline = score_market(
        market, as_of, champions, fingerprint, str(data_dir), trend_weeks=0, progress=say
    )
    say(f"scenario {scenario.name}")
    source = f"{data_dir} with scenario {scenario.name}"
    altered_scores = score_market(
        altered, as_of, champions, fingerprint, source, trend_weeks=0, progress=say
    )
    packs = pack_changes(baseline, altered_scores, as_of)
    gpk, atc = gpk_table(packs), atc_table(packs)
    summary: dict[str, object] = {
        "as_of": f"{as_of:%Y-%m-%d}",
        "created_by": f"shortage-forecast {package_version()}",
        "statement": ASSOCIATION,
        "scenario": {"name": scenario.name, "description": scenario.description},
        "input_fingerprint": fingerprint,
        "models": {
            str(c.horizon): {"name": c.name, "version": c.version, "run_id": c.run_id}
            for c in champions
        },
        "changes": [
            {**dataclasses.asdict(c), "packs": len(c.packs), "gpks": len(c.gpks)} for c in changes
        ],
        "features_changed": features_changed(packs),
        "horizons": horizon_summary(packs),
    }
    header = (
        f"Scenario {scenario.name} as applied on {as_of:%Y-%m-%d}, every default filled in.\n"
        "Pass this file with --scenario to run it again."
    )
    scenario_toml = to_toml(scenario, header)
    target = out_root / f"{as_of:%Y-%m-%d}-{scenario.name}"
    say(f"writing {target}")
    with atomic_directory(target, overwrite=True) as tmp:
        _write_table(packs, tmp, "packs")
        _write_table(gpk, tmp, "gpk")
        _write_table(atc, tmp, "atc")
        (tmp / "scenario.toml").write_text(scenario_toml, encoding="utf-8")
        (tmp / "summary.json").write_text(
            json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )
        (tmp / "whatif.html").write_text(
            render_html(summary, packs, gpk, atc, scenario_toml), encoding="utf-8"
        )
    return target
