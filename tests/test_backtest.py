"""Backtesting: fold semantics, scores, no leakage, parallel equality, errors."""

from __future__ import annotations

import re
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_info

import tsmirrors.backtesting._parallel as parallel_module
from tsmirrors.backtesting import BacktestSplit, Fold, backtest, min_train_size
from tsmirrors.data import make_planted
from tsmirrors.forecasting import (
    AR1Forecaster,
    ConvexAR,
    ConvexQuantileAR,
    NaiveForecaster,
    SGDNetAR,
)
from tsmirrors.metrics import (
    crps_from_quantiles,
    empirical_coverage,
    interval_score,
    mae,
    mean_interval_width,
    mse,
    pinball_loss,
    rmse,
)

LEVELS = (0.05, 0.5, 0.95)


# ------------------------------------------------------------ test doubles
class LastValue(BaseEstimator):
    """Last observed value; quantiles from past one-step changes.

    ``noise`` adds ``random_state``-driven noise to the forecasts, to check
    reproducibility across backends.
    """

    def __init__(self, quantiles=None, noise=0.0, random_state=None):
        self.quantiles = quantiles
        self.noise = noise
        self.random_state = random_state

    def fit(self, y):
        values = np.asarray(y, dtype=float)
        self.last_ = values[-1]
        self.changes_ = np.diff(values)
        self.rng_ = check_random_state(self.random_state)
        return self

    def _last(self, last_window):
        if last_window is None:
            return self.last_
        return np.asarray(last_window, dtype=float)[-1]

    def predict_point(self, steps=1, last_window=None):
        base = np.full(steps, self._last(last_window))
        return pd.Series(base + self.noise * self.rng_.normal(size=steps))

    def predict_quantiles(self, steps=1, last_window=None):
        q = np.quantile(self.changes_, self.quantiles)
        rows = self._last(last_window) + np.sqrt(np.arange(1, steps + 1))[:, None] * q
        return pd.DataFrame(rows, columns=list(self.quantiles))


class Recorder(BaseEstimator):
    """Records every fit's training labels and every forecast's window.

    Forecasts encode what was seen: ``1000 * len(train) + last_window[-1]``.
    """

    fits: list = []
    windows: list = []

    def __init__(self, lags=1):
        self.lags = lags

    def fit(self, y):
        Recorder.fits.append((int(y.index[0]), int(y.index[-1]) + 1))
        self.n_ = len(y)
        return self

    def predict(self, steps=1, last_window=None):
        Recorder.windows.append(np.asarray(last_window, dtype=float).copy())
        return pd.Series(np.full(steps, 1000.0 * self.n_ + last_window[-1]))


class ThreadProbe(BaseEstimator):
    """Forecasts the largest BLAS thread count seen during fit."""

    def fit(self, y):
        self.threads_ = max(info["num_threads"] for info in threadpool_info())
        return self

    def predict(self, steps=1, last_window=None):
        return pd.Series(np.full(steps, float(self.threads_)))


class Broken(LastValue):
    def predict_point(self, steps=1, last_window=None):
        return pd.Series(np.full(steps, np.nan))


def hourly(values, start="2017-01-01"):
    index = pd.date_range(start, periods=len(values), freq="h", tz="UTC")
    return pd.Series(np.asarray(values, dtype=float), index=index, name="close")


@pytest.fixture(scope="module")
def planted():
    return make_planted(119, random_state=3).series  # 120 values


def run(forecaster, y, initial_train_size, **kwargs):
    kwargs.setdefault("progress", False)
    return backtest(forecaster, y, initial_train_size, **kwargs)


# ------------------------------------------------------------------- folds
def test_fold_description_rolling_refit_every_two():
    cv = BacktestSplit(3, steps=2, refit=2, window="rolling")
    assert cv.folds(10) == [
        Fold(0, slice(0, 3), 3, slice(3, 5), True),
        Fold(1, slice(0, 3), 5, slice(5, 7), False),
        Fold(2, slice(4, 7), 7, slice(7, 9), True),
        Fold(3, slice(4, 7), 9, slice(9, 10), False),
    ]
    assert list(cv.split(10)) == [(f.train, f.test) for f in cv.folds(10)]
    assert cv.n_folds(10) == 4


