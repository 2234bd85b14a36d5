"""Evaluation of ranked weekly shortage risk.

A backtest yields one row per pack, week and horizon with the columns
``zi_number``, ``as_of``, ``horizon``, ``probability``, ``label`` and ``fold``.
Shortages are rare, so ranking metrics (PR-AUC, precision and recall within a
weekly review budget of K packs) matter more than accuracy, and calibration is
checked separately because the probabilities are read as risks.

Rows of one week share the market state and are strongly dependent, so
confidence intervals come from a bootstrap over whole weeks, never over rows.

Every array metric accepts ``sample_weight``; a bootstrap replicate is the
original rows weighted by how often their week was drawn, which gives the same
value as stacking the drawn weeks (see ``bootstrap_ci``) without copying data.

``evaluate`` is the entry point: one tidy table of every metric with its
interval, per horizon and fold and pooled over folds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

BinStrategy = Literal["quantile", "uniform"]
FrameMetric = Callable[[pd.DataFrame], float]
FloatArray = npt.NDArray[np.float64]

WEEK = pd.Timedelta(days=7)
DEFAULT_KS: tuple[int, ...] = (50, 100, 250)
DEFAULT_LEAD_TIME_K = 100
ALL_FOLDS = "all"


# --------------------------------------------------------------------------- inputs


def _labels(y_true: npt.ArrayLike) -> FloatArray:
    labels = np.asarray(y_true, dtype=np.float64).ravel()
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1 (drop rows with unknown labels first)")
    return labels


def _scores(y_score: npt.ArrayLike, n: int) -> FloatArray:
    scores = np.asarray(y_score, dtype=np.float64).ravel()
    if scores.shape[0] != n:
        raise ValueError(f"got {n} labels but {scores.shape[0]} scores")
    if np.isnan(scores).any():
        raise ValueError("scores must not be NaN")
    return scores


def _weights(sample_weight: npt.ArrayLike | None, n: int) -> FloatArray:
    if sample_weight is None:
        return np.ones(n)
    weights = np.asarray(sample_weight, dtype=np.float64).ravel()
    if weights.shape[0] != n:
        raise ValueError(f"got {n} labels but {weights.shape[0]} weights")
    if (weights < 0).any() or np.isnan(weights).any():
        raise ValueError("sample weights must be >= 0")
    return weights


def _inputs(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, sample_weight: npt.ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    labels = _labels(y_true)
    return labels, _scores(y_score, labels.shape[0]), _weights(sample_weight, labels.shape[0])


@dataclass(frozen=True)
class _Ranking:
    """Rows in descending score order and where each run of equal scores starts.

    Sorting is the costly step; the bootstrap sorts once and reuses this for
    every replicate. Grouping equal scores makes the metrics independent of
    row order.
    """

    order: npt.NDArray[np.intp]
    starts: npt.NDArray[np.intp]
    sorted_scores: FloatArray

    @classmethod
    def of(cls, scores: FloatArray) -> _Ranking:
        order = np.argsort(-scores, kind="mergesort")
        sorted_scores = scores[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1].astype(np.intp)
        return cls(order, starts, sorted_scores)

    def class_weights(
        self, labels: FloatArray, weights: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Weighted positives and negatives per distinct score, highest score first."""
        positive = (weights * labels)[self.order]
        negative = weights[self.order] - positive
        return np.add.reduceat(positive, self.starts), np.add.reduceat(negative, self.starts)


def _average_precision(labels: FloatArray, weights: FloatArray, ranking: _Ranking) -> float:
    if labels.size == 0:
        return float("nan")
    positives, negatives = ranking.class_weights(labels, weights)
    true_positives = np.cumsum(positives)
    flagged = true_positives + np.cumsum(negatives)
    if true_positives[-1] <= 0:
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(flagged > 0, true_positives / flagged, 0.0)
    return float(np.sum(positives / true_positives[-1] * precision))


def _area_under_roc(labels: FloatArray, weights: FloatArray, ranking: _Ranking) -> float:
    if labels.size == 0:
        return float("nan")
    positives, negatives = ranking.class_weights(labels, weights)
    total_positive, total_negative = positives.sum(), negatives.sum()
    if total_positive <= 0 or total_negative <= 0:
        return float("nan")
    negatives_below = total_negative - np.cumsum(negatives)
    pairs_won = np.sum(positives * (negatives_below + 0.5 * negatives))
    return float(pairs_won / (total_positive * total_negative))


