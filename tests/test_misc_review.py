"""Forecast command windows, model file destinations and metric input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import run_main

import tsmirrors
from tsmirrors.forecasting import NaiveForecaster
from tsmirrors.metrics import crps_from_quantiles, mse, pinball_loss

FORECAST = ("forecast", "--beta", "0.1", "--lags", "1", "--target", "difference",
            "--steps", "1")


# ------------------------------------------------------- forecast --window
def test_forecast_short_window_names_the_cli_remedies(capsys, short_csv):
    code, out, err = run_main(capsys, *FORECAST, "--csv", short_csv, "--window", "30")
    assert code == 1
    assert "calibration_size" not in err  # not an option of the command
    assert "--window 30 gives 28 training rows" in err
    assert "needs 38 rows (10 for calibration)" in err
    assert "raise --window to at least 40 or pass --no-conformal" in err


def test_forecast_window_hint_is_the_shortest_that_works(capsys, short_csv):
    code, _, err = run_main(capsys, *FORECAST, "--csv", short_csv, "--window", "39")
    assert code == 1 and "at least 40" in err
    code, out, err = run_main(capsys, *FORECAST, "--csv", short_csv, "--window", "40")
    assert code == 0, err
    assert "upper" in out


def test_forecast_short_window_runs_without_conformal(capsys, short_csv):
    code, out, err = run_main(
        capsys, *FORECAST, "--csv", short_csv, "--window", "30", "--no-conformal"
    )
    assert code == 0, err
    assert "lower" in out


def test_forecast_window_hint_counts_lags_steps_and_coverage(capsys, short_csv):
    # 0.99 coverage needs 99 calibration rows, a quarter of the training rows:
    # 395 rows = window 401 - 1 (difference) - 3 (lags) - 3 + 1 (steps)
    code, _, err = run_main(
        capsys, "forecast", "--csv", short_csv, "--beta", "0.1", "--lags", "3",
        "--target", "difference", "--steps", "3", "--coverage", "0.99",
        "--window", "100",
    )
    assert code == 1
    assert "raise --window to at least 401 or pass --no-conformal" in err


# ------------------------------------------------------------ tsmirrors.save
@pytest.fixture
def fitted():
    return NaiveForecaster().fit(pd.Series(np.arange(20.0)))


def test_save_to_a_folder_names_the_folder(tmp_path, fitted):
    with pytest.raises(ValueError, match="it is a folder") as info:
        tsmirrors.save(fitted, tmp_path)
    assert str(tmp_path) in str(info.value)
    assert ".tmp" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_save_below_a_file_names_that_file(tmp_path, fitted):
    blocker = tmp_path / "plain.txt"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="plain.txt is a file, not a folder"):
        tsmirrors.save(fitted, blocker / "sub" / "model.tsm")


def test_save_into_a_new_folder_still_works(tmp_path, fitted):
    path = tsmirrors.save(fitted, tmp_path / "new" / "model.tsm")
    assert path.is_file()
    assert isinstance(tsmirrors.load(path), NaiveForecaster)


# ------------------------------------------------------------------ metrics
def test_non_finite_positions_are_a_plain_index_list():
    with pytest.raises(ValueError) as info:
        mse([1.0, 2.0, 3.0, 4.0], [1.0, np.nan, 3.0, np.inf])
    assert str(info.value).endswith("at index [1, 3]")


def test_non_finite_positions_of_a_table_are_row_column_pairs():
    q = np.array([[0.0, 1.0], [0.0, np.nan]])
    with pytest.raises(ValueError, match=r"at \(row, column\) \[\(1, 1\)\]$"):
        pinball_loss([0.5, 0.5], q, [0.1, 0.9])


def test_crps_refuses_crossing_quantiles_naming_the_row():
    q = [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 3.0, 2.0], [2.0, 1.0, 0.0]]
    with pytest.raises(ValueError, match="cross in 2 row.*first at row 2") as info:
        crps_from_quantiles([1.0] * 4, q, [0.1, 0.5, 0.9])
    assert "level 0.5 forecast 3 is above the level 0.9 forecast 2" in str(info.value)


def test_crps_accepts_levels_in_any_order():
    # the same forecasts with the columns and levels permuted together score
    # the same; only a fall along increasing levels is a crossing
    q = np.array([[0.0, 1.0, 2.0], [1.0, 2.0, 4.0]])
    y = [1.5, 0.0]
    taus = np.array([0.1, 0.5, 0.9])
    order = [2, 0, 1]
    expected = crps_from_quantiles(y, q, taus)
    assert crps_from_quantiles(y, q[:, order], taus[order]) == pytest.approx(
        expected, rel=1e-12  # same sums in another order: rounding only
    )


def test_forecast_window_hint_says_when_it_rests_on_auto_settings(capsys, short_csv):
    # lags chosen by cross-validation on a longer window may differ
    code, _, err = run_main(
        capsys, "forecast", "--csv", short_csv, "--lags", "auto", "--beta", "0.1",
        "--target", "difference", "--steps", "1", "--window", "30",
    )
    assert code == 1
    assert "(for the lags chosen on this window) or pass --no-conformal" in err
