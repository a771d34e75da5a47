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
    # 49% zero returns, tiny noise and one 20% jump: the optimizer runs off
    rng = np.random.default_rng(21)
    r = np.zeros(100)
    nz = rng.choice(100, size=51, replace=False)
    r[nz] = 1e-4 * rng.standard_normal(nz.size)
    r[rng.integers(100)] = 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="mean return mu=.* outside"):
            GARCHForecaster().fit(5 * np.exp(np.cumsum(r)))


def test_garch_warns_when_nu_sits_on_its_bound():
    # Cauchy returns: no finite variance, nu runs to arch's bound 2.05
    rng = np.random.default_rng(0)
    y = 100 * np.exp(np.cumsum(0.005 * rng.standard_t(1.0, 300)))
    with pytest.warns(ConvergenceWarning, match="lower bound"):
        GARCHForecaster().fit(y)


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