def test_fold_description_expanding_with_gap():
    cv = BacktestSplit(4, steps=3, gap=2)
    assert [(f.train, f.origin, f.test, f.refit) for f in cv.folds(12)] == [
        (slice(0, 4), 4, slice(6, 9), True),
        (slice(0, 7), 7, slice(9, 12), True),
    ]
    cv = BacktestSplit(4, steps=3, gap=2, refit=False)
    assert [(f.train, f.origin, f.test) for f in cv.folds(13)] == [
        (slice(0, 4), 4, slice(6, 9)),
        (slice(0, 4), 7, slice(9, 12)),
        (slice(0, 4), 10, slice(12, 13)),
    ]
    assert cv.refit_every is None
    assert BacktestSplit(4, refit=True).refit_every == 1
    assert BacktestSplit(4, refit=np.int64(3)).refit == 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"initial_train_size": 0},
         "initial_train_size must be an integer >= 1, got 0"),
        ({"initial_train_size": 2.5},
         "initial_train_size must be an integer >= 1, got 2.5"),
        ({"steps": 0}, "steps must be an integer >= 1, got 0"),
        ({"steps": True}, "steps must be an integer >= 1, got True"),
        ({"refit": 0}, "refit must be True, False or an integer >= 1 (refit every "
                       "that many folds), got 0"),
        ({"refit": "always"}, "refit must be True, False or an integer >= 1 (refit "
                              "every that many folds), got 'always'"),
        ({"window": "fixed"}, "window must be 'expanding' or 'rolling', got 'fixed'"),
        ({"gap": -1}, "gap must be an integer >= 0, got -1"),
    ],
)
def test_fold_description_rejects_bad_parameters(kwargs, message):
    params = {"initial_train_size": 5, **kwargs}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        BacktestSplit(**params)


def test_fold_description_rejects_a_window_that_leaves_nothing():
    with pytest.raises(ValueError, match=re.escape(
        "initial_train_size must be smaller than the series length 10 to leave at "
        "least one value to forecast, got 10"
    )):
        BacktestSplit(10).folds(10)
    with pytest.raises(ValueError, match=re.escape(
        "initial_train_size + gap must be smaller than the series length 10 to "
        "leave at least one value to forecast, got 8 + 2 = 10"
    )):
        BacktestSplit(8, gap=2).folds(10)
    assert BacktestSplit(8, gap=1).n_folds(10) == 1


# ------------------------------------------------------- predictions frame
def test_predictions_by_hand_with_timestamps_and_gap():
    y = hourly([1.0, 2.0, 4.0, 3.0, 5.0, 6.0, 5.0, 7.0, 8.0])
    scores, pred = run(LastValue(), y, 3, steps=2, gap=1)
    # origins 3, 5, 7: forecasts of y[4:6], y[6:8], y[8:9] from y[2], y[4], y[6]
    assert list(pred.columns) == [
        "fold", "refit", "origin", "timestamp", "step", "y_true", "y_pred",
        "certified",
    ]
    assert pred["fold"].tolist() == [0, 0, 1, 1, 2]
    assert pred["refit"].tolist() == [0, 0, 1, 1, 2]
    assert pred["step"].tolist() == [1, 2, 1, 2, 1]
    assert pred["origin"].tolist() == [y.index[i] for i in (2, 2, 4, 4, 6)]
    assert pred["timestamp"].tolist() == [y.index[i] for i in (4, 5, 6, 7, 8)]
    assert pred["y_true"].tolist() == [5.0, 6.0, 5.0, 7.0, 8.0]
    assert pred["y_pred"].tolist() == [4.0, 4.0, 5.0, 5.0, 5.0]
    assert scores.index.tolist() == [0, 1, 2, "overall"]
    assert scores.index.name == "fold"
    assert list(scores.columns) == [
        "mse", "mae", "mase", "pinball", "coverage", "width"
    ]


def test_between_refits_forecasts_start_from_the_newest_values():
    y = np.arange(20.0) ** 1.5
    _, pred = run(LastValue(), y, 5, refit=False)
    # fit once on y[:5], yet each forecast is the value just before its target
    np.testing.assert_array_equal(pred["y_pred"], y[4:-1])
    np.testing.assert_array_equal(pred["origin"], np.arange(4, 19))


