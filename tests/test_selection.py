"""Automatic beta, lags and target: exact CV curves, no look-ahead, lag recovery."""

from __future__ import annotations

import numpy as np
import pytest

from tsmirrors.backtesting import backtest
from tsmirrors.forecasting import ConvexAR, ConvexQuantileAR
from tsmirrors.forecasting.autofit import _fold_positions, _folds_data, lag_matrix
from tsmirrors.forecasting.selection import (
    check_lags,
    cross_validate_beta,
    rolling_folds,
    select_beta,
)
from tsmirrors.models.convex import ConvexNetRegressor
from tsmirrors.solvers import lasso


def _ar_series(n, seed=0):
    """A nonlinear AR(2) in levels: y_t = 0.6 y_{t-1} - 0.5 |y_{t-2}| + noise."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(2, n):
        y[t] = 0.6 * y[t - 1] - 0.5 * abs(y[t - 2]) + 0.3 + rng.normal(scale=0.3)
    return y


def _folds(z, lags, n_folds=3):
    model = ConvexAR(cv=n_folds)
    positions = _fold_positions(z.size + 1, int(lags.max()), model)
    return [d[:4] for d in _folds_data(z, lags, 0, [
        (a - 1, b - 1, c - 1) for a, b, c in positions
    ])]


def _fold_loss_at(regressor, X_tr, t_tr, X_val, t_val, beta43):
    """Validation MSE of a fresh exact Lasso fit at one beta of (4.3)."""
    libs = regressor._make_libraries(X_tr)
    design = regressor._design(libs, X_tr)
    res = lasso(design, t_tr, beta43 * t_tr.size / 2.0)
    val = np.hstack([lib.features_.evaluate(X_val[:, k]) for k, lib in enumerate(libs)])
    pred = val @ np.asarray(res.coef) + res.intercept
    return float(np.mean((pred - t_val) ** 2))


def test_exact_validation_curve_equals_refits_at_sampled_betas():
    z = _ar_series(160, seed=1)
    z = z / z.std()
    lags = np.array([1, 2])
    folds = _folds(z, lags)
    regressor = ConvexNetRegressor(activation="abs")
    curve = cross_validate_beta(regressor, folds, beta_ratio=1e-3)
    grid = curve["betas"]
    assert np.all(np.diff(grid) < 0)
    rng = np.random.default_rng(0)
    # kinks, points strictly inside segments, and the exact minimizer
    picks = [grid[0], grid[grid.size // 2], grid[-1]]
    for k in rng.choice(grid.size - 1, size=4, replace=False):
        picks.append(grid[k] + rng.uniform(0.2, 0.8) * (grid[k + 1] - grid[k]))
    picks.append(curve["best_beta"])
    for beta in picks:
        k = int(np.clip(np.searchsorted(-grid, -beta, side="right") - 1, 0,
                        grid.size - 2))
        theta = (beta - grid[k + 1]) / (grid[k] - grid[k + 1])
        for f, (X_tr, t_tr, X_val, t_val) in enumerate(folds):
            r = curve["residuals"][f]
            exact = float(np.mean((theta * r[k] + (1 - theta) * r[k + 1]) ** 2))
            ref = _fold_loss_at(regressor, X_tr, t_tr, X_val, t_val, beta)
            # both are exact solutions of one strictly convex-in-prediction
            # problem: agreement to rounding of the solvers, relative to the loss
            assert exact == pytest.approx(ref, rel=1e-7), (beta, f)
    # the exact minimum is no worse than the mean loss at any sampled beta
    for beta in picks:
        mean = np.mean([
            _fold_loss_at(regressor, *fold, beta) for fold in folds
        ])
        assert curve["best_loss"] <= mean * (1 + 1e-9)


def test_rolling_folds_are_ordered_and_respect_the_gap():
    folds = rolling_folds(100, n_folds=3, gap=2)
    for train_stop, val_start, val_stop in folds:
        assert train_stop == val_start - 2 < val_stop <= 100
    assert [f[1] for f in folds] == [79, 86, 93] and folds[-1][2] == 100
    with pytest.raises(ValueError, match="too few for cv=3"):
        rolling_folds(20, n_folds=3, gap=9)


def test_cv_of_a_fold_reads_nothing_after_its_validation_block():
    y = _ar_series(200, seed=2)
    model = ConvexAR(beta="auto", target="level", lags=2).fit(y)
    fold_loss = model.cv_results_["fold_loss"]
    positions = _fold_positions(y.size, 2, model)
    after = positions[1][2]  # end of the second validation block
    y2 = y.copy()
    y2[after:] += np.linspace(1.0, 5.0, y.size - after)
    # the transform's scale would move with the data: fix it by refitting on the
    # same normalization (the std of the whole window enters every fold)
    other = ConvexAR(beta="auto", target="level", lags=2, normalize=False).fit(y)
    other2 = ConvexAR(beta="auto", target="level", lags=2, normalize=False).fit(y2)
    # the kinks of folds 0 and 1 are on both curves: their losses agree there
    g1, g2 = other.cv_results_["betas"], other2.cv_results_["betas"]
    common, i1, i2 = np.intersect1d(g1, g2, return_indices=True)
    assert common.size > 10
    np.testing.assert_array_equal(
        other.cv_results_["fold_loss"][:2, i1], other2.cv_results_["fold_loss"][:2, i2]
    )
    assert not np.array_equal(other.cv_results_["fold_loss"][2],
                              other2.cv_results_["fold_loss"][2])
    assert fold_loss.shape[0] == 3


def test_auto_settings_ignore_everything_after_the_origin():
    y = _ar_series(220, seed=3) + 5.0
    model = ConvexAR(beta="auto", lags=[1, 2, 4], target="auto")
    _, pred = backtest(model, y, initial_train_size=150, steps=20, refit=True,
                       progress=False, metrics=("mse",))
    y2 = y.copy()
    cut = 190
    y2[cut:] = y2[cut:] * 3.0 + 40.0
    _, pred2 = backtest(model, y2, initial_train_size=150, steps=20, refit=True,
                        progress=False, metrics=("mse",))
    assert pred["origin"].nunique() == 4
    before = pred["origin"] < cut
    np.testing.assert_array_equal(pred.loc[before, "y_pred"],
                                  pred2.loc[before, "y_pred"])
    a = ConvexAR(beta="auto", lags="auto", target="auto").fit(y[:cut])
    b = ConvexAR(beta="auto", lags="auto", target="auto").fit(y2[:cut])
    assert (a.beta_, a.target_) == (b.beta_, b.target_)
    np.testing.assert_array_equal(a.lags_in_use_, b.lags_in_use_)


def test_selected_lags_recover_a_planted_additive_model():
    rng = np.random.default_rng(5)
    n = 420
    y = np.zeros(n)
    for t in range(12, n):
        y[t] = (0.5 * y[t - 1] + 0.6 * abs(y[t - 12]) - 0.5
                + rng.normal(scale=0.2))
    model = ConvexAR(beta="auto", lags="auto", seasonal_period=12, target="level",
                     cv_rule="1se").fit(y[20:])
    assert model.lags_.tolist() == list(range(1, 11)) + [12]
    assert model.lags_in_use_.tolist() == [1, 12]


def test_select_beta_rules():
    cv = {
        "betas": np.array([4.0, 2.0, 1.0, 0.5]),
        "mean_loss": np.array([3.0, 1.05, 1.0, 1.2]),
        "std_loss": np.array([0.1, 0.1, 0.1, 0.1]),
        "fold_loss": np.zeros((4, 4)),
        "best_beta": 1.0,
        "best_loss": 1.0,
    }
    assert select_beta(cv, "min") == 1.0
    assert select_beta(cv, "1se") == 2.0  # 1.05 <= 1.0 + 0.1 / sqrt(4)
    with pytest.raises(ValueError, match="cv_rule must be one of"):
        select_beta(cv, "best")


def test_lags_lists_and_errors():
    assert check_lags([24, 1, 2]).tolist() == [1, 2, 24]
    assert check_lags(3, seasonal_period=7).tolist() == [1, 2, 3, 7]
    with pytest.raises(ValueError, match="lags must be distinct"):
        check_lags([1, 1])
    with pytest.raises(ValueError, match="lags must be an integer >= 1, got 0"):
        check_lags(0)
    with pytest.raises(ValueError, match="'auto'"):
        check_lags("all")
    with pytest.raises(ValueError, match="beta must be a number >= 0 or 'auto'"):
        ConvexAR(beta="best").fit(_ar_series(60))


def test_lag_list_model_is_the_additive_network_on_those_lags():
    y = _ar_series(150, seed=4)
    model = ConvexAR(lags=[1, 3], target="level", beta=1e-3).fit(y)
    X, start = lag_matrix(y / model.z_scale_, np.array([1, 3]))
    np.testing.assert_array_equal(X[:, 1], y[start - 3] / model.z_scale_)
    assert model.regressor_.n_features_in_ == 2
    # one-step forecast from the window equals the regressor at (y[t-1], y[t-3])
    x = np.array([[y[-1], y[-3]]]) / model.z_scale_
    assert model.predict(1).iloc[0] == pytest.approx(
        model.regressor_.predict(x)[0] * model.z_scale_, rel=1e-12
    )
    assert model.predict_one_step(y[None, -5:])[0] == pytest.approx(
        model.predict(1).iloc[0], rel=1e-12
    )


def test_quantile_model_chooses_beta_on_a_grid():
    y = _ar_series(140, seed=6)
    model = ConvexQuantileAR(quantiles=(0.1, 0.5, 0.9), beta="auto", lags=2,
                             target="level").fit(y)
    cv = model.cv_results_
    assert model.beta_ in cv["betas"]
    assert cv["mean_loss"][list(cv["betas"]).index(model.beta_)] == cv[
        "mean_loss"].min()
    assert model.predict(1).shape == (1, 3)


def test_direct_strategy_fits_one_network_per_horizon():
    y = _ar_series(160, seed=7) + 3.0
    model = ConvexAR(strategy="direct", max_horizon=3, target="level", lags=2,
                     beta=1e-2).fit(y)
    assert sorted(model.direct_models_) == [2, 3]
    recursive = ConvexAR(target="level", lags=2, beta=1e-2).fit(y)
    direct, rec = model.predict(3).to_numpy(), recursive.predict(3).to_numpy()
    assert direct[0] == pytest.approx(rec[0], rel=1e-12)  # h=1 is the same fit
    # h=3: the network fit on (y[t-1], y[t-2]) -> y[t+2]
    X, start = lag_matrix(y / model.z_scale_, np.array([1, 2]), horizon=3)
    ref = ConvexNetRegressor(activation="abs", beta=start.size * 1e-2 / 2).fit(
        X, y[start + 2] / model.z_scale_
    )
    x = np.array([[y[-1], y[-2]]]) / model.z_scale_
    assert direct[2] == pytest.approx(ref.predict(x)[0] * model.z_scale_, rel=1e-9)
    with pytest.raises(ValueError, match="exceeds max_horizon=3"):
        model.predict(4)
    with pytest.raises(ValueError, match="needs max_horizon"):
        ConvexAR(strategy="direct").fit(y)


@pytest.mark.parametrize("target", ["level", "difference"])
def test_average_strategy_is_the_mean_of_recursive_and_direct(target, tmp_path):
    from tsmirrors.io import load, save

    y = _ar_series(160, seed=9) + 3.0
    kw = dict(target=target, lags=2, beta=1e-2)
    model = ConvexAR(strategy="average", max_horizon=4, **kw).fit(y)
    direct = ConvexAR(strategy="direct", max_horizon=4, **kw).fit(y)
    recursive = ConvexAR(**kw).fit(y)
    expected = 0.5 * (direct.predict(4).to_numpy() + recursive.predict(4).to_numpy())
    got = model.predict(4).to_numpy()
    # the same networks (same data, settings and seed) evaluated twice
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[0] == pytest.approx(recursive.predict(1).iloc[0], rel=1e-12)
    assert model.max_horizon_ == 4 and model.strategy_ == "average"
    # forecasts from a later window, and after a round trip through a file
    window = y[:120]
    again = load(save(model, tmp_path / "average.tsm"))
    np.testing.assert_array_equal(again.predict(3, last_window=window).to_numpy(),
                                  model.predict(3, last_window=window).to_numpy())
    with pytest.raises(ValueError, match="exceeds max_horizon=4"):
        model.predict(5)
    with pytest.raises(ValueError, match="'average' needs max_horizon"):
        ConvexAR(strategy="average").fit(y)
    exog = np.random.default_rng(0).standard_normal((y.size, 1))
    refused = ConvexAR(strategy="average", max_horizon=2, **kw)
    with pytest.raises(ValueError, match="strategy='average' does not take exog"):
        refused.fit(y, exog=exog)
    assert not hasattr(refused, "regressor_")  # refused before any fitting


# ------------------------------------------------------------------ exog
def _hourly_with_calendar(n=240, seed=8):
    import pandas as pd

    from tsmirrors.data import calendar_features

    idx = pd.date_range("2024-01-01", periods=n, freq="h")
    rng = np.random.default_rng(seed)
    effect = np.where(idx.hour < 12, 1.0, -1.0)
    y = pd.Series(10 + effect + rng.normal(scale=0.1, size=n), index=idx)
    exog = calendar_features(idx, ["hour"])[["hour_0", "hour_6", "hour_13"]]
    exog["morning"] = (idx.hour < 12).astype(float)
    return y, exog


def test_calendar_features_are_indicators():
    import pandas as pd

    from tsmirrors.data import calendar_features

    idx = pd.date_range("2024-01-01 22:00", periods=4, freq="h")
    cal = calendar_features(idx, ["hour", "dayofweek"])
    assert cal.shape == (4, 31)
    assert cal["hour_23"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert cal["dayofweek_1"].tolist() == [0.0, 0.0, 1.0, 1.0]  # 2024-01-02: Tue
    np.testing.assert_array_equal(cal.filter(like="hour_").sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="unknown calendar feature 'week'"):
        calendar_features(idx, ["week"])
    with pytest.raises(ValueError, match="needs a DatetimeIndex"):
        calendar_features(pd.RangeIndex(3))


def test_exog_enters_the_network_and_must_cover_the_forecast():
    y, exog = _hourly_with_calendar()
    model = ConvexAR(target="level", lags=1, beta=1e-3).fit(y, exog=exog)
    assert model.regressor_.n_features_in_ == 1 + exog.shape[1]
    future = exog.index[-1] + pd_offset(1)
    with pytest.raises(ValueError, match="needs exog"):
        model.predict(2)
    with pytest.raises(ValueError, match="2024-01-11 00:00:00"):
        model.predict(2, exog=exog.iloc[:5])
    import pandas as pd

    from tsmirrors.data import calendar_features

    idx = pd.date_range(future, periods=13, freq="h")
    fut = calendar_features(idx, ["hour"])[["hour_0", "hour_6", "hour_13"]]
    fut["morning"] = (idx.hour < 12).astype(float)
    pred = model.predict(13, exog=fut)
    # the morning effect is learned from exog: +1 before noon, -1 after
    assert pred.iloc[:12].mean() - pred.iloc[12] > 1.0
    with pytest.raises(ValueError, match="no row for 1 training timestamp"):
        ConvexAR(target="level").fit(y, exog=exog.iloc[1:])


def pd_offset(hours):
    import pandas as pd

    return pd.Timedelta(hours=hours)


def test_backtest_exog_alignment_has_no_look_ahead():
    y, exog = _hourly_with_calendar(200)
    model = ConvexAR(target="level", lags=2, beta=1e-3)
    kw = dict(initial_train_size=150, steps=5, refit=True, progress=False,
              metrics=("mse",))
    _, pred = backtest(model, y, exog=exog, **kw)
    origin = 160
    # change y from the origin on, and exog after the forecast rows of that origin
    y2, exog2 = y.copy(), exog.copy()
    y2.iloc[origin:] += 50.0
    exog2.iloc[origin + 5 :] = 1.0 - exog2.iloc[origin + 5 :]
    _, pred2 = backtest(model, y2, exog=exog2, **kw)
    keep = pred["origin"] <= y.index[origin - 1]
    np.testing.assert_array_equal(pred.loc[keep, "y_pred"], pred2.loc[keep, "y_pred"])
    # while the rows of the forecast times are used: flip them and it changes
    exog3 = exog.copy()
    exog3.iloc[origin : origin + 5] = 1.0 - exog3.iloc[origin : origin + 5]
    _, pred3 = backtest(model, y, exog=exog3, **kw)
    at = pred["origin"] == y.index[origin - 1]  # labelled by the last value seen
    assert at.sum() == 5 and (~keep).sum() > 0
    assert not np.allclose(pred.loc[at, "y_pred"], pred3.loc[at, "y_pred"])


def test_target_auto_compares_targets_in_original_units():
    rng = np.random.default_rng(9)
    walk = 100 + np.cumsum(rng.normal(size=220))
    cycle = _ar_series(220, seed=10) + 5.0
    # with a drift there is no naive candidate: the three targets compete
    m_walk = ConvexAR(beta="auto", target="auto", lags=2, drift=True).fit(walk)
    m_cycle = ConvexAR(beta="auto", target="auto", lags=2, cv_rule="min").fit(cycle)
    assert set(m_walk.cv_results_["target_scores"]) == {
        "level", "difference", "log_return"
    }
    scores = m_cycle.cv_results_["target_scores"]
    assert m_cycle.target_ == min(scores, key=scores.get) == "level"
    # the lowest validation loss in original units decides, even on a walk
    walk_scores = m_walk.cv_results_["target_scores"]
    assert m_walk.target_ == min(walk_scores, key=walk_scores.get)


def test_plot_cv_results_draws_the_curve_and_the_choice():
    import matplotlib

    matplotlib.use("Agg")
    from tsmirrors.forecasting.selection import plot_cv_results

    model = ConvexAR(beta="auto", target="level", lags=2).fit(_ar_series(150))
    ax = plot_cv_results(model)
    x, y = ax.lines[0].get_data()
    np.testing.assert_array_equal(x, model.cv_results_["betas"])
    assert ax.lines[1].get_xdata()[0] == model.beta_


def test_min_train_size_reads_the_largest_lag_of_a_list():
    from tsmirrors.backtesting import min_train_size

    fixed = dict(beta=1.0, target="difference")
    assert min_train_size(ConvexAR(lags=[1, 24], **fixed)) == 24 + 2 + 1
    assert min_train_size(ConvexAR(lags=[1, 2], beta=1.0, target="level")) == 4


def test_validation_curve_stops_before_the_first_uncertified_kink():
    from tsmirrors.features import Library
    from tsmirrors.forecasting.selection import _kink_forecasts
    from tsmirrors.solvers import lasso_path

    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    y = np.abs(x) + 0.1 * rng.normal(size=60)
    op = Library(activation="abs").fit(x).operator()
    path = lasso_path(op, y)
    assert path.certified.all() and path.n_kinks > 5
    rows = np.eye(op.shape[1])[:2]  # validation rows: any two of the design
    full = _kink_forecasts(path, rows, 1.0)
    assert full[0].size == path.n_kinks
    path.certified[4] = False  # as if the solver had failed its KKT check there
    cut_betas, cut_preds, cut_active = _kink_forecasts(path, rows, 1.0)
    assert cut_betas.size == cut_preds.shape[0] == cut_active.size == 4
    np.testing.assert_array_equal(cut_betas, path.betas[:4])
