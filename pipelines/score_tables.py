"""Pure table builders of the weekly scores (see docs/scores-format.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import TABLES
from features.market import Market
from models.explain import BASE
from pipelines.driver_text import describe

# Fixed probability thresholds, so that a band means the same every week.
RISK_BANDS: tuple[tuple[str, float], ...] = (
    ("high", 0.30),
    ("elevated", 0.15),
    ("moderate", 0.05),
    ("low", 0.0),
)
TOP_DRIVERS = 3
DRIVER_ROWS = 10
TOP_LIST = 100
# drivers.parquet: one row per pack, horizon and driver (docs/scores-format.md).
DRIVER_COLUMNS = (
    "zi_number", "horizon", "feature", "family", "feature_value", "shap", "order", "text",
)  # fmt: skip


def risk_band(probability: np.ndarray) -> np.ndarray:
    bands = np.full(len(probability), RISK_BANDS[-1][0], dtype=object)
    for name, low in reversed(RISK_BANDS[:-1]):
        bands[probability >= low] = name
    return bands


def band_ranges() -> dict[str, list[float]]:
    uppers = [1.0] + [low for _, low in RISK_BANDS[:-1]]
    return {name: [low, upper] for (name, low), upper in zip(RISK_BANDS, uppers, strict=True)}


def rank_desc(probability: np.ndarray, zi_number: np.ndarray) -> np.ndarray:
    """1 = highest probability; ties broken by zi_number so ranks are reproducible."""
    order = np.lexsort((zi_number, -probability))
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def rank_by_horizon(frame: pd.DataFrame, value: str, key: str) -> np.ndarray:
    """:func:`rank_desc` of ``value`` within each horizon of ``frame``."""
    ranks = np.zeros(len(frame), dtype=np.int64)
    positions = np.arange(len(frame))
    for _, rows in frame.groupby("horizon", sort=False).indices.items():
        ranks[positions[rows]] = rank_desc(
            frame[value].to_numpy(dtype=float)[rows], frame[key].astype(str).to_numpy()[rows]
        )
    return ranks


def _value_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def driver_tables(
    rows: pd.DataFrame,
    contributions: pd.DataFrame,
    family_of: dict[str, str],
    horizon: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Top-3 risk-raising drivers per pack (wide) and the top-10 |SHAP| waterfall rows (long)."""
    features = [c for c in contributions.columns if c != BASE]
    shap = contributions[features].to_numpy()
    zi = rows["zi_number"].astype(str).to_numpy()
    records = rows[features].to_dict(orient="records")
    wide: dict[str, list[object]] = {
        f"driver_{k + 1}{suffix}": []
        for k in range(TOP_DRIVERS)
        for suffix in ("", "_shap", "_text")
    }
    raising_first = np.argsort(-shap, axis=1, kind="stable")
    for i, record in enumerate(records):
        chosen: list[tuple[str, float, str]] = []
        for j in raising_first[i]:
            if shap[i, j] <= 0 or len(chosen) == TOP_DRIVERS:
                break
            text = describe(features[j], record)
            # Related features can say the same thing; list each sentence once.
            if all(text != seen for _, _, seen in chosen):
                chosen.append((features[j], float(shap[i, j]), text))
        chosen += [("", float("nan"), "")] * (TOP_DRIVERS - len(chosen))
        for k, (name, value, text) in enumerate(chosen, start=1):
            wide[f"driver_{k}"].append(name)
            wide[f"driver_{k}_shap"].append(value)
            wide[f"driver_{k}_text"].append(text)
    long_rows = []
    by_size = np.argsort(-np.abs(shap), axis=1, kind="stable")
    for i, pack in enumerate(zi):
        top = by_size[i, :DRIVER_ROWS]
        long_rows.append((pack, horizon, BASE, "", "", float(contributions[BASE].iloc[i]), 0, ""))
        for position, j in enumerate(top, start=1):
            name = features[j]
            long_rows.append(
                (
                    pack,
                    horizon,
                    name,
                    family_of.get(name, "other"),
                    _value_text(records[i][name]),
                    float(shap[i, j]),
                    position,
                    describe(name, records[i]),
                )
            )
        rest = float(shap[i].sum() - shap[i, top].sum())
        long_rows.append((pack, horizon, "other", "", "", rest, DRIVER_ROWS + 1, ""))
    return pd.DataFrame(wide), pd.DataFrame(long_rows, columns=list(DRIVER_COLUMNS))


