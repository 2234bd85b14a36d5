"""MLflow bookkeeping: where runs go, what identifies their inputs, registry aliases.

The embedded default is a SQLite store in the working directory (MLflow 3
refuses the old ``./mlruns`` file store); any tracking URI, such as a team
server, works the same. Versions are addressed by the aliases ``champion``
(what the weekly batch scores with) and ``challenger`` (the newest version).
"""

from __future__ import annotations

import hashlib
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from pydantic import BaseModel, ConfigDict

CHAMPION = "champion"
CHALLENGER = "challenger"


# The weekly batch scores with each horizon's champion (``{horizon}`` is filled in).
CHAMPION_MODEL_URI = "models:/shortage-risk-{horizon}w@champion"


class TrackingConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tracking_uri: str = "sqlite:///mlflow.db"
    experiment: str = "shortage-risk"
    model_name_template: str = "shortage-risk-{horizon}w"
    artifact_location: str | None = None  # for a new experiment; MLflow's default otherwise

    def model_name(self, horizon: int) -> str:
        return self.model_name_template.format(horizon=horizon)

    def activate(self) -> MlflowClient:
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        if self.artifact_location and client.get_experiment_by_name(self.experiment) is None:
            client.create_experiment(self.experiment, artifact_location=self.artifact_location)
        mlflow.set_experiment(self.experiment)
        return client


def file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprints(data_dir: Path) -> dict[str, str]:
    """SHA-256 of every table file, so a run names exactly the data it saw."""
    return {
        p.name: file_fingerprint(p)
        for p in sorted(data_dir.iterdir())
        if p.suffix in (".csv", ".parquet") and p.is_file()
    }


def combined_fingerprint(fingerprints: dict[str, str]) -> str:
    joined = "\n".join(f"{name}={digest}" for name, digest in sorted(fingerprints.items()))
    return hashlib.sha256(joined.encode()).hexdigest()


def package_version() -> str:
    try:
        return version("shortage-forecast")
    except PackageNotFoundError:
        return "unknown"


def git_commit() -> str:
    """The commit of the installed source tree, or ``unknown`` outside a checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return result.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def register_challenger(client: MlflowClient, model_uri: str, name: str) -> ModelVersion:
    """Register a new version as ``@challenger``; the very first one is also ``@champion``."""
    registered = mlflow.register_model(model_uri, name)
    client.set_registered_model_alias(name, CHALLENGER, registered.version)
    if version_by_alias(client, name, CHAMPION) is None:
        client.set_registered_model_alias(name, CHAMPION, registered.version)
    return client.get_model_version(name, registered.version)
