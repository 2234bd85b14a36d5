"""SFK "Monitor leveringsproblemen" weekly panel -> ``products`` and ``shortages``.

The monitor lists, per week, the articles that at least 2 of the 4 national
wholesalers could not deliver. The panel counts those articles per PRK
(prescription code: substance + strength + form). Each run of consecutive
weeks with a PRK on the monitor becomes one shortage episode of a pseudo-pack
standing for the PRK, because the panel does not say which packs were short.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.importers.base import (
    ImporterError,
    ImportResult,
    check_options,
    concat_rejected,
    make_result,
    option_int,
    option_strings,
    rejected_rows,
    split_inputs,
    squash_spaces,
)

SOURCE = "sfk"
# Weeks the source itself marks as anomalous (a spike in 2024-W52, a dip in 2025-W52).
DEFAULT_ANOMALOUS_WEEKS: tuple[str, ...] = ("2024-W52", "2025-W52")
PSEUDO_PACK_PREFIX = "PRK"
# An episode is known once the week's monitor is published, i.e. after its first week.
DEFAULT_REPORT_LAG_DAYS = 7
OPTIONS = ("anomalous_weeks", "bridge_gaps", "report_lag_days")
_INPUT_KINDS = {
    "verloop_json": '"weken"',
    "verloop_csv": "n_artikelen_op_monitor",
    "snapshot_csv": "ZI-nummer",
}
_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Panel:
    """The weekly panel: one row per PRK, one column per ISO week (article counts)."""

    weeks: list[str]
    prk: pd.DataFrame  # prk, naam, atc, aaneen, row (position in the source)
    counts: np.ndarray  # shape (n_prk, n_weeks)


def iso_week_monday(week: str) -> dt.date:
    """Monday of an ISO week written ``YYYY-Www``."""
    match = _ISO_WEEK.match(week)
    if match is None:
        raise ValueError(f"not an ISO week: {week!r}")
    return dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)


def _check_weeks(weeks: list[str], where: Path) -> None:
    """The panel must be consecutive ISO weeks, or runs would not be episodes."""
    try:
        mondays = [iso_week_monday(w) for w in weeks]
    except ValueError as exc:
        raise ImporterError(f"{where}: {exc}") from exc
    steps = {(b - a).days for a, b in zip(mondays, mondays[1:], strict=False)}
    if not weeks or steps - {7}:
        raise ImporterError(f"{where}: the weeks are not consecutive ISO weeks")


def _valid_series(values: object, length: int) -> bool:
    """A weekly series: ``length`` non-negative integers (booleans are not counts)."""
    if not isinstance(values, list) or len(values) != length:
        return False
    return all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in values)


def read_verloop_json(path: Path) -> tuple[Panel, pd.DataFrame]:
    """Read ``sfk_verloop_*.json``; PRKs with a malformed series are rejected."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        weeks = [str(w) for w in data["weken"]]
        entries = data["prk"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ImporterError(f"{path}: not an SFK verloop file ({exc})") from exc
    _check_weeks(weeks, path)
    meta, series, bad = [], [], []
    for position, (code, entry) in enumerate(entries.items(), start=1):
        values = entry.get("v") if isinstance(entry, dict) else None
        if _valid_series(values, len(weeks)):
            meta.append(
                {
                    "prk": str(code),
                    "naam": str(entry.get("naam") or ""),
                    "atc": str(entry.get("atc") or ""),
                    "aaneen": int(entry.get("aaneen") or 0),
                    "row": position,
                }
            )
            series.append(values)
        else:
            bad.append({"row": position, "value": str(code)})
    rejected = rejected_rows(
        pd.DataFrame(bad, columns=["row", "value"]),
        path.name,
        "row",
        "v",
        "value",
        f"weekly series is not {len(weeks)} non-negative integers",
    )
    counts = np.array(series, dtype="int64").reshape(len(series), len(weeks))
    return Panel(weeks, pd.DataFrame(meta), counts), rejected


def read_verloop_csv(path: Path) -> tuple[Panel, pd.DataFrame]:
    """Read the long CSV (one row per PRK and week); unparseable rows are rejected."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw["line"] = np.arange(2, len(raw) + 2)
    needed = {"prk", "naam", "atc", "iso_week", "n_artikelen_op_monitor"}
    if needed - set(raw.columns):
        raise ImporterError(f"{path}: missing columns {sorted(needed - set(raw.columns))}")
    count = pd.to_numeric(raw["n_artikelen_op_monitor"], errors="coerce")
    bad_count = count.isna() | (count < 0)
    bad_week = ~raw["iso_week"].str.match(_ISO_WEEK)
    rejected = [
        rejected_rows(raw[bad_week], path.name, "line", "iso_week", "iso_week", "not an ISO week"),
        rejected_rows(
            raw[bad_count & ~bad_week],
            path.name,
            "line",
            "n_artikelen_op_monitor",
            "n_artikelen_op_monitor",
            "not a non-negative count",
        ),
    ]
    good = raw[~bad_week & ~bad_count].assign(n=count[~bad_week & ~bad_count].astype("int64"))
    weeks = sorted(good["iso_week"].unique())
    _check_weeks(weeks, path)
    wide = good.pivot_table(index="prk", columns="iso_week", values="n", aggfunc="max")
    wide = wide.reindex(columns=weeks).fillna(0).astype("int64")
    first = good.drop_duplicates("prk").set_index("prk").reindex(wide.index)
    aaneen = "aaneen_weken_tot_2026W39"
    meta = pd.DataFrame(
        {
            "prk": wide.index.astype("str"),
            "naam": first["naam"].to_numpy(),
            "atc": first["atc"].to_numpy(),
            "aaneen": pd.to_numeric(first[aaneen], errors="coerce").fillna(0).astype("int64")
            if aaneen in first.columns
            else 0,
            "row": first["line"].to_numpy(),
        }
    )
    return Panel(weeks, meta, wide.to_numpy()), concat_rejected(rejected)


def repair_anomalous_weeks(on: np.ndarray, columns: Sequence[int]) -> tuple[np.ndarray, int]:
    """In a known-bad week, trust the neighbours when they agree.

    A one-week dip between two on-weeks is bridged and a one-week spike between
    two off-weeks is dropped; when the neighbours disagree the week is kept.
    """
    fixed = on.copy()
    for c in columns:
        if 0 < c < on.shape[1] - 1:
            agree = on[:, c - 1] == on[:, c + 1]
            fixed[agree, c] = on[agree, c - 1]
    return fixed, int((fixed != on).sum())


def bridge_gaps(on: np.ndarray, max_gap: int) -> tuple[np.ndarray, int]:
    """Close off-runs of at most ``max_gap`` weeks between two on-weeks (0: none)."""
    if max_gap <= 0:
        return on, 0
    fixed = on.copy()
    for i in range(on.shape[0]):
        for start, end in _runs(~on[i]):
            if start > 0 and end < on.shape[1] - 1 and end - start + 1 <= max_gap:
                fixed[i, start : end + 1] = True
    return fixed, int((fixed != on).sum())


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) positions of every run of True."""
    padded = np.concatenate([[False], flags, [False]]).astype("int8")
    edges = np.flatnonzero(np.diff(padded))
    return [(int(s), int(e) - 1) for s, e in zip(edges[::2], edges[1::2], strict=True)]


def episodes(panel: Panel, on: np.ndarray, report_lag_days: int) -> pd.DataFrame:
    """One row per run of on-weeks: Monday of the first week to Monday after the last.

    A run still on in the panel's last week is ongoing (no end). A run already on
    in the first week started earlier: when it lasts to the end, ``aaneen`` (the
    run length over the full history) gives its true start; otherwise its start
    is left at the panel start and flagged ``left_censored``.
    """
    mondays = [iso_week_monday(w) for w in panel.weeks]
    last = len(mondays) - 1
    rows = []
    for i, prk in enumerate(panel.prk["prk"]):
        aaneen = int(panel.prk["aaneen"].iloc[i])
        for s, e in _runs(on[i]):
            start = mondays[s]
            censored = s == 0
            if censored and e == last and aaneen >= len(mondays):
                start = mondays[last] - dt.timedelta(weeks=aaneen - 1)
                censored = False
            rows.append(
                {
                    "prk": prk,
                    "start_date": start,
                    "end_date": None if e == last else mondays[e] + dt.timedelta(days=7),
                    "reported_on": start + dt.timedelta(days=report_lag_days),
                    "weeks": e - s + 1,
                    "left_censored": censored,
                }
            )
    frame = pd.DataFrame(
        rows, columns=["prk", "start_date", "end_date", "reported_on", "weeks", "left_censored"]
    )
    for col in ("start_date", "end_date", "reported_on"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def read_snapshot(path: Path) -> pd.DataFrame:
    """The week-5 2026 article snapshot: ZI-nummer and article name."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if not {"ZI-nummer", "Artikelnaam"} <= set(raw.columns):
        raise ImporterError(f"{path}: expected columns ZI-nummer and Artikelnaam")
    week = raw["bron_week"].str.extract(r"week\s+(\d+)\s+(\d{4})") if "bron_week" in raw else None
    iso = None
    if week is not None and week.notna().all(axis=None) and len(week):
        iso = f"{int(week.iloc[0, 1])}-W{int(week.iloc[0, 0]):02d}"
    return pd.DataFrame(
        {
            "zi": raw["ZI-nummer"].str.strip().str.zfill(8),
            "name": squash_spaces(raw["Artikelnaam"]).str.upper(),
            "week": iso,
        }
    )


def _name_tokens(name: str) -> frozenset[str]:
    """Tokens of a PRK or article name, without parenthesised salt remarks."""
    return frozenset(re.sub(r"\(.*?\)", " ", name.upper()).split())


def match_snapshot(panel: Panel, on: np.ndarray, snapshot: pd.DataFrame) -> dict[str, str]:
    """PRK -> real ZI-nummer where exactly one snapshot article matches the PRK.

    An article matches a PRK that was on the monitor in the snapshot week when
    every word of the PRK name appears in the article name (articles prefix a
    brand or labeller). Articles matching several PRKs, and PRKs matching
    several articles, are left out: the pseudo-pack stays.
    """
    week = snapshot["week"].iloc[0] if len(snapshot) else None
    if week not in panel.weeks:
        return {}
    column = panel.weeks.index(str(week))
    candidates = {
        prk: _name_tokens(name)
        for prk, name, is_on in zip(panel.prk["prk"], panel.prk["naam"], on[:, column], strict=True)
        if is_on
    }
    hits: dict[str, list[str]] = {}
    for zi, name in zip(snapshot["zi"], snapshot["name"], strict=True):
        tokens = _name_tokens(name)
        matched = [prk for prk, wanted in candidates.items() if wanted <= tokens]
        if len(matched) == 1:
            hits.setdefault(matched[0], []).append(zi)
    return {prk: zis[0] for prk, zis in hits.items() if len(zis) == 1}


def import_sfk(inputs: Sequence[Path], **options: object) -> ImportResult:
    """Convert the SFK panel (JSON or long CSV, plus optionally the ZI snapshot)."""
    check_options(SOURCE, options, OPTIONS)
    anomalous = option_strings(options, "anomalous_weeks", DEFAULT_ANOMALOUS_WEEKS)
    max_gap = option_int(options, "bridge_gaps", 0, minimum=0)
    lag = option_int(options, "report_lag_days", DEFAULT_REPORT_LAG_DAYS, minimum=0)
    files = split_inputs(inputs, _INPUT_KINDS, SOURCE)
    panels = files["verloop_json"] + files["verloop_csv"]
    if len(panels) != 1:
        raise ImporterError(
            "sfk needs exactly one panel file (the verloop JSON or its long CSV), "
            f"got {len(panels)}"
        )
    if len(files["snapshot_csv"]) > 1:
        raise ImporterError("sfk takes at most one ZI snapshot file")
    reader = read_verloop_json if files["verloop_json"] else read_verloop_csv
    panel, rejected = reader(panels[0])
    if panel.counts.shape[0] == 0:
        raise ImporterError(f"{panels[0]}: no usable PRK series")
    notes: list[str] = []
    on = panel.counts > 0
    unknown = [w for w in anomalous if w not in panel.weeks]
    if unknown:
        notes.append(f"anomalous weeks not in the panel, ignored: {', '.join(unknown)}")
    columns = [panel.weeks.index(w) for w in anomalous if w in panel.weeks]
    on, repaired = repair_anomalous_weeks(on, columns)
    if columns:
        notes.append(
            f"{repaired} PRK-weeks changed in anomalous weeks {', '.join(anomalous)} "
            "(one-week dips bridged, one-week spikes dropped)"
        )
    on, bridged = bridge_gaps(on, max_gap)
    if max_gap:
        notes.append(f"{bridged} PRK-weeks filled by bridging gaps of <= {max_gap} weeks")
    episode = episodes(panel, on, lag)
    zi_of = {prk: f"{PSEUDO_PACK_PREFIX}{prk}" for prk in panel.prk["prk"]}
    if files["snapshot_csv"]:
        real = match_snapshot(panel, panel.counts > 0, read_snapshot(files["snapshot_csv"][0]))
        zi_of.update(real)
        notes.append(
            f"{len(real)} of {len(zi_of)} PRKs carry the real ZI-nummer of the one snapshot "
            "article that matches them; the rest keep the PRK pseudo-pack"
        )
    products = pd.DataFrame(
        {
            "zi_number": panel.prk["prk"].map(zi_of),
            "name": squash_spaces(panel.prk["naam"]),
            "gpk": panel.prk["prk"],
            "atc": panel.prk["atc"].where(panel.prk["atc"].str.strip() != ""),
        }
    )
    shortages = pd.DataFrame(
        {
            "zi_number": episode["prk"].map(zi_of),
            "start_date": episode["start_date"],
            "end_date": episode["end_date"],
            "reported_on": episode["reported_on"],
            "reason": None,
        }
    )
    censored = int(episode["left_censored"].sum())
    notes += [
        f"{len(products)} PRKs -> one pack each (the panel does not say which packs were short)",
        f"{len(shortages)} episodes; {int(episode['end_date'].isna().sum())} still ongoing "
        f"in {panel.weeks[-1]}",
        f"{censored} episodes already running in {panel.weeks[0]} keep the panel start "
        "as start_date (left-censored, not an onset)",
        "only PRKs on the monitor in the last panel week are in the source: "
        "no never-shortage packs, strong selection bias",
        "reason, MAH, dosage form and market dates are not in the source",
    ]
    return make_result(SOURCE, {"products": products, "shortages": shortages}, [rejected], notes)