@pytest.mark.parametrize("window", ["expanding", "rolling"])
@pytest.mark.parametrize("refit", [True, False, 3])
def test_fits_and_windows_follow_the_fold_description(window, refit):
    y = np.arange(30.0)  # values equal positions
    Recorder.fits.clear()
    Recorder.windows.clear()
    cv = BacktestSplit(6, steps=2, refit=refit, window=window, gap=1)
    _, pred = run(Recorder(), y, 6, steps=2, refit=refit, window=window, gap=1,
                  backend="sequential")
    folds = cv.folds(30)
    refits = [f for f in folds if f.refit]
    assert Recorder.fits == [(f.train.start, f.train.stop) for f in refits]
    # one last_window per fold: the initial_train_size values before the origin
    assert len(Recorder.windows) == len(folds)
    for fold, seen in zip(folds, Recorder.windows):
        np.testing.assert_array_equal(seen, y[fold.origin - 6 : fold.origin])
    expected = np.concatenate([
        np.full(f.test.stop - f.test.start,
                1000.0 * (f.train.stop - f.train.start) + f.origin - 1)
        for f in folds
    ])
    np.testing.assert_array_equal(pred["y_pred"], expected)


# ------------------------------------------------------------------ scores
def test_scores_match_the_metric_functions_per_fold_and_overall():
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=60)) + 50
    f = LastValue(quantiles=(0.05, 0.25, 0.5, 0.75, 0.95))
    metrics = ("mse", "rmse", "mae", "mase", "pinball", "coverage", "width",
               "interval_score", "crps")
    scores, pred = run(f, y, 20, steps=7, refit=2, metrics=metrics, coverage=0.5)
    qcols = ["q_0.05", "q_0.25", "q_0.5", "q_0.75", "q_0.95"]
    assert list(pred.columns)[7:] == [*qcols, "lower", "upper", "certified"]
    # a fold is one forecast origin; every second origin refits
    assert pred.groupby("fold")["refit"].first().tolist() == [0, 0, 1, 1, 2, 2]
    # MASE scale of each forecast: the naive MAE of the window its fit saw
    folds = BacktestSplit(20, steps=7, refit=2).folds(60)
    scale = np.array([np.mean(np.abs(np.diff(y[f.train]))) for f in folds])
    pred["scaled"] = np.abs(pred["y_true"] - pred["y_pred"]) / scale[pred["fold"]]
    np.testing.assert_array_equal(pred["lower"], pred["q_0.25"])
    np.testing.assert_array_equal(pred["upper"], pred["q_0.75"])
    taus = np.array(f.quantiles)

    def expected(part):
        yt, yp = part["y_true"], part["y_pred"]
        lo, hi, q = part["lower"], part["upper"], part[qcols].to_numpy()
        return [
            mse(yt, yp), rmse(yt, yp), mae(yt, yp), part["scaled"].mean(),
            float(np.mean(pinball_loss(yt, q, taus))),
            empirical_coverage(yt, lo, hi), mean_interval_width(lo, hi),
            interval_score(yt, lo, hi, coverage=0.5),
            crps_from_quantiles(yt, q, taus),
        ]

    assert scores.shape == (7, 9)  # 40 forecasts in folds of 7: 6 folds
    for fold, part in pred.groupby("fold"):
        np.testing.assert_allclose(scores.loc[fold].to_numpy(dtype=float),
                                   expected(part), rtol=1e-12)
    np.testing.assert_allclose(scores.loc["overall"].to_numpy(dtype=float),
                               expected(pred), rtol=1e-12)
    # overall is over all forecasts, not the mean of the fold scores
    assert scores.loc["overall", "mse"] != pytest.approx(scores["mse"][:-1].mean())


def test_mase_is_scaled_by_each_training_window():
    y = np.array([1.0, 3.0, 2.0, 6.0, 4.0, 9.0, 8.0, 12.0])
    scores, pred = run(LastValue(), y, 4, steps=2, window="rolling",
                       metrics=("mae", "mase"))
    # fold 0 is fit on y[0:4], fold 1 on y[2:6]: naive MAEs 7/3 and 11/3
    scale = np.array([7 / 3, 11 / 3])
    np.testing.assert_allclose(scores["mase"][:2], scores["mae"][:2] / scale)
    # overall: the mean of the scaled errors |y - yhat| / s
    err = np.abs(pred["y_true"] - pred["y_pred"]).to_numpy()
    assert scores.loc["overall", "mase"] == pytest.approx(
        np.mean(err / np.repeat(scale, 2))
    )
    assert scores.loc["overall", "mae"] == pytest.approx(np.mean(err))


