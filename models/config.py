"""Model settings with defaults that work out of the box on a weekly pack panel."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Directions known from the domain: more suppliers never raise risk; a pack with
# more past shortages, a cheap pack (AIP <= EUR 15, Farmanco), a sole preferred
# pack carrying more insured lives, or a supplier that lost more tenders is never
# safer. Past shortages are constrained through one count (156 weeks): the other
# history features overlap with it, and their effect at a fixed 156-week count
# has no known sign (fitted freely, the 52-week count comes out negative there).
# Constraints also keep small leaves from memorising individual packs.
DEFAULT_MONOTONE: dict[str, Literal[-1, 1]] = {
    "sup_mahs": -1,
    "hist_episodes_156w": 1,
    "price_aip_le_15": 1,
    "tender_share": 1,
    "tender_lost_share": 1,
}


class ModelConfig(BaseModel):
    """LightGBM, early-stopping and calibration settings for one horizon.

    The training window is cut in time into three slices, oldest first: trees,
    early stopping, calibration; each later slice starts ``horizon`` weeks after
    the previous one ends so that no label window reaches into the next slice.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    learning_rate: float = Field(0.05, gt=0, le=1)
    # Few leaves: weekly rows of one pack are near copies, so deep trees memorise
    # packs; shortage drivers act mostly additively on the log-odds.
    num_leaves: int = Field(4, ge=2)
    min_data_in_leaf: int = Field(200, ge=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    bagging_freq: int = Field(1, ge=0)
    lambda_l2: float = Field(1.0, ge=0)
    # Categorical splits on ATC groups overfit fast when positives are rare.
    cat_smooth: float = Field(50.0, ge=0)
    cat_l2: float = Field(20.0, ge=0)
    min_data_per_group: int = Field(500, ge=1)
    max_cat_threshold: int = Field(8, ge=1)
    linear_offset: bool = Field(
        True,
        description="boost the trees from the log-odds of a logistic regression on the same "
        "features (monotone signs kept): it carries smooth trends such as risk rising with "
        "every past episode, which trees split into coarse steps when positives are rare",
    )
    linear_c: float = Field(
        1.0, gt=0, description="inverse L2 strength of the linear offset (scikit-learn's C)"
    )
    linear_max_rows: int = Field(
        1_000_000,
        ge=1000,
        description="the linear offset is fitted on a seeded uniform sample of at most this "
        "many of the trees' rows (a few hundred coefficients; bounds time and memory)",
    )
    max_rounds: int = Field(1000, ge=1)
    early_stopping_rounds: int = Field(50, ge=1)
    early_stopping_metric: Literal["binary_logloss", "average_precision", "auc"] = Field(
        "binary_logloss",
        description="score watched on the early-stopping slice; log loss is smooth where the "
        "rank metrics jump with a handful of onsets (the trees' log-odds are shifted back by "
        "the negative sampling rate before scoring)",
    )
    early_stopping_weeks: int = Field(26, ge=1, description="weeks in the early-stopping slice")
    refit: Literal["all_weeks", "early_stopping", "none"] = Field(
        "all_weeks",
        description="after early stopping, regrow the chosen number of trees on more recent "
        "weeks: 'all_weeks' (every training week, calibration slice included; the calibration "
        "map comes from a fit that has not seen that slice), 'early_stopping' (trees + "
        "early-stopping weeks) or 'none'",
    )
    calibration: Literal["isotonic", "platt", "none"] = Field(
        "platt",
        description="Platt (logistic on the log-odds) is smooth and never claims certainty; "
        "isotonic is more flexible but steps to 0 or 1 where the slice has few positives",
    )
    calibration_weeks: int = Field(26, ge=1, description="weeks in the calibration slice")
    negative_sample_rate: float = Field(
        0.25,
        gt=0,
        le=1,
        description="share of negative rows kept for the trees (rare positives: faster, "
        "rebalanced; calibration on the untouched later slice restores probabilities)",
    )
    imbalance: Literal["sqrt", "balanced", "none"] = Field(
        "none", description="positive class weight on top of sampling: sqrt(neg/pos), neg/pos, 1"
    )
    monotone_constraints: dict[str, Literal[-1, 1]] = Field(
        default_factory=lambda: dict(DEFAULT_MONOTONE),
        description="feature -> direction of its effect on risk (features absent are ignored)",
    )
    seed: int = 0
    n_threads: int = Field(2, ge=1)
