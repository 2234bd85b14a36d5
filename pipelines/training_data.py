"""The labelled panel a model is trained and backtested on, with its feature metadata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from features.labels import label_name
from features.market import Market
from features.panel import PanelPlan, plan_panel
from features.registry import all_features, feature_checksum
from pipelines.engine import Engine, build_panel_with, dask_panel, sort_panel

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client


@dataclass(frozen=True)
class TrainingData:
    panel: pd.DataFrame  # labelled rows: zi_number, as_of, features, onset_{H}w
    horizon: int
    features: list[str]
    family_of: dict[str, str]
    feature_checksum: str
    skipped_families: dict[str, tuple[str, ...]]
    observed_until: pd.Timestamp

    @property
    def label(self) -> str:
        return label_name(self.horizon)


def training_data(
    market: Market,
    horizon: int,
    min_days: int = 14,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    engine: Engine = "pandas",
    scheduler: str | None = None,
) -> TrainingData:
    """Build the point-in-time panel for one horizon; keep rows whose whole window is observed.

    Near the end of the data a row can already be a sure positive (an onset was
    seen) while its negatives are still unknown; keeping those positives alone
    would over-represent onsets in the most recent weeks, exactly where the
    calibration slice and the last backtest fold lie. So a row is used only when
    its whole label window lies before the observation end.
    """
    plan = plan_panel(market, start=start, end=end, horizons=(horizon,), min_days=min_days)
    panel = build_panel_with(
        engine,
        market,
        start=start,
        end=end,
        horizons=(horizon,),
        min_days=min_days,
        scheduler=scheduler,
    )
    label = label_name(horizon)
    return _training_data(_labelled(panel, label, horizon, plan.observed_until), plan, horizon)


def _training_data(labelled: pd.DataFrame, plan: PanelPlan, horizon: int) -> TrainingData:
    labelled = labelled.reset_index(drop=True)
    if labelled.empty:
        label = label_name(horizon)
        raise ValueError(
            f"no row has an observed {label} label: the data must cover more than {horizon} weeks"
        )
    return TrainingData(
        panel=labelled,
        horizon=horizon,
        features=_feature_names(plan),
        family_of={f.name: family.name for family, f in all_features()},
        feature_checksum=feature_checksum(plan.selection.features),
        skipped_families=dict(plan.selection.skipped),
        observed_until=plan.observed_until,
    )


def _labelled(
    part: pd.DataFrame, label: str, horizon: int, observed_until: pd.Timestamp
) -> pd.DataFrame:
    """The rows of one partition that ``training_data`` keeps (label window observed)."""
    window_closed = part["as_of"] + pd.Timedelta(weeks=horizon) <= observed_until
    return part[part[label].notna() & window_closed]


def dask_training_rows(
    client: Client,
    market: Market,
    horizon: int,
    min_days: int = 14,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    partitions: int | None = None,
) -> tuple[dd.DataFrame, list[str]]:
    """The rows of ``training_data`` as a lazy Dask DataFrame of the engine's panel
    partitions (sub-markets built on the workers), and the feature names: for
    ``DaskShortageRiskModel.fit_partitions``, so no row has to pass through this process.
    Same rows as ``training_data(...).panel``, in partition order, not sorted."""
    plan = plan_panel(market, start=start, end=end, horizons=(horizon,), min_days=min_days)
    return _dask_rows(client, market, plan, horizon, partitions), _feature_names(plan)


def _dask_rows(
    client: Client, market: Market, plan: PanelPlan, horizon: int, partitions: int | None = None
) -> dd.DataFrame:
    panel = dask_panel(client, market, plan, partitions)
    label = label_name(horizon)
    return panel.map_partitions(_labelled, label, horizon, plan.observed_until, meta=panel._meta)


def _feature_names(plan: PanelPlan) -> list[str]:
    return [f.name for f in plan.selection.features]


def dask_training_data(
    client: Client,
    market: Market,
    horizon: int,
    min_days: int = 14,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> tuple[TrainingData, dd.DataFrame]:
    """``training_data`` on the dask engine, and its rows as panel partitions kept on the
    workers: the panel is built once there; the model trains from the partitions, while
    a copy is collected here for what reads the whole panel in this process (backtest
    folds, SHAP, the drift profile, MLflow parameters)."""
    plan = plan_panel(market, start=start, end=end, horizons=(horizon,), min_days=min_days)
    rows = client.persist(_dask_rows(client, market, plan, horizon))
    return _training_data(sort_panel(rows.compute()), plan, horizon), rows
