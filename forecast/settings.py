"""Run settings: defaults, then a TOML file (``--config``), then ``FORECAST_*`` variables.

Environment variables win over the file so a scheduler can redirect, say, the
tracking URI without editing it: ``FORECAST_TRACKING__TRACKING_URI=http://mlflow:5000``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from features.labels import DEFAULT_HORIZONS
from models.config import ModelConfig
from pipelines.backtest import BacktestConfig
from pipelines.tracking import TrackingConfig


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FORECAST_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    horizons: tuple[int, ...] = Field(DEFAULT_HORIZONS, description="label horizons in weeks")
    min_shortage_days: int = Field(14, ge=1, description="KNMP: unavailable >= 14 days")
    model: ModelConfig = Field(default_factory=ModelConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    promotion_margin: float = Field(
        0.0, ge=0, description="a challenger may be this much worse in PR-AUC and still win"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first, then values from the file (passed as init arguments).
        return env_settings, init_settings


class SettingsError(ValueError):
    pass


def load_settings(config_file: Path | None = None) -> Settings:
    """Settings from ``config_file`` (TOML) over the defaults; env variables win."""
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            values = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{config_file}: cannot read settings: {exc}") from exc
    try:
        return Settings(**values)
    except ValidationError as exc:
        where = str(config_file) if config_file else "settings"
        raise SettingsError(f"{where}: {exc}") from exc
