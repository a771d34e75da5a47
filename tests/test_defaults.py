"""ConvexAR at its defaults: automatic settings, no drift, the naive safeguard."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tsmirrors.forecasting import ConvexAR
from tsmirrors.forecasting.selection import check_lags, select_beta
from tsmirrors.models.convex import ConvexNetRegressor
from tsmirrors.solvers import lasso_path


def _walk(seed, n=300, drift=0.0):
    rng = np.random.default_rng(seed)
    return 100 + np.cumsum(drift + rng.normal(size=n))


def test_defaults_choose_every_setting_by_cross_validation():
    params = ConvexAR().get_params()
    assert (params["beta"], params["lags"], params["target"]) == ("auto",) * 3
    assert params["cv_rule"] == "min" and params["drift"] is False


def test_defaults_find_a_nonlinear_autoregression():
    # z_t = 0.8 |z_{t-1}| - 0.5 z_{t-2} + noise: level target, lags 1 and 2
    rng = np.random.default_rng(0)
    z = np.zeros(400)
    for t in range(2, z.size):
        z[t] = 0.8 * abs(z[t - 1]) - 0.5 * z[t - 2] + 0.3 * rng.normal()
    model = ConvexAR().fit(z[:350])
    assert model.target_ == "level"
    assert {1, 2} <= set(model.lags_in_use_.tolist())
    pred = np.array([
        model.predict(1, last_window=z[: t]).iloc[0] for t in range(350, 400)
    ])
    mse, naive = np.mean((z[350:] - pred) ** 2), np.mean((z[350:] - z[349:-1]) ** 2)
    assert mse < 0.5 * naive


def test_naive_safeguard_keeps_the_last_value_unless_beaten_by_one_se():
    # a random walk on which the level network wins the folds by a hair
    y = _walk(19)
    for rule in ("min", "1se"):
        safe = ConvexAR(lags=2, cv_rule=rule).fit(y)
        scores = safe.cv_results_["target_scores"]
        # the level network has the lowest validation loss ...
        assert min(scores, key=scores.get) == "level"
        assert scores["level"] < scores["naive"]
        # ... but not by one standard error: the naive forecast is kept
        assert safe.target_ == "difference" and safe.n_neurons_ == 0
        np.testing.assert_array_equal(safe.predict(5).to_numpy(), np.full(5, y[-1]))
    # a drift model has no naive candidate: the level network is used
    assert ConvexAR(lags=2, drift=True).fit(y).target_ == "level"


def test_without_drift_the_empty_network_is_the_naive_forecast():
    y = _walk(1, drift=1.0)  # a strong drift: +1 a step
    kw = dict(lags=1, target="difference", beta=100.0)  # no neuron survives
    plain = ConvexAR(**kw).fit(y)
    drift = ConvexAR(**kw, drift=True).fit(y)
    assert plain.n_neurons_ == drift.n_neurons_ == 0
    assert not plain.regressor_.fit_intercept_ and drift.regressor_.fit_intercept_
    np.testing.assert_array_equal(plain.predict(3).to_numpy(), np.full(3, y[-1]))
    mean_change = np.mean(np.diff(y)[1:])  # the targets: changes after lag 1
    np.testing.assert_allclose(
        drift.predict(3).to_numpy(), y[-1] + mean_change * np.arange(1, 4),
        rtol=1e-12,
    )
    # level targets keep their bias whatever drift says
    assert ConvexAR(lags=1, target="level", beta=1.0).fit(y).regressor_.fit_intercept_
    with pytest.raises(ValueError, match="drift must be True or False"):
        ConvexAR(**kw, drift="yes").fit(y)


def test_network_without_intercept_matches_clarabel():
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 1))
    y = np.abs(x[:, 0]) + 0.3 + 0.1 * rng.normal(size=40)
    beta = 0.5
    model = ConvexNetRegressor(activation="abs", beta=beta, fit_intercept=False)
    model.fit(x, y)
    assert model.intercept_ == 0.0
    A = model.library_.transform(x[:, 0])
    z = cp.Variable(A.shape[1])
    problem = cp.Problem(cp.Minimize(
        0.5 * cp.sum_squares(A @ z - y) + beta * cp.norm1(z)))
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12)
    # objective values agree to the interior point solver's accuracy
    assert model.objective_ == pytest.approx(problem.value, rel=1e-7)
    with pytest.raises(ValueError, match="fit_intercept must be True or False"):
        ConvexNetRegressor(fit_intercept="no").fit(x, y)


def test_path_stop_ends_at_the_first_kink_it_accepts():
    rng = np.random.default_rng(0)
    A, y = rng.normal(size=(60, 20)), rng.normal(size=60)
    full = lasso_path(A, y)
    seen = []

    def stop(beta, idx, vals, intercept):
        seen.append((beta, intercept))
        return idx.size >= 3

    cut = lasso_path(A, y, stop=stop)
    k = cut.n_kinks - 1
    assert cut.n_active()[k] >= 3 and np.all(cut.n_active()[:k] < 3)
    np.testing.assert_array_equal(cut.betas, full.betas[: k + 1])
    np.testing.assert_array_equal(cut.coefs.toarray(), full.coefs[: k + 1].toarray())
    # the callback saw each kink's certified solution and its intercept
    np.testing.assert_allclose([b for b, _ in seen], cut.betas[1:])
    np.testing.assert_allclose([i for _, i in seen], cut.intercepts[1:], rtol=1e-12)
    assert cut.certified.all()


def test_auto_lags_shrink_on_short_series():
    assert check_lags("auto", 12, n_obs=40).tolist() == [1, 2, 3, 4]
    assert check_lags("auto", 12, n_obs=480).tolist() == [*range(1, 11), 12]
    assert check_lags("auto", None, n_obs=5).tolist() == [1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on a short series either
        model = ConvexAR().fit(_walk(2, n=30))
    assert model.lags_.max() <= 3


def test_too_short_for_cross_validation_says_how_to_fit_anyway():
    with pytest.raises(ValueError, match="give beta, lags and target as values"):
        ConvexAR().fit(_walk(2, n=12))
    ConvexAR(beta=1.0, lags=1, target="difference").fit(_walk(2, n=12))


def test_one_se_rule_falls_back_to_an_exact_minimum_inside_a_segment():
    # every grid point is above the bound, the exact minimum between two is not
    cv = {
        "betas": np.array([1.0, 0.5, 0.1]),
        "mean_loss": np.array([3.0, 2.0, 2.5]),
        "std_loss": np.zeros(3),
        "fold_loss": np.zeros((3, 3)),
        "best_beta": 0.3,
        "best_loss": 1.0,
    }
    assert select_beta(cv, "1se") == 0.3


def test_direct_horizons_stay_naive_when_the_naive_forecast_is_kept():
    y = _walk(19)
    model = ConvexAR(lags=2, strategy="direct", max_horizon=4).fit(y)
    assert model.naive_ and model.n_neurons_ == 0
    assert all(m.n_neurons_ == 0 for m in model.direct_models_.values())
    np.testing.assert_array_equal(model.predict(4).to_numpy(), np.full(4, y[-1]))
    assert not ConvexAR(lags=2, target="level", beta="auto").fit(y).naive_


def test_folds_hold_one_dictionary_at_a_time(monkeypatch):
    import gc
    import weakref

    from tsmirrors.forecasting import selection

    real, alive = selection._fold_design, []

    def tracked(*args):
        gc.collect()
        # every earlier fold's dictionary is gone before the next is built
        assert all(ref() is None for ref in alive)
        out = real(*args)
        alive.append(weakref.ref(out[0]))
        return out

    monkeypatch.setattr(selection, "_fold_design", tracked)
    ConvexAR(lags=2, target="level").fit(_walk(4))
    assert len(alive) == 3


def test_min_train_size_covers_the_cross_validation_folds():
    from tsmirrors.backtesting import backtest, min_train_size

    y = _walk(5, n=60)
    for model in (ConvexAR(), ConvexAR(lags=[1, 3], cv=4)):
        m = min_train_size(model)
        model.fit(y[:m])  # the smallest accepted series can be fit ...
        with pytest.raises(ValueError, match="too few"):
            model.fit(y[: m - 1])  # ... and one less cannot
    # a backtest refuses an initial window the folds cannot hold, up front
    with pytest.raises(ValueError, match="at least 15 for ConvexAR.*folds"):
        backtest(ConvexAR(), y, initial_train_size=14, progress=False)


def test_naive_forecast_holds_with_sampled_features_from_a_generator():
    # a RandomState draws new features at each use: beta_max must be that of
    # the library the fit uses, at one step and at every direct horizon
    y = 100 + np.cumsum(np.random.default_rng(1).normal(size=150))
    for kw in ({}, {"strategy": "direct", "max_horizon": 3}):
        model = ConvexAR(activation="relu", n_features=20,
                         random_state=np.random.RandomState(0), **kw).fit(y)
        assert model.naive_
        np.testing.assert_array_equal(model.predict(3).to_numpy(), np.full(3, y[-1]))
        assert model.beta_ == pytest.approx(2 * model.regressor_.beta / model.n_rows_)
