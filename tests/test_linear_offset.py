"""The linear offset: scikit-learn's logistic regression, sign bounds, exact contributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from models import linear_offset
from models.config import ModelConfig
from models.linear_design import linear_design, split_columns
from models.linear_offset import LinearLogOdds
from models.shortage_model import fit_linear_offset


def planted(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Risk rises with episodes, falls with suppliers, depends on the form; gaps in both."""
    rng = np.random.default_rng(seed)
    episodes = rng.poisson(1.0, n).astype("float32")
    suppliers = rng.integers(1, 8, n).astype("float32")
    form = pd.Categorical(
        rng.choice(["tablet", "capsule", "injection", "rare"], n, p=[0.5, 0.3, 0.198, 0.002])
    )
    logit = -2.5 + 0.6 * episodes - 0.3 * suppliers + 0.7 * (form == "injection")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    frame = pd.DataFrame({"episodes": episodes, "suppliers": suppliers, "form": form})
    frame.loc[frame.index[::37], "episodes"] = np.nan
    frame.loc[frame.index[::53], "form"] = np.nan
    return frame, y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return planted()


def test_matches_scikit_learn_logistic_regression(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = data
    ours = LinearLogOdds(C=0.5, tol=1e-8).fit(X, y)
    # The slow obvious path: scikit-learn's solver on the same design matrix.
    design = linear_design(*split_columns(X), min_frequency=20)
    matrix = design.fit_transform(X)
    reference = LogisticRegression(C=0.5, tol=1e-10, max_iter=5000).fit(matrix, y)
    assert ours.decision_function(X) == pytest.approx(reference.decision_function(matrix), abs=1e-4)


def test_sign_bounds_hold_even_against_the_data(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = data
    free = LinearLogOdds().fit(X, y)
    bounded = LinearLogOdds(monotone_constraints={"suppliers": 1, "episodes": 1}).fit(X, y)
    grid = pd.DataFrame(
        {"episodes": 1.0, "suppliers": np.arange(1.0, 8.0), "form": pd.Categorical(["tablet"] * 7)}
    )
    assert np.all(np.diff(free.decision_function(grid)) < 0)  # the data say risk falls
    assert np.all(np.diff(bounded.decision_function(grid)) >= 0)  # the bound says it may not
    assert np.all(np.diff(bounded.decision_function(grid)) <= 1e-9)  # so it is flat


def test_contributions_add_up_and_stay_in_their_column(
    data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = data
    model = LinearLogOdds().fit(X, y)
    terms = model.contributions(X)
    assert terms.shape == (len(X), 3)
    assert terms.sum(axis=1) + model.expected_value_ == pytest.approx(
        model.decision_function(X), abs=1e-9
    )
    # A column's term depends on that column only; missing values get their own term.
    form_term = pd.Series(terms[:, 2]).groupby(X["form"].astype("object").fillna("gap").to_numpy())
    assert (form_term.nunique() == 1).all() and form_term.ngroups == 5
    assert terms[:, 2].mean() == pytest.approx(0.0, abs=1e-9)
    assert terms[X["episodes"].isna().to_numpy(), 0] == pytest.approx(
        terms[X["episodes"].isna().to_numpy(), 0][0]
    )


def test_scikit_learn_conventions(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = data
    before = X.copy()
    model = LinearLogOdds(C=2.0)
    assert model.fit(X, y) is model
    pd.testing.assert_frame_equal(X, before)
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(clone(model), "coef_")
    again = LinearLogOdds(C=2.0).fit(X, y)
    assert np.array_equal(again.coef_, model.coef_)


def test_bad_labels_are_refused(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = data
    with pytest.raises(ValueError, match="0 or 1"):
        LinearLogOdds().fit(X, y * 2)


def test_chunked_scoring_equals_scoring_at_once(
    data: tuple[pd.DataFrame, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = data
    model = LinearLogOdds().fit(X, y)
    whole, terms = model.decision_function(X), model.contributions(X)
    monkeypatch.setattr(linear_offset, "CHUNK_ROWS", 777)
    assert np.array_equal(model.decision_function(X), whole)
    assert np.array_equal(model.contributions(X), terms)


def test_offset_is_fitted_on_a_capped_uniform_sample(
    data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = data
    config = ModelConfig(linear_max_rows=2000)
    capped = fit_linear_offset(X, y, config)
    assert capped is not None and capped.n_rows_ == 2000
    again = fit_linear_offset(X, y, config)
    assert again is not None and np.array_equal(again.coef_, capped.coef_)
    # Uniform rows keep the class balance, so the intercept stays on the same scale.
    whole = fit_linear_offset(X, y, ModelConfig())
    assert whole is not None and whole.n_rows_ == len(X)
    predicted = 1 / (1 + np.exp(-capped.decision_function(X)))
    assert predicted.mean() == pytest.approx(y.mean(), rel=0.15)
    assert fit_linear_offset(X, y, ModelConfig(linear_offset=False)) is None
