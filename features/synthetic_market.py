"""Built-in synthetic Dutch medicine market with a known shortage mechanism.

The generator writes the nine contract tables for a fictional but Dutch-shaped
market, so the whole package can be run, tested and benchmarked without access
to licensed sources (G-Standaard, Farmanco, Meldpunt), and so models can be
checked against a hazard that is known exactly.

Mechanism (one simulation at weekly resolution, deterministic in ``seed``):

* Catalogue. About ``n_packs / 3.5`` GPKs (substance + strength + form) drawn
  from a list of real ATC codes (antibiotics J01, respiratory R03/R05/R06 and
  the big chronic groups). Each GPK has 1-8 suppliers (MAHs, skewed to 1-3),
  one registration (RVG) each, and 1-2 packs (pack sizes) per supplier. Most
  older GPKs have one originator; the other suppliers are generics. Most
  registrations predate the window; some generics enter during it.
* Prices. AIP (monthly taxe) is log-normal around EUR 15 per pack with a long
  tail, originators dearer. Wgp maximum prices are recalibrated every 1 April
  and 1 October with gradual erosion; the AIP is cut to the maximum whenever
  the maximum falls below it and otherwise drifts down in monthly steps.
* GVS. GPKs with the same ATC level-5 group and form share a cluster whose
  per-pack limit is re-set now and then at a high quantile of the cluster's
  prices, leaving some packs above their limit; some GPKs sit in annex 1B.
* Preference policy. Five insurers with their market shares each tender many
  multi-supplier generic GPKs in staggered two-year designation periods
  (1 January / 1 July) and designate the cheapest bid (sometimes 2-3 packs).
  Suppliers of cheap packs that hold no designation sometimes leave the
  market (their packs get ``market_exit``, the registration is withdrawn).
* Critical list. About 7% of GPKs (red/orange) plus a few ATC prefixes enter
  the national list from its start date in the second half of the window.
* Shortages. Each week every marketed pack that is not short starts an episode
  with probability ``base * multipliers * frailty``; the multipliers are a low
  price (AIP <= EUR 15), few registered suppliers, a recently lost tender,
  being the sole preferred pack of big insurers (demand pressure), a recent
  Wgp cut, the pack's own recent shortages, a sibling pack of the same GPK
  being short now (demand shifts), and winter (Nov-Mar) for J01 and R packs;
  frailty is a modest gamma-distributed pack effect. Durations are drawn
  independently (log-normal, at least a week, median about four weeks), so the
  reported ``true_hazard`` (onset of an episode lasting >= 14 days) is the
  onset probability times P(duration >= 14 days). The simulation starts with
  a 26-week burn-in so that history and contagion are in steady state at
  ``start``; burn-in episodes appear in ``shortages`` (dated before ``start``)
  but not in ``true_hazard``. First price rows date from the last
  recalibration before ``start``.
* Meldpunt. About 70% of >= 14-day episodes are notified, mostly 2-12 weeks
  ahead with a noisy expected start (some only after the start), and about as
  many precautionary notifications are never followed by a shortage. They
  are drawn from the simulated future, so using them is legitimate skill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.contract import DEFAULT_MIN_SHORTAGE_DAYS
from features.market import Market
from features.synthetic.vocabulary import (
    CRITICAL_ATC_PREFIXES,
    FORMS,
    GENERIC_MAHS,
    INSURER_PHASE_MONTHS,
    INSURERS,
    ORIGINATOR_MAHS,
    REASONS,
    SUBSTANCES,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

# ---------------------------------------------------------------------------
# Mechanism parameters (calibrated to published Dutch figures, see tests)
# ---------------------------------------------------------------------------

PACKS_PER_GPK_TARGET = 3.5
SUPPLIER_COUNT_PROBS = (0.30, 0.22, 0.15, 0.11, 0.08, 0.06, 0.045, 0.035)  # 1..8 MAHs
SECOND_PACK_PROB = 0.2
ORIGINATOR_PROB = 0.85

GPK_PRICE_MEDIAN = 7.0  # EUR per smallest pack of a generic
GPK_PRICE_SIGMA = 1.0
ORIGINATOR_PREMIUM = 2.0
WGP_DRIFT = -0.03  # log change of the maximum price per recalibration
AIP_CHANGE_PROB = 0.08  # monthly probability of a taxe price change
CHEAP_AIP = 15.0

TENDERED_SHARE = 0.7  # share of eligible GPKs each insurer tenders
DESIGNATED_COUNT_PROBS = (0.80, 0.15, 0.05)  # 1, 2 or 3 preferred packs
EXIT_PROB_CHEAP = 0.03
EXIT_PROB_DEAR = 0.01

BASE_WEEKLY_ONSET = 0.00067
CHEAP_MULT = 2.2
SUPPLIER_MULT = (1.7, 1.7, 1.35, 1.15, 1.0)  # by registered suppliers 0, 1, 2, 3, 4+
SOLE_DEMAND_WEIGHT = 2.0  # x (1 + weight * share of insured lives with this sole pack)
LOST_TENDER_MULT = 1.6
LOST_TENDER_WEEKS = 26
WGP_CUT_MULT = 1.4
WGP_CUT_MONTHS = 6
HISTORY_WEIGHT = 0.8
HISTORY_HALF_LIFE_WEEKS = 52.0
SIBLING_MULT = 1.8
WINTER_MULT = 1.8
WINTER_MONTHS = (11, 12, 1, 2, 3)
FRAILTY_SHAPE = 4.0
MAX_WEEKLY_ONSET = 0.25
BURN_IN_WEEKS = 26

DURATION_MEDIAN_DAYS = 28.0
DURATION_SIGMA = 1.05
MIN_DURATION_DAYS = 7

NOTIFIED_SHARE_LONG = 0.70
NOTIFIED_SHARE_SHORT = 0.15
LATE_NOTIFICATION_SHARE = 0.2


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticMarket:
    """A generated market and the hazard that produced its shortages."""

    market: Market
    true_hazard: pd.DataFrame | None


def generate_market(
    n_packs: int = 5000,
    years: int = 8,
    seed: int = 0,
    start: str | date = "2018-01-01",
    with_truth: bool = True,
    countries: int = 1,
) -> SyntheticMarket:
    """Simulate ``years`` of a market with ``n_packs`` packs from ``start`` (snapped to Monday).

    ``true_hazard`` has one row per (pack, week) on the market and not short, with the
    weekly probability that a new episode of >= 14 days starts that week and the
    pack's hidden frailty (the multiplier no table carries).
    ``countries`` > 1 gives an EU-like market: that many independent national markets
    of ``n_packs`` packs each (see ``multi_country_market``).
    """
    if countries != 1:
        return multi_country_market(n_packs, years, seed, start, with_truth, countries)
    if n_packs < 10:
        raise ValueError("n_packs must be at least 10")
    if years < 1:
        raise ValueError("years must be at least 1")
    calendar = make_calendar(start, years)
    rngs = np.random.default_rng(seed).spawn(7)
    catalogue = build_catalogue(n_packs, calendar, rngs[0])
    prices = simulate_prices(catalogue, calendar, rngs[1])
    tenders = simulate_tenders(catalogue, calendar, prices, rngs[2])
    episodes, hazard = simulate_shortages(catalogue, calendar, prices, tenders, rngs[3], with_truth)
    frames: dict[str, pd.DataFrame | None] = {
        "products": products_frame(catalogue, tenders),
        "shortages": shortages_frame(catalogue, calendar, episodes, rngs[4]),
        "wgp_prices": wgp_frame(catalogue, calendar, prices, tenders),
        "list_prices": list_price_frame(catalogue, calendar, prices, tenders),
        "gvs_limits": gvs_frame(catalogue, calendar, prices, tenders, rngs[5]),
        "tenders": tenders_frame(catalogue, tenders),
        "registrations": registrations_frame(catalogue, tenders),
        "notifications": notifications_frame(catalogue, calendar, tenders, episodes, rngs[6]),
        "critical_list": critical_list_frame(catalogue, calendar, rngs[5]),
    }
    market = Market.from_frames(frames)
    truth = None if hazard is None else hazard_frame(catalogue, calendar, hazard)
    return SyntheticMarket(market=market, true_hazard=truth)


# EU member states, the Netherlands first: country k of a multi-country market.
COUNTRY_CODES = (
    "NL", "DE", "BE", "FR", "AT", "DK", "SE", "FI", "IE", "IT", "ES", "PT", "PL", "CZ",
    "SK", "SI", "HU", "RO", "BG", "HR", "GR", "CY", "MT", "LU", "LV", "LT", "EE",
)  # fmt: skip
ID_DIGITS = 6  # country code + 6 digits: 8-character identifiers, as in the Dutch market


def country_seed(seed: int, k: int) -> int:
    """The Netherlands keeps ``seed`` (its tables equal the one-country market's, ids aside);
    every other country gets an independent seed derived from (seed, k)."""
    if k == 0:
        return seed
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


def _country_ids(values: pd.Series, code: str) -> pd.Series:
    """Identifiers renumbered within one country as ``code`` + 6 digits, keeping their order
    (dense rank of the original id), so keys stay unique across countries."""
    text = values.astype("str")
    known = pd.Index(np.sort(text.dropna().unique()))
    if len(known) > 10**ID_DIGITS:
        raise ValueError(f"more than {10**ID_DIGITS:,} identifiers in one country")
    rank = pd.Series(known.get_indexer(text.fillna("")), index=values.index)
    renamed = code + rank.astype("str").str.zfill(ID_DIGITS)
    return renamed.where(text.notna()).astype("str")


def _relabel_country(frame: pd.DataFrame, code: str, ids: dict[str, pd.Index]) -> pd.DataFrame:
    out = frame.copy()
    for column in ("zi_number", "gpk"):
        if column in out.columns:
            mapping = pd.Series(_country_ids(pd.Series(ids[column]), code).to_numpy(), ids[column])
            out[column] = out[column].astype("str").map(mapping).astype("str")
    if "rvg_number" in out.columns:
        out["rvg_number"] = code + " " + out["rvg_number"].astype("str")
    if "insurer" in out.columns:
        out["insurer"] = code + " " + out["insurer"].astype("str")
    return out


def multi_country_market(
    n_packs: int,
    years: int,
    seed: int,
    start: str | date,
    with_truth: bool,
    countries: int,
) -> SyntheticMarket:
    """``countries`` independent national markets concatenated, identifiers prefixed with
    the country code. ``products`` gains a ``country`` column (the contract allows extra
    columns; loaders ignore it, the code is also the first two characters of every id)."""
    if not 1 <= countries <= len(COUNTRY_CODES):
        raise ValueError(f"countries must be between 1 and {len(COUNTRY_CODES)}")
    frames: dict[str, list[pd.DataFrame]] = {}
    truths = []
    for k, code in enumerate(COUNTRY_CODES[:countries]):
        national = generate_market(n_packs, years, country_seed(seed, k), start, with_truth)
        products = national.market.products
        ids = {
            "zi_number": pd.Index(products["zi_number"].astype("str")),
            "gpk": pd.Index(products["gpk"].astype("str").unique()),
        }
        for name, frame in national.market.present():
            relabelled = _relabel_country(frame, code, ids)
            if name == "products":
                relabelled["country"] = pd.array([code] * len(relabelled), dtype="str")
            frames.setdefault(name, []).append(relabelled)
        if national.true_hazard is not None:
            truths.append(_relabel_country(national.true_hazard, code, ids))
    tables = {name: pd.concat(parts, ignore_index=True) for name, parts in frames.items()}
    # ATC-prefix rows are the same in every country: one EU-wide row each (its key is unique).
    key = ["gpk", "atc", "valid_from"]
    tables["critical_list"] = tables["critical_list"].drop_duplicates(key, ignore_index=True)
    conformed = Market.from_frames(dict(tables))
    country = tables["products"]["country"].to_numpy()
    market = replace(conformed, products=conformed.products.assign(country=country))
    truth = pd.concat(truths, ignore_index=True) if truths else None
    return SyntheticMarket(market=market, true_hazard=truth)


# ---------------------------------------------------------------------------
# Calendar
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """Simulation time axes; days are integers since 1970-01-01."""

    start: int  # first Monday of the data window
    end: int  # exclusive end of the data window (a Monday)
    week_days: IntArray  # Mondays of the simulation, burn-in first
    burn_in: int  # number of burn-in weeks before ``start``
    month_days: IntArray  # first day of each month from ``grid_origin`` to ``end``
    month_of_year: IntArray  # 1..12 per month of the grid

    @property
    def grid_origin(self) -> int:
        """Last Wgp recalibration (1 April / 1 October) on or before ``start``."""
        return int(self.month_days[0])

    def month_index(self, days: IntArray) -> IntArray:
        """Index of the grid month containing each day (clipped to the grid)."""
        idx = np.searchsorted(self.month_days, days, side="right") - 1
        return np.clip(idx, 0, len(self.month_days) - 1).astype(np.int64)


def to_day(value: date) -> int:
    return (value - date(1970, 1, 1)).days


def from_days(days: IntArray) -> npt.NDArray[np.datetime64]:
    return np.asarray(days, dtype="int64").astype("datetime64[D]")


def first_of_month_days(first: date, count: int) -> IntArray:
    months = np.datetime64(first, "M") + np.arange(count)
    return months.astype("datetime64[D]").astype(np.int64)


def make_calendar(start: str | date, years: int) -> Calendar:
    first = date.fromisoformat(start) if isinstance(start, str) else start
    monday = first - timedelta(days=first.weekday())
    horizon = date(monday.year + years, monday.month, min(monday.day, 28))
    n_weeks = (horizon - monday).days // 7
    start_day = to_day(monday)
    end_day = start_day + 7 * n_weeks
    week_days = start_day + 7 * np.arange(-BURN_IN_WEEKS, n_weeks, dtype=np.int64)
    if monday.month >= 10:
        origin = date(monday.year, 10, 1)
    elif monday.month >= 4:
        origin = date(monday.year, 4, 1)
    else:
        origin = date(monday.year - 1, 10, 1)
    end_date = date(1970, 1, 1) + timedelta(days=end_day - 1)
    n_months = (end_date.year - origin.year) * 12 + end_date.month - origin.month + 1
    month_days = first_of_month_days(origin, n_months)
    month_of_year = (np.arange(n_months) + origin.month - 1) % 12 + 1
    return Calendar(
        start=start_day,
        end=end_day,
        week_days=week_days,
        burn_in=BURN_IN_WEEKS,
        month_days=month_days,
        month_of_year=month_of_year.astype(np.int64),
    )


def add_months_first_day(days: IntArray, months: IntArray) -> IntArray:
    """First day of the month ``months`` after the month of each day."""
    month = from_days(days).astype("datetime64[M]") + months
    return month.astype("datetime64[D]").astype(np.int64)


# ---------------------------------------------------------------------------
# Catalogue: GPKs, suppliers (registrations) and packs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """Static market structure; index arrays link packs -> slots -> GPKs."""

    gpk_code: StrArray
    gpk_atc: StrArray
    gpk_form: StrArray
    gpk_label: StrArray  # "Substance strength form"
    gpk_price: FloatArray  # generic price of the smallest pack
    gpk_seasonal: BoolArray  # J01 antibiotics and R respiratory
    slot_gpk: IntArray  # one slot per (GPK, MAH) registration
    slot_mah: StrArray
    slot_is_originator: BoolArray
    slot_registered: IntArray
    slot_rvg: StrArray
    pack_slot: IntArray
    pack_gpk: IntArray
    pack_zi: StrArray
    pack_units: IntArray
    pack_size_mult: FloatArray
    pack_entry: IntArray  # first day on the market (first of a month)

    @property
    def n_packs(self) -> int:
        return len(self.pack_zi)

    @property
    def n_gpks(self) -> int:
        return len(self.gpk_code)

    @property
    def n_slots(self) -> int:
        return len(self.slot_gpk)

    @property
    def pack_is_originator(self) -> BoolArray:
        return self.slot_is_originator[self.pack_slot]


def unique_codes(rng: np.random.Generator, count: int, low: int, high: int) -> IntArray:
    """Distinct random integers in [low, high), in random order."""
    return rng.choice(np.arange(low, high, dtype=np.int64), size=count, replace=False)


def draw_supplier_structure(n_packs: int, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    """GPK of each supplier slot and slot of each pack, trimmed to exactly ``n_packs`` packs."""
    n_gpks_draft = int(n_packs / PACKS_PER_GPK_TARGET * 1.5) + 10
    slots_per_gpk = 1 + rng.choice(len(SUPPLIER_COUNT_PROBS), n_gpks_draft, p=SUPPLIER_COUNT_PROBS)
    slot_gpk = np.repeat(np.arange(n_gpks_draft), slots_per_gpk)
    packs_per_slot = 1 + (rng.random(len(slot_gpk)) < SECOND_PACK_PROB).astype(np.int64)
    pack_slot = np.repeat(np.arange(len(slot_gpk)), packs_per_slot)[:n_packs]
    slot_gpk = slot_gpk[: pack_slot[-1] + 1]
    return slot_gpk.astype(np.int64), pack_slot.astype(np.int64)


def draw_gpk_launch_days(n_gpks: int, calendar: Calendar, rng: np.random.Generator) -> IntArray:
    """Most GPKs are old; a few are launched during the window."""
    window = calendar.end - calendar.start
    new_share = min(0.25, 0.006 * window / 365.25)
    is_new = rng.random(n_gpks) < new_share
    old = calendar.start - rng.uniform(200, 30 * 365.25, n_gpks)
    new = calendar.start + rng.uniform(0, 0.7, n_gpks) * window
    return np.where(is_new, new, old).astype(np.int64)


def draw_slot_registration(
    slot_gpk: IntArray,
    slot_rank: IntArray,
    launch: IntArray,
    calendar: Calendar,
    rng: np.random.Generator,
) -> IntArray:
    """First slot registers at launch; generics follow before or during the window."""
    n = len(slot_gpk)
    gpk_launch = launch[slot_gpk]
    latest = calendar.end - 270
    window = calendar.end - calendar.start
    in_window_share = min(0.3, 0.015 * window / 365.25)
    before = gpk_launch + rng.uniform(0.1, 1.0, n) * np.maximum(calendar.start - gpk_launch, 0)
    enters_late = (rng.random(n) < in_window_share) | (gpk_launch >= calendar.start)
    low = np.maximum(gpk_launch, calendar.start)
    during = low + rng.random(n) * np.maximum(latest - low, 0)
    generic = np.where(enters_late, during, before)
    return np.where(slot_rank == 0, gpk_launch, generic).astype(np.int64)


def assign_mahs(
    slot_gpk: IntArray, slot_rank: IntArray, is_originator: BoolArray, rng: np.random.Generator
) -> StrArray:
    """Distinct generic suppliers within a GPK; originators from the brand companies."""
    n_gpks = int(slot_gpk.max()) + 1
    generic_order = np.argsort(rng.random((n_gpks, len(GENERIC_MAHS))), axis=1)
    generic_names = np.asarray(GENERIC_MAHS)[generic_order[slot_gpk, slot_rank]]
    originator_names = np.asarray(ORIGINATOR_MAHS)[
        rng.integers(0, len(ORIGINATOR_MAHS), n_gpks)[slot_gpk]
    ]
    return np.where(is_originator, originator_names, generic_names).astype(str)


def draw_pack_sizes(
    pack_slot: IntArray, gpk_form: StrArray, pack_gpk: IntArray, rng: np.random.Generator
) -> tuple[IntArray, FloatArray]:
    """Pack sizes per form; a supplier's second pack is a larger size."""
    n = len(pack_slot)
    second = np.zeros(n, dtype=bool)
    second[1:] = pack_slot[1:] == pack_slot[:-1]
    units = np.empty(n, dtype=np.int64)
    mult = np.empty(n, dtype=np.float64)
    for form, (_, sizes, _) in FORMS.items():
        idx = np.flatnonzero(gpk_form[pack_gpk] == form)
        if len(idx) == 0:
            continue
        k = len(sizes)
        first_choice = rng.integers(0, max(1, k - 1), len(idx))
        choice = np.where(second[idx], np.minimum(first_choice + 1 + (k > 2), k - 1), first_choice)
        size = np.asarray(sizes, dtype=np.int64)[choice]
        units[idx] = size
        mult[idx] = (size / sizes[0]) ** 0.7
    return units, mult


def build_catalogue(n_packs: int, calendar: Calendar, rng: np.random.Generator) -> Catalogue:
    slot_gpk, pack_slot = draw_supplier_structure(n_packs, rng)
    n_gpks = int(slot_gpk[-1]) + 1
    slots_per_gpk = np.bincount(slot_gpk, minlength=n_gpks).astype(np.int64)
    slot_rank = np.arange(len(slot_gpk)) - np.repeat(
        np.cumsum(slots_per_gpk) - slots_per_gpk, slots_per_gpk
    )

    substance = rng.integers(0, len(SUBSTANCES), n_gpks)
    strength_pick = rng.random(n_gpks)
    form_pick = rng.random(n_gpks)
    atcs, labels, forms = [], [], []
    for s, a, b in zip(substance.tolist(), strength_pick.tolist(), form_pick.tolist(), strict=True):
        atc, name, strengths, form_list = SUBSTANCES[s]
        form = form_list[int(b * len(form_list))]
        atcs.append(atc)
        forms.append(form)
        labels.append(f"{name} {strengths[int(a * len(strengths))]} {form}")
    gpk_atc = np.asarray(atcs)
    gpk_form = np.asarray(forms)
    form_factor = np.asarray([FORMS[f][2] for f in forms])
    gpk_price = GPK_PRICE_MEDIAN * form_factor * np.exp(rng.normal(0, GPK_PRICE_SIGMA, n_gpks))
    gpk_seasonal = np.char.startswith(gpk_atc, "J01") | np.char.startswith(gpk_atc, "R")

    has_originator = rng.random(n_gpks) < np.where(slots_per_gpk == 1, 0.95, ORIGINATOR_PROB)
    slot_is_originator = (slot_rank == 0) & has_originator[slot_gpk]
    launch = draw_gpk_launch_days(n_gpks, calendar, rng)
    slot_registered = draw_slot_registration(slot_gpk, slot_rank, launch, calendar, rng)
    slot_mah = assign_mahs(slot_gpk, slot_rank, slot_is_originator, rng)

    pack_gpk = slot_gpk[pack_slot]
    units, size_mult = draw_pack_sizes(pack_slot, gpk_form, pack_gpk, rng)
    lag_months = rng.integers(1, 7, len(slot_gpk))
    slot_entry = add_months_first_day(slot_registered, lag_months)
    pack_entry = slot_entry[pack_slot]

    zi = unique_codes(rng, len(pack_slot), 100_000, 18_000_000)
    gpk = unique_codes(rng, n_gpks, 10_000, 3_000_000)
    rvg = unique_codes(rng, len(slot_gpk), 10_000, 130_000)
    return Catalogue(
        gpk_code=np.char.zfill(gpk.astype(str), 8),
        gpk_atc=gpk_atc,
        gpk_form=gpk_form,
        gpk_label=np.asarray(labels),
        gpk_price=gpk_price,
        gpk_seasonal=gpk_seasonal,
        slot_gpk=slot_gpk,
        slot_mah=slot_mah,
        slot_is_originator=slot_is_originator,
        slot_registered=slot_registered,
        slot_rvg=np.char.add("RVG ", rvg.astype(str)),
        pack_slot=pack_slot,
        pack_gpk=pack_gpk,
        pack_zi=np.char.zfill(zi.astype(str), 8),
        pack_units=units,
        pack_size_mult=size_mult,
        pack_entry=pack_entry,
    )


# ---------------------------------------------------------------------------
# Prices: AIP (taxe) and Wgp maximum prices on the month grid
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prices:
    """Latent monthly price paths (packs x grid months), rounded to cents."""

    aip: FloatArray
    max_price: FloatArray
    recent_cut: BoolArray  # a Wgp cut took effect within the last few months
    reference: FloatArray  # per pack: the generic GPK price scaled to the pack size


def simulate_prices(catalogue: Catalogue, calendar: Calendar, rng: np.random.Generator) -> Prices:
    n = catalogue.n_packs
    n_months = len(calendar.month_days)
    reference = catalogue.gpk_price[catalogue.pack_gpk] * catalogue.pack_size_mult
    premium = np.where(catalogue.pack_is_originator, ORIGINATOR_PREMIUM, 1.0)
    aip = np.round(reference * premium * np.exp(rng.normal(0, 0.2, n)), 2)
    max_price = np.round(aip * np.exp(rng.uniform(0.05, 0.5, n)), 2)
    aip_path = np.empty((n, n_months))
    max_path = np.empty((n, n_months))
    recent_cut = np.zeros((n, n_months), dtype=bool)
    last_cut = np.full(n, -10_000)
    for m in range(n_months):
        if m > 0 and calendar.month_of_year[m] in (4, 10):
            shock = rng.normal(WGP_DRIFT, 0.04, catalogue.n_gpks)[catalogue.pack_gpk]
            new_max = np.maximum(
                np.round(max_price * np.exp(shock + rng.normal(0, 0.02, n)), 2), 0.5
            )
            last_cut = np.where(new_max < 0.97 * max_price, m, last_cut)
            max_price = new_max
        if m > 0:
            changes = rng.random(n) < AIP_CHANGE_PROB
            moved = np.round(aip * np.exp(rng.normal(-0.015, 0.07, n)), 2)
            aip = np.where(changes, np.maximum(moved, 0.1), aip)
        aip = np.minimum(aip, max_price)
        aip_path[:, m] = aip
        max_path[:, m] = max_price
        recent_cut[:, m] = m - last_cut < WGP_CUT_MONTHS
    return Prices(aip=aip_path, max_price=max_path, recent_cut=recent_cut, reference=reference)


# ---------------------------------------------------------------------------
# Preference policy (tenders) and supplier exits
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TenderEvent:
    """One insurer's new designation period; it replaces the previous one."""

    day: int
    insurer: int
    designated: IntArray  # pack indices
    sole: IntArray  # packs that are the only preferred pack of their GPK
    lost: IntArray  # packs designated in the previous period but not now


@dataclass(frozen=True)
class TenderOutcome:
    events: tuple[TenderEvent, ...]
    row_insurer: IntArray
    row_pack: IntArray
    row_from: IntArray
    row_to: IntArray
    pack_exit: IntArray  # -1: still marketed
    slot_withdrawn: IntArray  # -1: in force


NO_DATE = -1


def designation_periods(calendar: Calendar) -> list[tuple[int, int, int]]:
    """(start day, end day, insurer) of all periods overlapping the simulation."""
    first_day = int(calendar.week_days[0])
    anchor_year = date(1970, 1, 1) + timedelta(days=first_day)
    anchor = date(anchor_year.year - 2, 1, 1)
    periods = []
    for insurer, phase in enumerate(INSURER_PHASE_MONTHS):
        k = 0
        while True:
            offset = np.asarray([phase + 24 * k, phase + 24 * (k + 1)])
            begin, finish = add_months_first_day(np.asarray([to_day(anchor)] * 2), offset)
            if begin >= calendar.end:
                break
            if finish > first_day:
                periods.append((int(begin), int(finish), insurer))
            k += 1
    return sorted(periods)


def within_group_rank(group: IntArray, score: FloatArray) -> tuple[IntArray, IntArray]:
    """Order by (group, score) and the 0-based rank of each element within its group."""
    order = np.lexsort((score, group))
    sorted_group = group[order]
    starts = np.r_[0, np.flatnonzero(sorted_group[1:] != sorted_group[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    return order, rank


def simulate_tenders(
    catalogue: Catalogue, calendar: Calendar, prices: Prices, rng: np.random.Generator
) -> TenderOutcome:
    n_ins = len(INSURERS)
    slots_per_gpk = np.bincount(catalogue.slot_gpk, minlength=catalogue.n_gpks)
    generics_per_gpk = np.bincount(
        catalogue.slot_gpk, weights=~catalogue.slot_is_originator, minlength=catalogue.n_gpks
    )
    eligible = (slots_per_gpk >= 2) & (generics_per_gpk >= 1)
    tendered = eligible[:, None] & (rng.random((catalogue.n_gpks, n_ins)) < TENDERED_SHARE)
    pack_exit = np.full(catalogue.n_packs, NO_DATE, dtype=np.int64)
    slot_withdrawn = np.full(catalogue.n_slots, NO_DATE, dtype=np.int64)
    current = np.zeros((n_ins, catalogue.n_packs), dtype=bool)
    events: list[TenderEvent] = []
    rows: list[tuple[IntArray, IntArray, int, int]] = []

    for begin, finish, insurer in designation_periods(calendar):
        marketed = (catalogue.pack_entry <= begin) & (pack_exit == NO_DATE)
        candidates = np.flatnonzero(marketed & tendered[catalogue.pack_gpk, insurer])
        month = int(calendar.month_index(np.asarray([begin]))[0])
        bid = prices.aip[candidates, month] * np.exp(rng.normal(0, 0.25, len(candidates)))
        gpk = catalogue.pack_gpk[candidates]
        order, rank = within_group_rank(gpk, bid)
        n_candidates = np.bincount(gpk, minlength=catalogue.n_gpks)
        wanted = 1 + rng.choice(3, catalogue.n_gpks, p=DESIGNATED_COUNT_PROBS)
        n_designated = np.where(n_candidates >= 2, np.minimum(wanted, n_candidates - 1), 0)
        ranked = candidates[order]
        chosen = rank < n_designated[gpk[order]]
        designated = ranked[chosen]
        sole = designated[n_designated[catalogue.pack_gpk[designated]] == 1]
        now = np.zeros(catalogue.n_packs, dtype=bool)
        now[designated] = True
        lost = np.flatnonzero(current[insurer] & ~now)
        current[insurer] = now
        events.append(TenderEvent(begin, insurer, designated, sole, lost))
        rows.append((designated, np.full(len(designated), insurer), begin, finish))
        if begin >= calendar.start:
            decide_exits(
                catalogue,
                calendar,
                prices,
                candidates,
                current,
                pack_exit,
                slot_withdrawn,
                begin,
                month,
                rng,
            )

    return TenderOutcome(
        events=tuple(events),
        row_insurer=np.concatenate([r[1] for r in rows]).astype(np.int64),
        row_pack=np.concatenate([r[0] for r in rows]).astype(np.int64),
        row_from=np.concatenate([np.full(len(r[0]), r[2]) for r in rows]).astype(np.int64),
        row_to=np.concatenate([np.full(len(r[0]), r[3]) for r in rows]).astype(np.int64),
        pack_exit=pack_exit,
        slot_withdrawn=slot_withdrawn,
    )


def decide_exits(
    catalogue: Catalogue,
    calendar: Calendar,
    prices: Prices,
    candidates: IntArray,
    current: BoolArray,
    pack_exit: IntArray,
    slot_withdrawn: IntArray,
    day: int,
    month: int,
    rng: np.random.Generator,
) -> None:
    """Suppliers of cheap packs without any designation may leave (updates arrays in place).

    At most one supplier per GPK leaves per tender, and never the last one.
    """
    n_slots = catalogue.n_slots
    designated_anywhere = current.any(axis=0)
    in_tender = np.bincount(catalogue.pack_slot[candidates], minlength=n_slots) > 0
    holds = np.bincount(catalogue.pack_slot, weights=designated_anywhere, minlength=n_slots) > 0
    cheapest = np.full(n_slots, np.inf)
    np.minimum.at(cheapest, catalogue.pack_slot, prices.aip[:, month])
    marketed = (catalogue.pack_entry <= day) & (pack_exit == NO_DATE)
    active = np.bincount(catalogue.pack_slot, weights=marketed, minlength=n_slots) > 0
    active_per_gpk = np.bincount(catalogue.slot_gpk, weights=active, minlength=catalogue.n_gpks)
    p_exit = np.where(cheapest <= CHEAP_AIP, EXIT_PROB_CHEAP, EXIT_PROB_DEAR)
    leaves = in_tender & active & ~holds & (rng.random(n_slots) < p_exit)
    leaves &= active_per_gpk[catalogue.slot_gpk] >= 2
    leaving = np.flatnonzero(leaves)
    _, first = np.unique(catalogue.slot_gpk[leaving], return_index=True)
    leaving = leaving[first]
    exit_day = add_months_first_day(np.full(len(leaving), day), rng.integers(1, 10, len(leaving)))
    withdrawn = add_months_first_day(exit_day, rng.integers(0, 7, len(leaving)))
    keep = exit_day < calendar.end
    leaving, exit_day, withdrawn = leaving[keep], exit_day[keep], withdrawn[keep]
    slot_withdrawn[leaving] = np.where(withdrawn < calendar.end, withdrawn, NO_DATE)
    slot_exit = np.full(n_slots, NO_DATE)
    slot_exit[leaving] = exit_day
    packs = np.flatnonzero(slot_exit[catalogue.pack_slot] != NO_DATE)
    packs = packs[pack_exit[packs] == NO_DATE]
    pack_exit[packs] = slot_exit[catalogue.pack_slot[packs]]


# ---------------------------------------------------------------------------
# Shortage simulation
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Episodes:
    pack: IntArray
    start: IntArray  # day
    duration: IntArray  # days
    week: IntArray  # simulation week index of onset
    winter_seasonal: BoolArray  # onset in winter for a J01/R pack


@dataclass(frozen=True)
class HazardRecord:
    week: IntArray  # data-window week index
    pack: IntArray
    hazard: FloatArray
    frailty: FloatArray  # per pack, the hidden multiplier in ``hazard``


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def prob_at_least(min_days: int) -> float:
    """P(drawn duration >= min_days) for the rounded, floored log-normal."""
    if min_days <= MIN_DURATION_DAYS:
        return 1.0
    z = (math.log(min_days - 0.5) - math.log(DURATION_MEDIAN_DAYS)) / DURATION_SIGMA
    return 1.0 - normal_cdf(z)


def draw_durations(rng: np.random.Generator, size: int) -> IntArray:
    raw = np.exp(rng.normal(math.log(DURATION_MEDIAN_DAYS), DURATION_SIGMA, size))
    return np.maximum(np.round(raw), MIN_DURATION_DAYS).astype(np.int64)


def week_index_of(days: IntArray, calendar: Calendar) -> IntArray:
    """First simulation week whose Monday is on or after each day (-1 dates: never)."""
    idx = np.searchsorted(calendar.week_days, days, side="left").astype(np.int64)
    return np.where(days == NO_DATE, len(calendar.week_days), idx)


def supplier_multiplier(n_suppliers: npt.NDArray[Any]) -> FloatArray:
    table = np.asarray(SUPPLIER_MULT)
    return table[np.clip(n_suppliers.astype(np.int64), 0, len(table) - 1)]


def simulate_shortages(
    catalogue: Catalogue,
    calendar: Calendar,
    prices: Prices,
    tenders: TenderOutcome,
    rng: np.random.Generator,
    with_truth: bool,
) -> tuple[Episodes, HazardRecord | None]:
    n = catalogue.n_packs
    n_weeks = len(calendar.week_days)
    share = np.asarray([s for _, s in INSURERS])
    entry_week = week_index_of(catalogue.pack_entry, calendar)
    exit_week = week_index_of(tenders.pack_exit, calendar)
    reg_week = week_index_of(catalogue.slot_registered, calendar)
    withdrawn_week = week_index_of(tenders.slot_withdrawn, calendar)
    week_month = calendar.month_index(calendar.week_days)
    month_of_week = from_days(calendar.week_days).astype("datetime64[M]").astype(np.int64) % 12 + 1
    is_winter = np.isin(month_of_week, WINTER_MONTHS)
    event_week = week_index_of(np.asarray([e.day for e in tenders.events]), calendar)
    frailty = rng.gamma(FRAILTY_SHAPE, 1.0 / FRAILTY_SHAPE, n)
    p14 = prob_at_least(DEFAULT_MIN_SHORTAGE_DAYS)
    decay = 0.5 ** (1.0 / HISTORY_HALF_LIFE_WEEKS)

    sole = np.zeros((len(INSURERS), n), dtype=bool)
    lost_week = np.full(n, -10_000, dtype=np.int64)
    available_from = np.full(n, np.iinfo(np.int64).min)
    history = np.zeros(n)
    next_event = 0
    onsets: list[tuple[IntArray, IntArray, IntArray, IntArray, bool]] = []
    records: list[tuple[int, IntArray, FloatArray]] = []

    for w in range(n_weeks):
        while next_event < len(tenders.events) and event_week[next_event] <= w:
            event = tenders.events[next_event]
            sole[event.insurer] = False
            sole[event.insurer, event.sole] = True
            lost_week[event.lost] = w
            next_event += 1
        monday = calendar.week_days[w]
        month = week_month[w]
        on_market = (entry_week <= w) & (w < exit_week)
        short = available_from > monday
        at_risk = on_market & ~short
        registered = (reg_week <= w) & (w < withdrawn_week)
        n_suppliers = np.bincount(
            catalogue.slot_gpk, weights=registered, minlength=catalogue.n_gpks
        )
        short_now = (short & on_market).astype(np.float64)
        gpk_short = np.bincount(catalogue.pack_gpk, weights=short_now, minlength=catalogue.n_gpks)
        siblings_short = gpk_short[catalogue.pack_gpk] - short_now > 0

        multiplier: FloatArray = np.where(prices.aip[:, month] <= CHEAP_AIP, CHEAP_MULT, 1.0)
        multiplier *= supplier_multiplier(n_suppliers[catalogue.pack_gpk])
        multiplier *= 1.0 + SOLE_DEMAND_WEIGHT * (share @ sole)
        multiplier *= np.where(w - lost_week < LOST_TENDER_WEEKS, LOST_TENDER_MULT, 1.0)
        multiplier *= np.where(prices.recent_cut[:, month], WGP_CUT_MULT, 1.0)
        multiplier *= 1.0 + HISTORY_WEIGHT * np.minimum(history, 3.0)
        multiplier *= np.where(siblings_short, SIBLING_MULT, 1.0)
        if is_winter[w]:
            multiplier *= np.where(catalogue.gpk_seasonal[catalogue.pack_gpk], WINTER_MULT, 1.0)
        onset_prob = np.minimum(BASE_WEEKLY_ONSET * multiplier * frailty, MAX_WEEKLY_ONSET)

        onset = at_risk & (rng.random(n) < onset_prob)
        started = np.flatnonzero(onset)
        start_day = monday + rng.integers(0, 5, len(started))
        duration = draw_durations(rng, len(started))
        available_from[started] = start_day + duration
        history *= decay
        history[started] += 1.0
        onsets.append((started, start_day, duration, np.full(len(started), w), bool(is_winter[w])))
        if with_truth and w >= calendar.burn_in:
            risk_idx = np.flatnonzero(at_risk)
            records.append((w - calendar.burn_in, risk_idx, onset_prob[risk_idx] * p14))

    pack = np.concatenate([o[0] for o in onsets]).astype(np.int64)
    winter_flags = np.concatenate([np.full(len(o[0]), o[4]) for o in onsets])
    episodes = Episodes(
        pack=pack,
        start=np.concatenate([o[1] for o in onsets]).astype(np.int64),
        duration=np.concatenate([o[2] for o in onsets]).astype(np.int64),
        week=np.concatenate([o[3] for o in onsets]).astype(np.int64),
        winter_seasonal=winter_flags & catalogue.gpk_seasonal[catalogue.pack_gpk[pack]],
    )
    if not with_truth:
        return episodes, None
    hazard = HazardRecord(
        week=np.concatenate([np.full(len(r[1]), r[0], dtype=np.int32) for r in records]).astype(
            np.int64
        ),
        pack=np.concatenate([r[1] for r in records]).astype(np.int64),
        hazard=np.concatenate([r[2] for r in records]),
        frailty=frailty,
    )
    return episodes, hazard


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def date_column(days: IntArray) -> npt.NDArray[np.datetime64]:
    """Days to datetime64 with NO_DATE as NaT."""
    out = from_days(days)
    out[np.asarray(days) == NO_DATE] = np.datetime64("NaT")
    return out


def products_frame(catalogue: Catalogue, tenders: TenderOutcome) -> pd.DataFrame:
    gpk = catalogue.pack_gpk
    names = [
        f"{label} {mah} ({units} st)"
        for label, mah, units in zip(
            catalogue.gpk_label[gpk].tolist(),
            catalogue.slot_mah[catalogue.pack_slot].tolist(),
            catalogue.pack_units.tolist(),
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "zi_number": catalogue.pack_zi,
            "name": names,
            "gpk": catalogue.gpk_code[gpk],
            "atc": catalogue.gpk_atc[gpk],
            "mah": catalogue.slot_mah[catalogue.pack_slot],
            "dosage_form": catalogue.gpk_form[gpk],
            "is_originator": catalogue.pack_is_originator,
            "market_entry": date_column(catalogue.pack_entry),
            "market_exit": date_column(tenders.pack_exit),
        }
    )


def draw_reasons(episodes: Episodes, rng: np.random.Generator) -> StrArray:
    """Winter episodes of antibiotics and respiratory drugs are mostly demand-driven."""
    usual = rng.choice(len(REASONS), len(episodes.pack), p=(0.40, 0.20, 0.12, 0.15, 0.13))
    winter = rng.choice(len(REASONS), len(episodes.pack), p=(0.25, 0.10, 0.45, 0.10, 0.10))
    return np.asarray(REASONS)[np.where(episodes.winter_seasonal, winter, usual)]


def shortages_frame(
    catalogue: Catalogue, calendar: Calendar, episodes: Episodes, rng: np.random.Generator
) -> pd.DataFrame:
    end = episodes.start + episodes.duration
    delay = rng.choice(
        11, len(end), p=(0.35, 0.25, 0.15, 0.1, 0.05, 0.03, 0.02, 0.02, 0.01, 0.01, 0.01)
    )
    reported = np.minimum(episodes.start + delay, calendar.end - 1)
    frame = pd.DataFrame(
        {
            "zi_number": catalogue.pack_zi[episodes.pack],
            "start_date": from_days(episodes.start),
            "end_date": date_column(np.where(end < calendar.end, end, NO_DATE)),
            "reported_on": from_days(reported),
            "reason": draw_reasons(episodes, rng),
        }
    )
    return frame.sort_values(["zi_number", "start_date"], kind="stable")


def on_market_months(catalogue: Catalogue, calendar: Calendar, tenders: TenderOutcome) -> BoolArray:
    """(packs x months) mask of grid months in which each pack is marketed."""
    first = calendar.month_index(catalogue.pack_entry)
    last = np.where(
        tenders.pack_exit == NO_DATE,
        len(calendar.month_days),
        np.searchsorted(calendar.month_days, tenders.pack_exit, side="left"),
    )
    months = np.arange(len(calendar.month_days))
    in_window = calendar.month_days < calendar.end
    return (months >= first[:, None]) & (months < last[:, None]) & in_window


def first_month_mask(on_market: BoolArray) -> BoolArray:
    shifted = np.zeros_like(on_market)
    shifted[:, 1:] = on_market[:, :-1]
    return on_market & ~shifted


def price_rows(
    catalogue: Catalogue, calendar: Calendar, mask: BoolArray, values: FloatArray, column: str
) -> pd.DataFrame:
    pack, month = np.nonzero(mask)
    return pd.DataFrame(
        {
            "zi_number": catalogue.pack_zi[pack],
            "valid_from": from_days(calendar.month_days[month]),
            column: values[pack, month],
        }
    )


def list_price_frame(
    catalogue: Catalogue, calendar: Calendar, prices: Prices, tenders: TenderOutcome
) -> pd.DataFrame:
    on_market = on_market_months(catalogue, calendar, tenders)
    changed = np.zeros_like(on_market)
    changed[:, 1:] = prices.aip[:, 1:] != prices.aip[:, :-1]
    mask = on_market & (changed | first_month_mask(on_market))
    return price_rows(catalogue, calendar, mask, prices.aip, "aip")


def wgp_frame(
    catalogue: Catalogue, calendar: Calendar, prices: Prices, tenders: TenderOutcome
) -> pd.DataFrame:
    on_market = on_market_months(catalogue, calendar, tenders)
    recalibration = np.isin(calendar.month_of_year, (4, 10))
    mask = on_market & (recalibration[None, :] | first_month_mask(on_market))
    return price_rows(catalogue, calendar, mask, prices.max_price, "max_price")


def gvs_clusters(catalogue: Catalogue, rng: np.random.Generator) -> tuple[IntArray, StrArray]:
    """Cluster index per GPK (-1: annex 1B) and the cluster codes."""
    keys = np.char.add(
        np.char.ljust(np.asarray([a[:5] for a in catalogue.gpk_atc.tolist()]), 5),
        np.asarray([FORMS[f][0] for f in catalogue.gpk_form.tolist()]),
    )
    codes, cluster = np.unique(keys, return_inverse=True)
    annex_1b = rng.random(catalogue.n_gpks) < 0.12
    return np.where(annex_1b, -1, cluster).astype(np.int64), codes.astype(str)


def cluster_limit_factors(
    pack_cluster: IntArray,
    n_clusters: int,
    relative_price: FloatArray,
    on_market: BoolArray,
    resets: BoolArray,
) -> FloatArray:
    """(clusters x months) limit as a multiple of each pack's reference price.

    At a reset the limit is set at the 85th percentile of the marketed packs'
    relative prices, so roughly the dearest sixth of the cluster pays extra.
    """
    factor = np.full((n_clusters, resets.shape[1]), np.nan)
    clustered = pack_cluster >= 0
    for m in np.flatnonzero(resets.any(axis=0)):
        members = clustered & on_market[:, m]
        members |= clustered & ~np.isin(pack_cluster, pack_cluster[members])
        q = pd.Series(relative_price[members, m]).groupby(pack_cluster[members]).quantile(0.85)
        idx = q.index.to_numpy(dtype=np.int64)
        hit = resets[idx, m]
        factor[idx[hit], m] = q.to_numpy()[hit]
    return pd.DataFrame(factor).ffill(axis=1).to_numpy()


def gvs_frame(
    catalogue: Catalogue,
    calendar: Calendar,
    prices: Prices,
    tenders: TenderOutcome,
    rng: np.random.Generator,
) -> pd.DataFrame:
    gpk_cluster, codes = gvs_clusters(catalogue, rng)
    pack_cluster = gpk_cluster[catalogue.pack_gpk]
    n_months = len(calendar.month_days)
    resets = rng.random((len(codes), n_months)) < 0.25
    resets &= np.isin(calendar.month_of_year, (1, 7))[None, :]
    resets[:, 0] = True
    on_market = on_market_months(catalogue, calendar, tenders)
    relative = prices.aip / prices.reference[:, None]
    factor = cluster_limit_factors(pack_cluster, len(codes), relative, on_market, resets)
    clustered = pack_cluster >= 0
    reset_rows = np.zeros_like(on_market)
    reset_rows[clustered] = resets[pack_cluster[clustered]]
    mask = on_market & (first_month_mask(on_market) | reset_rows)
    pack, month = np.nonzero(mask)
    cluster = pack_cluster[pack]
    has = cluster >= 0
    limit = np.full(len(pack), np.nan)
    limit[has] = np.round(factor[cluster[has], month[has]] * prices.reference[pack[has]], 2)
    return pd.DataFrame(
        {
            "zi_number": catalogue.pack_zi[pack],
            "valid_from": from_days(calendar.month_days[month]),
            "cluster": pd.Series(codes[np.maximum(cluster, 0)], dtype="str").where(has),
            "limit_price": limit,
        }
    )


def tenders_frame(catalogue: Catalogue, tenders: TenderOutcome) -> pd.DataFrame:
    names = np.asarray([name for name, _ in INSURERS])
    shares = np.asarray([s for _, s in INSURERS])
    return pd.DataFrame(
        {
            "insurer": names[tenders.row_insurer],
            "gpk": catalogue.gpk_code[catalogue.pack_gpk[tenders.row_pack]],
            "zi_number": catalogue.pack_zi[tenders.row_pack],
            "valid_from": from_days(tenders.row_from),
            "valid_to": from_days(tenders.row_to),
            "market_share": shares[tenders.row_insurer],
        }
    )


def registrations_frame(catalogue: Catalogue, tenders: TenderOutcome) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rvg_number": catalogue.slot_rvg,
            "gpk": catalogue.gpk_code[catalogue.slot_gpk],
            "mah": catalogue.slot_mah,
            "registered_on": from_days(catalogue.slot_registered),
            "withdrawn_on": date_column(tenders.slot_withdrawn),
        }
    )


def announced_notifications(
    episodes: Episodes, calendar: Calendar, rng: np.random.Generator
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Notifications of real episodes: mostly 2-12 weeks ahead, some late."""
    n = len(episodes.pack)
    long = episodes.duration >= DEFAULT_MIN_SHORTAGE_DAYS
    notified = rng.random(n) < np.where(long, NOTIFIED_SHARE_LONG, NOTIFIED_SHARE_SHORT)
    late = rng.random(n) < LATE_NOTIFICATION_SHARE
    lead = rng.integers(14, 85, n)
    notified_on = np.where(late, episodes.start + rng.integers(1, 15, n), episodes.start - lead)
    expected_start = episodes.start + np.round(rng.normal(0, 5, n)).astype(np.int64)
    expected_start = np.where(late, expected_start, np.maximum(expected_start, notified_on + 1))
    guessed = np.maximum(np.round(episodes.duration * np.exp(rng.normal(0, 0.4, n))), 1)
    expected_end = np.where(rng.random(n) < 0.5, expected_start + guessed, NO_DATE)
    keep = notified & (notified_on < calendar.end)
    return episodes.pack[keep], notified_on[keep], expected_start[keep], expected_end[keep]


def precautionary_notifications(
    catalogue: Catalogue,
    calendar: Calendar,
    tenders: TenderOutcome,
    episodes: Episodes,
    count: int,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Notifications of marketed packs that are not followed by any episode within 6 months."""
    draws = 3 * count + 10
    pack = rng.integers(0, catalogue.n_packs, draws)
    first_day = int(calendar.week_days[0])
    notified_on = rng.integers(first_day, calendar.end, draws)
    expected_start = notified_on + rng.integers(14, 85, draws)
    expected_end = np.where(
        rng.random(draws) < 0.5, expected_start + rng.integers(14, 121, draws), NO_DATE
    )
    exit_day = np.where(tenders.pack_exit == NO_DATE, calendar.end + 10_000, tenders.pack_exit)
    marketed = (catalogue.pack_entry[pack] <= notified_on) & (notified_on < exit_day[pack])
    order = np.lexsort((episodes.start, episodes.pack))
    ep_pack, ep_start = episodes.pack[order], episodes.start[order]
    keys = pack * 1_000_000 + notified_on - first_day
    ep_keys = ep_pack * 1_000_000 + ep_start - first_day
    pos = np.searchsorted(ep_keys, keys - 14, side="left")
    nearest = np.where(
        pos < len(ep_keys), ep_keys[np.minimum(pos, len(ep_keys) - 1)], np.iinfo(np.int64).max
    )
    followed = nearest <= keys + 180
    keep = np.flatnonzero(marketed & ~followed)[:count]
    return pack[keep], notified_on[keep], expected_start[keep], expected_end[keep]


def notifications_frame(
    catalogue: Catalogue,
    calendar: Calendar,
    tenders: TenderOutcome,
    episodes: Episodes,
    rng: np.random.Generator,
) -> pd.DataFrame:
    real = announced_notifications(episodes, calendar, rng)
    extra = precautionary_notifications(catalogue, calendar, tenders, episodes, len(real[0]), rng)
    pack, notified_on, expected_start, expected_end = (
        np.concatenate([a, b]) for a, b in zip(real, extra, strict=True)
    )
    frame = pd.DataFrame(
        {
            "zi_number": catalogue.pack_zi[pack],
            "notified_on": from_days(notified_on),
            "expected_start": from_days(expected_start),
            "expected_end": date_column(expected_end),
        }
    )
    frame = frame.drop_duplicates(["zi_number", "notified_on", "expected_start"])
    return frame.sort_values(["notified_on", "zi_number"], kind="stable")


def critical_list_frame(
    catalogue: Catalogue, calendar: Calendar, rng: np.random.Generator
) -> pd.DataFrame:
    """About 7% of GPKs plus a few ATC groups, from a list start in the window."""
    window = calendar.end - calendar.start
    list_start = int(
        add_months_first_day(np.asarray([calendar.start + int(0.55 * window)]), np.asarray([0]))[0]
    )
    listed = np.flatnonzero(rng.random(catalogue.n_gpks) < 0.07)
    later = np.where(rng.random(len(listed)) < 0.6, 0, rng.integers(1, 25, len(listed)))
    valid_from = add_months_first_day(np.full(len(listed), list_start), later)
    valid_from = np.where(valid_from < calendar.end, valid_from, list_start)
    category = np.where(rng.random(len(listed)) < 0.35, "red", "orange")
    atc_rows = pd.DataFrame(
        {
            "gpk": pd.array([None] * len(CRITICAL_ATC_PREFIXES), dtype="str"),
            "atc": [a for a, _ in CRITICAL_ATC_PREFIXES],
            "category": [c for _, c in CRITICAL_ATC_PREFIXES],
            "valid_from": from_days(np.full(len(CRITICAL_ATC_PREFIXES), list_start)),
        }
    )
    gpk_rows = pd.DataFrame(
        {
            "gpk": catalogue.gpk_code[listed],
            "atc": pd.array([None] * len(listed), dtype="str"),
            "category": category,
            "valid_from": from_days(valid_from),
        }
    )
    return pd.concat([gpk_rows, atc_rows], ignore_index=True)


def hazard_frame(catalogue: Catalogue, calendar: Calendar, record: HazardRecord) -> pd.DataFrame:
    zi = pd.array(catalogue.pack_zi, dtype="str")
    mondays = from_days(calendar.week_days[calendar.burn_in :]).astype("datetime64[ns]")
    return pd.DataFrame(
        {
            "zi_number": zi.take(record.pack),
            "week": mondays[record.week],
            "hazard": record.hazard.astype(np.float64),
            "frailty": record.frailty[record.pack].astype(np.float64),
        }
    )