# --------------------------------------------------------------------------- row metrics


def pr_auc(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
) -> float:
    """Average precision (area under the step precision-recall curve); NaN without positives.

    The headline metric: with 1-3% positives ROC-AUC looks good for weak rankers,
    average precision does not. Same definition as scikit-learn's.
    """
    labels, scores, weights = _inputs(y_true, y_score, sample_weight)
    return _average_precision(labels, weights, _Ranking.of(scores))


def roc_auc(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
) -> float:
    """Probability that a positive outranks a negative (ties count half); NaN for one class."""
    labels, scores, weights = _inputs(y_true, y_score, sample_weight)
    return _area_under_roc(labels, weights, _Ranking.of(scores))


def brier(
    y_true: npt.ArrayLike, y_prob: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
) -> float:
    """Mean squared error of the probabilities: rewards calibration and sharpness together."""
    labels, probabilities, weights = _inputs(y_true, y_prob, sample_weight)
    if weights.sum() <= 0:
        return float("nan")
    return float(np.average((probabilities - labels) ** 2, weights=weights))


def log_loss(
    y_true: npt.ArrayLike,
    y_prob: npt.ArrayLike,
    sample_weight: npt.ArrayLike | None = None,
    eps: float = 1e-15,
) -> float:
    """Mean negative log-likelihood, probabilities clipped to ``[eps, 1 - eps]``.

    Clipping keeps one confident miss from making the loss infinite.
    """
    labels, probabilities, weights = _inputs(y_true, y_prob, sample_weight)
    if weights.sum() <= 0:
        return float("nan")
    clipped = np.clip(probabilities, eps, 1.0 - eps)
    losses = -(labels * np.log(clipped) + (1.0 - labels) * np.log1p(-clipped))
    return float(np.average(losses, weights=weights))


def _inner_bin_edges(
    probabilities: FloatArray,
    weights: FloatArray,
    n_bins: int,
    strategy: BinStrategy,
    ranking: _Ranking | None,
) -> FloatArray:
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    if strategy != "quantile":
        raise ValueError(f"unknown strategy {strategy!r}: use 'quantile' or 'uniform'")
    total = weights.sum()
    if total <= 0 or n_bins == 1:
        return np.array([])
    ranking = ranking or _Ranking.of(probabilities)
    ascending = ranking.order[::-1]
    cumulative = np.cumsum(weights[ascending])
    # Weighted inverted-CDF quantile: the smallest probability whose cumulative weight
    # reaches the level (numpy's method="inverted_cdf"); weights act as repeat counts.
    levels = np.arange(1, n_bins) / n_bins * total
    positions = np.minimum(np.searchsorted(cumulative, levels, side="left"), ascending.size - 1)
    return np.unique(probabilities[ascending[positions]])


def _calibration_table(
    labels: FloatArray,
    probabilities: FloatArray,
    weights: FloatArray,
    n_bins: int,
    strategy: BinStrategy,
    ranking: _Ranking | None = None,
) -> pd.DataFrame:
    inner_edges = _inner_bin_edges(probabilities, weights, n_bins, strategy, ranking)
    bins = np.searchsorted(inner_edges, probabilities, side="left")
    n_slots = inner_edges.size + 1
    weight = np.bincount(bins, weights=weights, minlength=n_slots)
    probability_sum = np.bincount(bins, weights=weights * probabilities, minlength=n_slots)
    positive_sum = np.bincount(bins, weights=weights * labels, minlength=n_slots)
    filled = weight > 0
    return pd.DataFrame(
        {
            "bin": np.arange(n_slots)[filled],
            "weight": weight[filled],
            "mean_probability": probability_sum[filled] / weight[filled],
            "positive_rate": positive_sum[filled] / weight[filled],
        }
    )


def _calibration_error(
    labels: FloatArray,
    probabilities: FloatArray,
    weights: FloatArray,
    n_bins: int,
    strategy: BinStrategy,
    ranking: _Ranking | None = None,
) -> float:
    table = _calibration_table(labels, probabilities, weights, n_bins, strategy, ranking)
    if table.empty:
        return float("nan")
    gaps = (table["mean_probability"] - table["positive_rate"]).abs()
    return float(np.average(gaps, weights=table["weight"]))


