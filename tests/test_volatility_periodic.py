"""ScaledQuantileAR's periodic volatility factor (hour of day, day of week)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsmirrors.backtesting import backtest
from tsmirrors.forecasting.periodic import (
    PRIOR_ROWS,
    fit_periodic_factor,
    label_ticks,
    phases_before,
)
from tsmirrors.forecasting.volatility import ScaledQuantileAR
from tsmirrors.io import load, save

QUANTILES = (0.05, 0.5, 0.95)
#: planted standard deviation of the returns by hour of day: calm nights,
#: a volatile afternoon
HOURLY_SD = 1.0 + 0.8 * np.sin(2 * np.pi * (np.arange(24) - 9) / 24)


def hourly_prices(days=100, seed=0, start="2021-03-01 00:00", pattern=True):
    """A price with hourly log returns of standard deviation ``HOURLY_SD``."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=24 * days + 1, freq="h", tz="UTC")
    sd = 0.002 * (HOURLY_SD[index.hour[1:]] if pattern else 1.0)
    r = sd * rng.standard_normal(index.size - 1)
    return pd.Series(100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)])),
                     index=index)


@pytest.fixture(scope="module")
def planted():
    y = hourly_prices()
    return y, ScaledQuantileAR(quantiles=QUANTILES, periodic=24).fit(y)


def test_phase_is_the_hour_of_day_of_the_change():
    y = hourly_prices(days=2)
    ticks = label_ticks(y.index[-1], y.index.freq)
    phases = phases_before(ticks, y.size - 1, 24)
    # change i is the return into y.index[i + 1]; the last entry: the next hour
    np.testing.assert_array_equal(phases[:-1], y.index.hour[1:])
    assert phases[-1] == (y.index[-1] + pd.Timedelta(hours=1)).hour
    # daily data with a 7-day period: one phase per day of week
    days = pd.date_range("2022-01-01", periods=30, freq="D")
    daily = phases_before(label_ticks(days[-1], days.freq), 30, 7)[:-1]
    assert len(set(zip(daily, days.day_of_week))) == 7
    # across a change of daylight saving time: the hour of day in UTC
    berlin = pd.date_range("2022-03-26 20:00", periods=30, freq="h",
                           tz="Europe/Berlin")
    got = phases_before(label_ticks(berlin[-1], berlin.freq), 30, 24)[:-1]
    np.testing.assert_array_equal(got, berlin.tz_convert("UTC").hour)


def test_factor_is_the_shrunk_rms_per_phase_by_hand():
    z = np.array([1.0, 3.0, 1.0, 3.0, -2.0])
    phases = np.array([0, 1, 0, 1, 1, 0])
    rows = np.arange(1, 5)  # the first change is not a training row
    got = fit_periodic_factor(z, phases, rows, 3)
    m = (9 + 1 + 9 + 4) / 4
    k = PRIOR_ROWS
    expected = np.sqrt([(1 + k * m) / ((1 + k) * m),
                        (9 + 9 + 4 + k * m) / ((3 + k) * m), 1.0])
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_factor_recovers_a_planted_intraday_pattern(planted):
    y, model = planted
    assert model.period_ == 24
    # the true factor: each hour's standard deviation over the overall RMS,
    # shrunk like the estimate (its (n_p + K) weights) so that only sampling
    # error separates them; 100 returns per hour give about 7% relative error
    # on an hour's RMS, so 0.25 in absolute terms is over three of those
    true = HOURLY_SD / np.sqrt(np.mean(HOURLY_SD**2))
    n_p = 100
    shrunk = np.sqrt((n_p * true**2 + PRIOR_ROWS) / (n_p + PRIOR_ROWS))
    np.testing.assert_allclose(model.periodic_factor_, shrunk, atol=0.25)
    assert np.corrcoef(model.periodic_factor_, true)[0, 1] > 0.95
    # the volatile afternoon gets wider intervals than the calm night: windows
    # ending just before 15:00 and just before 03:00 (the planted sd: 1.8, 0.2)
    width = {}
    for hour in (3, 15):
        end = y.index[y.index.hour == hour - 1][-1]
        q = model.predict(last_window=y.loc[:end]).iloc[0]
        assert q.name.hour == hour
        width[hour] = (q[0.95] - q[0.05]) / y.loc[end]
    assert width[15] > 2.0 * width[3]


