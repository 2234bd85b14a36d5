"""Entry file for MLflow "models from code": loading a logged model runs this file."""

import mlflow

from models.pyfunc import ShortageRiskPyfunc

mlflow.models.set_model(ShortageRiskPyfunc())