def pack_status(market: Market, as_of: pd.Timestamp, scored: set[str]) -> pd.DataFrame:
    """Every pack not scored this week, with why (short, off market, not yet marketed)."""
    products = market.products
    entry, exit_ = products["market_entry"], products["market_exit"]
    shortages = market.shortages
    known = shortages[
        (shortages["reported_on"] <= as_of)
        & (shortages["start_date"] <= as_of)
        & (shortages["end_date"].isna() | (shortages["end_date"] > as_of))
    ]
    short_since = known.groupby("zi_number")["start_date"].min()
    status = np.where(
        exit_.notna() & (exit_ <= as_of),
        "off market",
        np.where(entry.notna() & (entry > as_of), "not yet on market", ""),
    )
    since = np.where(status == "off market", exit_, pd.NaT)
    frame = products[["zi_number", "name", "gpk", "atc", "mah"]].copy()
    frame["status"] = status
    frame["since"] = pd.to_datetime(since).astype("datetime64[ns]")
    in_short = frame["zi_number"].isin(short_since.index) & (frame["status"] == "")
    frame.loc[in_short, "status"] = "in shortage"
    frame.loc[in_short, "since"] = frame.loc[in_short, "zi_number"].map(short_since)
    frame["since"] = frame["since"].astype("datetime64[ns]")  # one unit, whatever came in
    frame = frame[~frame["zi_number"].isin(scored)]
    frame.loc[frame["status"] == "", "status"] = "not scored"
    return frame.sort_values(["status", "zi_number"], ignore_index=True)


def suppliers_in_force(market: Market, as_of: pd.Timestamp) -> pd.Series:
    """Distinct MAHs with a registration in force per GPK (empty without registrations)."""
    registrations = market.registrations
    if registrations is None:
        return pd.Series(dtype=float)
    active = registrations[
        (registrations["registered_on"] <= as_of)
        & (registrations["withdrawn_on"].isna() | (registrations["withdrawn_on"] > as_of))
    ]
    return active.groupby("gpk")["mah"].nunique().astype(float)


def critical_category(market: Market, as_of: pd.Timestamp) -> pd.Series:
    """Critical-list category per GPK in force at ``as_of``, by GPK or ATC prefix (red first)."""
    listed = market.critical_list
    if listed is None:
        return pd.Series(dtype=object)
    listed = listed[listed["valid_from"] <= as_of]
    products = market.products
    severity = {"orange": 1, "red": 2}
    level = np.zeros(len(products), dtype=int)
    for row in listed.itertuples(index=False):
        if pd.notna(row.gpk):
            match = (products["gpk"] == row.gpk).to_numpy()
        else:
            match = products["atc"].fillna("").str.startswith(str(row.atc)).to_numpy()
        level = np.where(match, np.maximum(level, severity.get(str(row.category), 0)), level)
    per_gpk = pd.Series(level, index=products["gpk"].to_numpy()).groupby(level=0).max()
    names = {0: None, 1: "orange", 2: "red"}
    return per_gpk.map(names)


