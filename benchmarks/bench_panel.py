"""Benchmark the feature panel on a Dutch-scale synthetic market.

Prints wall time, rows per second and peak memory for the full build (panel
written to Parquet), then the speed-up over the obvious per-week loop of
pandas filters and merges on a smaller market.

    .venv/bin/python benchmarks/bench_panel.py                 # 25,000 packs x 10 years
    .venv/bin/python benchmarks/bench_panel.py --packs 2000 --years 3 --small-packs 300
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from features.market import Market
from features.panel import build_panel
from features.synthetic_market import generate_market
from pipelines.feature_panel import build_feature_panel

YEAR = pd.Timedelta(days=364)
SAMPLE_WEEKS = 8  # weeks of the per-week loop timed on the large market, then extrapolated


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _latest(frame: pd.DataFrame, t: pd.Timestamp, column: str) -> pd.Series:
    known = frame[frame["valid_from"] <= t].sort_values("valid_from", kind="stable")
    return known.groupby("zi_number")[column].last()


def naive_weekly_panel(market: Market, as_of: pd.DatetimeIndex) -> pd.DataFrame:
    """What a user would write first: for each week, filter every table and merge.

    Covers the core of the panel (row selection, prices, GVS, tender share,
    suppliers, recent episodes, open notifications, labels): fewer features
    than the real panel, so the speed-up printed is an underestimate.
    """
    p, s = market.products, market.shortages
    assert market.list_prices is not None and market.wgp_prices is not None
    assert market.gvs_limits is not None and market.tenders is not None
    assert market.registrations is not None and market.notifications is not None
    lasted = (s["end_date"] - s["start_date"]).dt.days
    counted = s[s["end_date"].isna() | (lasted >= 14)]
    weeks = []
    for t in as_of:
        marketed = (p["market_entry"].isna() | (p["market_entry"] <= t)) & (
            p["market_exit"].isna() | (p["market_exit"] > t)
        )
        ongoing = s["end_date"].isna() | (s["end_date"] > t)
        short = s[(s["reported_on"] <= t) & (s["start_date"] <= t) & ongoing]["zi_number"]
        rows = p[marketed & ~p["zi_number"].isin(short)][["zi_number", "gpk"]].copy()
        rows["as_of"] = t
        rows = rows.merge(
            _latest(market.list_prices, t, "aip").rename("price_aip"),
            left_on="zi_number",
            right_index=True,
            how="left",
        )
        aip_year_ago = _latest(market.list_prices, t - YEAR, "aip")
        rows["price_aip_change_52w"] = rows["price_aip"] / rows["zi_number"].map(aip_year_ago) - 1
        wgp = _latest(market.wgp_prices, t, "max_price")
        rows["price_wgp_max"] = rows["zi_number"].map(wgp)
        rows["price_headroom"] = rows["price_aip"] / rows["price_wgp_max"]
        rows["gvs_limit"] = rows["zi_number"].map(_latest(market.gvs_limits, t, "limit_price"))
        tenders = market.tenders
        active = tenders[(tenders["valid_from"] <= t) & (tenders["valid_to"] > t)]
        by_insurer = active.groupby(["zi_number", "insurer"])["market_share"].max()
        rows["tender_share"] = rows["zi_number"].map(by_insurer.groupby(level=0).sum()).fillna(0)
        rows["tender_insurers"] = rows["zi_number"].map(by_insurer.groupby(level=0).size())
        regs = market.registrations
        in_force = regs[
            (regs["registered_on"] <= t)
            & (regs["withdrawn_on"].isna() | (regs["withdrawn_on"] > t))
        ]
        rows["sup_mahs"] = rows["gpk"].map(in_force.groupby("gpk")["mah"].nunique()).fillna(0)
        known = s[(s["reported_on"] <= t) & (s["start_date"] <= t)]
        recent = known[known["start_date"] > t - YEAR].groupby("zi_number").size()
        rows["hist_episodes_52w"] = rows["zi_number"].map(recent).fillna(0)
        notes = market.notifications
        open_ = notes[
            (notes["notified_on"] <= t)
            & (notes["expected_end"].isna() | (notes["expected_end"] > t))
        ]
        rows["notif_open"] = rows["zi_number"].isin(open_["zi_number"]).astype(float)
        for h in (4, 13, 26):
            window = counted[
                (counted["start_date"] >= t)
                & (counted["start_date"] < t + pd.Timedelta(days=7 * h))
            ]
            rows[f"onset_{h}w"] = rows["zi_number"].isin(window["zi_number"]).astype(float)
        weeks.append(rows)
    return pd.concat(weeks, ignore_index=True)


def bench_full(packs: int, years: int, seed: int) -> None:
    began = time.perf_counter()
    market = generate_market(n_packs=packs, years=years, seed=seed, with_truth=False).market
    generated = time.perf_counter() - began
    sizes = ", ".join(f"{name} {len(frame):,}" for name, frame in market.present())
    print(f"market: {packs:,} packs x {years} years generated in {generated:.1f} s ({sizes})")
    print(f"peak memory after generation: {peak_rss_gib():.2f} GiB")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "panel.parquet"
        began = time.perf_counter()
        summary = build_feature_panel(market, out)
        wall = time.perf_counter() - began
        size_mib = out.stat().st_size / 2**20
    print(
        f"panel: {summary.rows:,} rows x {len(summary.features)} features,"
        f" {summary.weeks} weeks, written to Parquet ({size_mib:,.0f} MiB)"
    )
    print(f"wall time: {wall:.1f} s   rows/s: {summary.rows / wall:,.0f}")
    print(f"peak memory (whole process): {peak_rss_gib():.2f} GiB")
    weeks = pd.date_range(summary.as_of_first, summary.as_of_last, freq="7D")
    sample = weeks[:: max(1, len(weeks) // SAMPLE_WEEKS)]
    began = time.perf_counter()
    naive_weekly_panel(market, sample)
    per_week = (time.perf_counter() - began) / len(sample)
    print(
        f"per-week pandas loop at this scale: {per_week:.2f} s per week, about"
        f" {per_week * summary.weeks / 60:.0f} min for all {summary.weeks} weeks"
        f" (fewer columns), i.e. {per_week * summary.weeks / wall:.0f}x slower"
    )


def bench_against_naive(packs: int, years: int, seed: int) -> None:
    market = generate_market(n_packs=packs, years=years, seed=seed, with_truth=False).market
    build_panel(market, end=market.shortages["start_date"].min() + pd.Timedelta(weeks=2))  # warm-up
    began = time.perf_counter()
    fast = build_panel(market)
    fast_s = time.perf_counter() - began
    as_of = pd.DatetimeIndex(fast["as_of"].drop_duplicates())
    began = time.perf_counter()
    naive = naive_weekly_panel(market, as_of)
    naive_s = time.perf_counter() - began
    same_rows = len(naive) == len(fast)
    print(
        f"small market {packs:,} packs x {years} years, {len(as_of)} weeks:"
        f" panel {len(fast):,} rows x {fast.shape[1] - 2} columns in {fast_s:.2f} s;"
        f" per-week pandas loop {len(naive):,} rows x {naive.shape[1] - 3} columns"
        f" in {naive_s:.1f} s (same rows: {same_rows})"
    )
    per_column = (naive_s / (naive.shape[1] - 3)) / (fast_s / (fast.shape[1] - 2))
    print(
        f"speed-up over the per-week loop: {naive_s / fast_s:,.0f}x"
        f" ({per_column:,.0f}x per output column)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packs", type=int, default=25_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--small-packs", type=int, default=1_000)
    parser.add_argument("--small-years", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    bench_against_naive(args.small_packs, args.small_years, args.seed)
    bench_full(args.packs, args.years, args.seed)


if __name__ == "__main__":
    main()
