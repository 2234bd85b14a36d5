"""The labelled panel a model is trained and backtested on, with its feature metadata."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.labels import label_name
from features.market import Market
from features.panel import plan_panel
from features.registry import all_features, feature_checksum
from pipelines.engine import Engine, build_panel_with


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
    window_closed = panel["as_of"] + pd.Timedelta(weeks=horizon) <= plan.observed_until
    labelled = panel[panel[label].notna() & window_closed].reset_index(drop=True)
    if labelled.empty:
        raise ValueError(
            f"no row has an observed {label} label: the data must cover more than {horizon} weeks"
        )
    features = [f.name for f in plan.selection.features]
    return TrainingData(
        panel=labelled,
        horizon=horizon,
        features=features,
        family_of={f.name: family.name for family, f in all_features()},
        feature_checksum=feature_checksum(plan.selection.features),
        skipped_families=dict(plan.selection.skipped),
        observed_until=plan.observed_until,
    )
