"""AR(1)+bias and naive baselines."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import check_id, sklearn_checks

from tsmirrors.models.baselines import (
    AR1Fit,
    AR1Regressor,
    NaiveLastValue,
    ar1_bias_fit,
)


def ar_series(n=200, c=0.3, phi=0.8, seed=0):
    rng = np.random.default_rng(seed)
    x = np.empty(n)
    x[0] = c / (1 - phi)
    for t in range(1, n):
        x[t] = c + phi * x[t - 1] + 0.5 * rng.normal()
    return x


def test_ar1_bias_fit_matches_polyfit():
    x = ar_series()
    fit = ar1_bias_fit(x)
    slope, intercept = np.polyfit(x[:-1], x[1:], 1)
    assert isinstance(fit, AR1Fit)
    assert fit.intercept == pytest.approx(intercept, rel=1e-10)
    assert fit.slope == pytest.approx(slope, rel=1e-10)
    resid = x[1:] - intercept - slope * x[:-1]
    assert fit.sigma2 == pytest.approx(np.mean(resid**2), rel=1e-10)


def test_ar1_bias_fit_by_hand():
    fit = ar1_bias_fit([1.0, 2.0, 2.5, 2.75, 2.875])
    assert fit.intercept == pytest.approx(1.5, abs=1e-12)
    assert fit.slope == pytest.approx(0.5, abs=1e-12)
    assert fit.sigma2 == pytest.approx(0.0, abs=1e-20)


def test_regressor_on_lags_agrees_with_autoreg_on_series():
    x = ar_series(seed=1)
    on_lags = AR1Regressor().fit(x[:-1, None], x[1:])
    on_series = AR1Regressor().fit_series(x)
    slope, intercept = np.polyfit(x[:-1], x[1:], 1)
    for model in (on_lags, on_series):
        assert model.intercept_ == pytest.approx(intercept, rel=1e-10)
        assert model.slope_ == pytest.approx(slope, rel=1e-10)
        assert model.coef_.tolist() == [model.slope_]
    assert on_lags.sigma2_ == pytest.approx(on_series.sigma2_, rel=1e-10)
    X_new = np.array([[0.0], [1.0], [-2.5]])
    np.testing.assert_allclose(
        on_lags.predict(X_new), on_series.predict(X_new), rtol=1e-10
    )
    np.testing.assert_allclose(
        on_lags.predict(X_new), intercept + slope * X_new[:, 0], rtol=1e-10
    )


def test_ar1_reads_the_chosen_column():
    x = ar_series(seed=2)
    X = np.column_stack([np.zeros(len(x) - 1), x[:-1]])
    model = AR1Regressor(column=1).fit(X, x[1:])
    assert model.slope_ == pytest.approx(np.polyfit(x[:-1], x[1:], 1)[0])
    with pytest.raises(ValueError, match=r"column must be an integer in \[0, 1\]"):
        AR1Regressor(column=2).fit(X, x[1:])


def test_naive_last_value():
    X = np.array([[1.0, 9.0], [2.0, 8.0], [4.0, 7.0]])
    y = np.array([2.0, 4.0, 5.0])
    model = NaiveLastValue().fit(X, y)
    np.testing.assert_array_equal(model.predict(X), [1.0, 2.0, 4.0])
    assert model.last_value_ == 5.0
    np.testing.assert_array_equal(
        NaiveLastValue(column=1).fit(X, y).predict(X), [9.0, 8.0, 7.0]
    )
    series = NaiveLastValue().fit_series([3.0, 1.0, 6.0])
    assert series.last_value_ == 6.0
    np.testing.assert_array_equal(series.predict([[2.0]]), [2.0])


def test_bad_series():
    with pytest.raises(ValueError, match="at least 3 values, got 2"):
        ar1_bias_fit([1.0, 2.0])
    with pytest.raises(ValueError, match="constant"):
        ar1_bias_fit([1.0, 1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        ar1_bias_fit([1.0, np.nan, 2.0, 3.0])
    with pytest.raises(ValueError, match="1-D series"):
        ar1_bias_fit(np.ones((4, 2)))
    with pytest.raises(ValueError, match="at least 2 distinct values"):
        AR1Regressor().fit(np.ones((5, 1)), np.arange(5.0))




@pytest.mark.parametrize(
    "estimator, check",
    sklearn_checks(AR1Regressor()) + sklearn_checks(NaiveLastValue()),
    ids=check_id,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
