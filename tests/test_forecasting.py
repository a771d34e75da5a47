"""Forecasters: transforms, ConvexAR, AR(1), naive, quantile AR and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsmirrors.data import make_planted
from tsmirrors.forecasting import (
    TARGETS,
    AR1Forecaster,
    ConvexAR,
    ConvexQuantileAR,
    NaiveForecaster,
    make_transform,
)
from tsmirrors.nets import training_objective


@pytest.fixture(scope="module")
def planted():
    return make_planted(1200, n_neurons=5, random_state=3)


def _prices(n=400, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2017-01-01", periods=n, freq="h", tz="UTC")
    return pd.Series(
        1000 * np.exp(np.cumsum(0.01 * rng.normal(size=n))), index=idx, name="close"
    )


# -------------------------------------------------------------- transforms
@pytest.mark.parametrize("target", TARGETS)
def test_transforms_invert_exactly(target):
    levels = _prices(60).to_numpy()
    tr = make_transform(target).fit(levels[:40])
    z = tr.forward(levels)
    # a path of true transformed values maps back to the true levels
    start = 40 - 1
    path = z[start + 1 - tr.offset :][:10] if tr.offset else z[40:50]
    np.testing.assert_allclose(
        tr.path_to_levels(path, levels[39]), levels[40:50], rtol=1e-12
    )
    # the h-step aggregate maps to the level h steps ahead
    for h in (1, 3, 7):
        pos = np.array([40 - tr.offset])
        agg = tr.aggregate(z, pos, h)
        np.testing.assert_allclose(
            tr.to_level(agg, levels[39]), levels[39 + h], rtol=1e-12
        )


def test_transform_is_fitted_on_training_part_only():
    y = _prices(300)
    a = ConvexAR(target="standardize", beta=1e-3).fit(y.iloc[:200])
    changed = y.copy()
    changed.iloc[200:] *= 5
    b = ConvexAR(target="standardize", beta=1e-3).fit(changed.iloc[:200])
    assert a.transform_.mean_ == b.transform_.mean_
    pd.testing.assert_series_equal(a.predict(5), b.predict(5))


# ------------------------------------------------------------------ ConvexAR
def test_convex_ar_objective_is_section_4_scaling(planted):
    y = planted.series.iloc[:400]
    beta = 0.01
    model = ConvexAR(lags=1, target="level", beta=beta, normalize=False).fit(y)
    from tsmirrors.data import lag_embed

    X, t, _ = lag_embed(y.to_numpy(), lags=1)
    reg = model.regressor_
    r = t - reg.predict(X)
    T = t.size
    expected = np.mean(r**2) + beta * np.abs(reg.coef_).sum()
    assert model.objective_ == pytest.approx(expected, rel=1e-10)
    # the same value from the rebuilt torch network: (4.3) = (2/T) * (1.1)
    net = model.to_torch()
    value = 2.0 / T * training_objective(net, X, t, T * beta / 2)
    assert value == pytest.approx(model.objective_, rel=1e-8)


def test_convex_ar_forecast_index_and_recursion(planted):
    y = planted.series.iloc[:300]
    model = ConvexAR(lags=1, target="level", beta=1e-3, normalize=False).fit(y)
    fc = model.predict(4)
    expected_index = pd.date_range(y.index[-1], periods=5, freq="h")[1:]
    pd.testing.assert_index_equal(fc.index, expected_index)
    # recursive: step 2 is f(step 1)
    reg = model.regressor_
    step1 = reg.predict(np.array([[y.iloc[-1]]]))[0]
    step2 = reg.predict(np.array([[step1]]))[0]
    np.testing.assert_allclose(fc.to_numpy()[:2], [step1, step2], rtol=1e-12)
    # arrays work too, with positional labels
    arr = ConvexAR(lags=1, target="level", beta=1e-3).fit(y.to_numpy()).predict(2)
    assert list(arr.index) == [300, 301]


def test_convex_ar_recovers_planted_function(planted):
    y = planted.series.iloc[:1000]
    model = ConvexAR(lags=1, target="level", beta=1e-2, normalize=False).fit(y)
    grid = np.linspace(np.quantile(y, 0.05), np.quantile(y, 0.95), 50)
    err = model.regressor_.predict(grid[:, None]) - planted.network(grid)
    assert np.sqrt(np.mean(err**2)) < 0.25 * np.std(planted.network(grid))


def test_convex_ar_several_lags_is_additive(planted):
    y = planted.series.iloc[:300]
    model = ConvexAR(lags=3, target="difference", beta=1e-3).fit(y)
    assert model.regressor_.n_features_in_ == 3
    assert len(model.regressor_.libraries_) == 3
    assert model.predict(2).shape == (2,)


# ------------------------------------------------------------------ baselines
def test_ar1_matches_statsmodels(planted):
    from statsmodels.tsa.ar_model import AutoReg

    y = planted.series.iloc[:500].to_numpy()
    model = AR1Forecaster().fit(y)
    ref = AutoReg(y, lags=1, trend="c").fit()
    np.testing.assert_allclose(
        model.predict(6).to_numpy(), ref.predict(start=500, end=505), rtol=1e-10
    )


def test_naive_and_last_window():
    y = _prices(100)
    naive = NaiveForecaster(quantiles=(0.1, 0.9)).fit(y)
    assert naive.predict(3).tolist() == [y.iloc[-1]] * 3
    later = _prices(120)
    fc = naive.predict(2, last_window=later.iloc[:110])
    assert fc.tolist() == [later.iloc[109]] * 2
    assert fc.index[0] == later.index[110]
    q = naive.predict_quantiles(2)
    assert (q[0.1] < q[0.9]).all()


# --------------------------------------------------------------- quantile AR
def test_quantile_forecasts_never_cross():
    y = _prices(150, seed=5)
    model = ConvexQuantileAR(
        quantiles=(0.1, 0.3, 0.5, 0.7, 0.9), target="level", beta=1e-4
    ).fit(y)
    far = [y * 0.5, y * 1.5, y * 3.0, y * 0.2]
    crossed_raw = False
    for window in far:
        x = model._lag_row(window.to_numpy()[-2:])[None, :]
        raw = [model.models_[1, j].predict(x)[0] for j in range(5)]
        crossed_raw |= bool(np.any(np.diff(raw) < 0))
        q = model.predict(1, last_window=window)
        assert np.all(np.diff(q.to_numpy(), axis=1) >= 0)
    assert crossed_raw  # the raw fits do cross far from the data


def test_in_sample_quantile_fraction(planted):
    y = planted.series.iloc[:600]
    model = ConvexQuantileAR(
        quantiles=(0.2, 0.8), target="level", beta=1e-3, normalize=False
    ).fit(y)
    X = y.to_numpy()[:-1, None]
    t = y.to_numpy()[1:]
    for j, tau in enumerate((0.2, 0.8)):
        below = np.mean(t < model.models_[1, j].predict(X))
        assert abs(below - tau) < 0.03


def test_conformal_coverage_on_planted_data():
    p = make_planted(3000, n_neurons=5, sigma2=1.0, random_state=7)
    y = p.series
    model = ConvexQuantileAR(
        quantiles=(0.05, 0.95),
        target="level",
        beta=1e-3,
        calibration="conformal",
        calibration_size=400,
        normalize=False,
    ).fit(y.iloc[:1000])
    values = y.to_numpy()
    X = values[999:2999, None]
    lo = model.models_[1, 0].predict(X) + model.shifts_[0, 0]
    hi = model.models_[1, 1].predict(X) + model.shifts_[0, 1]
    truth = values[1000:3000]
    coverage = np.mean((truth >= lo) & (truth <= hi))
    assert truth.size == 2000
    assert abs(coverage - 0.90) <= 0.03
    # predict_interval gives the same interval through the public API
    iv = model.predict_interval(1, coverage=0.9, last_window=y.iloc[:1500])
    assert iv["lower"].iloc[0] == pytest.approx(lo[500])
    assert iv["upper"].iloc[0] == pytest.approx(hi[500])


def test_direct_multi_step_quantiles():
    y = _prices(200, seed=2)
    model = ConvexQuantileAR(quantiles=(0.1, 0.5, 0.9), max_horizon=3, beta=1e-3).fit(y)
    q = model.predict(3)
    assert q.shape == (3, 3) and list(q.columns) == [0.1, 0.5, 0.9]
    width = (q[0.9] - q[0.1]).to_numpy()
    assert width[2] > width[0]  # uncertainty grows with the horizon
    with pytest.raises(ValueError, match="exceeds max_horizon=3"):
        model.predict(4)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("series", "message"),
    [
        (
            pd.Series(
                [1.0, np.nan, 3.0, 4.0, 2.0],
                index=pd.date_range("2020", periods=5, freq="D"),
            ),
            "NaN value\\(s\\) at timestamps 2020-01-02",
        ),
        (
            pd.Series(
                [1.0, 2.0, 3.0, 4.0],
                index=pd.to_datetime(
                    ["2020-01-01", "2020-01-02", "2020-01-02", "2020-01-03"]
                ),
            ),
            "duplicated",
        ),
        (
            pd.Series(
                [1.0, 2.0, 3.0, 4.0],
                index=pd.to_datetime(
                    ["2020-01-02", "2020-01-01", "2020-01-03", "2020-01-04"]
                ),
            ),
            "sorted",
        ),
        (
            pd.Series(
                [1.0, 2.0, 3.0, 4.0],
                index=pd.to_datetime(
                    ["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-06"]
                ),
            ),
            "irregular",
        ),
        (np.array([1.0, 2.0]), "too short"),
        (np.full(10, 3.0), "constant"),
    ],
)
def test_bad_series(series, message):
    with pytest.raises(ValueError, match=message):
        ConvexAR().fit(series)


@pytest.mark.parametrize(
    ("quantiles", "message"),
    [
        ((0.0, 0.5), "in \\(0, 1\\)"),
        ((0.5, 1.0), "in \\(0, 1\\)"),
        ((0.9, 0.1), "sorted"),
        ((), "empty"),
    ],
)
def test_bad_quantiles(quantiles, message):
    with pytest.raises(ValueError, match=message):
        ConvexQuantileAR(quantiles=quantiles).fit(_prices(50))


def test_bad_steps():
    model = ConvexAR(beta=1e-3).fit(_prices(50))
    for steps in (0, -1, 1.5):
        with pytest.raises(ValueError, match="steps must be an integer >= 1"):
            model.predict(steps)


@pytest.mark.parametrize("target", TARGETS)
def test_batched_one_step_forecasts_equal_predict(target):
    y = _prices(300, seed=4)
    model = ConvexAR(lags=2, target=target, beta=0.01).fit(y.iloc[:200])
    windows = np.stack([y.to_numpy()[o - 6 : o] for o in range(200, 240)])
    batch = model.predict_one_step(windows)
    one = [model.predict(1, last_window=w).iloc[0] for w in windows]
    np.testing.assert_allclose(batch, one, rtol=1e-13)
    with pytest.raises(ValueError, match="windows must have shape"):
        model.predict_one_step(windows[:, :1])


def test_conformal_calibration_repairs_an_overfit_interval():
    """With almost no penalty the quantile fits hug the training data and the
    raw interval under-covers badly; calibration restores nominal coverage."""
    y = make_planted(3000, n_neurons=5, sigma2=1.0, random_state=7).series
    values = y.to_numpy()
    X, truth = values[999:2999, None], values[1000:3000]
    coverage = {}
    for calibration in (None, "conformal"):
        model = ConvexQuantileAR(quantiles=(0.05, 0.95), target="level", beta=1e-6,
                                 calibration=calibration, calibration_size=200,
                                 normalize=False).fit(y.iloc[:600])
        lo = model.models_[1, 0].predict(X) + model.shifts_[0, 0]
        hi = model.models_[1, 1].predict(X) + model.shifts_[0, 1]
        coverage[calibration] = np.mean((truth >= lo) & (truth <= hi))
    assert coverage[None] < 0.6
    assert abs(coverage["conformal"] - 0.90) <= 0.03