def gpk_view(
    risk: pd.DataFrame, status: pd.DataFrame, market: Market, as_of: pd.Timestamp
) -> pd.DataFrame:
    """How a patient feels it: per GPK the highest pack risk and what remains."""
    ordered = risk.sort_values(
        ["horizon", "gpk", "probability", "zi_number"], ascending=[True, True, False, True]
    )
    groups = ordered.groupby(["gpk", "horizon"], sort=True)
    view = pd.DataFrame(
        {
            "max_probability": groups["probability"].first().astype(float),
            "expected_packs_short": groups["probability"].sum().astype(float),
            "packs_scored": groups.size(),
            "packs": groups["zi_number"].agg(lambda packs: ";".join(packs.astype(str))),
        }
    ).reset_index()
    if view.empty:
        return view
    first_pack = market.products.drop_duplicates("gpk").set_index("gpk")[["name", "atc"]]
    short = status[status["status"] == "in shortage"].groupby("gpk").size()
    critical = critical_category(market, as_of)
    view = view.join(first_pack, on="gpk")
    view["horizon"] = view["horizon"].astype(int)
    view["packs_short"] = view["gpk"].map(short).fillna(0).astype(int)
    view["packs_marketed"] = view["packs_scored"] + view["packs_short"]
    view["suppliers"] = view["gpk"].map(suppliers_in_force(market, as_of)).astype(float)
    view["critical"] = view["gpk"].map(critical) if len(critical) else None
    view["rank"] = rank_by_horizon(view, "max_probability", "gpk")
    columns = [
        "gpk", "horizon", "name", "atc", "max_probability", "expected_packs_short",
        "packs_marketed", "packs_scored", "packs_short", "suppliers", "critical", "packs", "rank",
    ]  # fmt: skip
    return view[columns].sort_values(["horizon", "rank"], ignore_index=True)


def changes_since(risk: pd.DataFrame, previous: pd.DataFrame, top: int = TOP_LIST) -> pd.DataFrame:
    """New entries in the top list and the biggest risers against last week's scores."""
    merged = risk.merge(
        previous.rename(columns={"probability": "previous_probability", "rank": "previous_rank"})[
            ["zi_number", "horizon", "previous_probability", "previous_rank"]
        ],
        on=["zi_number", "horizon"],
        how="left",
    )
    new = merged[(merged["rank"] <= top) & ~(merged["previous_rank"] <= top)].assign(
        change="new in top 100"
    )
    rise = merged["probability"] - merged["previous_probability"]
    risers = (
        merged.assign(rise=rise)
        .dropna(subset=["rise"])
        .query("rise > 0")
        .sort_values(["horizon", "rise", "zi_number"], ascending=[True, False, True])
        .groupby("horizon")
        .head(20)
        .drop(columns="rise")
        .assign(change="riser")
    )
    columns = [
        "zi_number", "horizon", "change", "probability", "previous_probability", "rank",
        "previous_rank",
    ]  # fmt: skip
    return pd.concat([new[columns], risers[columns]], ignore_index=True)


# How often each source gets new rows in practice, in weeks; None: rows come with
# events (a new registration, a new list entry), so a quiet period is not staleness.
EXPECTED_UPDATE_WEEKS: dict[str, int | None] = {
    "shortages": 4,
    "notifications": 4,
    "list_prices": 9,
    "wgp_prices": 30,
    "gvs_limits": 30,
    "tenders": 60,
    "products": None,
    "registrations": None,
    "critical_list": None,
}


def freshness(market: Market, as_of: pd.Timestamp) -> dict[str, dict[str, object]]:
    """Per table: rows, the latest date known on ``as_of``, and whether that is stale."""
    out: dict[str, dict[str, object]] = {}
    for name, frame in market.present():
        spec = TABLES[name]
        dates = [frame[c] for c in spec.known_from] or [
            frame[c.name] for c in spec.columns if c.kind == "date"
        ]
        known = pd.concat(dates) if dates else pd.Series(dtype="datetime64[ns]")
        known = known[known <= as_of]
        last = known.max() if len(known) else None
        weeks = None if last is None or pd.isna(last) else round((as_of - last).days / 7, 1)
        expected = EXPECTED_UPDATE_WEEKS.get(name)
        out[name] = {
            "rows": len(frame),
            "last_date": None if weeks is None else f"{last:%Y-%m-%d}",
            "weeks_since_last_row": weeks,
            "expected_weeks": expected,
            "stale": expected is not None and (weeks is None or weeks > expected),
        }
    return out
