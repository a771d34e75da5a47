"""Small consistency fixes: calibrated point forecasts, quantile levels,
CLI help and messages, and the cross-validation plot of fixed settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import run_main

from tsmirrors import cli
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


# ------------------------------------------------------------------- CLI

def test_test_size_help_says_it_counts_forecasts_not_origins(capsys, short_csv,
                                                             tmp_path):
    assert cli.main(["backtest", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "forecast origins in the test period" not in text
    assert "--test-size TEST_SIZE observations in the test period, each " \
        "forecast once" in text
    assert "--steps 3 --test-size 48 makes 48 forecasts from 16 origins" in text
    # and that is what it does
    code, _, err = run_main(
        capsys, "backtest", "--csv", short_csv, "--window", "60", "--beta", "0.01",
        "--steps", "3", "--test-size", "12", "--refit", "4", "--no-progress",
        "--no-garch", "--out", str(tmp_path),
    )
    assert code == 0, err
    preds = pd.read_csv(tmp_path / "predictions.csv")
    own = preds[preds["model"] == "ConvexAR"]
    assert len(own) == 12 and own["origin"].nunique() == 4


@pytest.mark.parametrize("window_type, first, size", [
    # refits at origins 60 and 64 of 66 rows: the last refit saw rows [:64]
    ("expanding", 0, 64),
    ("rolling", 4, 60),
])
def test_settings_summary_describes_the_last_refit(capsys, short_csv, tmp_path,
                                                   window_type, first, size):
    code, out, err = run_main(
        capsys, "backtest", "--csv", short_csv, "--window", "60", "--test-size",
        "6", "--refit", "4", "--window-type", window_type, "--beta", "auto",
        "--no-progress", "--no-garch", "--out", str(tmp_path),
    )
    assert code == 0, err
    series = cli._load_series(cli.build_parser().parse_args(
        ["backtest", "--csv", short_csv, "--window", "60", "--test-size", "6"]
    ))[0]
    stamps = series.index[first], series.index[first + size - 1]
    assert (
        f"ConvexAR settings of the last refit (fit on the {size} observations "
        f"{stamps[0]} .. {stamps[1]}): beta " in out
    )


def test_a_start_alone_is_named_alone_when_it_selects_nothing(capsys, short_csv):
    code, _, err = run_main(
        capsys, "backtest", "--csv", short_csv, "--start", "2019-01-01",
        "--window", "60", "--test-size", "6", "--no-progress",
    )
    assert code != 0
    assert "no rows from --start 2019-01-01 on; the data covers" in err
    assert "None" not in err


def test_an_end_alone_is_named_alone(short_csv):
    from tsmirrors.data import load_prices
    from tsmirrors.data.gaps import select_close

    frame = load_prices(short_csv)
    with pytest.raises(ValueError, match="no rows up to --end 2010-01-01; the data"):
        select_close(frame, "btc.csv", end="2010-01-01")


def test_exog_in_another_time_zone_names_both_zones():
    from tsmirrors.forecasting.exog import check_exog

    stamps = pd.date_range("2020-01-01", periods=10, freq="h", tz="UTC")
    y = pd.Series(np.arange(10.0), index=stamps)
    wall_clock = stamps.tz_localize(None).tz_localize("Europe/Paris")
    exog = pd.DataFrame({"a": np.arange(10.0)}, index=wall_clock)
    with pytest.raises(ValueError, match=r"exog has no row for 1 training "
                       r"timestamp\(s\).*\(exog in Europe/Paris, training in UTC\)"):
        check_exog(exog, y, 10)
    naive = exog.set_axis(stamps.tz_localize(None))
    with pytest.raises(ValueError, match=r"tz-naive but the training timestamps "
                       r"are tz-aware \(exog in no time zone, training in UTC\)"):
        check_exog(naive, y, 10)


# ----------------------------------------------------- cross-validation plot
def test_plot_cv_results_of_given_settings_says_nothing_was_cross_validated():
    from sklearn.exceptions import NotFittedError

    from tsmirrors.forecasting import ConvexAR
    from tsmirrors.forecasting.selection import plot_cv_results

    y = _shifting_walk(80, seed=3)
    model = ConvexAR(beta=0.1, target="difference", lags=2)
    with pytest.raises(NotFittedError):
        plot_cv_results(model)
    message = (r"ConvexAR has no cross-validation results: its beta \(0\.1\) and "
               r"target \('difference'\) were given, so nothing was "
               r"cross-validated; fit with beta='auto'")
    with pytest.raises(ValueError, match=message):
        plot_cv_results(model.fit(y))
    # a model refit with given settings drops the results of an earlier fit
    auto = ConvexAR(lags=2).fit(y)
    assert auto.cv_results_ is not None
    with pytest.raises(ValueError, match=message):
        plot_cv_results(auto.set_params(beta=0.1, target="difference").fit(y))
