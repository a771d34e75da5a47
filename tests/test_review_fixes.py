"""Small consistency fixes: calibrated point forecasts, quantile levels,
CLI help and messages, and the cross-validation plot of fixed settings."""

from __future__ import annotations

import numpy as np
import pytest

from tsmirrors.backtesting import backtest
from tsmirrors.forecasting import ConvexQuantileAR
from tsmirrors.forecasting.base import check_quantiles
from tsmirrors.forecasting.volatility import ScaledQuantileAR

TAUS = (0.05, 0.5, 0.95)


def _shifting_walk(n, seed):
    rng = np.random.default_rng(seed)
    sd = np.where(np.arange(n) < n // 2, 1.0, 3.0)
    return 500 + np.cumsum(sd * rng.standard_normal(n))


@pytest.mark.parametrize("make", [
    lambda: ConvexQuantileAR(quantiles=TAUS, lags=2, n_features=8, random_state=0,
                             adaptation_rate=0.02, calibration="adaptive"),
    lambda: ScaledQuantileAR(quantiles=TAUS, random_state=0, adaptation_rate=0.02,
                             calibration="adaptive"),
])
def test_adaptive_backtest_point_forecast_is_the_recalibrated_median(make):
    y = _shifting_walk(150, seed=1)
    kw = dict(initial_train_size=100, refit=25, window="rolling", progress=False,
              metrics=("mae",))
    scores, preds = backtest(make(), y, **kw)
    _, plain = backtest(make().set_params(calibration=None), y, **kw)
    # the recalibration moved the median, and y_pred moved with it
    assert not np.allclose(preds["q_0.5"], plain["q_0.5"])
    np.testing.assert_array_equal(preds["y_pred"], preds["q_0.5"])
    mae = np.mean(np.abs(preds["y_true"] - preds["y_pred"]))
    # the score is of the reported point forecast (same numbers, summed
    # in another order: a relative tolerance of a few ulps of the mean)
    assert scores.loc["overall", "mae"] == pytest.approx(mae, rel=1e-12)


def test_conformal_point_forecast_is_its_calibrated_median_too():
    y = _shifting_walk(150, seed=1)
    model = ConvexQuantileAR(quantiles=TAUS, lags=2, n_features=8, random_state=0,
                             calibration="conformal", calibration_size=30)
    _, preds = backtest(model, y, initial_train_size=100, refit=25,
                        progress=False, metrics=("mae",))
    np.testing.assert_array_equal(preds["y_pred"], preds["q_0.5"])


def test_levels_that_are_one_level_written_twice_are_refused():
    a, b = 0.1, 0.1 + 1e-17  # distinct floats that print alike
    assert a != b and f"{a:g}" == f"{b:g}"
    with pytest.raises(ValueError, match=r"quantiles 0\.1 and 0\.10000000000000002 "
                       r"are closer than 1e-09"):
        check_quantiles((a, b))
    with pytest.raises(ValueError, match="closer than"):
        ConvexQuantileAR(quantiles=(0.1, b, 0.9)).fit(_shifting_walk(60, seed=0))


@pytest.mark.parametrize("text", ["0.5", ["0.1", "0.9"], b"0.5"])
def test_quantiles_given_as_text_are_refused(text):
    with pytest.raises(ValueError, match="quantiles must be numbers, not text"):
        check_quantiles(text)


def test_backtest_labels_levels_that_agree_to_six_digits_apart():
    y = _shifting_walk(80, seed=2)
    model = ConvexQuantileAR(quantiles=(0.1, 0.1000001, 0.5, 0.9), lags=1,
                             n_features=4, random_state=0)
    _, preds = backtest(model, y, initial_train_size=70, refit=False,
                        progress=False, metrics=("mae",))
    names = [c for c in preds.columns if c.startswith("q_")]
    assert names == ["q_0.1", "q_0.1000001", "q_0.5", "q_0.9"]