def calibration_bins(
    y_true: npt.ArrayLike,
    y_prob: npt.ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "quantile",
    sample_weight: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Reliability table: per probability bin its weight, mean probability and positive rate.

    ``"quantile"`` (equal frequency) puts about the same number of rows in every
    bin, which is what rare events need: with 2% positives, equal-width bins
    leave nearly all rows in the first bin. Bin edges are the weighted
    ``inverted_cdf`` quantiles at 1/n_bins, 2/n_bins, ..., so tied probabilities
    always share a bin (fewer bins when ties span a level) and a weighted table
    equals the table of the rows repeated. ``"uniform"`` uses equal-width bins on
    [0, 1]. Bins are closed on the right: a probability equal to an inner edge
    goes to the lower bin. Empty bins are dropped.
    """
    labels, probabilities, weights = _inputs(y_true, y_prob, sample_weight)
    return _calibration_table(labels, probabilities, weights, n_bins, strategy)


def expected_calibration_error(
    y_true: npt.ArrayLike,
    y_prob: npt.ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "quantile",
    sample_weight: npt.ArrayLike | None = None,
) -> float:
    """Weighted mean gap between mean probability and positive rate over bins.

    Bins as in ``calibration_bins`` (equal-frequency by default). Near 0 for
    calibrated probabilities; reads in probability units (0.01 = one point).
    """
    labels, probabilities, weights = _inputs(y_true, y_prob, sample_weight)
    return _calibration_error(labels, probabilities, weights, n_bins, strategy)


# --------------------------------------------------------------------------- top-K per week


def _week_keys(predictions: pd.DataFrame) -> list[str]:
    """A review week is an ``as_of``, per horizon and model when several are stacked."""
    return ["as_of"] + [key for key in ("horizon", "model") if key in predictions.columns]


def rank_within_week(predictions: pd.DataFrame) -> npt.NDArray[np.int64]:
    """0-based rank of each row among its week's rows, highest probability first.

    Ties are broken by ascending ``zi_number`` so the reviewed list is
    reproducible whatever the row order.
    """
    if predictions.empty:
        return np.zeros(0, dtype=np.int64)
    probabilities = _scores(predictions["probability"], len(predictions))
    weeks = predictions.groupby(_week_keys(predictions), sort=True, dropna=False).ngroup()
    week_codes = weeks.to_numpy(dtype=np.int64)
    pack_codes, _ = pd.factorize(predictions["zi_number"].astype(str), sort=True)
    order = np.lexsort((pack_codes, -probabilities, week_codes))
    week_sizes = np.bincount(week_codes)
    week_starts = np.cumsum(week_sizes) - week_sizes
    ranks = np.empty(len(predictions), dtype=np.int64)
    ranks[order] = np.arange(len(predictions)) - week_starts[week_codes[order]]
    return ranks


def top_k_mask(predictions: pd.DataFrame, k: int) -> npt.NDArray[np.bool_]:
    """Whether each row is among the K highest-risk packs of its week (the review list)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    return rank_within_week(predictions) < k


def _top_k_counts(
    labels: FloatArray, flagged: npt.NDArray[np.bool_], weights: FloatArray
) -> tuple[float, float, float]:
    hits = float(np.sum(weights * labels * flagged))
    reviewed = float(np.sum(weights * flagged))
    positives = float(np.sum(weights * labels))
    return hits, reviewed, positives


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def _top_k_precision(
    labels: FloatArray, flagged: npt.NDArray[np.bool_], weights: FloatArray
) -> float:
    hits, reviewed, _ = _top_k_counts(labels, flagged, weights)
    return _ratio(hits, reviewed)


def _top_k_recall(labels: FloatArray, flagged: npt.NDArray[np.bool_], weights: FloatArray) -> float:
    hits, _, positives = _top_k_counts(labels, flagged, weights)
    return _ratio(hits, positives)


def precision_at_k(
    predictions: pd.DataFrame, k: int, sample_weight: npt.ArrayLike | None = None
) -> float:
    """Share of reviewed packs that go into shortage, pooled over weeks (micro-average).

    Each week reviews its top K packs (all rows when the week has fewer);
    precision = sum of hits / sum of reviewed rows, so every reviewed pack counts
    once and quiet weeks are not averaged in as equals. ``sample_weight`` (the
    same for all rows of a week) counts a week that many times; it does not
    change the ranking.
    """
    labels = _labels(predictions["label"])
    weights = _weights(sample_weight, labels.shape[0])
    return _top_k_precision(labels, top_k_mask(predictions, k), weights)


def recall_at_k(
    predictions: pd.DataFrame, k: int, sample_weight: npt.ArrayLike | None = None
) -> float:
    """Share of positive pack-weeks that were on their week's top-K list (micro-average).

    Sum of hits / sum of positives over weeks; NaN when there are no positives.
    """
    labels = _labels(predictions["label"])
    weights = _weights(sample_weight, labels.shape[0])
    return _top_k_recall(labels, top_k_mask(predictions, k), weights)


def weekly_top_k(predictions: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per week: rows reviewed, hits among them, positives, precision and recall."""
    keys = _week_keys(predictions)
    labels = _labels(predictions["label"])
    flagged = top_k_mask(predictions, k)
    table = predictions[keys].assign(
        reviewed=flagged.astype(np.int64),
        hits=(flagged & (labels == 1.0)).astype(np.int64),
        positives=labels.astype(np.int64),
    )
    weekly = table.groupby(keys, sort=True, dropna=False).sum().reset_index()
    weekly["precision"] = weekly["hits"] / weekly["reviewed"]
    weekly["recall"] = (weekly["hits"] / weekly["positives"]).where(weekly["positives"] > 0)
    return weekly


# --------------------------------------------------------------------------- lead time


@dataclass(frozen=True)
class LeadTimeSummary:
    """How early onsets are flagged: median over flagged onsets, and how many were flagged."""

    median_weeks: float
    share_flagged: float
    n_onsets: int
    n_flagged: int


def _single_horizon(predictions: pd.DataFrame, horizon_weeks: int | None) -> int:
    if horizon_weeks is not None:
        return int(horizon_weeks)
    if "horizon" not in predictions.columns:
        raise ValueError("pass horizon_weeks or a 'horizon' column")
    horizons = predictions["horizon"].unique()
    if len(horizons) != 1:
        raise ValueError(f"lead time needs one horizon at a time, got {sorted(horizons)}")
    return int(horizons[0])


def _lead_weeks(onset: pd.Series, first_flagged: pd.Series) -> pd.Series:
    return (onset - first_flagged) / WEEK


def lead_times(
    predictions: pd.DataFrame,
    k: int = DEFAULT_LEAD_TIME_K,
    onsets: pd.DataFrame | None = None,
    horizon_weeks: int | None = None,
) -> pd.DataFrame:
    """One row per observable onset: when it started, when it was first flagged, lead in weeks.

    A pack is flagged in a week when it is on that week's top-K list. Windows
    follow the label definition (``features.labels``): an onset on day s makes
    the label of as-of week t positive for ``s - H weeks < t <= s``.

    With ``onsets`` (columns ``zi_number``, ``onset_date``; the preferred,
    exact variant) an onset's window is those weeks,
    ``onset_date - H weeks < as_of <= onset_date``. An onset is observable when
    its pack has at least one prediction row in its window; lead =
    ``onset_date`` - first flagged ``as_of`` in the window (0 when first flagged
    on the onset day itself).

    Without ``onsets`` (fallback, from labels only) every run of consecutive
    positive weeks of a pack (weekly steps of exactly 7 days) is one onset. The
    onset lies in the 7 days from the run's last positive ``as_of`` and is dated
    at that ``as_of``, so the lead (that date - first flagged ``as_of`` in the
    run) is low by less than a week. Two onsets less than H weeks apart merge
    into one run, hence the preference for explicit dates.

    ``lead_weeks`` and ``first_flagged`` are missing for onsets never flagged.
    Needs a single horizon (and model) per call.
    """
    horizon = _single_horizon(predictions, horizon_weeks) if onsets is not None else 0
    if "model" in predictions.columns and predictions["model"].nunique() > 1:
        raise ValueError("lead time needs one model at a time")
    rows = predictions[["zi_number", "as_of", "label"]].assign(
        zi_number=predictions["zi_number"].astype(str),
        flagged=top_k_mask(predictions, k),
    )
    if onsets is not None:
        events = (
            onsets[["zi_number", "onset_date"]]
            .assign(
                zi_number=onsets["zi_number"].astype(str),
                onset_date=pd.to_datetime(onsets["onset_date"]),
            )
            .drop_duplicates()
        )
        paired = rows.merge(events, on="zi_number", how="inner")
        in_window = (paired["as_of"] <= paired["onset_date"]) & (
            paired["as_of"] > paired["onset_date"] - horizon * WEEK
        )
        paired = paired[in_window]
        episode_keys = ["zi_number", "onset_date"]
    else:
        paired = rows[rows["label"] == 1.0].sort_values(["zi_number", "as_of"])
        new_run = (paired["zi_number"] != paired["zi_number"].shift()) | (
            paired["as_of"].diff() != WEEK
        )
        paired = paired.assign(run=new_run.cumsum())
        paired["onset_date"] = paired.groupby("run")["as_of"].transform("max")
        episode_keys = ["zi_number", "onset_date", "run"]

    flagged_as_of = paired["as_of"].where(paired["flagged"])
    episodes = (
        paired.assign(flagged_as_of=flagged_as_of)
        .groupby(episode_keys, sort=True)["flagged_as_of"]
        .min()
        .rename("first_flagged")
        .reset_index()
    )
    episodes["lead_weeks"] = _lead_weeks(episodes["onset_date"], episodes["first_flagged"])
    return episodes[["zi_number", "onset_date", "first_flagged", "lead_weeks"]]


def summarize_lead_times(lead_weeks: npt.ArrayLike) -> LeadTimeSummary:
    """Median over flagged onsets (NaN = never flagged) and the share flagged at all."""
    weeks = np.asarray(lead_weeks, dtype=np.float64)
    flagged = ~np.isnan(weeks)
    n_flagged = int(flagged.sum())
    return LeadTimeSummary(
        median_weeks=float(np.median(weeks[flagged])) if n_flagged else float("nan"),
        share_flagged=n_flagged / weeks.size if weeks.size else float("nan"),
        n_onsets=int(weeks.size),
        n_flagged=n_flagged,
    )


def median_lead_time(
    predictions: pd.DataFrame,
    k: int = DEFAULT_LEAD_TIME_K,
    onsets: pd.DataFrame | None = None,
    horizon_weeks: int | None = None,
) -> LeadTimeSummary:
    """Median weeks of warning for flagged onsets and the share flagged (see ``lead_times``)."""
    table = lead_times(predictions, k, onsets, horizon_weeks)
    return summarize_lead_times(table["lead_weeks"])


# --------------------------------------------------------------------------- segments


def pr_auc_by_segment(predictions: pd.DataFrame, segment_column: str) -> pd.DataFrame:
    """PR-AUC per value of ``segment_column`` with its rows and positives.

    Shows where the ranking works (e.g. cheap vs dear packs); a segment without
    positives has NaN PR-AUC. Missing segment values form their own segment.
    """
    rows = []
    for segment, part in predictions.groupby(
        segment_column, sort=True, dropna=False, observed=True
    ):
        labels = _labels(part["label"])
        rows.append(
            {
                segment_column: segment,
                "n": len(part),
                "positives": int(labels.sum()),
                "pr_auc": pr_auc(labels, part["probability"]),
            }
        )
    return pd.DataFrame(rows, columns=[segment_column, "n", "positives", "pr_auc"])


# --------------------------------------------------------------------------- bootstrap


def week_draws(n_weeks: int, n_resamples: int = 200, seed: int = 0) -> npt.NDArray[np.int64]:
    """Indices of the weeks drawn with replacement, one row per resample (same seed, same draws)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_weeks, size=(n_resamples, n_weeks))


def _week_codes(predictions: pd.DataFrame, week_column: str) -> tuple[npt.NDArray[np.int64], int]:
    codes, uniques = pd.factorize(predictions[week_column], sort=True)
    if (codes < 0).any():
        raise ValueError(f"{week_column} must not be missing")
    return codes.astype(np.int64), len(uniques)


def _interval(
    estimate: float, replicates: npt.ArrayLike, confidence: float
) -> tuple[float, float, float]:
    values = np.asarray(replicates, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return estimate, float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return estimate, float(low), float(high)


def bootstrap_ci(
    predictions: pd.DataFrame,
    metric: FrameMetric,
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    week_column: str = "as_of",
) -> tuple[float, float, float]:
    """(estimate, low, high) of any frame metric, resampling whole weeks with replacement.

    Rows within a week are dependent (one market state), so weeks are the
    resampling unit. Each replicate stacks the drawn weeks; every draw becomes
    its own week, ``week_column`` holding the draw position (an integer), so a
    week drawn twice counts as two weeks in per-week metrics such as
    precision@K. Metrics that need real dates (lead time) are bootstrapped over
    onsets instead (see ``evaluate``). The interval is the percentile interval;
    replicates where the metric is NaN (e.g. no positives drawn) are skipped.
    """
    estimate = float(metric(predictions))
    if predictions.empty:
        return estimate, float("nan"), float("nan")
    codes, n_weeks = _week_codes(predictions, week_column)
    rows_by_week = np.argsort(codes, kind="mergesort")
    week_sizes = np.bincount(codes, minlength=n_weeks)
    week_starts = np.cumsum(week_sizes) - week_sizes
    replicates = []
    for drawn in week_draws(n_weeks, n_resamples, seed):
        row_index = np.concatenate(
            [rows_by_week[week_starts[w] : week_starts[w] + week_sizes[w]] for w in drawn]
        )
        resample = predictions.iloc[row_index].reset_index(drop=True)
        resample[week_column] = np.repeat(np.arange(n_weeks), week_sizes[drawn])
        replicates.append(float(metric(resample)))
    return _interval(estimate, replicates, confidence)


def bootstrap_weighted(
    predictions: pd.DataFrame,
    metrics: Mapping[str, Callable[[FloatArray], float]],
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    week_column: str = "as_of",
) -> dict[str, tuple[float, float, float]]:
    """The week bootstrap of ``bootstrap_ci`` for metrics of row weights, without copying rows.

    Each metric maps a weight per row of ``predictions`` to a value; a
    replicate weights every row by how often its week was drawn. With the same
    seed the draws equal those of ``bootstrap_ci``, and for metrics that are
    sums over rows or weeks (all metrics here) so do the intervals.
    """
    n_rows = len(predictions)
    estimates = {name: float(metric(np.ones(n_rows))) for name, metric in metrics.items()}
    if n_rows == 0:
        return {name: (value, float("nan"), float("nan")) for name, value in estimates.items()}
    codes, n_weeks = _week_codes(predictions, week_column)
    replicates: dict[str, list[float]] = {name: [] for name in metrics}
    for drawn in week_draws(n_weeks, n_resamples, seed):
        row_weights = np.bincount(drawn, minlength=n_weeks).astype(np.float64)[codes]
        for name, metric in metrics.items():
            replicates[name].append(float(metric(row_weights)))
    return {name: _interval(estimates[name], replicates[name], confidence) for name in metrics}


# --------------------------------------------------------------------------- evaluate


def _segment_pr_auc(
    labels: FloatArray, member: npt.NDArray[np.bool_], ranking: _Ranking, weights: FloatArray
) -> float:
    return _average_precision(labels, weights[member], ranking)


def _row_metrics(
    frame: pd.DataFrame,
    ks: Sequence[int],
    n_bins: int,
    bin_strategy: BinStrategy,
    segment_columns: Sequence[str],
) -> dict[str, Callable[[FloatArray], float]]:
    """Metrics of one evaluation group as functions of row weights (for the week bootstrap).

    Sorting and top-K ranking happen once here, not once per replicate.
    """
    labels = _labels(frame["label"])
    probabilities = _scores(frame["probability"], labels.shape[0])
    ranking = _Ranking.of(probabilities)
    ranks = rank_within_week(frame)
    metrics: dict[str, Callable[[FloatArray], float]] = {
        "positive_rate": lambda w: _ratio(float(np.sum(w * labels)), float(np.sum(w))),
        "pr_auc": lambda w: _average_precision(labels, w, ranking),
        "roc_auc": lambda w: _area_under_roc(labels, w, ranking),
        "brier": lambda w: brier(labels, probabilities, w),
        "log_loss": lambda w: log_loss(labels, probabilities, w),
        "ece": lambda w: _calibration_error(
            labels, probabilities, w, n_bins, bin_strategy, ranking
        ),
    }
    for k in ks:
        flagged = ranks < k
        metrics[f"precision@{k}"] = partial(_top_k_precision, labels, flagged)
        metrics[f"recall@{k}"] = partial(_top_k_recall, labels, flagged)
    for column in segment_columns:
        codes, segments = pd.factorize(frame[column], sort=True, use_na_sentinel=False)
        for code, segment in enumerate(segments):
            member = codes == code
            metrics[f"pr_auc[{column}={segment}]"] = partial(
                _segment_pr_auc, labels[member], member, _Ranking.of(probabilities[member])
            )
    return metrics


def _lead_time_rows(
    frame: pd.DataFrame,
    k: int,
    onsets: pd.DataFrame | None,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> list[tuple[str, float, float, float]]:
    """Lead-time rows with intervals from resampling onsets (weeks do not apply to episodes)."""
    weeks = lead_times(frame, k, onsets)["lead_weeks"].to_numpy(dtype=np.float64)
    summary = summarize_lead_times(weeks)
    medians, shares = [], []
    if weeks.size:
        rng = np.random.default_rng(seed)
        for drawn in rng.integers(0, weeks.size, size=(n_resamples, weeks.size)):
            replicate = summarize_lead_times(weeks[drawn])
            medians.append(replicate.median_weeks)
            shares.append(replicate.share_flagged)
    return [
        (f"median_lead_weeks@{k}", *_interval(summary.median_weeks, medians, confidence)),
        (f"share_onsets_flagged@{k}", *_interval(summary.share_flagged, shares, confidence)),
        (f"n_onsets@{k}", float(summary.n_onsets), float("nan"), float("nan")),
    ]


def evaluate(
    predictions: pd.DataFrame,
    ks: Sequence[int] = DEFAULT_KS,
    lead_time_k: int | None = DEFAULT_LEAD_TIME_K,
    onsets: pd.DataFrame | None = None,
    segment_columns: Sequence[str] = (),
    n_bins: int = 10,
    bin_strategy: BinStrategy = "quantile",
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """All metrics per horizon and fold, and pooled over folds (``fold == "all"``).

    Returns a tidy frame ``[model,] horizon, fold, metric, value, ci_low,
    ci_high``; a ``model`` column in the predictions (several models backtested
    together) is evaluated model by model and kept. ``fold`` is a string so the
    pooled rows fit the same column. Intervals come from the whole-week
    bootstrap (lead time: from resampling onsets; counts have none). Rows with a
    missing label (future not yet observed) are dropped. Each pack-week must
    appear once per model and horizon, otherwise pooled top-K lists would review
    a pack twice.
    """
    required = {"zi_number", "as_of", "horizon", "probability", "label", "fold"}
    missing = required - set(predictions.columns)
    if missing:
        raise ValueError(f"predictions lack columns {sorted(missing)}")
    group_keys = [key for key in ("model", "horizon") if key in predictions.columns]
    known = predictions[predictions["label"].notna()]
    if known.duplicated([*group_keys, "zi_number", "as_of"]).any():
        raise ValueError("a pack-week appears twice for one model and horizon (overlapping folds?)")

    records: list[dict[str, object]] = []
    for group_values, by_group in known.groupby(group_keys, sort=True):
        group = dict(zip(group_keys, group_values, strict=True))
        group["horizon"] = int(group["horizon"])
        folds = [(str(fold), part) for fold, part in by_group.groupby("fold", sort=True)]
        folds.append((ALL_FOLDS, by_group))
        for fold, frame in folds:
            frame = frame.reset_index(drop=True)
            metrics = _row_metrics(frame, ks, n_bins, bin_strategy, segment_columns)
            intervals = bootstrap_weighted(frame, metrics, n_resamples, confidence, seed)
            rows = [
                ("n_rows", float(len(frame)), float("nan"), float("nan")),
                ("n_positives", float(frame["label"].sum()), float("nan"), float("nan")),
            ]
            rows += [(name, *interval) for name, interval in intervals.items()]
            if lead_time_k is not None:
                rows += _lead_time_rows(frame, lead_time_k, onsets, n_resamples, confidence, seed)
            records += [
                {
                    **group,
                    "fold": fold,
                    "metric": name,
                    "value": value,
                    "ci_low": low,
                    "ci_high": high,
                }
                for name, value, low, high in rows
            ]
    return pd.DataFrame(
        records, columns=[*group_keys, "fold", "metric", "value", "ci_low", "ci_high"]
    )
