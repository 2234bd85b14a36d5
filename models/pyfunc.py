"""The MLflow form of a fitted model.

MLflow signatures cannot describe pandas ``category`` columns, so categorical
features travel as strings and the wrapper restores the training categories
before scoring (``ShortageRiskModel`` encodes them on every call).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel

from models.shortage_model import ShortageRiskModel

ESTIMATOR_ARTIFACT = "estimator"


def as_plain_columns(X: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as strings (missing stays missing), the form MLflow can type."""
    out = X.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype("object").where(out[column].notna(), None)
    return out


class ShortageRiskPyfunc(PythonModel):
    """Scores a feature frame: returns the calibrated probability and the raw log-odds."""

    def load_context(self, context: Any) -> None:
        self.model: ShortageRiskModel = joblib.load(context.artifacts[ESTIMATOR_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "probability": self.model.predict_proba(model_input)[:, 1],
                "raw_score": self.model.decision_function(model_input),
            },
            index=model_input.index,
        )


def log_pyfunc(
    model: ShortageRiskModel, example: pd.DataFrame, workdir: Path, name: str = "model"
) -> Any:
    """Log ``model`` to the active MLflow run with a signature and an input example."""
    path = workdir / "estimator.joblib"
    joblib.dump(model, path)
    plain = as_plain_columns(example[list(model.feature_names_in_)])
    output = pd.DataFrame(
        {
            "probability": model.predict_proba(plain)[:, 1].astype(np.float64),
            "raw_score": model.decision_function(plain).astype(np.float64),
        }
    )
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
        artifacts={ESTIMATOR_ARTIFACT: str(path)},
        signature=infer_signature(plain, output),
        input_example=plain,
    )
