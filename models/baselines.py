"""Reference models that the main model must beat on the same backtest folds.

Each is a scikit-learn classifier on a pandas feature frame: ``__init__`` only
stores parameters, ``fit(X, y)`` returns self, fitted attributes end in ``_``,
``predict_proba(X)`` returns ``(n, 2)`` columns ``[P(no onset), P(onset)]``,
and inputs are never modified. Labels are 0/1. Column names are parameters
because the feature panel names are owned elsewhere.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from models.linear_design import linear_design, split_columns

FloatArray = npt.NDArray[np.float64]
BINARY_CLASSES = np.array([0, 1])


def _binary_labels(y: Any) -> FloatArray:
    labels = np.asarray(y, dtype=np.float64).ravel()
    if labels.size == 0:
        raise ValueError("cannot fit on zero rows")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    return labels


def _frame(X: Any) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError("X must be a pandas DataFrame: baselines select features by name")
    return X


def _column_or_missing(X: pd.DataFrame, column: str) -> pd.Series:
    """The feature, or all-missing when the panel lacks it (its source table was absent)."""
    if column in X.columns:
        return X[column]
    return pd.Series(np.nan, index=X.index, dtype="float64")


def _warn_if_absent(X: pd.DataFrame, column: str, model: str) -> None:
    if column not in X.columns:
        warnings.warn(
            f"{model}: column {column!r} is absent, predicting the overall rate",
            UserWarning,
            stacklevel=3,
        )


def _two_columns(positive_probability: Any) -> FloatArray:
    positive = np.asarray(positive_probability, dtype=np.float64)
    return np.column_stack([1.0 - positive, positive])


class _BinaryBaseline(ClassifierMixin, BaseEstimator, ABC):
    """Shared ``predict`` / ``predict_proba`` plumbing; subclasses give P(onset)."""

    @abstractmethod
    def _positive_probability(self, X: pd.DataFrame) -> FloatArray:
        """P(onset) for every row of ``X``."""

    def predict_proba(self, X: Any) -> FloatArray:
        check_is_fitted(self, "classes_")
        return _two_columns(self._positive_probability(_frame(X)))

    def predict(self, X: Any) -> npt.NDArray[np.int64]:
        """Onset when P(onset) >= 0.5; rarely useful for rare events, kept for the sklearn API."""
        return BINARY_CLASSES[(self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)]


class PrevalenceBaseline(_BinaryBaseline):
    """Everyone gets the training positive rate: the floor that any ranking must beat.

    Its PR-AUC equals the positive rate and its precision@K is chance level.
    """

    def fit(self, X: Any, y: Any) -> PrevalenceBaseline:
        labels = _binary_labels(y)
        self.positive_rate_ = float(labels.mean())
        self.classes_ = BINARY_CLASSES
        return self

    def _positive_probability(self, X: pd.DataFrame) -> FloatArray:
        return np.full(len(X), self.positive_rate_)


class PriceRuleBaseline(_BinaryBaseline):
    """The EUR 15 rule: cheap packs (AIP <= EUR 15) have about 3x the shortage rate.

    Predicts the training positive rate of the pack's flag value; a missing flag
    or a value unseen in training gets the overall rate, and so does everyone
    (with a warning) when the column is absent, e.g. without list prices.
    """

    def __init__(self, column: str = "price_aip_le_15") -> None:
        self.column = column

    def fit(self, X: Any, y: Any) -> PriceRuleBaseline:
        labels = _binary_labels(y)
        _warn_if_absent(_frame(X), self.column, type(self).__name__)
        flags = self._flags(X)
        self.overall_rate_ = float(labels.mean())
        known = flags.notna().to_numpy()
        rates = pd.Series(labels[known]).groupby(flags[known].to_numpy()).mean()
        self.rate_by_flag_ = {bool(flag): float(rate) for flag, rate in rates.items()}
        self.classes_ = BINARY_CLASSES
        return self

    def _flags(self, X: pd.DataFrame) -> pd.Series:
        """The flag as nullable boolean, whether stored as bool, 0/1 float or category."""
        values = pd.to_numeric(_column_or_missing(X, self.column).astype("object"), errors="coerce")
        return values.ne(0).astype("boolean").mask(values.isna())

    def _positive_probability(self, X: pd.DataFrame) -> FloatArray:
        flags = self._flags(X)
        rates = flags.map(self.rate_by_flag_).astype("float64")
        return rates.fillna(self.overall_rate_).to_numpy(dtype=np.float64)


class HistoryHeuristic(_BinaryBaseline):
    """Packs that were short before go short again: risk rises with past episode count.

    The count (e.g. episodes in the last 156 weeks) is floored and capped at
    ``cap`` so the rare high counts share one rate. Per count value the
    training positive rate is shrunk to the overall rate with ``prior_strength``
    pseudo-rows, ``(positives + m * overall) / (rows + m)``, then made
    non-decreasing in the count (running maximum) so the ranking follows the
    heuristic even where data are thin. Missing counts get the overall rate, as
    does everyone (with a warning) when the column is absent.
    """

    def __init__(
        self,
        column: str = "hist_episodes_156w",
        cap: int = 3,
        prior_strength: float = 50.0,
    ) -> None:
        self.column = column
        self.cap = cap
        self.prior_strength = prior_strength

    def _capped_counts(self, X: pd.DataFrame) -> FloatArray:
        counts = pd.to_numeric(_column_or_missing(X, self.column), errors="coerce").to_numpy(
            dtype=np.float64
        )
        return np.clip(np.floor(counts), 0, self.cap)

    def fit(self, X: Any, y: Any) -> HistoryHeuristic:
        if self.cap < 0 or self.prior_strength < 0:
            raise ValueError("cap and prior_strength must be >= 0")
        labels = _binary_labels(y)
        _warn_if_absent(_frame(X), self.column, type(self).__name__)
        counts = self._capped_counts(X)
        self.overall_rate_ = float(labels.mean())
        known = ~np.isnan(counts)
        slots = counts[known].astype(np.int64)
        rows = np.bincount(slots, minlength=self.cap + 1)
        positives = np.bincount(slots, weights=labels[known], minlength=self.cap + 1)
        smoothed = (positives + self.prior_strength * self.overall_rate_) / np.maximum(
            rows + self.prior_strength, 1e-12
        )
        smoothed = np.where(rows + self.prior_strength > 0, smoothed, self.overall_rate_)
        self.rate_by_count_ = np.maximum.accumulate(smoothed)
        self.classes_ = BINARY_CLASSES
        return self

    def _positive_probability(self, X: pd.DataFrame) -> FloatArray:
        counts = self._capped_counts(X)
        known = ~np.isnan(counts)
        probability = np.full(len(X), self.overall_rate_)
        probability[known] = self.rate_by_count_[counts[known].astype(np.int64)]
        return probability


class LogisticBaseline(_BinaryBaseline):
    """A linear model on all features: shows how much the gradient-boosted model adds.

    Numeric columns: median imputation with missing-value indicators, then
    standard scaling. Categorical columns (pandas category or strings): one-hot
    with rare levels pooled (``min_frequency``) and unseen levels ignored.
    Columns not given are inferred from dtypes at fit, skipping
    ``exclude_columns`` (identifiers) and dates. Classes are balanced because
    onsets are rare; like the main model it is fitted on all positives and a
    seeded share of the negatives; the lbfgs solver is deterministic. Balanced weights shift
    the probabilities upwards, so use it for ranking or calibrate it first.
    """

    def __init__(
        self,
        numeric_columns: Sequence[str] | None = None,
        categorical_columns: Sequence[str] | None = None,
        exclude_columns: Sequence[str] = ("zi_number", "as_of"),
        C: float = 1.0,
        min_frequency: int | float = 20,
        class_weight: str | dict[int, float] | None = "balanced",
        max_iter: int = 2000,
        negative_sample_rate: float = 0.25,
        random_state: int = 0,
    ) -> None:
        self.numeric_columns = numeric_columns
        self.categorical_columns = categorical_columns
        self.exclude_columns = exclude_columns
        self.C = C
        self.min_frequency = min_frequency
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.negative_sample_rate = negative_sample_rate
        self.random_state = random_state

    def _infer_columns(self, X: pd.DataFrame) -> tuple[list[str], list[str]]:
        numeric, categorical = split_columns(X, exclude=self.exclude_columns)
        if self.numeric_columns is not None:
            numeric = list(self.numeric_columns)
        if self.categorical_columns is not None:
            categorical = list(self.categorical_columns)
        if not numeric and not categorical:
            raise ValueError("no feature columns: pass numeric_columns or categorical_columns")
        return numeric, categorical

    def fit(self, X: Any, y: Any) -> LogisticBaseline:
        labels = _binary_labels(y).astype(np.int64)
        frame = _frame(X)
        if self.negative_sample_rate < 1:
            # Same treatment of rare positives as the main model: all positives, a seeded
            # share of negatives (class weights then rebalance what is left).
            draw = np.random.default_rng(self.random_state).random(len(labels))
            keep = (labels > 0) | (draw < self.negative_sample_rate)
            frame, labels = frame[keep], labels[keep]
        self.numeric_columns_, self.categorical_columns_ = self._infer_columns(frame)
        design = linear_design(self.numeric_columns_, self.categorical_columns_, self.min_frequency)
        logistic = LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=self.max_iter
        )
        self.pipeline_ = Pipeline([("features", design), ("logistic", logistic)])
        self.pipeline_.fit(frame, labels)
        self.classes_ = BINARY_CLASSES
        return self

    def _positive_probability(self, X: pd.DataFrame) -> FloatArray:
        return np.asarray(self.pipeline_.predict_proba(X)[:, 1], dtype=np.float64)