def test_auto_chooses_the_factor_on_the_planted_pattern():
    y = hourly_prices(days=60, seed=1)
    model = ScaledQuantileAR(quantiles=QUANTILES, periodic="auto").fit(y)
    assert model.cv_results_["param"] == ("periodic", "decay", "long_run")
    assert set(model.cv_results_["grid"][:, 0]) == {0.0, 24.0}
    assert model.period_ == 24


def test_auto_has_no_period_to_search_without_hourly_or_daily_steps():
    rng = np.random.default_rng(3)
    y = 100 + np.cumsum(rng.standard_normal(300))
    auto = ScaledQuantileAR(quantiles=QUANTILES, periodic="auto").fit(y)
    none = ScaledQuantileAR(quantiles=QUANTILES).fit(y)
    assert auto.period_ is None and auto.periodic_factor_ is None
    assert auto.cv_results_["param"] == ("decay", "long_run")
    pd.testing.assert_frame_equal(auto.predict(), none.predict())
    minutes = pd.Series(y, index=pd.date_range("2022-01-01", periods=300,
                                               freq="15min"))
    fit = ScaledQuantileAR(quantiles=QUANTILES, periodic="auto").fit(minutes)
    assert fit.period_ is None


def test_daily_timestamps_search_the_day_of_week():
    rng = np.random.default_rng(4)
    y = pd.Series(100 * np.exp(np.cumsum(0.02 * rng.standard_normal(300))),
                  index=pd.date_range("2020-01-01", periods=300, freq="D"))
    model = ScaledQuantileAR(quantiles=QUANTILES, periodic="auto").fit(y)
    assert set(model.cv_results_["grid"][:, 0]) == {0.0, 7.0}


def test_no_look_ahead_in_the_factor_and_its_cross_validation(planted):
    y, model = planted
    cut = 1500
    later = y.copy()
    later.iloc[cut:] *= np.exp(np.linspace(0.0, 0.5, y.size - cut))  # new path
    a = ScaledQuantileAR(quantiles=QUANTILES, periodic="auto").fit(y.iloc[:cut])
    b = ScaledQuantileAR(quantiles=QUANTILES, periodic="auto").fit(
        later.iloc[:cut]
    )
    np.testing.assert_array_equal(a.periodic_factor_, b.periodic_factor_)
    # inside one fit: the first fold scores a factor estimated before its
    # validation block, so changes after that block leave its loss unchanged
    full = ScaledQuantileAR(quantiles=QUANTILES, periodic="auto").fit(y)
    stop = full.cv_results_["folds"][0, 2] + 25  # rows start after a burn-in
    cut_y = y.copy()
    cut_y.iloc[stop + 1:] *= 1.5 ** np.sign(np.sin(np.arange(y.size - stop - 1)))
    other = ScaledQuantileAR(quantiles=QUANTILES, periodic="auto").fit(cut_y)
    np.testing.assert_array_equal(
        full.cv_results_["fold_pinball"][:, 0], other.cv_results_["fold_pinball"][:, 0]
    )
    assert not np.array_equal(full.cv_results_["fold_pinball"],
                              other.cv_results_["fold_pinball"])


