"""Scale models of ScaledQuantileAR: the convex scale and the scale's CV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import VAR_TAUS as TAUS
from conftest import garch_like as _garch_like

from tsmirrors.forecasting.scale_models import (
    SCALE_FLOOR,
    convex_scale,
    cv_scale,
    fhs_pinball,
    fit_convex_scale,
    trailing_abs_means,
)
from tsmirrors.forecasting.volatility import (
    TUNABLE_PARAMS,
    ScaledQuantileAR,
    ewma_volatility,
)
from tsmirrors.io import load, save


@pytest.fixture(scope="module")
def convex():
    y = _garch_like()
    model = ScaledQuantileAR(
        quantiles=TAUS, lags=2, volatility="convex", target="difference"
    )
    return y, model.fit(y)


def test_trailing_means_by_hand():
    z = np.array([1.0, -3.0, 2.0, 6.0])
    got = trailing_abs_means(z, (1, 3))
    assert np.isnan(got[0]).all()
    np.testing.assert_allclose(
        got[1:], [[1.0, 1.0], [3.0, 2.0], [2.0, 2.0], [6.0, 11.0 / 3.0]], rtol=1e-15
    )


def test_convex_scale_is_the_squared_lasso_of_abs_changes(convex):
    y, model = convex
    z = np.diff(y)
    rows = np.arange(25, z.size)
    beta = model.scale_beta
    net, unit, upper = fit_convex_scale(z, rows, (1, 5, 25), beta, 20, 0)
    assert unit == pytest.approx(np.mean(np.abs(z[rows])), rel=1e-12)
    np.testing.assert_array_equal(net.coef_, model.scale_model_.coef_)
    # beta is in the (4.3) scaling: (1/T) sum r^2 + beta ||z||_1 on |z| / unit
    X = trailing_abs_means(z, (1, 5, 25))[rows] / unit
    r = np.abs(z[rows]) / unit - net.predict(X)
    value = np.mean(r**2) + beta * np.abs(net.coef_).sum()
    assert net.n_neurons_ > 0  # the penalty term is not zero
    assert 2.0 * net.objective_ / rows.size == pytest.approx(value, rel=1e-10)
    sigma = convex_scale(net, unit, upper, z, (1, 5, 25))
    # the network's fitted E|z_t| on its own training rows (inside the range
    # of its inputs), floored at a fraction of the mean |z|
    raw = unit * net.predict(trailing_abs_means(z, (1, 5, 25))[rows] / unit)
    np.testing.assert_allclose(
        sigma[rows], np.maximum(raw, SCALE_FLOOR * unit), rtol=1e-12
    )
    assert np.all(sigma[1:] >= SCALE_FLOOR * unit)
    assert model.sigma_ == sigma[-1]


def test_convex_scale_has_no_look_ahead(convex):
    y, model = convex
    cut = 300
    other = y.copy()
    other[cut:] += 80.0 * np.cos(np.arange(y.size - cut))
    z, z_other = np.diff(y), np.diff(other)
    args = (model.scale_model_, model.scale_unit_, model.scale_upper_)
    a = convex_scale(*args, z, (1, 5, 25))
    b = convex_scale(*args, z_other, (1, 5, 25))
    # sigma[t] reads z[:t]; z[cut - 1] = y[cut] - y[cut - 1] is the first change
    np.testing.assert_array_equal(a[:cut], b[:cut])
    assert not np.array_equal(a[cut:], b[cut:])
    pd.testing.assert_frame_equal(
        model.predict_quantiles(1, last_window=y[:cut]),
        model.predict_quantiles(1, last_window=other[:cut]),
    )
    m1 = ScaledQuantileAR(quantiles=TAUS, volatility="convex").fit(y[:cut])
    m2 = ScaledQuantileAR(quantiles=TAUS, volatility="convex").fit(other[:cut])
    np.testing.assert_array_equal(m1.scale_model_.coef_, m2.scale_model_.coef_)


def test_convex_scale_widens_after_large_moves(convex):
    y, model = convex
    calm = y[:100].copy()
    shocked = np.concatenate([calm, calm[-1] + np.array([30.0, -30.0, 30.0])])
    assert model.scale(shocked) > 2 * model.scale(calm)


def test_convex_scale_grows_in_proportion_beyond_its_training_range(convex):
    y, model = convex
    z = np.diff(y)
    big = np.concatenate([z, [1e3]])  # far above every training input
    sigma = convex_scale(
        model.scale_model_, model.scale_unit_, model.scale_upper_, big, (1, 5, 25)
    )
    bigger = np.concatenate([z, [1e4]])
    sigma10 = convex_scale(
        model.scale_model_, model.scale_unit_, model.scale_upper_, bigger, (1, 5, 25)
    )
    # the largest ratio belongs to the 1-change mean, which scales exactly by 10
    assert sigma10[-1] == pytest.approx(10 * sigma[-1], rel=1e-9)
    assert sigma[-1] > 10 * model.scale_unit_


def test_convex_quantiles_never_cross():
    y = _garch_like(300, seed=3)
    model = ScaledQuantileAR(
        quantiles=TAUS, lags=2, beta=1e-5, volatility="convex", random_state=0
    ).fit(y)
    rows = np.array(
        [model.predict_quantiles(1, last_window=y[:t]).to_numpy()[0]
         for t in range(40, 300, 7)]
    )
    assert np.all(np.diff(rows, axis=1) >= 0)


@pytest.mark.parametrize(
    "params", [{"volatility": "convex"}, {"volatility": "convex", "scale_beta": "auto"},
               {"beta": "auto"}, {"ewma_power": 1}]
)
def test_save_and_load_keep_the_scale_model(params, tmp_path):
    y = _garch_like(300, seed=4)
    model = ScaledQuantileAR(quantiles=(0.05, 0.5, 0.95), **params).fit(y)
    again = load(save(model, tmp_path / "scaled.tsm"))
    window = y[:250]
    pd.testing.assert_frame_equal(
        again.predict_quantiles(1, last_window=window),
        model.predict_quantiles(1, last_window=window),
    )
    for name in ("cv_results_", "beta_cv_results_"):
        if getattr(model, name) is not None:
            np.testing.assert_array_equal(
                getattr(again, name)["mean_pinball"],
                getattr(model, name)["mean_pinball"],
            )


def test_fhs_pinball_by_hand():
    z = np.array([1.0, -2.0, 0.5, 3.0, -1.0, 2.0])
    sigma = np.array([1.0, 2.0, 1.0, 1.0, 2.0, 1.0, 1.0])
    rows = np.arange(6)
    taus = np.array([0.25, 0.75])
    # one fold: train on rows 0..3, validate rows 4..5
    got = fhs_pinball(z, sigma, rows, taus, [(4, 4, 6)])
    u = z[:4] / sigma[:4]  # [1, -1, 0.5, 3]
    q = np.quantile(u, taus)  # numpy's linear interpolation
    loss = []
    for t in (4, 5):
        for tau, qq in zip(taus, q):
            d = z[t] - sigma[t] * qq
            loss.append(max(tau * d, (tau - 1) * d))
    assert got[0] == pytest.approx(np.mean(loss), rel=1e-14)


def test_decay_auto_picks_the_smallest_cross_validated_loss():
    y = _garch_like(400, seed=6)
    model = ScaledQuantileAR(
        quantiles=TAUS, decay="auto", long_run=0.0, target="difference"
    ).fit(y)
    cv = model.cv_results_
    assert cv["param"] == ("decay", "long_run")
    np.testing.assert_array_equal(cv["grid"][:, 0], TUNABLE_PARAMS["decay"])
    np.testing.assert_array_equal(cv["grid"][:, 1], 0.0)  # long_run stays fixed
    assert model.decay_ == cv["grid"][np.argmin(cv["mean_pinball"]), 0]
    # the first candidate's loss recomputed from its definition
    z = np.diff(y)
    rows = np.arange(10, z.size)
    sigma = np.maximum(ewma_volatility(z, cv["grid"][0, 0]), 1e-3 * np.std(z))
    ref = fhs_pinball(z, sigma, rows, np.array(TAUS), [tuple(f) for f in cv["folds"]])
    np.testing.assert_allclose(cv["fold_pinball"][0], ref, rtol=1e-12)
    assert model.sigma_ == pytest.approx(
        max(ewma_volatility(z, model.decay_)[-1], 1e-3 * np.std(z)), rel=1e-12
    )


@pytest.mark.parametrize("power", [1, 2])
def test_long_run_mixes_in_the_training_mean_of_the_power(power):
    y = _garch_like(300, seed=9)
    z = np.diff(y)
    model = ScaledQuantileAR(long_run=0.2, decay=0.94, target="difference",
                             ewma_power=power).fit(y)
    v = np.mean(np.abs(z[10:]) ** power)
    assert model.long_run_var_ == pytest.approx(v, rel=1e-12)
    expected = (0.8 * ewma_volatility(z, 0.94, power)[-1] ** power + 0.2 * v) ** (
        1 / power
    )
    assert model.sigma_ == pytest.approx(expected, rel=1e-12)
    # with both "auto", every (decay, long_run) pair is a candidate
    both = ScaledQuantileAR().fit(y)  # both "auto" by default
    grid = both.cv_results_["grid"]
    assert grid.shape == (
        len(TUNABLE_PARAMS["decay"]) * len(TUNABLE_PARAMS["long_run"]), 2
    )
    best = grid[np.argmin(both.cv_results_["mean_pinball"])]
    assert (both.decay_, both.long_run_) == tuple(best)


def test_cross_validation_reads_only_rows_before_each_block():
    rng = np.random.default_rng(7)
    z = rng.standard_normal(300) * np.linspace(1, 3, 300)
    rows = np.arange(25, 300)
    seen = []

    def scales_of(beta, fit_rows):
        seen.append(fit_rows.copy())
        fitted = fit_convex_scale(z, fit_rows, (1, 5, 25), beta, 10, 0)
        return convex_scale(*fitted, z, (1, 5, 25))

    cv = cv_scale(z, rows, np.array([0.05, 0.95]), (1e-2, 1e-3), scales_of)
    first_block = rows[cv["folds"][0][1]]
    # each candidate scale network is fit before the first validation block
    assert all(r.max() < first_block for r in seen)
    # a fold's score does not move when values after its block change
    stop, start, end = cv["folds"][1]
    other = z.copy()
    other[rows[end]:] *= 50.0
    a = fhs_pinball(z, np.abs(z).mean() * np.ones(301), rows, np.array([0.1]),
                    [tuple(cv["folds"][1])])
    b = fhs_pinball(other, np.abs(z).mean() * np.ones(301), rows, np.array([0.1]),
                    [tuple(cv["folds"][1])])
    assert a[0] == b[0]


@pytest.mark.parametrize(
    "params",
    [{"decay": "auto"}, {"decay": "auto", "long_run": "auto"},
     {"volatility": "convex", "scale_beta": "auto"}],
)
def test_auto_settings_ignore_values_after_the_cut(params):
    y = _garch_like(400, seed=8)
    cut = 330
    other = y.copy()
    other[cut:] = other[cut - 1] + 200.0 * np.sin(np.arange(y.size - cut))
    m1 = ScaledQuantileAR(quantiles=TAUS, **params).fit(y[:cut])
    m2 = ScaledQuantileAR(quantiles=TAUS, **params).fit(other[:cut])
    np.testing.assert_array_equal(
        m1.cv_results_["fold_pinball"], m2.cv_results_["fold_pinball"]
    )
    pd.testing.assert_frame_equal(m1.predict_quantiles(1), m2.predict_quantiles(1))
    # and the whole-series fit differs: the perturbation is visible after it
    m3 = ScaledQuantileAR(quantiles=TAUS, **params).fit(other)
    assert not np.array_equal(m3.cv_results_["fold_pinball"],
                              m1.cv_results_["fold_pinball"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"decay": "best"}, "decay must be a number in"),
        ({"long_run": 1.0}, "long_run must be a number in"),
        ({"scale_beta": -1.0}, "scale_beta"),
        ({"volatility": "convex", "scale_windows": (0, 5)}, "scale_windows"),
        ({"volatility": "convex", "scale_windows": ()}, "scale_windows"),
    ],
)
def test_bad_scale_settings_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        ScaledQuantileAR(**params).fit(_garch_like(100))


def test_beta_auto_picks_the_smallest_validation_pinball_loss():
    y = _garch_like(200, seed=10)
    taus = (0.1, 0.5, 0.9)
    model = ScaledQuantileAR(quantiles=taus, lags=2, beta="auto").fit(y)
    cv = model.beta_cv_results_
    np.testing.assert_array_equal(cv["grid"], TUNABLE_PARAMS["beta"])
    assert model.beta_ == cv["grid"][np.argmin(cv["mean_pinball"])]
    # a candidate's loss recomputed from its definition: networks fit on the
    # rows before the validation rows, sorted quantiles, pinball in z units
    stop, start, end = cv["rows"]
    fixed = ScaledQuantileAR(quantiles=taus, lags=2, beta=cv["grid"][1]).fit(y)
    z = fixed.transform_.forward(y)
    sigma = fixed._scales(z)
    rows = np.arange(10, z.size)
    X = fixed._inputs(z, sigma, rows)
    u = z[rows] / sigma[rows]
    head = ScaledQuantileAR(quantiles=taus, lags=2, beta=cv["grid"][1])
    head.beta_ = cv["grid"][1]
    q = np.sort(np.column_stack(
        [head._fit_level(t, X[:stop], u[:stop]).predict(X[start:end]) for t in taus]
    ), axis=1)
    d = (u[start:end, None] - q) * sigma[rows][start:end, None]
    t = np.array(taus)
    ref = np.mean(np.maximum(t * d, (t - 1) * d))
    # the candidates share one warm-started LP; the optimum is the same LP's
    # (objective-level agreement, forecasts to solver accuracy)
    assert cv["mean_pinball"][1] == pytest.approx(ref, rel=1e-6)
    # the final networks use the chosen penalty
    assert model.models_[0].beta == pytest.approx(u.size * model.beta_, rel=1e-12)


def test_beta_auto_ignores_values_after_the_cut():
    y = _garch_like(300, seed=11)
    cut = 250
    other = y.copy()
    other[cut:] = other[cut - 1] + 100.0 * np.sin(np.arange(y.size - cut))
    kw = dict(quantiles=(0.1, 0.9), beta="auto")
    m1 = ScaledQuantileAR(**kw).fit(y[:cut])
    m2 = ScaledQuantileAR(**kw).fit(other[:cut])
    np.testing.assert_array_equal(
        m1.beta_cv_results_["mean_pinball"], m2.beta_cv_results_["mean_pinball"]
    )
    pd.testing.assert_frame_equal(m1.predict_quantiles(1), m2.predict_quantiles(1))


def test_absolute_changes_scale_the_standardized_inputs():
    # ewma_power=1: sigma is the weighted mean of past |z|, mixed with the
    # training mean |z| at the chosen long-run weight, and the forecast reads
    # it at every origin
    y = _garch_like(300, seed=11)
    z = np.diff(np.log(y))
    model = ScaledQuantileAR(ewma_power=1).fit(y)
    assert model.ewma_power_ == 1
    v = np.mean(np.abs(z[10:]))
    assert model.long_run_var_ == pytest.approx(v, rel=1e-12)
    w, lam = model.long_run_, model.decay_
    for t in (150, 299):
        m = ewma_volatility(z[:t], lam, power=1)[-1]
        expected = (1 - w) * m + w * v
        assert model.scale(last_window=y[: t + 1]) == pytest.approx(expected, rel=1e-12)
