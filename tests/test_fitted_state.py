"""Forecasts come from the fitted state; parameters mean what they say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tsmirrors
from tsmirrors import _modelfile
from tsmirrors.backtesting import min_train_size
from tsmirrors.forecasting import ConvexAR, ConvexQuantileAR, ScaledQuantileAR

RNG = np.random.default_rng(7)
Y = pd.Series(
    100 + np.cumsum(RNG.standard_normal(160)),
    index=pd.date_range("2024-01-01", periods=160, freq="D"),
)


def _same(a, b):
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    else:
        pd.testing.assert_series_equal(a, b, check_exact=True)


def _old_file(model, tmp_path, drop):
    """``model`` saved as an earlier version wrote it: without ``drop``."""
    for name in drop:
        del model.__dict__[name]
    meta = {"format": "tsmirrors-model", "version": tsmirrors.__version__,
            "class": type(model).__name__}
    path = tmp_path / "old.tsm"
    path.write_bytes(_modelfile.dumps(meta, model))
    return tsmirrors.load(path)


# --------------------------------------------------- ScaledQuantileAR
@pytest.fixture(scope="module")
def scaled():
    return ScaledQuantileAR(lags=1, decay=0.94, long_run=0.0).fit(Y)


@pytest.mark.parametrize(
    "change", [{"lags": 3}, {"volatility": None}, {"volatility": "convex"},
               {"scale_windows": (1, 60)}, {"quantiles": (0.2, 0.8)},
               {"periodic": 7}, {"decay": 0.5}, {"target": "difference"}]
)
def test_scaled_forecasts_ignore_parameters_changed_after_fit(scaled, change,
                                                              tmp_path):
    before = scaled.predict_quantiles(1)
    window = Y.iloc[-40:] * 1.02
    before_window = scaled.predict_quantiles(1, last_window=window)
    changed = tsmirrors.load(tsmirrors.save(scaled, tmp_path / "m.tsm"))
    changed.set_params(**change)
    _same(changed.predict_quantiles(1), before)
    _same(changed.predict_quantiles(1, last_window=window), before_window)
    # and a file written after the change
    reloaded = tsmirrors.load(tsmirrors.save(changed, tmp_path / "c.tsm"))
    _same(reloaded.predict_quantiles(1), before)


def test_scaled_lags_list_uses_exactly_those_lags():
    model = ScaledQuantileAR(lags=[1, 3], decay=0.94, long_run=0.0,
                             target="difference").fit(Y)
    assert model.lags_.tolist() == [1, 3]
    # lagged changes and |changes| at lags 1 and 3 only
    assert all(m.n_features_in_ == 4 for m in model.models_)
    z = np.diff(Y.to_numpy())
    sigma = model._scales(z, model._phases(z.size, model.last_index_))
    rows = np.arange(12, 15)
    lagged = np.column_stack([z[rows - 1], z[rows - 3]]) / sigma[rows][:, None]
    np.testing.assert_array_equal(
        model._inputs(z, sigma, rows), np.hstack([lagged, np.abs(lagged)])
    )
    single = ScaledQuantileAR(lags=[2], decay=0.94, long_run=0.0).fit(Y)
    assert single.lags_.tolist() == [2]
    assert all(m.n_features_in_ == 2 for m in single.models_)


def test_scaled_lags_auto_is_refused():
    with pytest.raises(ValueError, match="takes lags as an int or a list of "
                       "ints, got 'auto'"):
        ScaledQuantileAR(lags="auto").fit(Y)


def test_scaled_last_window_needs_the_burn_in(scaled):
    need = scaled._first_row() + scaled.transform_.offset  # 10 changes + 1
    assert need == 11
    with pytest.raises(ValueError, match=f"last_window needs at least {need} "):
        scaled.predict_quantiles(1, last_window=Y.iloc[-3:])
    with pytest.raises(ValueError, match=f"last_window needs at least {need} "):
        scaled.predict_quantiles(1, last_window=Y.iloc[-need + 1:])
    assert scaled.predict_quantiles(1, last_window=Y.iloc[-need:]).shape == (1, 3)


def test_scaled_old_model_file_still_loads(scaled, tmp_path):
    before = scaled.predict_quantiles(1)
    model = tsmirrors.load(tsmirrors.save(scaled, tmp_path / "m.tsm"))
    loaded = _old_file(model, tmp_path, ["lags_", "volatility_"])
    assert loaded.lags_.tolist() == [1] and loaded.volatility_ == "ewma"
    _same(loaded.predict_quantiles(1), before)


# --------------------------------------------------------- ConvexAR
def _convex(**kw):
    return ConvexAR(lags=2, beta=0.05, target="difference", **kw).fit(Y)


def test_direct_model_ignores_strategy_and_horizon_changed_after_fit():
    model = _convex(strategy="direct", max_horizon=3)
    before = model.predict(3)
    model.set_params(strategy="recursive")
    _same(model.predict(3), before)
    model.set_params(strategy="direct", max_horizon=5)
    with pytest.raises(ValueError, match="steps=4 exceeds max_horizon=3"):
        model.predict(4)


def test_recursive_model_ignores_strategy_changed_after_fit():
    model = _convex()
    before = model.predict(4)
    model.set_params(strategy="direct", max_horizon=4)
    _same(model.predict(4), before)
    assert model.strategy_ == "recursive" and model.max_horizon_ is None


def test_convex_ar_old_model_file_still_loads(tmp_path):
    model = _convex(strategy="direct", max_horizon=2)
    before = model.predict(2)
    loaded = _old_file(model, tmp_path, ["strategy_", "max_horizon_"])
    assert loaded.strategy_ == "direct" and loaded.max_horizon_ == 2
    _same(loaded.predict(2), before)


def test_seasonal_period_is_added_to_a_list_of_lags():
    model = ConvexAR(lags=[1, 2], seasonal_period=7, beta=0.05,
                     target="difference").fit(Y)
    assert model.lags_.tolist() == [1, 2, 7]
    assert ConvexAR(lags=[1, 7], seasonal_period=7, beta=0.05,
                    target="difference").fit(Y).lags_.tolist() == [1, 7]


@pytest.mark.parametrize("bad", [0, 2.5, True])
def test_max_horizon_errors_name_max_horizon(bad):
    message = f"max_horizon must be an integer >= 1, got {bad!r}"
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        ConvexAR(strategy="direct", max_horizon=bad, beta=0.05).fit(Y)
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        ConvexQuantileAR(max_horizon=bad, beta=0.05).fit(Y)


def test_point_forecaster_says_it_gives_no_interval():
    model = _convex()
    with pytest.raises(NotImplementedError,
                       match="ConvexAR gives point forecasts only.*ConvexQuantileAR"):
        model.predict_interval(1)


def test_naive_beta_is_the_beta_in_use():
    # a random walk: the cross-validation keeps the last value
    y = pd.Series(100 + np.cumsum(np.random.default_rng(3).standard_normal(120)))
    model = ConvexAR(lags=1, target="difference").fit(y)
    assert model.naive_ and model.n_neurons_ == 0
    assert model.cv_results_["beta"] == model.beta_


# ------------------------------------------------- ConvexQuantileAR
def test_quantile_ar_ignores_max_horizon_changed_after_fit(tmp_path):
    model = ConvexQuantileAR(quantiles=(0.1, 0.9), beta=0.05, max_horizon=2).fit(Y)
    before = model.predict_quantiles(2)
    model.set_params(max_horizon=3)
    _same(model.predict_quantiles(2), before)
    with pytest.raises(ValueError, match="steps=3 exceeds max_horizon=2"):
        model.predict_quantiles(3)
    model.set_params(max_horizon=2)
    loaded = _old_file(model, tmp_path, ["max_horizon_"])
    assert loaded.max_horizon_ == 2
    _same(loaded.predict_quantiles(2), before)


# ------------------------------------------------------ min_train_size
@pytest.mark.parametrize(
    "model",
    [
        ConvexQuantileAR(quantiles=(0.1, 0.9), beta=0.05),
        ConvexQuantileAR(quantiles=(0.1, 0.9), beta=0.05, lags=2, max_horizon=3),
        ConvexQuantileAR(quantiles=(0.1, 0.9), beta=0.05, calibration="conformal"),
        ScaledQuantileAR(decay=0.94, long_run=0.0),
        ScaledQuantileAR(lags=[1, 14], decay=0.94, long_run=0.0),
        ConvexAR(strategy="average", max_horizon=10, lags=2, beta=1e-2,
                 target="level"),
        ConvexAR(strategy="direct", max_horizon=5, lags=3, beta=1e-2,
                 target="difference"),
    ],
    ids=["quantile", "quantile-h3", "quantile-conformal", "scaled", "scaled-14",
         "average-h10", "direct-h5"],
)
def test_min_train_size_is_the_shortest_series_a_fit_accepts(model):
    n = min_train_size(model)
    model.fit(Y.iloc[:n])
    with pytest.raises(ValueError):
        model.fit(Y.iloc[: n - 1])