def test_backtest_between_refits_uses_the_phase_of_each_origin(planted):
    y, _ = planted
    y = y.iloc[:900]
    later = y.copy()
    later.iloc[820:] *= 1.1  # after the origins below: must not matter
    model = ScaledQuantileAR(quantiles=QUANTILES, periodic=24)
    _, pred = backtest(model, y, initial_train_size=800, window="rolling",
                       refit=10, metrics=("pinball",), progress=False)
    _, again = backtest(model, later, initial_train_size=800, window="rolling",
                        refit=10, metrics=("pinball",), progress=False)
    cols = [c for c in pred.columns if str(c).startswith("q_")]
    np.testing.assert_array_equal(pred[cols].to_numpy()[:20],
                                  again[cols].to_numpy()[:20])
    fit = ScaledQuantileAR(quantiles=QUANTILES, periodic=24).fit(y.iloc[:800])
    for origin in (803, 809):  # between the refits at 800 and 810
        q = fit.predict(last_window=y.iloc[origin - 800 : origin])
        np.testing.assert_allclose(
            pred[cols].to_numpy()[origin - 800], q.to_numpy()[0], rtol=1e-12
        )
        assert q.index[0] == y.index[origin]


def test_forecast_reads_the_phase_from_the_window_labels(planted):
    y, model = planted
    window = y.iloc[-500:]
    shifted = window.copy()
    shifted.index = shifted.index + pd.Timedelta(hours=12)
    assert model.scale(last_window=window) != model.scale(last_window=shifted)
    assert model.scale() == model.scale(last_window=y)
    with pytest.raises(ValueError, match="pandas Series"):
        model.predict(last_window=window.to_numpy())


def test_integer_period_on_an_array_uses_positions():
    rng = np.random.default_rng(5)
    sd = np.tile([1.0, 3.0], 200)
    y = 100 * np.exp(np.cumsum(0.01 * sd * rng.standard_normal(400)))
    model = ScaledQuantileAR(quantiles=QUANTILES, periodic=2).fit(y)
    # change i is the return into position i + 1: odd positions are volatile
    assert model.periodic_factor_[1] > 1.5 * model.periodic_factor_[0]
    window = pd.Series(y)
    shifted = window.copy()
    shifted.index = shifted.index + 1  # the same values, one position later
    assert model.scale(last_window=window) != model.scale(last_window=shifted)


@pytest.mark.parametrize("periodic", [0, 1, -24, True, 2.5, "hourly", "24"])
def test_bad_periodic_is_a_value_error(periodic):
    with pytest.raises(ValueError, match="periodic"):
        ScaledQuantileAR(periodic=periodic).fit(hourly_prices(days=3))


def test_periodic_needs_the_ewma_scale():
    with pytest.raises(ValueError, match="volatility='ewma'"):
        ScaledQuantileAR(periodic=24, volatility="convex").fit(hourly_prices(days=3))


def test_save_and_load_keep_the_factor(planted, tmp_path):
    y, model = planted
    again = load(save(model, tmp_path / "periodic.tsm"))
    assert again.period_ == 24
    np.testing.assert_array_equal(again.periodic_factor_, model.periodic_factor_)
    window = y.iloc[-300:]
    pd.testing.assert_frame_equal(again.predict(last_window=window),
                                  model.predict(last_window=window))
    pd.testing.assert_frame_equal(again.predict(), model.predict())


def test_absolute_changes_are_deseasonalized_before_the_ewma():
    # ewma_power=1 with a factor: the EWMA and its long-run level average the
    # absolute deseasonalized changes, and sigma is the factor times their mix
    from tsmirrors.forecasting.periodic import deseasonalized
    from tsmirrors.forecasting.scale_models import ewma_volatility

    y = hourly_prices(days=40, seed=3)
    model = ScaledQuantileAR(periodic=24, ewma_power=1).fit(y)
    z = np.diff(np.log(y.to_numpy()))
    phases = model._phases(z.size, y.index[-1])
    d = deseasonalized(z, model.periodic_factor_, phases)
    v = np.mean(np.abs(d[10:]))
    assert model.long_run_var_ == pytest.approx(v, rel=1e-12)
    w = model.long_run_
    m = ewma_volatility(d, model.decay_, power=1)[-1]
    expected = model.periodic_factor_[phases[-1]] * ((1 - w) * m + w * v)
    assert model.sigma_ == pytest.approx(expected, rel=1e-12)
