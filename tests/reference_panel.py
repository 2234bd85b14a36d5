"""The obvious, slow feature panel: loop over as-of dates and packs, filter plain tables.

It restates every feature definition of docs/features.md as directly as
possible, to check the vectorised panel against. Only for tiny markets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.market import Market

DAY = pd.Timedelta(days=1)
YEAR = pd.Timedelta(days=364)
NAN = math.nan
SEVERITY = {"orange": 1, "red": 2}


def _weeks(delta: pd.Timedelta) -> float:
    return delta / pd.Timedelta(days=7)


def _in_force(rows: pd.DataFrame, t: pd.Timestamp) -> pd.Series | None:
    """The latest row with valid_from <= t (later row wins a tie)."""
    known = rows[rows["valid_from"] <= t]
    if known.empty:
        return None
    return known.sort_values("valid_from", kind="stable").iloc[-1]


def _value(rows: pd.DataFrame | None, t: pd.Timestamp, column: str) -> float:
    if rows is None:
        return NAN
    row = _in_force(rows, t)
    if row is None or pd.isna(row[column]):
        return NAN
    return float(row[column])


def _rel(now: float, before: float) -> float:
    if math.isnan(now) or math.isnan(before) or before <= 0:
        return NAN
    return now / before - 1


def _recalibrations(t: pd.Timestamp) -> list[pd.Timestamp]:
    return [pd.Timestamp(y, m, 1) for y in (t.year - 1, t.year, t.year + 1) for m in (4, 10)]


def _on_market(product: pd.Series, t: pd.Timestamp) -> bool:
    entry, exit_ = product["market_entry"], product["market_exit"]
    return (pd.isna(entry) or entry <= t) and (pd.isna(exit_) or exit_ > t)


def _known_short(shortages: pd.DataFrame, zi: str, t: pd.Timestamp) -> bool:
    s = shortages[shortages["zi_number"] == zi]
    ongoing = s["end_date"].isna() | (s["end_date"] > t)
    return bool(((s["reported_on"] <= t) & (s["start_date"] <= t) & ongoing).any())


def _price(m: Market, zi: str, t: pd.Timestamp) -> dict[str, float]:
    out: dict[str, float] = {}
    lp = None if m.list_prices is None else m.list_prices[m.list_prices["zi_number"] == zi]
    wp = None if m.wgp_prices is None else m.wgp_prices[m.wgp_prices["zi_number"] == zi]
    aip = _value(lp, t, "aip")
    wgp = _value(wp, t, "max_price")
    if lp is not None:
        out["price_aip"] = aip
        out["price_aip_change_52w"] = _rel(aip, _value(lp, t - YEAR, "aip"))
        out["price_aip_le_15"] = NAN if math.isnan(aip) else float(aip <= 15)
    if wp is not None:
        recal = max(d for d in _recalibrations(t) if d <= t)
        out["price_wgp_max"] = wgp
        out["price_wgp_change_last_recalibration"] = _rel(
            _value(wp, recal, "max_price"), _value(wp, recal - DAY, "max_price")
        )
        out["price_wgp_change_52w"] = _rel(wgp, _value(wp, t - YEAR, "max_price"))
        rows = wp.sort_values("valid_from", kind="stable")
        cuts = 0
        for i in range(1, len(rows)):
            cur, prev = rows.iloc[i], rows.iloc[i - 1]
            in_window = t - 2 * YEAR < cur["valid_from"] <= t
            cuts += int(in_window and cur["max_price"] < prev["max_price"])
        out["price_wgp_cuts_2y"] = float(cuts)
    if lp is not None and wp is not None:
        out["price_headroom"] = NAN if not wgp > 0 else aip / wgp
    return out


def _gvs(m: Market, zi: str, t: pd.Timestamp) -> dict[str, float]:
    if m.gvs_limits is None:
        return {}
    g = m.gvs_limits[m.gvs_limits["zi_number"] == zi]
    row = _in_force(g, t)
    limit = _value(g, t, "limit_price")
    out = {
        "gvs_in_cluster": NAN if row is None else float(pd.notna(row["cluster"])),
        "gvs_limit": limit,
        "gvs_limit_change_52w": _rel(limit, _value(g, t - YEAR, "limit_price")),
    }
    if m.list_prices is not None:
        aip = _value(m.list_prices[m.list_prices["zi_number"] == zi], t, "aip")
        excess = aip - limit
        out["gvs_copay"] = NAN if math.isnan(excess) else float(excess > 0)
        out["gvs_copay_amount"] = NAN if math.isnan(excess) else max(excess, 0.0)
    return out


def _insurer_shares(rows: pd.DataFrame) -> dict[str, float]:
    shares = rows["market_share"].astype("float64").fillna(0.0)
    return {str(k): float(v) for k, v in shares.groupby(rows["insurer"]).max().items()}


def _tender(m: Market, zi: str, gpk: str, t: pd.Timestamp) -> dict[str, float]:
    if m.tenders is None:
        return {}
    active = m.tenders[(m.tenders["valid_from"] <= t) & (t < m.tenders["valid_to"])]
    mine = active[active["zi_number"] == zi]
    in_gpk = active[active["gpk"] == gpk]
    mine_shares = _insurer_shares(mine)
    gpk_shares = _insurer_shares(in_gpk)
    lost = {i: s for i, s in gpk_shares.items() if i not in mine_shares}
    return {
        "tender_share": sum(mine_shares.values()),
        "tender_insurers": float(len(mine_shares)),
        "tender_gpk_preferred_packs": float(in_gpk["zi_number"].nunique()),
        "tender_weeks_since_start": _weeks(t - mine["valid_from"].min()) if len(mine) else NAN,
        "tender_weeks_to_end": _weeks(mine["valid_to"].min() - t) if len(mine) else NAN,
        "tender_gpk_tendered": float(len(in_gpk) > 0),
        "tender_lost": float(len(lost) > 0),
        "tender_lost_share": sum(lost.values()),
    }


def _mahs(m: Market, gpk: str, t: pd.Timestamp) -> float:
    assert m.registrations is not None
    r = m.registrations[m.registrations["gpk"] == gpk]
    in_force = (r["registered_on"] <= t) & (r["withdrawn_on"].isna() | (r["withdrawn_on"] > t))
    return float(r.loc[in_force, "mah"].nunique())


def _suppliers(m: Market, zi: str, gpk: str, t: pd.Timestamp) -> dict[str, float]:
    products = m.products
    marketed = sum(_on_market(p, t) for _, p in products[products["gpk"] == gpk].iterrows())
    out = {"sib_packs_marketed": float(marketed), "sib_only_pack": float(marketed == 1)}
    if m.registrations is not None:
        now = _mahs(m, gpk, t)
        out["sup_mahs"] = now
        out["sup_mahs_change_52w"] = now - _mahs(m, gpk, t - YEAR)
    return out


def _share_short(m: Market, others: pd.DataFrame, t: pd.Timestamp) -> float:
    marketed = [p["zi_number"] for _, p in others.iterrows() if _on_market(p, t)]
    if not marketed:
        return NAN
    return sum(_known_short(m.shortages, z, t) for z in marketed) / len(marketed)


def _history(m: Market, product: pd.Series, t: pd.Timestamp) -> dict[str, float]:
    zi = product["zi_number"]
    s = m.shortages
    known = s[(s["zi_number"] == zi) & (s["reported_on"] <= t)]
    started = known[known["start_date"] <= t]
    ended = known[known["end_date"].notna() & (known["end_date"] <= t)]
    short_days = 0
    for _, e in started.iterrows():
        end = e["end_date"] if pd.notna(e["end_date"]) and e["end_date"] <= t else t
        lo, hi = max(e["start_date"], t - 2 * YEAR), min(end, t)
        short_days += max((hi - lo).days, 0)
    others = m.products[m.products["zi_number"] != zi]
    atc = product["atc"]
    atc4_peers = (
        others[others["atc"].notna() & (others["atc"].str[:5] == atc[:5])]
        if isinstance(atc, str) and len(atc) >= 5
        else None
    )
    return {
        "hist_episodes_52w": float((started["start_date"] > t - YEAR).sum()),
        "hist_episodes_156w": float((started["start_date"] > t - 3 * YEAR).sum()),
        "hist_weeks_since_last_end": _weeks(t - ended["end_date"].max()) if len(ended) else NAN,
        "hist_weeks_short_2y": short_days / 7,
        "hist_sibling_short_share": _share_short(m, others[others["gpk"] == product["gpk"]], t),
        "hist_atc4_short_share": NAN if atc4_peers is None else _share_short(m, atc4_peers, t),
    }


def _notifications(m: Market, zi: str, t: pd.Timestamp) -> dict[str, float]:
    if m.notifications is None:
        return {}
    n = m.notifications
    known = n[(n["zi_number"] == zi) & (n["notified_on"] <= t)]
    open_ = known[known["expected_end"].isna() | (known["expected_end"] > t)]
    recent = known[known["notified_on"] > t - YEAR]
    s = m.shortages
    episodes = s[(s["zi_number"] == zi) & (s["reported_on"] <= t)]
    unfollowed = 0
    for _, note in recent.iterrows():
        until = note["expected_start"] + pd.Timedelta(days=28)
        if until > t:
            continue
        followed = (episodes["start_date"] >= note["notified_on"]) & (
            episodes["start_date"] < until
        )
        unfollowed += int(not followed.any())
    return {
        "notif_open": float(len(open_) > 0),
        "notif_weeks_to_expected_start": (
            _weeks(open_["expected_start"].min() - t) if len(open_) else NAN
        ),
        "notif_count_52w": float(len(recent)),
        "notif_unfollowed_52w": float(unfollowed),
    }


def _text(value: object, length: int | None = None) -> object:
    if not isinstance(value, str):
        return NAN
    if length is None:
        return value
    return value[:length] if len(value) >= length else NAN


def _product(m: Market, product: pd.Series, t: pd.Timestamp) -> dict[str, object]:
    atc, entry = product["atc"], product["market_entry"]
    out: dict[str, object] = {
        "prod_atc1": _text(atc, 1),
        "prod_atc3": _text(atc, 4),
        "prod_atc4": _text(atc, 5),
        "prod_dosage_form": _text(product["dosage_form"]),
        "prod_originator": (
            NAN if pd.isna(product["is_originator"]) else float(product["is_originator"])
        ),
        "prod_weeks_on_market": NAN if pd.isna(entry) else _weeks(t - entry),
        "cal_month": float(t.month),
        "cal_weeks_to_recalibration": _weeks(min(d for d in _recalibrations(t) if d >= t) - t),
    }
    if m.critical_list is not None:
        worst, category = 0, NAN
        for _, row in m.critical_list.iterrows():
            if row["valid_from"] > t or row["category"] not in SEVERITY:
                continue
            by_gpk = isinstance(row["gpk"], str) and row["gpk"] == product["gpk"]
            by_atc = (
                isinstance(row["atc"], str)
                and isinstance(atc, str)
                and len(row["atc"]) > 0
                and atc.startswith(row["atc"])
            )
            if (by_gpk or by_atc) and SEVERITY[row["category"]] > worst:
                worst, category = SEVERITY[row["category"]], row["category"]
        out["crit_category"] = category
    return out


def reference_labels(
    shortages: pd.DataFrame,
    zi: str,
    t: pd.Timestamp,
    horizons: Iterable[int],
    min_days: int,
    observed_until: pd.Timestamp,
) -> dict[str, float]:
    s = shortages[(shortages["zi_number"] == zi) & (shortages["start_date"] <= observed_until)]
    out = {}
    for h in horizons:
        window_end = t + pd.Timedelta(days=7 * h)
        hit, unsure = False, False
        for _, e in s[(s["start_date"] >= t) & (s["start_date"] < window_end)].iterrows():
            ongoing = pd.isna(e["end_date"]) or e["end_date"] > observed_until
            last = observed_until + DAY if ongoing else e["end_date"]
            lasted = (last - e["start_date"]).days
            hit |= lasted >= min_days
            unsure |= ongoing and lasted < min_days
        if hit:
            out[f"onset_{h}w"] = 1.0
        elif unsure or window_end - DAY > observed_until:
            out[f"onset_{h}w"] = NAN
        else:
            out[f"onset_{h}w"] = 0.0
    return out


def reference_panel(
    market: Market,
    as_of: Iterable[pd.Timestamp],
    horizons: tuple[int, ...] = (4, 13, 26),
    min_days: int = 14,
    observed_until: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Rows for packs on the market and not in a known shortage, with all features."""
    assert observed_until is not None
    records = []
    products = market.products.sort_values("zi_number", kind="stable")
    for t in as_of:
        for _, product in products.iterrows():
            zi, gpk = product["zi_number"], product["gpk"]
            if not _on_market(product, t) or _known_short(market.shortages, zi, t):
                continue
            record: dict[str, object] = {"zi_number": zi, "as_of": t}
            record |= _price(market, zi, t)
            record |= _gvs(market, zi, t)
            record |= _tender(market, zi, gpk, t)
            record |= _suppliers(market, zi, gpk, t)
            record |= _history(market, product, t)
            record |= _notifications(market, zi, t)
            record |= _product(market, product, t)
            record |= reference_labels(market.shortages, zi, t, horizons, min_days, observed_until)
            records.append(record)
    return pd.DataFrame.from_records(records)


