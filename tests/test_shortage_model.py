"""The LightGBM shortage-risk model: conventions, determinism, slices, explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from models.config import ModelConfig
from models.shortage_model import ShortageRiskModel, time_slices

FAST = ModelConfig(
    max_rounds=200, early_stopping_rounds=20, early_stopping_weeks=20, calibration_weeks=20,
    min_data_in_leaf=20, monotone_constraints={"suppliers": -1},
)  # fmt: skip


def planted_panel(n_packs: int = 150, n_weeks: int = 120, seed: int = 0) -> pd.DataFrame:
    """Weekly rows whose onset risk falls with suppliers and rises for cheap packs."""
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2020-01-06", periods=n_weeks, freq="7D")
    packs = np.repeat(np.arange(n_packs), n_weeks)
    suppliers = rng.integers(1, 8, n_packs)[packs] + 0.0
    cheap = (rng.random(n_packs) < 0.5)[packs]
    form = pd.Categorical(rng.choice(["tablet", "capsule", "injection"], n_packs)[packs])
    noise = rng.normal(size=len(packs))
    logit = -3.0 - 0.5 * suppliers + 1.5 * cheap + 0.8 * (form == "injection") + 0.1 * noise
    label = (rng.random(len(packs)) < 1 / (1 + np.exp(-logit))).astype(float)
    return pd.DataFrame(
        {
            "as_of": np.tile(weeks.to_numpy(), n_packs),
            "suppliers": suppliers,
            "cheap": cheap.astype(float),
            "form": form,
            "noise": noise,
            "label": label,
        }
    )


FEATURES = ["suppliers", "cheap", "form", "noise"]


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return planted_panel()


@pytest.fixture(scope="module")
def fitted(panel: pd.DataFrame) -> ShortageRiskModel:
    return ShortageRiskModel(FAST, horizon=4).fit(panel[FEATURES], panel["label"], panel["as_of"])


def test_fit_returns_self_and_sets_fitted_attributes(panel: pd.DataFrame) -> None:
    model = ShortageRiskModel(FAST, horizon=4)
    assert not hasattr(model, "booster_")
    assert model.fit(panel[FEATURES], panel["label"], panel["as_of"]) is model
    assert list(model.feature_names_in_) == FEATURES
    assert model.categories_ == {"form": ["capsule", "injection", "tablet"]}
    assert clone(model).get_params() == model.get_params()


def test_inputs_are_not_mutated(panel: pd.DataFrame, fitted: ShortageRiskModel) -> None:
    before = panel.copy()
    fitted.predict_proba(panel[FEATURES])
    fitted.contributions(panel[FEATURES].head(50))
    pd.testing.assert_frame_equal(panel, before)


def test_same_data_config_and_seed_give_identical_scores(
    panel: pd.DataFrame, fitted: ShortageRiskModel
) -> None:
    again = ShortageRiskModel(FAST, horizon=4).fit(panel[FEATURES], panel["label"], panel["as_of"])
    np.testing.assert_array_equal(
        fitted.predict_proba(panel[FEATURES]), again.predict_proba(panel[FEATURES])
    )
    assert fitted.booster_.model_to_string() == again.booster_.model_to_string()


def test_model_learns_the_planted_signal(fitted: ShortageRiskModel) -> None:
    test = planted_panel(seed=1)
    p = fitted.predict_proba(test[FEATURES])[:, 1]
    assert roc_auc_score(test["label"], p) > 0.75
    assert abs(p.mean() - test["label"].mean()) < 0.3 * test["label"].mean()


def test_monotone_constraint_holds(fitted: ShortageRiskModel) -> None:
    grid = pd.DataFrame(
        {
            "suppliers": np.arange(1.0, 8.0),
            "cheap": 1.0,
            "form": pd.Categorical(["tablet"] * 7),
            "noise": 0.0,
        }
    )
    raw = fitted.decision_function(grid)
    assert np.all(np.diff(raw) <= 1e-12)


def test_categories_are_restored_from_training(
    panel: pd.DataFrame, fitted: ShortageRiskModel
) -> None:
    rows = panel[FEATURES].head(30)
    as_text = rows.assign(form=rows["form"].astype(str))
    reordered = rows.assign(
        form=rows["form"].cat.reorder_categories(["tablet", "injection", "capsule"])
    )
    expected = fitted.predict_proba(rows)
    np.testing.assert_array_equal(fitted.predict_proba(as_text), expected)
    np.testing.assert_array_equal(fitted.predict_proba(reordered), expected)


def test_shap_contributions_add_up_to_raw_score(
    panel: pd.DataFrame, fitted: ShortageRiskModel
) -> None:
    rows = panel[FEATURES].sample(200, random_state=0)
    shap = fitted.contributions(rows)
    assert list(shap.columns) == [*FEATURES, "base_value"]
    np.testing.assert_allclose(shap.sum(axis=1), fitted.decision_function(rows), atol=1e-9)
    mean_abs = shap[FEATURES].abs().mean()
    assert mean_abs["suppliers"] > mean_abs["noise"]


def test_time_slices_are_ordered_with_horizon_gaps(panel: pd.DataFrame) -> None:
    slices = time_slices(panel["as_of"], FAST, horizon=4)
    weeks = panel["as_of"]
    trees_last = weeks[slices.trees].max()
    es_first, es_last = weeks[slices.early_stopping].min(), weeks[slices.early_stopping].max()
    cal_first = weeks[slices.calibration].min()
    assert (es_first - trees_last).days == 7 * 4
    assert (cal_first - es_last).days == 7 * 4
    assert weeks[slices.calibration].nunique() == FAST.calibration_weeks
    assert weeks[slices.early_stopping].nunique() == FAST.early_stopping_weeks
    assert not (slices.trees & slices.calibration).any()


def test_too_short_history_is_a_clear_error(panel: pd.DataFrame) -> None:
    short = panel[panel["as_of"] < panel["as_of"].min() + pd.Timedelta(weeks=40)]
    with pytest.raises(ValueError, match="at least"):
        ShortageRiskModel(FAST, horizon=4).fit(short[FEATURES], short["label"], short["as_of"])


def test_unobserved_labels_are_refused(panel: pd.DataFrame) -> None:
    y = panel["label"].copy()
    y.iloc[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ShortageRiskModel(FAST, horizon=4).fit(panel[FEATURES], y, panel["as_of"])


def test_trees_are_regrown_on_more_recent_weeks(panel: pd.DataFrame) -> None:
    X, y, weeks = panel[FEATURES], panel["label"], panel["as_of"]
    fitted = {
        refit: ShortageRiskModel(FAST.model_copy(update={"refit": refit}), horizon=4).fit(
            X, y, weeks
        )
        for refit in ("none", "early_stopping", "all_weeks")
    }
    none, recent, every = fitted["none"], fitted["early_stopping"], fitted["all_weeks"]
    assert none.best_iteration_ == recent.best_iteration_ == every.best_iteration_
    for model in fitted.values():
        assert model.booster_.num_trees() == model.best_iteration_
    assert none.n_rows_["trees"] < recent.n_rows_["trees"] < every.n_rows_["trees"]
    boosters = {m.booster_.model_to_string() for m in fitted.values()}
    assert len(boosters) == 3
    # The final regrow keeps the calibration map fitted on weeks its trees had not seen.
    assert every.calibrator_.coef_ == pytest.approx(recent.calibrator_.coef_)
    assert every.calibrator_.coef_ != pytest.approx(none.calibrator_.coef_)


def test_linear_offset_carries_a_trend_past_where_trees_run_out_of_rows() -> None:
    """Risk rising by the same step with every past episode: the few packs with many
    episodes share one leaf in trees alone, the linear offset keeps the slope."""
    rng = np.random.default_rng(12345)
    n_packs, n_weeks = 400, 120
    packs = np.repeat(np.arange(n_packs), n_weeks)
    episodes = rng.geometric(0.45, len(packs)) - 1.0
    y = (rng.random(len(packs)) < 1 / (1 + np.exp(4.0 - 0.45 * episodes))).astype(float)
    X = pd.DataFrame({"episodes": episodes, "noise": rng.normal(size=len(packs))})
    weeks = pd.Series(np.tile(pd.date_range("2020-01-06", periods=n_weeks, freq="7D"), n_packs))
    grid = pd.DataFrame({"episodes": [7.0, 10.0], "noise": 0.0})
    config = FAST.model_copy(
        update={"min_data_in_leaf": 200, "monotone_constraints": {"episodes": 1}}
    )
    steps = {}
    for offset in (True, False):
        model = ShortageRiskModel(config.model_copy(update={"linear_offset": offset}), 4)
        model.fit(X, y, weeks)
        assert (model.offset_ is not None) == offset
        raw = model.decision_function(grid)
        trees = model.booster_.predict(grid, raw_score=True)
        linear = model.offset_.decision_function(grid) if offset else 0.0
        assert raw == pytest.approx(trees + linear)
        steps[offset] = raw[1] - raw[0]
    assert steps[True] > 1.0  # three more episodes: 3 x 0.45 in the generating log-odds
    assert steps[False] < 0.75


@pytest.mark.parametrize("calibration", ["platt", "isotonic", "none"])
def test_probabilities_match_the_observed_rate(panel: pd.DataFrame, calibration: str) -> None:
    """Every calibration setting undoes the negative sampling: without a calibration map
    the log-odds are shifted back by the sampling rate, not taken as they are."""
    config = FAST.model_copy(update={"calibration": calibration})
    model = ShortageRiskModel(config, horizon=4).fit(
        panel[FEATURES], panel["label"], panel["as_of"]
    )
    observed = panel["label"].mean()
    predicted = model.predict_proba(panel[FEATURES])[:, 1].mean()
    assert predicted == pytest.approx(observed, rel=0.15)