def test_coverage_defaults_to_the_forecasters_symmetric_pair():
    y = np.cumsum(np.random.default_rng(1).normal(size=40))
    scores, pred = run(LastValue(quantiles=(0.1, 0.5, 0.9)), y, 20, steps=2)
    np.testing.assert_array_equal(pred["lower"], pred["q_0.1"])
    np.testing.assert_array_equal(pred["upper"], pred["q_0.9"])
    with pytest.raises(ValueError, match="no symmetric pair"):
        run(LastValue(quantiles=(0.1, 0.5)), y, 20)


def test_quantile_metrics_are_nan_for_point_forecasters():
    scores, pred = run(LastValue(), np.arange(12.0) ** 2, 5, steps=3)
    assert "lower" not in pred.columns
    assert scores[["pinball", "coverage", "width"]].isna().all().all()
    assert scores[["mse", "mae", "mase"]].notna().all().all()


# ------------------------------------------------------------- no leakage
LEAK_FORECASTERS = [
    pytest.param(ConvexAR(target="difference", beta=1e-2), id="convex-difference"),
    pytest.param(ConvexAR(target="standardize", lags=2, beta=1e-2),
                 id="convex-standardize-lags2"),
    pytest.param(AR1Forecaster(target="standardize", quantiles=LEVELS),
                 id="ar1-standardize"),
    pytest.param(NaiveForecaster(quantiles=LEVELS), id="naive"),
    pytest.param(ConvexQuantileAR(target="standardize", beta=1e-2,
                                  max_horizon=3), id="convex-quantile"),
]


@pytest.mark.parametrize("forecaster", LEAK_FORECASTERS)
@pytest.mark.parametrize("window, refit", [("expanding", 2), ("rolling", True)])
def test_no_leakage_changing_the_future_keeps_past_forecasts(
    planted, forecaster, window, refit
):
    y = planted[:70] + 10.0
    kw = {"steps": 3, "refit": refit, "window": window, "metrics": "mae"}
    _, base = run(forecaster, y, 40, **kw)
    forecast_cols = [c for c in base.columns if c.startswith(("y_pred", "q_"))]
    forecast_cols += [c for c in ("lower", "upper") if c in base.columns]
    rng = np.random.default_rng(1)
    for t in (40, 47, 52, 61):
        changed = y.copy()
        changed.iloc[t:] += rng.normal(scale=3.0, size=y.size - t)
        _, pred = run(forecaster, changed, 40, **kw)
        # a forecast with origin label y.index[t' - 1] saw y[:t']
        issued = y.index.get_indexer(pred["origin"]) + 1 <= t
        assert issued.any() and not issued.all()
        pd.testing.assert_frame_equal(pred.loc[issued, forecast_cols],
                                      base.loc[issued, forecast_cols])
        # and the later forecasts do see the change
        assert not np.allclose(pred.loc[~issued, "y_pred"],
                               base.loc[~issued, "y_pred"])


# ------------------------------------------------------- every forecaster
CONTRACT_FORECASTERS = [
    pytest.param(NaiveForecaster(), False, id="naive"),
    pytest.param(NaiveForecaster(quantiles=LEVELS), True, id="naive-quantiles"),
    pytest.param(AR1Forecaster(), False, id="ar1"),
    pytest.param(AR1Forecaster(target="difference", quantiles=LEVELS), True,
                 id="ar1-quantiles"),
    pytest.param(ConvexAR(beta=1e-2), False, id="convex"),
    pytest.param(ConvexQuantileAR(beta=1e-2, max_horizon=2), True,
                 id="convex-quantile"),
    pytest.param(SGDNetAR(n_neurons=8, epochs=3, random_state=0), False, id="sgd"),
]


@pytest.mark.parametrize("forecaster, has_quantiles", CONTRACT_FORECASTERS)
def test_every_forecaster_backtests(planted, forecaster, has_quantiles):
    y = hourly(planted[:80].to_numpy() + 10.0)
    scores, pred = run(forecaster, y, 50, steps=2, refit=5, window="rolling")
    assert len(pred) == 30 and scores.shape[0] == 16
    assert pred["timestamp"].tolist() == y.index[50:].tolist()
    assert np.isfinite(pred["y_pred"]).all()
    quantile_cols = {"q_0.05", "q_0.5", "q_0.95", "lower", "upper"}
    assert quantile_cols.issubset(pred.columns) == has_quantiles
    assert scores["coverage"].notna().all() == has_quantiles
    if has_quantiles:
        q = pred[["q_0.05", "q_0.5", "q_0.95"]].to_numpy()
        assert np.all(np.diff(q, axis=1) >= 0)


