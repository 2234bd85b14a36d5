"""The design matrix of the linear models: one transformer per input column.

Keeping each input column's design columns together lets a linear model's
log-odds be split exactly into one contribution per input column (SHAP values
of a linear model), which the tree model adds to its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

MISSING_CATEGORY = "__missing__"


def as_float(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric, boolean and nullable columns as float64, missing as NaN, for the imputer."""
    return frame.apply(lambda column: pd.to_numeric(column, errors="coerce")).astype("float64")


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories as plain strings with an explicit missing level, for the one-hot encoder."""
    return frame.astype("object").where(frame.notna(), MISSING_CATEGORY).astype(str)


def is_categorical(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(
        column.dtype
    )


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype)


def split_columns(X: pd.DataFrame, exclude: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """Numeric and categorical feature columns by dtype (dates and ``exclude`` left out)."""
    candidates = [name for name in X.columns if name not in set(exclude)]
    numeric = [name for name in candidates if is_numeric(X[name])]
    categorical = [name for name in candidates if is_categorical(X[name])]
    return numeric, categorical


def numeric_steps() -> Pipeline:
    """Median imputation with a missing-value indicator, then standard scaling."""
    return Pipeline(
        [
            ("as_float", FunctionTransformer(as_float, feature_names_out="one-to-one")),
            (
                "impute",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            ),
            ("scale", StandardScaler()),
        ]
    )


def categorical_steps(min_frequency: int | float) -> Pipeline:
    """One-hot with rare levels pooled and unseen levels ignored."""
    return Pipeline(
        [
            ("as_text", FunctionTransformer(as_text, feature_names_out="one-to-one")),
            ("one_hot", OneHotEncoder(handle_unknown="ignore", min_frequency=min_frequency)),
        ]
    )


def linear_design(
    numeric: Sequence[str], categorical: Sequence[str], min_frequency: int | float
) -> ColumnTransformer:
    """A transformer named after each input column; after fitting, ``output_indices_``
    gives the design columns of each input column. Output is sparse when mostly zeros."""
    transformers: list[tuple[str, Pipeline, list[str]]] = [
        (name, numeric_steps(), [name]) for name in numeric
    ]
    transformers += [(name, categorical_steps(min_frequency), [name]) for name in categorical]
    if not transformers:
        raise ValueError("no feature columns for the linear design")
    return ColumnTransformer(transformers, remainder="drop")


def scaled_value_column(design: ColumnTransformer, name: str) -> int:
    """Index of a numeric input column's scaled value (not its missing indicator)."""
    return int(design.output_indices_[name].start)


def design_slices(design: ColumnTransformer, columns: Sequence[str]) -> list[slice]:
    return [design.output_indices_[name] for name in columns]


def column_means(matrix: object) -> np.ndarray:
    """Column means of a dense or sparse design matrix, as a flat float64 array."""
    return np.asarray(matrix.mean(axis=0), dtype=np.float64).ravel()  # type: ignore[attr-defined]
