"""Metrics of ranked weekly risk: agreement with scikit-learn, hand-checked top-K and lead time,
calibration, and the whole-week bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from models import metrics

MONDAY = pd.Timestamp("2024-01-01")


def week(n: int) -> pd.Timestamp:
    return MONDAY + pd.Timedelta(weeks=n)


def random_scores(seed: int, n: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, rounded scores (many ties) and integer weights with planted signal."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.05).astype(float)
    scores = np.round(np.clip(rng.random(n) * 0.6 + 0.3 * labels, 0.001, 0.999), 2)
    weights = rng.integers(0, 4, n).astype(float)
    return labels, scores, weights


def weekly_panel(n_weeks: int = 30, n_packs: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "zi_number": np.tile([f"{i:08d}" for i in range(n_packs)], n_weeks),
            "as_of": np.repeat([week(i) for i in range(n_weeks)], n_packs),
            "horizon": 13,
            "fold": np.repeat(np.arange(n_weeks) * 3 // n_weeks, n_packs),
        }
    )
    risk = rng.beta(1, 20, len(frame))
    frame["label"] = (rng.random(len(frame)) < risk).astype(float)
    frame["probability"] = np.clip(risk + rng.normal(0, 0.02, len(frame)), 0.001, 0.999)
    frame["cheap"] = np.where(rng.random(len(frame)) < 0.4, "yes", "no")
    return frame


# --------------------------------------------------------------------------- row metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_row_metrics_match_sklearn_with_ties_and_weights(seed: int) -> None:
    labels, scores, weights = random_scores(seed)
    assert metrics.pr_auc(labels, scores) == pytest.approx(
        sk.average_precision_score(labels, scores)
    )
    assert metrics.pr_auc(labels, scores, weights) == pytest.approx(
        sk.average_precision_score(labels, scores, sample_weight=weights)
    )
    assert metrics.roc_auc(labels, scores) == pytest.approx(sk.roc_auc_score(labels, scores))
    assert metrics.roc_auc(labels, scores, weights) == pytest.approx(
        sk.roc_auc_score(labels, scores, sample_weight=weights)
    )
    assert metrics.brier(labels, scores, weights) == pytest.approx(
        sk.brier_score_loss(labels, scores, sample_weight=weights)
    )
    assert metrics.log_loss(labels, scores, weights) == pytest.approx(
        sk.log_loss(labels, scores, sample_weight=weights)
    )


def test_ranking_metrics_do_not_depend_on_row_order() -> None:
    labels, scores, _ = random_scores(3)
    order = np.random.default_rng(9).permutation(labels.size)
    assert metrics.pr_auc(labels[order], scores[order]) == metrics.pr_auc(labels, scores)
    assert metrics.roc_auc(labels[order], scores[order]) == pytest.approx(
        metrics.roc_auc(labels, scores)
    )


def test_undefined_ranking_metrics_are_nan_and_bad_labels_raise() -> None:
    assert np.isnan(metrics.pr_auc([0, 0, 0], [0.1, 0.2, 0.3]))
    assert np.isnan(metrics.roc_auc([1, 1], [0.1, 0.2]))
    with pytest.raises(ValueError, match="0 or 1"):
        metrics.pr_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="0 or 1"):
        metrics.brier([0, np.nan], [0.1, 0.2])


def test_log_loss_is_clipped() -> None:
    assert np.isfinite(metrics.log_loss([1, 0], [0.0, 1.0]))
    assert metrics.log_loss([1], [0.0], eps=1e-3) == pytest.approx(-np.log(1e-3))


# --------------------------------------------------------------------------- calibration


def test_ece_near_zero_when_calibrated_and_large_when_not() -> None:
    rng = np.random.default_rng(0)
    probabilities = rng.beta(1, 30, 200_000)
    calibrated_labels = (rng.random(probabilities.size) < probabilities).astype(float)
    overconfident_labels = (rng.random(probabilities.size) < probabilities / 3).astype(float)
    for strategy in ("quantile", "uniform"):
        assert (
            metrics.expected_calibration_error(calibrated_labels, probabilities, strategy=strategy)
            < 0.003
        )
        assert metrics.expected_calibration_error(
            overconfident_labels, probabilities, strategy=strategy
        ) == pytest.approx(probabilities.mean() * 2 / 3, rel=0.1)


def test_ece_hand_computed_and_quantile_bins_keep_ties_together() -> None:
    labels = np.array([0, 0, 1, 1, 1, 0])
    probabilities = np.array([0.1, 0.1, 0.1, 0.1, 0.9, 0.9])
    # Ties keep the 0.1s in one bin: |0.1 - 2/4| * 4/6 + |0.9 - 1/2| * 2/6
    expected = 0.4 * 4 / 6 + 0.4 * 2 / 6
    assert metrics.expected_calibration_error(labels, probabilities, n_bins=3) == pytest.approx(
        expected
    )
    bins = metrics.calibration_bins(labels, probabilities, n_bins=3)
    assert bins["weight"].tolist() == [4.0, 2.0]


def test_ece_weights_equal_repeated_rows() -> None:
    labels, scores, weights = random_scores(4)
    repeat = weights.astype(int)
    for strategy in ("quantile", "uniform"):
        weighted = metrics.expected_calibration_error(labels, scores, 7, strategy, weights)
        repeated = metrics.expected_calibration_error(
            np.repeat(labels, repeat), np.repeat(scores, repeat), 7, strategy
        )
        assert weighted == pytest.approx(repeated)


# --------------------------------------------------------------------------- top-K


@pytest.fixture
def tiny_weeks() -> pd.DataFrame:
    """Two weeks; week 0 has a three-way tie at 0.5 broken by zi_number."""
    return pd.DataFrame(
        {
            "zi_number": ["003", "001", "002", "004", "005", "001", "002", "003"],
            "as_of": [week(0)] * 5 + [week(1)] * 3,
            "probability": [0.5, 0.5, 0.5, 0.9, 0.1, 0.2, 0.8, 0.1],
            "label": [1, 0, 1, 0, 1, 0, 0, 1],
        }
    )


def test_top_k_breaks_ties_by_zi_number(tiny_weeks: pd.DataFrame) -> None:
    # Week 0 order: 004 (0.9), 001, 002, 003 (0.5 each, by zi), 005.
    assert metrics.rank_within_week(tiny_weeks).tolist() == [3, 1, 2, 0, 4, 1, 0, 2]
    shuffled = tiny_weeks.sample(frac=1.0, random_state=1)
    expected = metrics.top_k_mask(tiny_weeks, 2)[shuffled.index.to_numpy()]
    assert metrics.top_k_mask(shuffled, 2).tolist() == expected.tolist()


def test_precision_and_recall_at_k_by_hand(tiny_weeks: pd.DataFrame) -> None:
    # K=2: week 0 reviews 004, 001 -> 0 hits of 3 positives; week 1 reviews 002, 001 -> 0 of 1.
    assert metrics.precision_at_k(tiny_weeks, 2) == 0.0
    assert metrics.recall_at_k(tiny_weeks, 2) == 0.0
    # K=3: week 0 adds 002 (hit); week 1 adds 003 (hit). Hits 2 of 6 reviewed, 2 of 4 positives.
    assert metrics.precision_at_k(tiny_weeks, 3) == pytest.approx(2 / 6)
    assert metrics.recall_at_k(tiny_weeks, 3) == pytest.approx(2 / 4)
    # K=4: week 1 has only 3 rows, so 4 + 3 = 7 reviewed; hits 2 + 1 = 3.
    assert metrics.precision_at_k(tiny_weeks, 4) == pytest.approx(3 / 7)
    assert metrics.recall_at_k(tiny_weeks, 4) == pytest.approx(3 / 4)
    weekly = metrics.weekly_top_k(tiny_weeks, 4)
    assert weekly[["reviewed", "hits", "positives"]].to_numpy().tolist() == [[4, 2, 3], [3, 1, 1]]


def test_top_k_ranks_each_horizon_and_model_separately(tiny_weeks: pd.DataFrame) -> None:
    stacked = pd.concat([tiny_weeks.assign(horizon=4), tiny_weeks.assign(horizon=13)])
    assert metrics.precision_at_k(stacked, 3) == pytest.approx(2 / 6)
    assert metrics.top_k_mask(stacked, 1).sum() == 4
    two_models = pd.concat([tiny_weeks.assign(model="a"), tiny_weeks.assign(model="b")])
    assert metrics.precision_at_k(two_models, 3) == pytest.approx(2 / 6)


# --------------------------------------------------------------------------- lead time


@pytest.fixture
def lead_panel() -> pd.DataFrame:
    """Packs A, B, C over weeks 0..9 at H=4, labelled as ``features.labels`` does.

    Onsets: A on the Saturday of week 6, B on Monday week 5, C on Monday week 9, so
    the positive weeks are A 3..6, B 2..5, C 6..9. With K=1 the list holds A from
    week 4 on (C before that), except week 8, which C tops.
    """
    rows = []
    for n in range(10):
        for pack, probability in (("A", 0.9 if n >= 4 else 0.1), ("B", 0.2), ("C", 0.3)):
            rows.append({"zi_number": pack, "as_of": week(n), "probability": probability})
    frame = pd.DataFrame(rows)
    frame.loc[(frame["zi_number"] == "C") & (frame["as_of"] == week(8)), "probability"] = 0.95
    positive = (
        ((frame["zi_number"] == "A") & frame["as_of"].between(week(3), week(6)))
        | ((frame["zi_number"] == "B") & frame["as_of"].between(week(2), week(5)))
        | ((frame["zi_number"] == "C") & frame["as_of"].between(week(6), week(9)))
    )
    return frame.assign(horizon=4, label=positive.astype(float))


LEAD_ONSETS = pd.DataFrame(
    {
        "zi_number": ["A", "B", "C", "A"],
        "onset_date": [week(6) + pd.Timedelta(days=5), week(5), week(9), week(40)],
    }
)


def test_lead_time_with_explicit_onsets(lead_panel: pd.DataFrame) -> None:
    table = metrics.lead_times(lead_panel, k=1, onsets=LEAD_ONSETS)
    # The week-40 onset has no prediction rows in its window: not observable.
    assert table["zi_number"].tolist() == ["A", "B", "C"]
    assert table["first_flagged"].iloc[[0, 2]].tolist() == [week(4), week(8)]
    assert table["lead_weeks"].iloc[0] == pytest.approx(19 / 7)
    assert np.isnan(table["lead_weeks"].iloc[1])
    assert table["lead_weeks"].iloc[2] == pytest.approx(1.0)
    summary = metrics.median_lead_time(lead_panel, k=1, onsets=LEAD_ONSETS)
    assert summary.median_weeks == pytest.approx((19 / 7 + 1) / 2)
    assert summary.share_flagged == pytest.approx(2 / 3)
    assert (summary.n_onsets, summary.n_flagged) == (3, 2)


def test_lead_time_window_is_the_h_weeks_up_to_the_onset(lead_panel: pd.DataFrame) -> None:
    onsets = pd.DataFrame({"zi_number": ["A", "C"], "onset_date": [week(8), week(8)]})
    # Window (week 4, week 8]: A is flagged from week 4, which falls just outside -> week 5.
    # C is flagged only on its onset day, week 8 -> lead 0.
    table = metrics.lead_times(lead_panel, k=1, onsets=onsets)
    assert table["lead_weeks"].tolist() == [3.0, 0.0]
    # A 2-week horizon shortens the window to weeks 7..8.
    short = metrics.lead_times(lead_panel, k=1, onsets=onsets, horizon_weeks=2)
    assert short["lead_weeks"].tolist() == [1.0, 0.0]


def test_lead_time_fallback_uses_runs_of_positive_labels(lead_panel: pd.DataFrame) -> None:
    table = metrics.lead_times(lead_panel, k=1)
    # Onsets dated at each run's last positive week: A week 6, B week 5, C week 9.
    assert table["onset_date"].tolist() == [week(6), week(5), week(9)]
    assert table["lead_weeks"].iloc[0] == pytest.approx(2.0)
    assert np.isnan(table["lead_weeks"].iloc[1])
    assert table["lead_weeks"].iloc[2] == pytest.approx(1.0)


def test_lead_time_fallback_splits_runs_at_gaps() -> None:
    frame = pd.DataFrame(
        {
            "zi_number": "A",
            "as_of": [week(n) for n in (0, 1, 3, 4)],
            "probability": 0.5,
            "label": 1.0,
            "horizon": 4,
        }
    )
    assert metrics.lead_times(frame, k=1)["lead_weeks"].tolist() == [1.0, 1.0]


# --------------------------------------------------------------------------- segments


def test_pr_auc_by_segment() -> None:
    frame = weekly_panel()
    frame.loc[frame["cheap"] == "no", "label"] = 0.0
    table = metrics.pr_auc_by_segment(frame, "cheap").set_index("cheap")
    assert np.isnan(table.loc["no", "pr_auc"])
    cheap = frame[frame["cheap"] == "yes"]
    assert table.loc["yes", "pr_auc"] == pytest.approx(
        sk.average_precision_score(cheap["label"], cheap["probability"])
    )
    assert table["n"].sum() == len(frame)
    assert table.loc["yes", "positives"] == cheap["label"].sum()


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_resamples_whole_weeks() -> None:
    n_weeks, n_packs = 20, 10
    frame = pd.DataFrame(
        {
            "zi_number": np.tile([str(i) for i in range(n_packs)], n_weeks),
            "as_of": np.repeat([week(i) for i in range(n_weeks)], n_packs),
            "probability": 0.5,
            "label": 0.0,
        }
    )
    frame.loc[frame["as_of"] == week(7), "label"] = [1.0] * 3 + [0.0] * 7
    seen: list[tuple[int, float]] = []

    def positives(resample: pd.DataFrame) -> float:
        seen.append((len(resample), resample["label"].sum()))
        return float(resample["label"].sum())

    estimate, low, high = metrics.bootstrap_ci(frame, positives, n_resamples=300, seed=1)
    replicate_sizes, replicate_positives = zip(*seen[1:], strict=True)
    assert estimate == 3.0
    assert set(replicate_sizes) == {n_weeks * n_packs}
    # Only whole copies of the one positive week: 0, 3, 6, ... positives, never 1 or 2.
    assert {value % 3 for value in replicate_positives} == {0.0}
    assert 0.0 in replicate_positives and max(replicate_positives) >= 6
    assert low == 0.0 and high >= 6.0


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    frame = weekly_panel()

    def metric(resample: pd.DataFrame) -> float:
        return metrics.pr_auc(resample["label"], resample["probability"])

    first = metrics.bootstrap_ci(frame, metric, n_resamples=50, seed=7)
    assert metrics.bootstrap_ci(frame, metric, n_resamples=50, seed=7) == first
    assert metrics.bootstrap_ci(frame, metric, n_resamples=50, seed=8) != first
    assert first[1] < first[0] < first[2]


def test_bootstrap_drawn_twice_week_counts_as_two_review_weeks() -> None:
    frame = weekly_panel(n_weeks=12, n_packs=30)

    def precision_at_5(resample: pd.DataFrame) -> float:
        return metrics.precision_at_k(resample, 5)

    copied = metrics.bootstrap_ci(frame, precision_at_5, n_resamples=40, seed=3)
    weighted = metrics.bootstrap_weighted(
        frame,
        {"precision@5": lambda w: metrics.precision_at_k(frame, 5, w)},
        n_resamples=40,
        seed=3,
    )
    assert weighted["precision@5"] == pytest.approx(copied)


# --------------------------------------------------------------------------- evaluate


def test_evaluate_is_tidy_and_matches_the_generic_bootstrap() -> None:
    frame = weekly_panel()
    table = metrics.evaluate(frame, ks=(5, 10), segment_columns=["cheap"], n_resamples=30)
    assert list(table.columns) == ["horizon", "fold", "metric", "value", "ci_low", "ci_high"]
    assert set(table["fold"]) == {"0", "1", "2", "all"}
    assert not table.duplicated(["horizon", "fold", "metric"]).any()
    pooled = table[table["fold"] == "all"].set_index("metric")
    for name in ("pr_auc", "roc_auc", "brier", "log_loss", "ece", "precision@5", "recall@10"):
        assert (
            pooled.loc[name, "ci_low"] <= pooled.loc[name, "value"] <= pooled.loc[name, "ci_high"]
        )
    assert pooled.loc["pr_auc", "value"] == pytest.approx(
        sk.average_precision_score(frame["label"], frame["probability"])
    )
    assert pooled.loc["precision@5", "value"] == pytest.approx(metrics.precision_at_k(frame, 5))
    assert "pr_auc[cheap=yes]" in pooled.index
    assert "median_lead_weeks@100" in pooled.index

    def frame_pr_auc(resample: pd.DataFrame) -> float:
        return metrics.pr_auc(resample["label"], resample["probability"])

    def frame_ece(resample: pd.DataFrame) -> float:
        return metrics.expected_calibration_error(resample["label"], resample["probability"])

    for name, metric in (("pr_auc", frame_pr_auc), ("ece", frame_ece)):
        expected = metrics.bootstrap_ci(frame, metric, n_resamples=30, seed=0)
        got = tuple(pooled.loc[name, ["value", "ci_low", "ci_high"]])
        assert got == pytest.approx(expected)

    fold_one = table[(table["fold"] == "1")].set_index("metric")
    in_fold = frame[frame["fold"] == 1]
    assert fold_one.loc["n_rows", "value"] == len(in_fold)
    assert fold_one.loc["recall@10", "value"] == pytest.approx(metrics.recall_at_k(in_fold, 10))


def test_evaluate_keeps_models_apart() -> None:
    frame = weekly_panel(n_weeks=8)
    random_model = frame.assign(model="random", probability=np.linspace(0.01, 0.99, len(frame)))
    table = metrics.evaluate(
        pd.concat([frame.assign(model="main"), random_model]), ks=(5,), n_resamples=5
    )
    assert list(table.columns[:3]) == ["model", "horizon", "fold"]
    pooled = table[table["fold"] == "all"].set_index(["model", "metric"])["value"]
    assert pooled["main", "precision@5"] == pytest.approx(metrics.precision_at_k(frame, 5))
    assert pooled["random", "n_rows"] == len(frame)


def test_evaluate_drops_unknown_labels_and_refuses_duplicate_pack_weeks() -> None:
    frame = weekly_panel(n_weeks=6)
    frame.loc[frame.index[:5], "label"] = np.nan
    table = metrics.evaluate(frame, n_resamples=5, lead_time_k=None)
    assert table.query("fold == 'all' and metric == 'n_rows'")["value"].item() == len(frame) - 5
    with pytest.raises(ValueError, match="twice"):
        metrics.evaluate(pd.concat([frame, frame]), n_resamples=5)


def test_quantile_bins_are_numpy_inverted_cdf_quantiles() -> None:
    labels, scores, weights = random_scores(5, n=3000)
    edges = np.unique(
        np.quantile(scores, np.arange(1, 10) / 10, method="inverted_cdf", weights=weights)
    )
    bins = np.searchsorted(edges, scores, side="left")
    table = metrics.calibration_bins(labels, scores, 10, "quantile", weights)
    expected_weight = np.bincount(bins, weights=weights)
    np.testing.assert_allclose(table["weight"], expected_weight[expected_weight > 0])