def as_float(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


# --- tiny random markets with the awkward cases the real data has -------------------------

ORIGIN = pd.Timestamp("2020-01-01")
PERIOD_DAYS = 3 * 365


def _day(offset: int) -> pd.Timestamp:
    return ORIGIN + pd.Timedelta(days=int(offset))


def random_market(seed: int, optional: bool = True) -> Market:
    """A market of a few packs over ~3 years: late and early reports, ongoing episodes,
    overlapping designations, missing shares, withdrawn registrations, recalibrations,
    zero prices, missing ATC codes. ``optional=False`` leaves out every optional table."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 8))
    zi = [f"{i:08d}" for i in range(n)]
    gpks = ["G1", "G2", "G3"]
    atcs = ["J01CA04", "J01CA01", "J01CR02", "C07AB02", None, "N02"]

    def pick(options: list, size: int | None = None) -> object:
        idx = rng.integers(0, len(options), size=size)
        return [options[i] for i in idx] if size is not None else options[int(idx)]

    entry = [None if rng.random() < 0.2 else _day(int(rng.integers(-400, 600))) for _ in range(n)]
    exit_ = [
        None
        if rng.random() < 0.8 or e is None
        else e + pd.Timedelta(days=int(rng.integers(60, 900)))
        for e in entry
    ]
    products = pd.DataFrame(
        {
            "zi_number": zi,
            "name": zi,
            "gpk": pick(gpks, n),
            "atc": pick(atcs, n),
            "dosage_form": pick(["tablet", "capsule", None], n),
            "is_originator": pick([True, False, None], n),
            "market_entry": entry,
            "market_exit": exit_,
        }
    )
    episodes = []
    for z in zi:
        for start in sorted(set(rng.integers(-300, PERIOD_DAYS, size=int(rng.integers(0, 4))))):
            length = pick([3, 13, 14, 20, 60, 200, None])
            lag = pick([0, 0, 2, 30, 400, -10, None])
            episodes.append(
                {
                    "zi_number": z,
                    "start_date": _day(start),
                    "end_date": None if length is None else _day(start + int(length)),
                    "reported_on": None if lag is None else _day(start + int(lag)),
                }
            )
    shortages = pd.DataFrame(
        episodes, columns=["zi_number", "start_date", "end_date", "reported_on"]
    )
    frames: dict[str, pd.DataFrame | None] = {"products": products, "shortages": shortages}
    if not optional:
        return Market.from_frames(frames)

    recalibrations = [pd.Timestamp(y, m, 1) for y in range(2019, 2023) for m in (4, 10)]

    def price_rows(column: str, values: list[float]) -> pd.DataFrame:
        rows = []
        for z in zi:
            days = set(rng.integers(-500, PERIOD_DAYS, size=int(rng.integers(0, 5))))
            dates = {_day(d) for d in days} | set(pick(recalibrations, int(rng.integers(0, 3))))
            for d in sorted(dates):
                rows.append({"zi_number": z, "valid_from": d, column: pick(values)})
        return pd.DataFrame(rows, columns=["zi_number", "valid_from", column])

    frames["list_prices"] = price_rows("aip", [0.0, 5.0, 14.99, 15.0, 15.01, 40.0])
    frames["wgp_prices"] = price_rows("max_price", [0.0, 6.0, 10.0, 16.0, 45.0])
    gvs = price_rows("limit_price", [5.0, 12.0, 20.0])
    no_cluster = rng.random(len(gvs)) < 0.3
    gvs["cluster"] = np.where(no_cluster, None, "C1")
    gvs.loc[no_cluster, "limit_price"] = np.nan
    frames["gvs_limits"] = gvs
    tenders = []
    product_gpk = dict(zip(zi, products["gpk"], strict=True))
    for _ in range(int(rng.integers(0, 10))):
        z = pick(zi)
        start = int(rng.integers(-400, PERIOD_DAYS))
        tenders.append(
            {
                "insurer": pick(["VGZ", "CZ", "Menzis"]),
                "gpk": product_gpk[z] if rng.random() < 0.9 else "G9",
                "zi_number": z,
                "valid_from": _day(start),
                "valid_to": _day(start + int(pick([180, 365, 730]))),
                "market_share": pick([0.1, 0.25, 0.3, None]),
            }
        )
    frames["tenders"] = pd.DataFrame(
        tenders,
        columns=["insurer", "gpk", "zi_number", "valid_from", "valid_to", "market_share"],
    )
    registrations = []
    for i in range(int(rng.integers(0, 9))):
        start = int(rng.integers(-900, PERIOD_DAYS))
        registrations.append(
            {
                "rvg_number": f"RVG {i}",
                "gpk": pick(gpks),
                "mah": pick(["M1", "M2", "M3"]),
                "registered_on": _day(start),
                "withdrawn_on": None
                if rng.random() < 0.5
                else _day(start + int(rng.integers(30, 900))),
            }
        )
    frames["registrations"] = pd.DataFrame(
        registrations, columns=["rvg_number", "gpk", "mah", "registered_on", "withdrawn_on"]
    )
    notes = []
    for z in zi:
        for notified in rng.integers(-200, PERIOD_DAYS, size=int(rng.integers(0, 3))):
            expected = int(notified) + int(pick([0, 30, 60, 180]))
            span = pick([None, 0, 30, 90])
            notes.append(
                {
                    "zi_number": z,
                    "notified_on": _day(notified),
                    "expected_start": _day(expected),
                    "expected_end": None if span is None else _day(expected + int(span)),
                }
            )
    frames["notifications"] = pd.DataFrame(
        notes, columns=["zi_number", "notified_on", "expected_start", "expected_end"]
    )
    critical = []
    for _ in range(int(rng.integers(0, 4))):
        by_gpk = rng.random() < 0.5
        critical.append(
            {
                "gpk": pick(gpks) if by_gpk else None,
                "atc": None if by_gpk else pick(["J01", "C07AB", "N"]),
                "category": pick(["red", "orange"]),
                "valid_from": _day(int(rng.integers(-100, PERIOD_DAYS))),
            }
        )
    frames["critical_list"] = pd.DataFrame(
        critical, columns=["gpk", "atc", "category", "valid_from"]
    )
    return Market.from_frames(frames)
