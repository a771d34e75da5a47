"""Degenerate GARCH fits are refused; VaR and backtest plots check inputs."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from tsmirrors.forecasting import GARCHForecaster

matplotlib.use("Agg")

from conftest import BTC  # noqa: E402


def _tick_prices(vol, n=500, seed=3, tick=0.25):
    rng = np.random.default_rng(seed)
    y = 20 * np.exp(np.cumsum(vol * rng.standard_normal(n)))
    return np.round(y / tick) * tick


def test_garch_refuses_mostly_zero_returns():
    # a single level shift: 99% of the returns are zero
    with pytest.raises(ValueError, match="exactly zero"):
        GARCHForecaster().fit(np.r_[np.full(50, 5.0), np.full(50, 6.0)])
    # prices on a 0.25 tick: ~78% zero returns
    y = _tick_prices(0.003)
    assert np.mean(np.diff(y) == 0) > 0.5
    with pytest.raises(ValueError, match="GARCH .* does not suit them"):
        GARCHForecaster().fit(y)


def test_garch_accepts_tick_prices_with_few_zero_returns():
    y = _tick_prices(0.015)  # ~29% zero returns: below the threshold
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GARCHForecaster().fit(y)


def test_garch_refuses_a_mean_outside_the_returns():
    # the check on the fitted parameters itself: whether a given optimizer
    # run ends outside the returns depends on its rounding (BLAS, CPU), so
    # the refusal is tested on the parameters, not on a degenerate fit
    r = np.array([-0.5, 0.1, 0.0, 0.3, 1.2])
    GARCHForecaster._check_fit(r, mu=1.2, nu=5.0)  # inside: accepted
    for mu in (1.2000001, -0.51, 179.18):
        with pytest.raises(ValueError, match="mean return mu=.* outside"):
            GARCHForecaster._check_fit(r, mu=mu, nu=5.0)


def test_garch_warns_when_nu_sits_on_its_bound():
    # on the parameters, as above: nu at arch's bound 2.05 (within the
    # optimizer's 1e-3 relative stop), not just above it
    r = np.array([-0.5, 0.1, 0.0, 0.3, 1.2])
    with pytest.warns(ConvergenceWarning, match="lower bound"):
        GARCHForecaster._check_fit(r, mu=0.0, nu=2.0500001)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GARCHForecaster._check_fit(r, mu=0.0, nu=2.2)


def test_garch_on_real_btc_closes_gives_no_warning():
    frame = pd.read_csv(BTC / "BTC-Daily.csv")
    close = frame["close"].to_numpy()[::-1][-1000:]  # the file is descending
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GARCHForecaster().fit(close)
    assert 2.05 * 1.001 < model.params_["nu"]


def test_garch_last_window_needs_enough_prices():
    rng = np.random.default_rng(0)
    y = 100 * np.exp(np.cumsum(0.01 * rng.standard_t(5, 300)))
    model = GARCHForecaster().fit(y)
    with pytest.raises(ValueError, match="at least 31"):
        model.predict_quantiles(1, last_window=y[-5:])
    assert model.predict_quantiles(1, last_window=y[-31:]).shape == (1, 3)


# ------------------------------------------------------ value-at-risk plot
@pytest.fixture(scope="module")
def var_backtest():
    from tsmirrors.backtesting import backtest
    from tsmirrors.forecasting import NaiveForecaster

    rng = np.random.default_rng(0)
    index = pd.date_range("2024-01-01", periods=160, freq="D")
    s = pd.Series(100 * np.exp(np.cumsum(0.02 * rng.standard_normal(160))), index)
    _, pred = backtest(NaiveForecaster(quantiles=(0.05, 0.5, 0.95)), s,
                       initial_train_size=60, window="rolling", progress=False,
                       metrics=("pinball",))
    return s, pred


def _exceedances(ax) -> int:
    return ax.collections[-1].get_offsets().shape[0]


def test_var_plot_sorts_its_levels(var_backtest):
    from tsmirrors.risk_report import plot_var_backtest

    s, pred = var_backtest
    ax = plot_var_backtest(s, pred, levels=(0.05, 0.95))
    swapped = plot_var_backtest(s, pred, levels=(0.95, 0.05))
    # the reversed pair draws the same band, not a breach at every point
    assert _exceedances(swapped) == _exceedances(ax) < len(pred)
    labels = [t.get_text() for t in swapped.get_legend().get_texts()]
    assert "VaR band 0.05-0.95" in labels


@pytest.mark.parametrize("levels", [(0.05, 0.5, 0.95), (0.5, 0.5), (0.05,)])
def test_var_plot_needs_two_distinct_levels(var_backtest, levels):
    from tsmirrors.risk_report import plot_var_backtest

    s, pred = var_backtest
    with pytest.raises(ValueError, match="exactly two distinct"):
        plot_var_backtest(s, pred, levels=levels)


def test_var_plot_has_an_x_label(var_backtest):
    from tsmirrors.risk_report import plot_var_backtest

    s, pred = var_backtest
    ax = plot_var_backtest(s, pred)
    assert ax.get_xlabel() and ax.get_ylabel()


def test_an_array_y_with_timestamped_predictions_says_to_pass_the_series(
    var_backtest,
):
    from tsmirrors.risk_report import plot_var_backtest, risk_report

    s, pred = var_backtest
    for call in (risk_report, plot_var_backtest):
        with pytest.raises(ValueError, match="pass y as the pandas Series"):
            call(s.to_numpy(), pred)
    # an array backtest is labelled by positions: the array itself matches
    from tsmirrors.backtesting import backtest
    from tsmirrors.forecasting import NaiveForecaster

    _, by_position = backtest(NaiveForecaster(quantiles=(0.05, 0.95)),
                              s.to_numpy(), initial_train_size=60,
                              window="rolling", progress=False,
                              metrics=("pinball",))
    assert risk_report(s.to_numpy(), by_position)["n"] == 100
    assert risk_report(s, pred)["n"] == 100


# ------------------------------------------------------ forecast plots
def test_backtest_plot_takes_one_backtest_output_without_a_model_column():
    from tsmirrors.backtesting import backtest
    from tsmirrors.forecasting import NaiveForecaster
    from tsmirrors.plotting import plot_backtest

    rng = np.random.default_rng(2)
    index = pd.date_range("2024-01-01", periods=120, freq="h")
    s = pd.Series(100 + np.cumsum(rng.standard_normal(120)), index)
    _, pred = backtest(NaiveForecaster(quantiles=(0.05, 0.5, 0.95)), s,
                       initial_train_size=80, window="rolling", progress=False,
                       metrics=("mae",))
    assert "model" not in pred.columns
    fig = plot_backtest(pred, s)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "forecast" in labels
    assert any(text.startswith("forecast 90% interval") for text in labels)


def test_forecast_plot_refuses_an_array_history():
    from tsmirrors.plotting import plot_forecast

    with pytest.raises(ValueError, match="history must be a pandas Series"):
        plot_forecast(np.arange(10.0))
    s = pd.Series(np.arange(10.0))
    with pytest.raises(ValueError, match="forecast must be a pandas Series"):
        plot_forecast(s, forecast=np.ones(3))


def test_learned_function_plot_labels_its_axes():
    from tsmirrors.models.convex import ConvexNetRegressor
    from tsmirrors.plotting import plot_learned_function

    x = np.array([[0.0], [1.0], [2.0]])
    net = ConvexNetRegressor(beta=1e-3).fit(x, [2.0, 0.0, 1.0])
    ax = plot_learned_function(net, x, [2.0, 0.0, 1.0])
    assert ax.get_xlabel() == "input x" and ax.get_ylabel() == "output f(x)"
