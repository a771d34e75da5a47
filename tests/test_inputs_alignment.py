"""exog rows and last_window labels line up with the series, or are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsmirrors import cli
from tsmirrors.backtesting import backtest
from tsmirrors.data import calendar_features
from tsmirrors.forecasting import (
    AR1Forecaster,
    ConvexAR,
    ConvexQuantileAR,
    GARCHForecaster,
    NaiveForecaster,
    ScaledQuantileAR,
)

BTC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "btc"
N = 200


def _series(n=N, freq="h", tz=None, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2020-01-01", periods=n + 5, freq=freq, tz=tz)
    y = pd.Series(100 + np.cumsum(rng.normal(size=n)), index=idx[:n])
    return y, idx


def _model():
    return ConvexAR(beta=0.01, lags=2, target="difference")


@pytest.fixture(scope="module")
def fitted():
    """A model fit with hourly calendar inputs, its series and its inputs."""
    y, idx = _series()
    exog = calendar_features(idx)
    return _model().fit(y, exog=exog), y, exog


# ------------------------------------------------------- duplicated timestamps
def test_duplicated_exog_timestamps_are_refused_at_fit(fitted):
    _, y, exog = fitted
    doubled = pd.concat([exog.iloc[:50], exog.iloc[49:]])
    with pytest.raises(ValueError, match=r"duplicated timestamp.*2020-01-03 01:00"):
        _model().fit(y, exog=doubled)
    with pytest.raises(ValueError, match="exog timestamps are not sorted"):
        _model().fit(y, exog=exog.iloc[::-1])


def test_duplicated_exog_timestamps_are_refused_at_predict(fitted):
    model, y, exog = fitted
    doubled = pd.concat([exog.iloc[: N + 1], exog.iloc[N:]])
    with pytest.raises(ValueError, match=r"duplicated timestamp.*2020-01-09 08:00"):
        model.predict(3, exog=doubled)


def test_duplicated_exog_timestamps_are_refused_in_a_backtest(fitted):
    _, y, exog = fitted
    doubled = pd.concat([exog.iloc[:50], exog.iloc[49:]])
    with pytest.raises(ValueError, match="duplicated timestamp"):
        backtest(_model(), y, 110, exog=doubled, progress=False)


def test_exog_and_series_must_agree_on_time_zones(fitted):
    _, y, exog = fitted
    with pytest.raises(ValueError, match="tz-aware but the training timestamps"):
        _model().fit(y, exog=exog.tz_localize("UTC"))


# ------------------------------------------------- exog without timestamps
def test_exog_without_timestamps_needs_exactly_the_forecast_rows(fitted):
    model, y, exog = fitted
    future = exog.iloc[N : N + 2]
    expected = model.predict(2, exog=future)  # matched by timestamp
    for rows in (future.to_numpy(), future.reset_index(drop=True)):
        np.testing.assert_array_equal(model.predict(2, exog=rows), expected)
    for rows in (exog.to_numpy(), exog.reset_index(drop=True), exog.to_numpy()[:1]):
        with pytest.raises(ValueError, match="2 row.s. expected, got"):
            model.predict(2, exog=rows)


def test_timestamped_exog_for_an_array_window_is_refused(fitted):
    model, y, exog = fitted
    with pytest.raises(ValueError, match="pass last_window as a Series"):
        model.predict(2, last_window=y.iloc[:80].to_numpy(), exog=exog)
    # as a Series, the window's timestamps pick the rows after it
    series_window = model.predict(2, last_window=y.iloc[:80], exog=exog)
    array_window = model.predict(
        2, last_window=y.iloc[:80].to_numpy(), exog=exog.iloc[80:82].to_numpy()
    )
    np.testing.assert_array_equal(series_window.to_numpy(), array_window.to_numpy())
    assert series_window.index[0] == exog.index[80]


def test_exog_on_a_model_fit_without_it_is_refused(fitted):
    _, y, exog = fitted
    model = _model().fit(y)
    with pytest.raises(ValueError, match="fitted without exog"):
        model.predict(2, exog=exog)


# ------------------------------------------------------ last_window labels
def _bad_windows(y):
    daily = pd.Series(y.to_numpy()[:20], index=pd.date_range("2020-01-01",
                                                              periods=20, freq="D"))
    return {
        "reversed": (y.iloc[::-1], "not sorted"),
        "gap": (y.iloc[[1, 2, 3, 5, 6]], "does not follow freq 'h'"),
        "duplicated last row": (pd.concat([y.iloc[:10], y.iloc[9:10]]),
                                "duplicated timestamp"),
        "daily": (daily, "does not follow freq 'h'"),
    }


@pytest.mark.parametrize("case", ["reversed", "gap", "duplicated last row", "daily"])
def test_series_last_window_labels_are_checked(case):
    y, _ = _series()
    model = _model().fit(y.iloc[:100])
    window, message = _bad_windows(y)[case]
    with pytest.raises(ValueError, match=message):
        model.predict(1, last_window=window)
    # the same for a forecaster that only reads the window
    with pytest.raises(ValueError, match=message):
        NaiveForecaster().fit(y.iloc[:100]).predict(1, last_window=window)


@pytest.mark.parametrize("make", [
    lambda: ConvexQuantileAR(beta=0.01, lags=2, target="difference"),
    ScaledQuantileAR,
    GARCHForecaster,
    AR1Forecaster,
], ids=["ConvexQuantileAR", "ScaledQuantileAR", "GARCHForecaster", "AR1Forecaster"])
def test_every_forecaster_checks_its_window_labels(make):
    y, _ = _series()
    model = make().fit(y.iloc[:150])
    with pytest.raises(ValueError, match="last_window timestamps are not sorted"):
        model.predict(1, last_window=y.iloc[::-1])


def test_last_window_must_match_the_time_zone_awareness_of_the_fit():
    y, _ = _series(tz="UTC")
    model = _model().fit(y.iloc[:100])
    with pytest.raises(ValueError, match="tz-naive but the model was fit on tz-aware"):
        model.predict(1, last_window=y.iloc[:20].tz_localize(None))
    # the same instants in another zone are the same window
    here = model.predict(1, last_window=y.iloc[:20])
    there = model.predict(1, last_window=y.iloc[:20].tz_convert("Asia/Tokyo"))
    np.testing.assert_array_equal(here.to_numpy(), there.to_numpy())


def test_positional_last_window_must_increase_like_the_fit():
    y, _ = _series()
    model = _model().fit(y.to_numpy()[:100])
    window = pd.Series(y.to_numpy()[:20])
    with pytest.raises(ValueError, match="decreasing"):
        model.predict(1, last_window=window.iloc[::-1])
    with pytest.raises(ValueError, match="step by 2"):
        model.predict(1, last_window=window.iloc[::2])
    assert model.predict(1, last_window=window).index[0] == 20


# --------------------------------------------------------- constant inputs
def test_calendar_features_emit_only_what_varies_at_the_frequency():
    days = pd.date_range("2024-01-01", periods=10, freq="D")
    daily = calendar_features(days)
    assert list(daily.columns) == [f"dayofweek_{k}" for k in range(7)]
    # the forecast rows get the same columns, even a single one
    one = pd.date_range("2024-01-11", periods=1, freq="D")
    assert list(calendar_features(one).columns) == list(daily.columns)
    with pytest.raises(ValueError, match=r"\['hour'\] do not vary at frequency 'D'"):
        calendar_features(days, ["hour", "dayofweek"])
    weeks = pd.date_range("2024-01-07", periods=5, freq="W")
    with pytest.raises(ValueError, match="none of the default calendar features"):
        calendar_features(weeks)
    with pytest.raises(ValueError, match="pass freq"):
        calendar_features(pd.DatetimeIndex(["2024-01-01"]))
    assert calendar_features(pd.DatetimeIndex(["2024-01-01"]), freq="h").shape == (
        1, 31)


def test_a_daily_series_fits_on_its_calendar_features():
    y, idx = _series(n=60, freq="D")
    model = _model().fit(y, exog=calendar_features(idx))
    assert model.n_exog_ == 7
    assert model.predict(5, exog=calendar_features(idx)).size == 5


def test_a_constant_exog_column_is_named(fitted):
    _, y, exog = fitted
    flagged = exog.assign(holiday=0.0)
    with pytest.raises(ValueError, match="exog column 'holiday' is constant in the "
                                         "training window"):
        _model().fit(y, exog=flagged)


def test_a_constant_input_in_a_cross_validation_fold_is_explained():
    y, _ = _series(n=300)
    y.iloc[:240] = 100.0
    with pytest.raises(ValueError, match=r"lag-\d input of the \w+ series is "
                       r"constant in the training rows of cross-validation fold 1"):
        ConvexAR(lags=2).fit(y)


def test_an_exog_column_constant_in_a_fold_is_named():
    y, idx = _series(n=150)
    exog = pd.DataFrame({"event": (np.arange(idx.size) >= 140).astype(float)},
                        index=idx)
    with pytest.raises(ValueError, match="exog column 'event' is constant in the "
                                         "training rows of cross-validation fold"):
        ConvexAR(lags=2, target="difference").fit(y, exog=exog)


# ---------------------------------------------------------------- backtests
def test_backtest_refuses_exog_for_a_forecaster_without_it(fitted):
    _, y, exog = fitted
    with pytest.raises(ValueError, match="ConvexQuantileAR does not take exog"):
        backtest(ConvexQuantileAR(), y, 100, exog=exog, progress=False)


def test_cli_backtests_daily_prices_with_calendar_inputs(capsys, tmp_path):
    code = cli.main([
        "backtest", "--csv", str(BTC / "BTC-Daily.csv"), "--calendar",
        "--window", "300", "--test-size", "30", "--no-progress",
        "--out", str(tmp_path / "out"),
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    preds = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert (preds["model"] == "ConvexAR").sum() == 30
