"""The linear log-odds that the shortage model's trees boost from.

Shortages are rare, so trees estimate smooth trends in coarse steps: risk
keeps rising with every past episode, but the few packs with four or more
episodes fall into one leaf with the packs that had three. A linear model on
the same features carries such trends and extrapolates them; the trees then
learn what it misses (thresholds, interactions). Its log-odds split exactly
into one term per input column, so the explanations stay exact TreeSHAP plus
linear SHAP values that add up to the raw score.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from models.linear_design import (
    column_means,
    design_slices,
    linear_design,
    scaled_value_column,
    split_columns,
)


class LinearLogOdds(BaseEstimator):
    """L2-penalised logistic regression with sign bounds for the monotone features.

    The objective is scikit-learn's, ``C * sum(log loss) + |w|^2 / 2`` with a free
    intercept (minimised per row, with its lbfgs stopping rule); L-BFGS-B (scipy)
    keeps the coefficient of every feature in ``monotone_constraints`` on its side
    of zero, so a feature declared to never raise risk never does, in the linear
    part as in the trees.
    """

    def __init__(
        self,
        C: float = 1.0,
        min_frequency: int | float = 20,
        monotone_constraints: Mapping[str, int] | None = None,
        tol: float = 1e-4,
        max_iter: int = 1000,
    ) -> None:
        self.C = C
        self.min_frequency = min_frequency
        self.monotone_constraints = monotone_constraints
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X: pd.DataFrame, y: Any) -> LinearLogOdds:
        target = np.asarray(y, dtype=np.float64).ravel()
        if len(target) == 0 or not np.isin(target, (0.0, 1.0)).all():
            raise ValueError("labels must be 0 or 1, and at least one row is needed")
        numeric, categorical = split_columns(X)
        self.feature_names_in_ = np.array(list(X.columns), dtype=object)
        self.design_ = linear_design(numeric, categorical, self.min_frequency)
        matrix = sp.csr_matrix(self.design_.fit_transform(X), dtype=np.float64)
        n_columns = matrix.shape[1]
        bounds: list[tuple[float | None, float | None]] = [(None, None)] * n_columns
        for name, sign in (self.monotone_constraints or {}).items():
            if name in numeric:
                bounds[scaled_value_column(self.design_, name)] = (
                    (0.0, None) if sign > 0 else (None, 0.0)
                )
        rate = float(np.clip(target.mean(), 1e-6, 1 - 1e-6))
        start = np.zeros(n_columns + 1)
        start[-1] = np.log(rate / (1 - rate))
        result = minimize(
            _penalised_log_loss,
            start,
            args=(matrix, target, self.C),
            jac=True,
            method="L-BFGS-B",
            bounds=[*bounds, (None, None)],
            # scikit-learn's lbfgs stopping rule: projected gradient below tol.
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 64 * np.finfo(float).eps},
        )
        self.coef_ = result.x[:-1]
        self.intercept_ = float(result.x[-1])
        self.n_iter_ = int(result.nit)
        self.n_rows_ = len(target)
        self.design_means_ = column_means(matrix)
        return self

    def _design(self, X: pd.DataFrame) -> sp.csr_matrix:
        check_is_fitted(self, "coef_")
        frame = X.loc[:, list(self.feature_names_in_)]
        return sp.csr_matrix(self.design_.transform(frame), dtype=np.float64)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of every row (in row chunks: the design matrix of millions of rows
        would cost gigabytes)."""
        out = np.empty(len(X), dtype=np.float64)
        for rows in _chunks(len(X)):
            out[rows] = self._design(X.iloc[rows]) @ self.coef_ + self.intercept_
        return out

    @property
    def expected_value_(self) -> float:
        """Log-odds of the average design row: the base of the per-column contributions."""
        return float(self.design_means_ @ self.coef_ + self.intercept_)

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """``(rows, input columns)`` log-odds terms that add up, with
        :attr:`expected_value_`, to :meth:`decision_function` (linear SHAP values)."""
        slices = design_slices(self.design_, list(self.feature_names_in_))
        terms = np.empty((len(X), len(self.feature_names_in_)))
        for rows in _chunks(len(X)):
            design = self._design(X.iloc[rows]).tocsc()
            for i, columns in enumerate(slices):
                coef = self.coef_[columns]
                terms[rows, i] = design[:, columns] @ coef - self.design_means_[columns] @ coef
        return terms


CHUNK_ROWS = 250_000


def _chunks(n_rows: int) -> list[slice]:
    return [slice(start, min(start + CHUNK_ROWS, n_rows)) for start in range(0, n_rows, CHUNK_ROWS)]


def _penalised_log_loss(
    params: np.ndarray, matrix: sp.csr_matrix, target: np.ndarray, C: float
) -> tuple[float, np.ndarray]:
    """scikit-learn's objective divided by ``C * rows``: the same minimum, with
    stopping tolerances that do not depend on the number of rows."""
    coef, intercept = params[:-1], params[-1]
    log_odds = matrix @ coef + intercept
    n = len(target)
    loss = float(np.mean(np.logaddexp(0.0, log_odds) - target * log_odds))
    loss += 0.5 * float(coef @ coef) / (C * n)
    residual = (_sigmoid(log_odds) - target) / n
    gradient = np.empty_like(params)
    gradient[:-1] = matrix.T @ residual + coef / (C * n)
    gradient[-1] = residual.sum()
    return loss, gradient


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))
