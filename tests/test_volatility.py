"""ScaledQuantileAR: a scale known at t, non-crossing quantiles, save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import VAR_TAUS as TAUS
from conftest import garch_like as _garch_like

from tsmirrors.forecasting.volatility import ScaledQuantileAR, ewma_volatility
from tsmirrors.io import load, save


@pytest.fixture(scope="module")
def fitted():
    y = _garch_like()
    return y, ScaledQuantileAR(quantiles=TAUS, lags=2, random_state=0).fit(y)


def test_ewma_volatility_matches_the_weighted_mean_of_past_squares():
    z = np.array([1.0, -2.0, 3.0, 0.5])
    lam = 0.9
    sigma = ewma_volatility(z, lam)
    for t in range(1, 5):
        w = lam ** np.arange(t - 1, -1, -1)
        expected = np.sqrt(np.sum(w * z[:t] ** 2) / w.sum())
        assert sigma[t] == pytest.approx(expected, rel=1e-12)
    assert np.isnan(sigma[0])


def test_ewma_volatility_of_absolute_changes_is_their_weighted_mean():
    z = np.array([1.0, -2.0, 3.0, -0.5])
    lam = 0.8
    sigma = ewma_volatility(z, lam, power=1)
    for t in range(1, 5):
        w = lam ** np.arange(t - 1, -1, -1)
        expected = np.sum(w * np.abs(z[:t])) / w.sum()
        assert sigma[t] == pytest.approx(expected, rel=1e-12)
    assert np.isnan(sigma[0])


@pytest.mark.parametrize("power", [0, 3, 1.5, True, "abs"])
def test_ewma_power_other_than_one_or_two_is_refused(power):
    with pytest.raises(ValueError, match="ewma_power must be 1 or 2"):
        ewma_volatility([1.0, 2.0], 0.9, power=power)
    with pytest.raises(ValueError, match="ewma_power must be 1 or 2"):
        ScaledQuantileAR(ewma_power=power).fit(_garch_like(100))


@pytest.mark.parametrize("volatility", ["convex", None])
def test_ewma_power_needs_the_ewma_scale(volatility):
    with pytest.raises(ValueError, match="ewma_power=1 needs volatility='ewma'"):
        ScaledQuantileAR(ewma_power=1, volatility=volatility).fit(_garch_like(100))
    # the default power is accepted with any scale
    ScaledQuantileAR(volatility=volatility).fit(_garch_like(100))


def test_ewma_volatility_has_no_look_ahead():
    rng = np.random.default_rng(1)
    z = rng.standard_normal(50)
    perturbed = z.copy()
    perturbed[30:] *= 100.0  # change everything from position 30 on
    a, b = ewma_volatility(z), ewma_volatility(perturbed)
    # sigma[t] uses z[:t]: entries up to t = 30 cannot move
    np.testing.assert_array_equal(a[:31], b[:31])
    assert np.all(a[31:] != b[31:])


def test_forecast_scale_ignores_values_after_the_cut(fitted):
    y, model = fitted
    cut = 300
    other = y.copy()
    other[cut:] += 50.0 * np.sin(np.arange(y.size - cut))
    a = model.predict_quantiles(1, last_window=y[:cut])
    b = model.predict_quantiles(1, last_window=other[:cut])
    pd.testing.assert_frame_equal(a, b)
    # fits on two series that agree up to the cut are the same model
    m1 = ScaledQuantileAR(quantiles=TAUS, random_state=0).fit(y[:cut])
    m2 = ScaledQuantileAR(quantiles=TAUS, random_state=0).fit(other[:cut])
    assert m1.sigma_ == m2.sigma_


def test_intervals_widen_after_large_moves(fitted):
    y, model = fitted
    calm = y[:150].copy()
    shocked = np.concatenate([calm, calm[-1] + np.array([40.0, -40.0, 40.0])])
    w_calm = np.ptp(model.predict_quantiles(1, last_window=calm).to_numpy())
    w_shock = np.ptp(model.predict_quantiles(1, last_window=shocked).to_numpy())
    assert w_shock > 2 * w_calm
    assert model.scale(shocked) > 2 * model.scale(calm)


def test_quantiles_never_cross():
    y = _garch_like(300, seed=3)
    # a tiny penalty lets each level overfit on its own: crossing is likely
    model = ScaledQuantileAR(quantiles=TAUS, lags=2, beta=1e-5, random_state=0)
    model.fit(y)
    rows = np.array(
        [model.predict_quantiles(1, last_window=y[:t]).to_numpy()[0]
         for t in range(40, 300, 7)]
    )
    assert np.all(np.diff(rows, axis=1) >= 0)


def test_constant_scale_without_a_volatility_model():
    y = _garch_like(300)
    model = ScaledQuantileAR(volatility=None, target="difference").fit(y)
    assert model.scale(y[:100]) == model.scale(y) == pytest.approx(np.std(np.diff(y)))


def test_save_and_load_give_the_same_forecasts(fitted, tmp_path):
    _, model = fitted
    path = save(model, tmp_path / "scaled.pkl")
    again = load(path)
    pd.testing.assert_frame_equal(
        again.predict_quantiles(1), model.predict_quantiles(1)
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"volatility": "garch"}, "volatility must be one of"),
        ({"decay": 1.0}, "decay must be a number in"),
        ({"target": "level"}, "target must be one of"),
        ({"calibration": "conformal"}, "calibration must be one of"),
    ],
)
def test_bad_parameters_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        ScaledQuantileAR(**params).fit(_garch_like(100))


def test_multi_step_is_refused(fitted):
    with pytest.raises(ValueError, match="one step ahead"):
        fitted[1].predict_quantiles(2)


@pytest.mark.parametrize("power", [1, 2])
def test_linear_baseline_matches_sklearn_on_the_scaled_rows(power):
    from sklearn.linear_model import QuantileRegressor

    from tsmirrors.forecasting.volatility import ScaledLinearQuantileAR

    y = _garch_like(200)
    model = ScaledLinearQuantileAR(
        quantiles=(0.1, 0.9), target="difference", decay=0.94, long_run=0.0,
        ewma_power=power,
    ).fit(y)
    z = np.diff(y)
    sigma = ewma_volatility(z, 0.94, power)
    rows = np.arange(10, z.size)
    X = np.column_stack([z[rows - 1] / sigma[rows], np.abs(z[rows - 1]) / sigma[rows]])
    ref = QuantileRegressor(quantile=0.9, alpha=0.0, solver="highs")
    ref.fit(X, z[rows] / sigma[rows])
    x_next = np.array([[z[-1], abs(z[-1])]]) / sigma[-1]
    expected = y[-1] + sigma[-1] * ref.predict(x_next)[0]
    # the same LP solved by HiGHS twice
    assert model.predict_quantiles(1).iloc[0, 1] == pytest.approx(expected, rel=1e-9)


def test_default_fits_are_reproducible():
    y = _garch_like(200, seed=5)
    a = ScaledQuantileAR(quantiles=TAUS).fit(y).predict_quantiles(1)
    b = ScaledQuantileAR(quantiles=TAUS).fit(y).predict_quantiles(1)
    pd.testing.assert_frame_equal(a, b)
