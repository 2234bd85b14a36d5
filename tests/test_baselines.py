"""Baselines follow scikit-learn conventions and recover the signals they are built on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from models import metrics
from models.baselines import (
    HistoryHeuristic,
    LogisticBaseline,
    PrevalenceBaseline,
    PriceRuleBaseline,
)


def feature_panel(n: int = 20_000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Cheap packs 3x riskier, risk rising with past episodes, a weak signal in a category."""
    rng = np.random.default_rng(seed)
    cheap = rng.random(n) < 0.4
    episodes = rng.poisson(0.6, n).astype("float32")
    form = pd.Categorical(rng.choice(["tablet", "capsule", "injection", "rare_form"], n))
    rate = 0.01 * np.where(cheap, 3.0, 1.0) * (1.0 + 0.8 * np.minimum(episodes, 3))
    rate = rate * np.where(form == "injection", 1.5, 1.0)
    labels = pd.Series((rng.random(n) < rate).astype(float), name="label")
    frame = pd.DataFrame(
        {
            "zi_number": [f"{i:08d}" for i in range(n)],
            "price_aip_le_15": cheap.astype("float32"),
            "hist_episodes_156w": episodes,
            "dosage_form": form,
            "noise": rng.normal(size=n).astype("float32"),
        }
    )
    frame.loc[frame.index[::50], "price_aip_le_15"] = np.nan
    frame.loc[frame.index[::70], "hist_episodes_156w"] = np.nan
    return frame, labels


BASELINES = [
    PrevalenceBaseline(),
    PriceRuleBaseline(),
    HistoryHeuristic(cap=2, prior_strength=10.0),
    LogisticBaseline(min_frequency=5),
]


@pytest.fixture(scope="module")
def panel() -> tuple[pd.DataFrame, pd.Series]:
    return feature_panel()


@pytest.mark.parametrize("baseline", BASELINES, ids=lambda b: type(b).__name__)
def test_sklearn_conventions(baseline, panel: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = panel
    X_before, y_before = X.copy(), y.copy()
    fresh = clone(baseline)
    assert fresh.get_params() == baseline.get_params()
    assert not [name for name in vars(fresh) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        fresh.predict_proba(X)
    assert fresh.fit(X, y) is fresh
    probabilities = fresh.predict_proba(X)
    assert probabilities.shape == (len(X), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert fresh.predict(X).shape == (len(X),)
    assert list(fresh.classes_) == [0, 1]
    pd.testing.assert_frame_equal(X, X_before)
    pd.testing.assert_series_equal(y, y_before)
    again = clone(baseline).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(again, probabilities)


def test_prevalence_is_the_training_rate(panel: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = panel
    probabilities = PrevalenceBaseline().fit(X, y).predict_proba(X.iloc[:7])[:, 1]
    np.testing.assert_allclose(probabilities, y.mean())


def test_price_rule_recovers_the_planted_ratio(panel: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = panel
    rule = PriceRuleBaseline().fit(X, y)
    ratio = rule.rate_by_flag_[True] / rule.rate_by_flag_[False]
    # The planted history and form effects are independent of price: the ratio stays 3.
    assert ratio == pytest.approx(3.0, rel=0.2)
    unseen = pd.DataFrame({"price_aip_le_15": pd.array([True, False, None], dtype="boolean")})
    np.testing.assert_allclose(
        rule.predict_proba(unseen)[:, 1],
        [rule.rate_by_flag_[True], rule.rate_by_flag_[False], rule.overall_rate_],
    )


def test_price_rule_reads_the_configured_column() -> None:
    X = pd.DataFrame({"cheap": [1.0, 1.0, 0.0, 0.0], "price_aip_le_15": [0.0, 0.0, 1.0, 1.0]})
    y = np.array([1, 0, 0, 0])
    rule = PriceRuleBaseline(column="cheap").fit(X, y)
    assert rule.rate_by_flag_ == {True: 0.5, False: 0.0}


def test_history_heuristic_is_monotone_capped_and_smoothed() -> None:
    X = pd.DataFrame({"hist": [0.0] * 8 + [1.0] * 4 + [2.0] * 2 + [7.0] * 2 + [np.nan] * 4})
    y = np.array([0] * 7 + [1] + [1, 0, 0, 0] + [0, 0] + [1, 1] + [0] * 4)
    heuristic = HistoryHeuristic(column="hist", cap=3, prior_strength=4.0).fit(X, y)
    overall = 4 / 20
    by_count = heuristic.rate_by_count_
    assert by_count[0] == pytest.approx((1 + 4 * overall) / (8 + 4))
    assert by_count[1] == pytest.approx((1 + 4 * overall) / (4 + 4))
    # Count 2 has no positives, so its smoothed rate is raised to count 1's (monotone).
    assert by_count[2] == pytest.approx(by_count[1])
    # Count 7 is capped to 3; count 5 at predict time maps to the same rate.
    assert by_count[3] == pytest.approx((2 + 4 * overall) / (2 + 4))
    new = pd.DataFrame({"hist": [5.0, 0.0, np.nan]})
    np.testing.assert_allclose(
        heuristic.predict_proba(new)[:, 1], [by_count[3], by_count[0], overall]
    )
    assert (np.diff(by_count) >= 0).all()


def test_history_heuristic_ranks_better_than_prevalence(
    panel: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = panel
    heuristic = HistoryHeuristic().fit(X, y).predict_proba(X)[:, 1]
    assert metrics.roc_auc(y, heuristic) > 0.6


def test_logistic_infers_columns_and_skips_identifiers(
    panel: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = panel
    model = LogisticBaseline().fit(X, y)
    assert model.numeric_columns_ == ["price_aip_le_15", "hist_episodes_156w", "noise"]
    assert model.categorical_columns_ == ["dosage_form"]
    unseen = X.iloc[:3].assign(dosage_form=pd.Categorical(["spray", None, "tablet"]))
    assert np.isfinite(model.predict_proba(unseen)).all()


def test_logistic_beats_prevalence_out_of_sample() -> None:
    X_train, y_train = feature_panel(seed=1)
    X_test, y_test = feature_panel(seed=2)
    logistic = LogisticBaseline().fit(X_train, y_train).predict_proba(X_test)[:, 1]
    prevalence = PrevalenceBaseline().fit(X_train, y_train).predict_proba(X_test)[:, 1]
    assert metrics.pr_auc(y_test, logistic) > 1.5 * metrics.pr_auc(y_test, prevalence)
    assert metrics.roc_auc(y_test, logistic) > 0.65
    assert metrics.roc_auc(y_test, prevalence) == 0.5


def test_baselines_refuse_non_binary_labels(panel: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = panel
    with pytest.raises(ValueError, match="0 or 1"):
        PrevalenceBaseline().fit(X, np.full(len(X), 2.0))


@pytest.mark.parametrize("baseline", [PriceRuleBaseline(), HistoryHeuristic()])
def test_absent_column_falls_back_to_the_overall_rate(baseline) -> None:
    X = pd.DataFrame({"other": [1.0, 2.0, 3.0, 4.0]})
    y = np.array([1, 0, 0, 0])
    with pytest.warns(UserWarning, match="absent"):
        fitted = clone(baseline).fit(X, y)
    np.testing.assert_allclose(fitted.predict_proba(X)[:, 1], 0.25)
