"""Input that would be silently misread by the models: clear errors instead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsmirrors.data import validate_series
from tsmirrors.forecasting import ConvexAR
from tsmirrors.models.convex import ConvexNetRegressor


def hourly(values):
    index = pd.date_range("2020-01-01", periods=len(values), freq="h", tz="UTC")
    return pd.Series(values, index=index)


@pytest.fixture
def prices():
    rng = np.random.default_rng(0)
    return hourly(100 + np.cumsum(rng.normal(size=60)))


def test_huge_prices_get_a_scale_message(prices):
    with pytest.raises(ValueError) as info:
        ConvexAR().fit(prices * 1e300)
    message = str(info.value)
    assert message.startswith("y has values of magnitude 1.")
    assert "beyond the scale the solvers handle in float64" in message
    assert "divide it by 1e+302" in message


def test_tiny_prices_get_a_scale_message(prices):
    with pytest.raises(ValueError, match=r"^y varies only by .* below the scale"):
        ConvexAR().fit(prices * 1e-300)
    # Within the bounds the data is left alone.
    assert validate_series(prices * 1e-50).iloc[0] == prices.iloc[0] * 1e-50


def test_regressor_refuses_a_target_it_would_predict_as_nan():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 1))
    y = X[:, 0] ** 2
    with pytest.raises(ValueError, match=r"^y has values of magnitude .*e\+300"):
        ConvexNetRegressor().fit(X, y * 1e300)
    with pytest.raises(ValueError, match=r"^X has values of magnitude"):
        ConvexNetRegressor().fit(X * 1e300, y)
    with pytest.raises(ValueError, match=r"^X varies only by"):
        ConvexNetRegressor().fit(X * 1e-300, y)


def test_log_return_errors_name_timestamps():
    y = pd.Series(
        [1.0, 2.0, -1.0, 3.0, 0.0, 5.0, 6.0],
        index=pd.date_range("2020-01-01", periods=7, freq="D"),
    )
    with pytest.raises(ValueError) as info:
        ConvexAR(target="log_return").fit(y)
    assert str(info.value) == (
        "target='log_return' needs positive values, got -1.0 at timestamps "
        "2020-01-03 00:00:00, 2020-01-05 00:00:00; use target='difference', or "
        "fix or fill those values"
    )


def test_integer_index_with_a_step_forecasts_on_that_step():
    y = pd.Series(np.sin(np.arange(200) / 7.0) + np.arange(200) / 50.0)
    y.index = pd.RangeIndex(7, 407, 2)  # 7, 9, ..., 405
    forecast = ConvexAR().fit(y).predict(3)
    assert forecast.index.tolist() == [407, 409, 411]
    plain = y.reset_index(drop=True)
    assert ConvexAR().fit(plain).predict(2).index.tolist() == [200, 201]
