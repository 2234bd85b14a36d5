"""The shortage-risk classifier: LightGBM trees boosted from a linear log-odds offset,
time-sliced early stopping, calibration.

Weekly panel rows of one pack are strongly dependent and labels look H weeks
ahead, so every internal split is by whole weeks in time order with a gap of
the horizon between slices; a random row split would leak the future.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from models.config import ModelConfig
from models.linear_offset import LinearLogOdds


@dataclass(frozen=True)
class TimeSlices:
    """Boolean row masks for the three training slices, oldest first."""

    trees: np.ndarray
    early_stopping: np.ndarray
    calibration: np.ndarray


def time_slices(as_of: pd.Series, config: ModelConfig, horizon: int) -> TimeSlices:
    """Cut rows into trees | early stopping | calibration by whole weeks.

    The label window of the last week of a slice, ``[t, t + 7*horizon days)``,
    ends on or before the first week of the next slice.
    """
    dates = pd.to_datetime(as_of).to_numpy()
    weeks, week_index = np.unique(dates, return_inverse=True)
    n = len(weeks)
    cal_start = n - config.calibration_weeks
    es_end = cal_start - horizon + 1  # exclusive
    es_start = es_end - config.early_stopping_weeks
    trees_end = es_start - horizon + 1  # exclusive
    if trees_end < 1:
        needed = config.calibration_weeks + config.early_stopping_weeks + 2 * (horizon - 1) + 1
        raise ValueError(
            f"training window has {n} weeks; at least {needed} are needed "
            f"(calibration {config.calibration_weeks} + early stopping "
            f"{config.early_stopping_weeks} + two gaps of {horizon - 1} + 1 for the trees)"
        )
    return TimeSlices(
        trees=week_index < trees_end,
        early_stopping=(week_index >= es_start) & (week_index < es_end),
        calibration=week_index >= cal_start,
    )


def fit_linear_offset(
    frame: pd.DataFrame, target: np.ndarray, config: ModelConfig
) -> LinearLogOdds | None:
    """The linear log-odds the trees start from (None when ``config.linear_offset`` is off),
    fitted on at most ``config.linear_max_rows`` of the rows."""
    if not config.linear_offset:
        return None
    if len(frame) > config.linear_max_rows:
        # Uniform, so the class balance (and the log-odds scale) is that of all rows.
        rng = np.random.default_rng(config.seed + 1)
        rows = np.sort(rng.choice(len(frame), config.linear_max_rows, replace=False))
        frame, target = frame.iloc[rows], np.asarray(target)[rows]
    linear = LinearLogOdds(C=config.linear_c, monotone_constraints=config.monotone_constraints)
    return linear.fit(frame, target)


class ShortageRiskModel(ClassifierMixin, BaseEstimator):
    """Calibrated probability that a new shortage starts within ``horizon`` weeks.

    ``fit`` needs the as-of date of every row to cut the time slices. Columns
    with a pandas ``category`` dtype are passed to LightGBM as categoricals;
    their categories are remembered so scoring data is encoded identically.
    """

    def __init__(self, config: ModelConfig | None = None, horizon: int = 13) -> None:
        self.config = config
        self.horizon = horizon

    @property
    def _config(self) -> ModelConfig:
        return self.config if self.config is not None else ModelConfig()

    def fit(
        self, X: pd.DataFrame, y: pd.Series | np.ndarray, as_of: pd.Series
    ) -> ShortageRiskModel:
        config = self._config
        target = np.asarray(y, dtype=float)
        if np.isnan(target).any():
            raise ValueError("labels contain NaN: drop rows whose horizon is not yet observed")
        slices = time_slices(pd.Series(np.asarray(as_of)), config, self.horizon)
        for name in ("trees", "early_stopping", "calibration"):
            if target[getattr(slices, name)].sum() == 0:
                raise ValueError(f"the {name.replace('_', '-')} slice has no positive labels")

        self._learn_columns(X)
        frame = self._encode(X)
        sampled = self._keep_for_trees(target, config)
        trees = slices.trees & sampled
        tree_rows, tree_target = frame[trees], target[trees]
        self.params_ = self._lgb_params(config, tree_target, list(X.columns))
        self.offset_ = self._fit_offset(tree_rows, tree_target)
        train = lgb.Dataset(
            tree_rows,
            tree_target,
            init_score=self._offset(tree_rows),
            free_raw_data=False,
            params={"verbose": -1},
        )
        valid_rows = frame[slices.early_stopping]
        valid = train.create_valid(
            valid_rows,
            target[slices.early_stopping],
            init_score=self._offset(valid_rows) + self._sampling_offset(config, len(valid_rows)),
        )
        self.booster_ = lgb.train(
            self.params_,
            train,
            num_boost_round=config.max_rounds,
            valid_sets=[valid],
            valid_names=["early_stopping"],
            callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
        )
        self.best_iteration_ = int(self.booster_.best_iteration or config.max_rounds)
        if config.refit != "none":
            # The early-stopping weeks are more recent than the trees slice: grow the
            # chosen number of trees again on both before calibrating.
            trees = (slices.trees | slices.early_stopping) & sampled
            self._grow(frame, target, trees)
        raw = self._raw(frame[slices.calibration])
        self.calibrator_ = self._fit_calibrator(config, raw, target[slices.calibration])
        if config.refit == "all_weeks":
            # Shortage drivers drift (prices erode, tenders turn over): the final trees
            # also learn from the most recent weeks. The calibration map fitted above
            # on unseen weeks is kept; backtests measure how well it still fits.
            trees = sampled
            self._grow(frame, target, trees)
        self.n_rows_ = {
            "trees": int(trees.sum()),
            "early_stopping": int(slices.early_stopping.sum()),
            "calibration": int(slices.calibration.sum()),
        }
        return self

    def _grow(self, frame: pd.DataFrame, target: np.ndarray, rows: np.ndarray) -> None:
        """The linear offset and the chosen number of trees fitted again on ``rows``."""
        chosen, chosen_target = frame[rows], target[rows]
        self.offset_ = self._fit_offset(chosen, chosen_target)
        self.booster_ = lgb.train(
            self.params_,
            lgb.Dataset(
                chosen,
                chosen_target,
                init_score=self._offset(chosen),
                params={"verbose": -1},
            ),
            num_boost_round=self.best_iteration_,
        )

    def _fit_offset(self, frame: pd.DataFrame, target: np.ndarray) -> LinearLogOdds | None:
        return fit_linear_offset(frame, target, self._config)

    def _offset(self, frame: pd.DataFrame) -> np.ndarray:
        """Log-odds the trees start from: the linear part, or zero without one."""
        offset = getattr(self, "offset_", None)
        if offset is None:
            return np.zeros(len(frame))
        return np.asarray(offset.decision_function(frame))

    def _learn_columns(self, X: pd.DataFrame) -> None:
        """Remember feature order and training categories, to encode scoring data alike."""
        self.feature_names_in_ = np.array(list(X.columns), dtype=object)
        self.categories_ = {
            c: list(X[c].cat.categories)
            for c in X.columns
            if isinstance(X[c].dtype, pd.CategoricalDtype)
        }
        self.classes_ = np.array([0, 1])

    @staticmethod
    def _keep_for_trees(target: np.ndarray, config: ModelConfig) -> np.ndarray:
        """All positives and a seeded random share of negatives."""
        if config.negative_sample_rate >= 1:
            return np.ones(len(target), dtype=bool)
        draw = np.random.default_rng(config.seed).random(len(target))
        return (target > 0) | (draw < config.negative_sample_rate)

    @staticmethod
    def _sampling_offset(config: ModelConfig, n_rows: int) -> np.ndarray:
        """Log-odds shift that undoes negative sampling, so the early-stopping score is
        computed on probabilities for the unsampled rows."""
        return np.full(n_rows, np.log(config.negative_sample_rate))

    @staticmethod
    def _lgb_params(config: ModelConfig, target: np.ndarray, features: list[str]) -> dict:
        positives = max(float(target.sum()), 1.0)
        ratio = (len(target) - positives) / positives
        weight = {"sqrt": np.sqrt(ratio), "balanced": ratio, "none": 1.0}[config.imbalance]
        monotone = [int(config.monotone_constraints.get(f, 0)) for f in features]
        params: dict = {
            "objective": "binary",
            "metric": config.early_stopping_metric,
            "learning_rate": config.learning_rate,
            "num_leaves": config.num_leaves,
            "min_data_in_leaf": config.min_data_in_leaf,
            "feature_fraction": config.feature_fraction,
            "bagging_fraction": config.bagging_fraction,
            "bagging_freq": config.bagging_freq,
            "lambda_l2": config.lambda_l2,
            "cat_smooth": config.cat_smooth,
            "cat_l2": config.cat_l2,
            "min_data_per_group": config.min_data_per_group,
            "max_cat_threshold": config.max_cat_threshold,
            "scale_pos_weight": float(weight),
            "seed": config.seed,
            "num_threads": config.n_threads,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }
        if any(monotone):
            params["monotone_constraints"] = monotone
            params["monotone_constraints_method"] = "advanced"
        return params

    @staticmethod
    def _fit_calibrator(
        config: ModelConfig, raw: np.ndarray, target: np.ndarray
    ) -> IsotonicRegression | LogisticRegression | None:
        if config.calibration == "isotonic":
            return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, target)
        if config.calibration == "platt":
            return LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), target)
        return None

    def _encode(self, X: pd.DataFrame) -> pd.DataFrame:
        """Columns in training order with training categories; the input is not modified."""
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"missing feature columns: {missing}")
        frame = X.loc[:, list(self.feature_names_in_)].copy()
        for column, categories in self.categories_.items():
            frame[column] = pd.Categorical(frame[column].astype("object"), categories=categories)
        return frame

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        trees = self.booster_.predict(frame, num_iteration=self.best_iteration_, raw_score=True)
        return np.asarray(trees) + self._offset(frame)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Uncalibrated log-odds, linear offset plus trees (the scale SHAP values add up to)."""
        return self._raw(self._encode(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raw = self.decision_function(X)
        if isinstance(self.calibrator_, IsotonicRegression):
            p = self.calibrator_.predict(raw)
        elif isinstance(self.calibrator_, LogisticRegression):
            p = self.calibrator_.predict_proba(raw.reshape(-1, 1))[:, 1]
        else:
            p = 1.0 / (1.0 + np.exp(-(raw + self._prior_shift())))
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def _prior_shift(self) -> float:
        """Log-odds shift from the rows the trees saw back to all rows, for uncalibrated
        probabilities: negatives kept at rate r and positives weighted by w look like
        odds multiplied by w / r."""
        rate = self._config.negative_sample_rate
        return float(np.log(rate) - np.log(self.params_["scale_pos_weight"]))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact SHAP values in log-odds, one column per feature plus ``base_value``: TreeSHAP
        of the trees plus the linear offset's terms (linear SHAP), summed per feature.

        Rows add up to :meth:`decision_function`; this is checked on every call.
        """
        frame = self._encode(X)
        values = np.asarray(
            self.booster_.predict(frame, num_iteration=self.best_iteration_, pred_contrib=True)
        )
        offset = getattr(self, "offset_", None)
        if offset is not None:
            values[:, :-1] += offset.contributions(frame)
            values[:, -1] += offset.expected_value_
        raw = self._raw(frame)
        gap = np.abs(values.sum(axis=1) - raw)
        if len(gap) and gap.max() > 1e-6:
            raise RuntimeError(f"SHAP values do not add up to the raw score (max gap {gap.max()})")
        columns = [*self.feature_names_in_, "base_value"]
        return pd.DataFrame(values, columns=columns, index=X.index)