# ---------------------------------------------------------------- parallel
def test_joblib_backends_equal_the_serial_run(planted):
    y = planted[:90]
    f = ConvexAR(beta=1e-2, n_features=20, sampling="uniform", random_state=0)
    kw = {"steps": 2, "refit": 3, "window": "rolling"}
    serial = run(f, y, 40, **kw)
    for backend in ("loky", "threading"):
        scores, pred = run(f, y, 40, n_jobs=2, backend=backend, **kw)
        pd.testing.assert_frame_equal(scores, serial[0])
        pd.testing.assert_frame_equal(pred, serial[1])


def test_random_state_gives_identical_results_serial_and_parallel():
    y = np.sin(np.arange(60.0) / 3) + np.arange(60.0) / 10
    for seed in (0, np.random.RandomState(7)):
        f = LastValue(quantiles=LEVELS, noise=1.0, random_state=seed)
        serial = run(f, y, 20, steps=2, refit=2)
        threaded = run(f, y, 20, steps=2, refit=2, n_jobs=2, backend="threading")
        pd.testing.assert_frame_equal(threaded[1], serial[1])
        pd.testing.assert_frame_equal(threaded[0], serial[0])
    assert f.random_state.randint(1000) == np.random.RandomState(7).randint(1000)


def test_blas_threads_are_capped_in_every_task_and_restored():
    assert threadpool_info(), "no BLAS/OpenMP library found to check"
    before = [info["num_threads"] for info in threadpool_info()]
    y = np.arange(30.0) ** 1.2
    for backend, n_jobs in (("loky", 2), ("threading", 2), ("sequential", 1)):
        _, pred = run(ThreadProbe(), y, 10, refit=4, n_jobs=n_jobs,
                      backend=backend)
        assert (pred["y_pred"] == 1.0).all(), backend
    assert [info["num_threads"] for info in threadpool_info()] == before


# ---------------------------------------------------------------- progress
def test_progress_bar_and_silence(capsys):
    y = np.arange(20.0) ** 1.3
    run(LastValue(), y, 10, refit=2, progress=False)
    assert capsys.readouterr() == ("", "")
    run(LastValue(), y, 10, refit=2, progress=True)
    err = capsys.readouterr().err
    assert "backtest LastValue" in err and "5/5" in err


def test_progress_without_tqdm_warns_and_runs(monkeypatch):
    def missing(module):
        raise ImportError(f"{module!r} is required for this feature but is not "
                          "installed. Install it with: pip install "
                          "'tsmirrors[progress]'")

    monkeypatch.setattr(parallel_module, "import_optional", missing)
    y = np.arange(20.0) ** 1.3
    with pytest.warns(UserWarning, match=re.escape(
        "'tqdm' is required for this feature but is not installed. Install it "
        "with: pip install 'tsmirrors[progress]'; running without a progress bar "
        "(pass progress=False to silence this warning)"
    )):
        scores, pred = run(LastValue(), y, 10, progress=True)
    assert len(pred) == 10


# ------------------------------------------------------------- bad inputs
Y30 = np.arange(30.0) ** 1.1


