"""The shortage-risk model with its trees grown on a Dask cluster (LightGBM data-parallel).

Same time slices, sampling, parameters and calibration as ``ShortageRiskModel``;
only the trees (on the tree slice, plus the early-stopping slice when the config
regrows on it) are trained by ``lightgbm.dask.DaskLGBMClassifier``. That
estimator has no early stopping, so the number of rounds is fixed up front:
either given (``n_rounds``, e.g. from the config) or taken from the early
stopping of a single-machine ``ShortageRiskModel`` fitted on a seeded share of
the packs (``sample_share``). The result is a plain LightGBM booster, and
``to_local()`` hands back an ordinary ``ShortageRiskModel``, so MLflow logging,
SHAP contributions and scoring do not know how it was trained. Dask is imported
only when fitting: the module loads without the optional ``dask`` extra.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.config import ModelConfig
from models.shortage_model import ShortageRiskModel, time_slices

if TYPE_CHECKING:
    from distributed import Client

DEFAULT_SAMPLE_SHARE = 0.25
# Set per worker by LightGBM's Dask layer, or meaningless without a validation set.
_LOCAL_ONLY_PARAMS = ("num_threads", "metric")
FITTED = (
    "feature_names_in_", "categories_", "classes_", "params_", "booster_",
    "best_iteration_", "calibrator_", "n_rows_",
)  # fmt: skip


def sample_packs(packs: pd.Series, share: float, seed: int) -> np.ndarray:
    """Row mask of a seeded share of the packs (whole packs: their weekly rows are dependent)."""
    unique = np.sort(pd.unique(packs.astype("str")))
    draw = np.random.default_rng(seed).random(len(unique)) < share
    return np.asarray(packs.astype("str").isin(unique[draw]))


def rounds_from_sample(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    as_of: pd.Series,
    packs: pd.Series | None,
    config: ModelConfig,
    horizon: int,
    share: float = DEFAULT_SAMPLE_SHARE,
) -> int:
    """Best iteration of a single-machine fit (with early stopping) on a share of the packs;
    all rows when ``packs`` is not given."""
    rows = np.ones(len(X), bool) if packs is None else sample_packs(packs, share, config.seed)
    local = ShortageRiskModel(config, horizon=horizon)
    local.fit(X[rows], np.asarray(y)[rows], pd.Series(np.asarray(as_of)[rows]))
    return int(local.best_iteration_)


def _dask_frame(client: Client, frame: pd.DataFrame, target: np.ndarray, n_parts: int) -> tuple:
    """Row blocks scattered to the workers (not embedded in the task graph) as Dask
    collections of features and labels."""
    import dask.dataframe as dd

    frame = frame.reset_index(drop=True)
    bounds = np.linspace(0, len(frame), n_parts + 1).astype(int)
    blocks = [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True) if hi > lo]
    labels = pd.Series(target, name="label")
    X = client.scatter([frame.iloc[b] for b in blocks])
    y = client.scatter([labels.iloc[b] for b in blocks])
    return (
        dd.from_delayed(X, meta=frame.head(0), verify_meta=False),
        dd.from_delayed(y, meta=labels.head(0), verify_meta=False),
    )


class DaskShortageRiskModel(ShortageRiskModel):
    """``ShortageRiskModel`` whose trees are trained on the Dask cluster of ``client``
    (or of the current default client)."""

    def __init__(
        self,
        config: ModelConfig | None = None,
        horizon: int = 13,
        n_rounds: int | None = None,
        sample_share: float = DEFAULT_SAMPLE_SHARE,
    ) -> None:
        super().__init__(config=config, horizon=horizon)
        self.n_rounds = n_rounds
        self.sample_share = sample_share

    def fit(
        self,
        X: pd.DataFrame,
        y: pd.Series | np.ndarray,
        as_of: pd.Series,
        packs: pd.Series | None = None,
        client: Client | None = None,
    ) -> DaskShortageRiskModel:
        from distributed import default_client
        from lightgbm.dask import DaskLGBMClassifier

        config = self._config
        client = client or default_client()
        target = np.asarray(y, dtype=float)
        if np.isnan(target).any():
            raise ValueError("labels contain NaN: drop rows whose horizon is not yet observed")
        rounds = self.n_rounds or rounds_from_sample(
            X, target, as_of, packs, config, self.horizon, self.sample_share
        )
        slices = time_slices(pd.Series(np.asarray(as_of)), config, self.horizon)
        for name in ("trees", "calibration"):
            if target[getattr(slices, name)].sum() == 0:
                raise ValueError(f"the {name} slice has no positive labels")
        self._learn_columns(X)
        frame = self._encode(X)
        grown_on = slices.trees
        if config.refit_on_early_stopping_slice:  # as the single-machine final trees
            grown_on = slices.trees | slices.early_stopping
        trees = grown_on & self._keep_for_trees(target, config)
        self.params_ = self._lgb_params(config, target[trees], list(X.columns))
        params = {k: v for k, v in self.params_.items() if k not in _LOCAL_ONLY_PARAMS}
        n_workers = max(1, len(client.scheduler_info()["workers"]))
        dX, dy = _dask_frame(client, frame[trees], target[trees], n_workers)
        estimator = DaskLGBMClassifier(client=client, n_estimators=rounds, **params)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(Found|Parameter).*", module="lightgbm")
            estimator.fit(dX, dy)
        self.booster_ = estimator.booster_
        self.best_iteration_ = rounds
        raw = self._raw(frame[slices.calibration])
        self.calibrator_ = self._fit_calibrator(config, raw, target[slices.calibration])
        self.n_rows_ = {
            "trees": int(trees.sum()),
            "early_stopping": 0,
            "calibration": int(slices.calibration.sum()),
        }
        return self

    def to_local(self) -> ShortageRiskModel:
        """A plain ``ShortageRiskModel`` with the same booster and calibration (picklable
        and loadable without Dask)."""
        local = ShortageRiskModel(self.config, horizon=self.horizon)
        for name in FITTED:
            setattr(local, name, getattr(self, name))
        return local
