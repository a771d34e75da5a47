"""GARCHForecaster against the arch package's own forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsmirrors.forecasting import GARCHForecaster
from tsmirrors.forecasting.garch import garch_variance


def _prices(n=600, seed=0):
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(0.01 * rng.standard_t(5, n)))


@pytest.fixture(scope="module")
def fitted():
    y = _prices()
    return y, GARCHForecaster(quantiles=(0.01, 0.05, 0.5, 0.95, 0.99)).fit(y)


def _arch_fit(y):
    """arch's own GARCH(1,1)-t fit of the same returns, as a reference."""
    import arch

    r = 100 * np.diff(np.log(y))
    model = arch.arch_model(
        r, mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False
    )
    return model.fit(disp="off", show_warning=False)


def test_one_step_quantiles_match_arch(fitted):
    y, model = fitted
    res = _arch_fit(y)
    assert res.loglikelihood == pytest.approx(model.loglikelihood_, rel=1e-12)
    var = float(res.forecast(horizon=1, reindex=False).variance.to_numpy()[0, 0])
    p = model.params_
    # the standardized t quantiles of arch's own distribution object
    z = res.model.distribution.ppf(model.quantiles_, np.array([p["nu"]]))
    expected = y[-1] * np.exp((p["mu"] + np.sqrt(var) * z) / 100.0)
    q = model.predict_quantiles(1).to_numpy()[0]
    # our variance filter starts from a backcast on residuals around the
    # fitted mu, arch's around the sample mean; the difference decays as
    # beta^600 along the window
    np.testing.assert_allclose(q, expected, rtol=1e-7)
    assert np.all(np.diff(q) > 0)


def test_variance_recursion_matches_arch_in_sample(fitted):
    y, model = fitted
    p = model.params_
    r = 100 * np.diff(np.log(y))
    v = garch_variance(r - p["mu"], p["omega"], p["alpha"], p["beta"])
    # same recursion; only the starting backcast differs (see above)
    np.testing.assert_allclose(
        v[-100:-1], _arch_fit(y).conditional_volatility[-99:] ** 2, rtol=1e-7
    )


def test_last_window_forecasts_from_a_later_origin(fitted):
    y, model = fitted
    later = np.concatenate([y, y[-1] * np.array([1.1, 0.8])])
    wide = model.predict_interval(1, coverage=0.9, last_window=later)
    base = model.predict_interval(1, coverage=0.9)
    # two large moves raise sigma: the interval (in returns) widens
    assert (np.log(wide["upper"] / wide["lower"]).iloc[0]
            > np.log(base["upper"] / base["lower"]).iloc[0])
    # the window alone decides: the fit's own data gives the fit's forecast
    pd.testing.assert_frame_equal(
        model.predict_quantiles(2, last_window=y).reset_index(drop=True),
        model.predict_quantiles(2).reset_index(drop=True),
    )


def test_backtest_runs_the_garch_baseline():
    from tsmirrors.backtesting import backtest

    y = _prices(260, seed=1)
    scores, pred = backtest(
        GARCHForecaster(quantiles=(0.05, 0.95)), y, initial_train_size=250,
        window="rolling", progress=False, metrics=("pinball", "coverage"),
    )
    assert len(pred) == 10 and np.all(pred["lower"] < pred["upper"])


def test_bad_series_are_refused():
    with pytest.raises(ValueError, match="must be positive"):
        GARCHForecaster().fit(np.linspace(-1, 1, 100))
    with pytest.raises(ValueError, match="at least 31 prices"):
        GARCHForecaster().fit(_prices(20))


def test_missing_arch_names_the_extra(monkeypatch):
    import tsmirrors.forecasting.garch as garch

    def missing(name):
        raise ImportError(name)

    monkeypatch.setattr(garch, "import_optional", missing)
    with pytest.raises(ImportError, match=r"tsmirrors\[garch\]"):
        GARCHForecaster().fit(_prices(100))


def test_save_and_load_give_the_same_quantiles(fitted, tmp_path):
    import copy

    import tsmirrors

    y, model = fitted
    tsmirrors.save(model, tmp_path / "garch.tsm")
    loaded = tsmirrors.load(tmp_path / "garch.tsm")
    pd.testing.assert_frame_equal(
        loaded.predict_quantiles(3), model.predict_quantiles(3)
    )
    copy.deepcopy(model)  # a fitted forecaster holds no arch session