@pytest.mark.parametrize(
    "forecaster, kwargs, message",
    [
        (NaiveForecaster(), {"steps": 0}, "steps must be an integer >= 1, got 0"),
        (NaiveForecaster(), {"initial_train_size": 2},
         "initial_train_size must be at least 3 for NaiveForecaster (lags=1): "
         "lags + 2 values after the target transform, got 2"),
        (ConvexAR(target="difference", lags=2, beta=1.0), {"initial_train_size": 4},
         "initial_train_size must be at least 5 for ConvexAR (lags=2, "
         "target='difference'): lags + 2 values after the target transform, got 4"),
        (ConvexAR(target="difference", lags=2), {"initial_train_size": 4},
         "initial_train_size must be at least 16 for ConvexAR (lags=2, "
         "target='difference'): the cross-validation folds of its 'auto' "
         "settings, got 4"),
        (ConvexAR(), {"initial_train_size": 4},
         "initial_train_size must be at least 15 for ConvexAR (lags='auto', "
         "target='auto'): the cross-validation folds of its 'auto' settings, "
         "got 4"),
        (ConvexQuantileAR(target="difference", lags=1, beta=0.1,
                          calibration="conformal"), {"initial_train_size": 5},
         "initial_train_size must be at least 40 for ConvexQuantileAR (lags=1, "
         "target='difference'): what its fit holds out (burn-in, calibration "
         "rows or one network per horizon), got 5"),
        (NaiveForecaster(), {"initial_train_size": 30},
         "initial_train_size must be smaller than the series length 30 to leave "
         "at least one value to forecast, got 30"),
        (NaiveForecaster(), {"initial_train_size": 28, "gap": 2},
         "initial_train_size + gap must be smaller than the series length 30 to "
         "leave at least one value to forecast, got 28 + 2 = 30"),
        (NaiveForecaster(), {"gap": -1}, "gap must be an integer >= 0, got -1"),
        (NaiveForecaster(), {"window": "sliding"},
         "window must be 'expanding' or 'rolling', got 'sliding'"),
        (NaiveForecaster(), {"refit": -2},
         "refit must be True, False or an integer >= 1 (refit every that many "
         "folds), got -2"),
        (NaiveForecaster(), {"metrics": ("mse", "smape")},
         "unknown metric 'smape'; choose from ('mse', 'rmse', 'mae', 'mase', "
         "'pinball', 'coverage', 'width', 'interval_score', 'crps')"),
        (NaiveForecaster(), {"metrics": ("mse", "mse")},
         "metrics must not repeat a name, got ('mse', 'mse')"),
        (NaiveForecaster(), {"n_jobs": 0},
         "n_jobs must be a nonzero integer or None (-1 uses all cores), got 0"),
        (NaiveForecaster(), {"backend": "spark"},
         "backend must be 'dask' or the name of a joblib backend such as 'loky', "
         "'threading' or 'sequential', got 'spark'"),
        (NaiveForecaster(), {"client": object()},
         "client is only used with backend='dask', got backend='loky'"),
        (NaiveForecaster(), {"coverage": 1.0}, "coverage must be in (0, 1), got 1.0"),
        (NaiveForecaster(quantiles=(0.1, 0.5, 0.9)), {"coverage": 0.9},
         "coverage=0.9 needs the quantile levels 0.05 and 0.95, but the forecaster "
         "has [0.1, 0.5, 0.9]; it supports coverage in [0.8]"),
        (ConvexQuantileAR(max_horizon=2), {"steps": 2, "gap": 1},
         "the forecaster forecasts at most max_horizon=2 steps, but gap + steps = "
         "3; set its max_horizon to at least 3"),
        (Broken(), {},
         "the forecaster returned NaN or inf forecasts in 20 fold(s), first fold 0 "
         "(origin 9)"),
    ],
)
def test_bad_input_is_rejected_with_the_reason(forecaster, kwargs, message):
    params = {"initial_train_size": 10, **kwargs}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        run(forecaster, Y30, **params)


def test_bad_series_and_forecaster_are_rejected():
    y = Y30.copy()
    y[12] = np.nan
    with pytest.raises(ValueError, match=re.escape(
        "y has 1 NaN value(s) at positions 12; fill or drop them explicitly first"
    )):
        run(NaiveForecaster(), y, 10)
    with pytest.raises(TypeError, match=re.escape(
        "forecaster must have fit(y) and predict_point(steps, last_window) or "
        "predict(steps, last_window) methods, got str"
    )):
        run("naive", Y30, 10)
    assert min_train_size(ConvexAR(lags=3, target="log_return", beta=1.0)) == 6
    assert min_train_size(object()) == 3


_QUIET_BARRIER = threading.Barrier(2, timeout=10)
_QUIET_DONE = threading.Event()


def _quiet_or_warn(k):
    """Task 0 silences warnings while task 1, in the other thread, warns."""
    from tsmirrors._warnings import quiet

    if k == 0:
        with quiet():
            _QUIET_BARRIER.wait()
            _QUIET_DONE.wait(timeout=10)
    else:
        _QUIET_BARRIER.wait()
        warnings.warn("task 1's own warning", ConvergenceWarning, stacklevel=1)
        _QUIET_DONE.set()
    return k


def test_a_thread_silencing_warnings_does_not_silence_another_thread():
    # warnings.catch_warnings would have ignored task 1's warning for the
    # whole process while task 0 was inside it
    _QUIET_BARRIER.reset()
    _QUIET_DONE.clear()
    with pytest.warns(ConvergenceWarning, match="task 1's own warning"):
        results, records = parallel_module.run_tasks(
            _quiet_or_warn, [(0,), (1,)], n_jobs=2, backend="threading",
            return_warnings=True,
        )
    assert results == [0, 1]
    assert records[0] == []
    assert [message for _, message, *_ in records[1]] == ["task 1's own warning"]
