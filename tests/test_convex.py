"""ConvexNetRegressor: global optimality, reconstruction, and the estimator API."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import check_id, sklearn_checks

from tsmirrors.models.convex import ConvexNetRegressor
from tsmirrors.models.sgd import SGDNetRegressor
from tsmirrors.nets import training_objective

ARCHITECTURES = [
    ("relu", 2, "deep_narrow"),
    ("leaky_relu", 2, "deep_narrow"),
    ("abs", 2, "deep_narrow"),
    ("sign", 2, "deep_narrow"),
    ("threshold", 2, "deep_narrow"),
    ("relu", 3, "deep_narrow"),
    ("leaky_relu", 3, "deep_narrow"),
    ("abs", 3, "deep_narrow"),
    ("abs", 4, "deep_narrow"),
    ("relu", 3, "symmetrized"),
    ("leaky_relu", 3, "symmetrized"),
]


def _data(n=14, seed=0, d=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = np.sin(2 * x).sum(axis=1) + 0.2 * rng.normal(size=n)
    return x, y




@pytest.mark.parametrize(
    ("estimator", "check"),
    sklearn_checks(
        ConvexNetRegressor(),
        ConvexNetRegressor(activation="abs", depth=3, n_features=40, random_state=0),
    ),
    ids=check_id,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize(("activation", "depth", "architecture"), ARCHITECTURES)
def test_reconstruction_matches_predictions_and_objective(
    activation, depth, architecture
):
    x, y = _data()
    beta = 0.05
    model = ConvexNetRegressor(
        activation=activation, depth=depth, architecture=architecture, beta=beta
    ).fit(x, y)
    assert model.solver_result_.converged
    assert model.n_neurons_ == np.count_nonzero(model.coef_) > 0
    net = model.to_torch()
    new = np.linspace(-4, 4, 41).reshape(-1, 1)
    for pts in (x, new):
        ref = model.predict(pts)
        got = net.predict(pts)
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
    obj = training_objective(net, x, y, beta)
    assert obj == pytest.approx(model.objective_, rel=1e-8)
    std = net.to_standard()
    np.testing.assert_allclose(
        std.predict(new), model.predict(new), rtol=1e-10, atol=1e-12
    )


def test_additive_network_for_several_columns():
    x, y = _data(n=20, d=3, seed=1)
    model = ConvexNetRegressor(activation="abs", beta=0.1).fit(x, y)
    assert model.coef_.size == sum(lib.n_features_ for lib in model.libraries_)
    # the fit is a sum of 1-D functions: changing column 2 moves only f_2
    base = model.predict(x)
    moved = x.copy()
    moved[:, 2] += 0.5
    delta = model.predict(moved) - base
    x2 = np.zeros_like(x)
    f2 = model.predict(np.c_[x[:, :2] * 0, x[:, 2]]) - model.predict(
        np.c_[x[:, :2] * 0, x[:, 2] * 0 + 0.0]
    )
    f2m = model.predict(np.c_[x2[:, :2], moved[:, 2]]) - model.predict(
        np.c_[x2[:, :2], x2[:, 2]]
    )
    np.testing.assert_allclose(delta, f2m - f2, atol=1e-10)
    net = model.to_torch()
    np.testing.assert_allclose(net.predict(x), base, rtol=1e-10, atol=1e-10)
    assert training_objective(net, x, y, 0.1) == pytest.approx(
        model.objective_, rel=1e-8
    )


@pytest.mark.parametrize(
    ("activation", "depth", "architecture"),
    [
        ("relu", 2, "deep_narrow"),
        ("abs", 2, "deep_narrow"),
        ("leaky_relu", 2, "deep_narrow"),
        ("relu", 3, "deep_narrow"),
        ("abs", 3, "deep_narrow"),
        ("relu", 3, "symmetrized"),
    ],
)
def test_no_gradient_run_beats_the_convex_optimum(activation, depth, architecture):
    x, y = _data(n=12, seed=2)
    beta = 0.1
    model = ConvexNetRegressor(
        activation=activation, depth=depth, architecture=architecture, beta=beta
    ).fit(x, y)
    width = max(model.n_neurons_, 4) + 4
    best = np.inf
    for seed in range(5):
        sgd = SGDNetRegressor(
            architecture=architecture,
            activation=activation,
            depth=depth,
            n_neurons=width,
            beta=beta,
            optimizer="adam",
            lr=0.02,
            epochs=300,
            random_state=seed,
        ).fit(x, y)
        best = min(best, sgd.objective_)
    assert model.objective_ <= best + 1e-9
    # the reconstructed network is a stationary point: training cannot improve it
    warm = SGDNetRegressor(
        architecture=architecture,
        activation=activation,
        depth=depth,
        beta=beta,
        optimizer="adam",
        lr=1e-3,
        epochs=50,
        init=model.to_torch(),
        random_state=0,
    ).fit(x, y)
    assert warm.history_["objective"].min() >= model.objective_ - 1e-8 * abs(
        model.objective_
    )


def test_symmetrized_penalty_is_twice_beta():
    """beta~ = 2 beta for the symmetrized net, not beta / 2 as printed.

    A Lasso at beta / 2 reaches a lower value than the network can: its
    reconstruction does not attain it, while beta~ = 2 beta is attained.
    """
    from tsmirrors.features import Library
    from tsmirrors.solvers import lasso

    x, y = _data(n=10, seed=3)
    beta = 0.2
    model = ConvexNetRegressor(
        activation="relu", depth=3, architecture="symmetrized", beta=beta
    ).fit(x, y)
    a = Library(activation="relu", depth=3, architecture="symmetrized").fit_transform(
        x[:, 0]
    )
    half = lasso(a, y, beta / 2)
    assert half.objective < model.objective_ - 1e-3
    assert training_objective(model.to_torch(), x, y, beta) == pytest.approx(
        model.objective_, rel=1e-8
    )


def test_beta_zero_interpolates_and_large_beta_gives_constant():
    x, y = _data(n=10, seed=4)
    model = ConvexNetRegressor(activation="relu", beta=1e-7).fit(x, y)
    np.testing.assert_allclose(model.predict(x), y, atol=1e-4)
    big = ConvexNetRegressor(activation="relu", beta=1e6).fit(x, y)
    assert big.n_neurons_ == 0
    np.testing.assert_allclose(big.predict(x), y.mean())


def _unit_with(lib, knots):
    idx = [int(np.searchsorted(lib.knots_, v)) for v in knots]
    f = lib.features_
    hit = np.flatnonzero(np.all(f.knot_index == idx, axis=1) & (f.partner_index < 0))
    return f.subset(hit[:1])


def test_figure_3_2_reflection_solutions_are_optimal():
    """x = (2, 0, -1): the 3-layer abs unit ||x - 2| - 2| (breakpoint at the
    reflection 4 = R(0, 2)) and the 4-layer unit |||x - 2| - 3| - 1| (breakpoint
    at the double reflection 6 = R(R(0, -1), 2)) each interpolate with
    ||z||_1 = 1, the minimum norm (Lemma C.5's bound max |mu_n| is attained).

    They are optimal but not the only optima: on three points |x| has the
    same column, so a solver may return either.
    """
    from tsmirrors.features import Library
    from tsmirrors.solvers import min_norm_interpolation

    x = np.array([2.0, 0.0, -1.0])
    y = np.array([2.0, 0.0, 1.0])
    mu = np.abs(np.diff(y) / np.diff(x)).max()
    for depth, knots, reflection in ((3, (2.0, 0.0), 4.0), (4, (2.0, -1.0, 0.0), 6.0)):
        lib = Library(activation="abs", depth=depth, deduplicate=False).fit(x)
        unit = _unit_with(lib, knots)
        np.testing.assert_allclose(unit.evaluate(x)[:, 0], y)  # z = 1, xi = 0
        bps = unit.breakpoints(0, -10, 10)
        assert reflection in bps and reflection not in x
        res = min_norm_interpolation(lib.fit_transform(x), y)
        assert res.objective == pytest.approx(1.0, abs=1e-9) == pytest.approx(mu)


def test_figure_3_5_symmetrized_reflection():
    """Lemma C.7's data: the symmetrized unit relu(|x - 1| - 1) breaks at
    2 = R(0, 1), not a training point, and attains the minimum norm 1."""
    from tsmirrors.features import Library
    from tsmirrors.solvers import min_norm_interpolation

    x = np.array([4.0, 3.0, 1.0, 0.0, -1.0])
    y = np.array([2.0, 1.0, 0.0, 0.0, 1.0])
    lib = Library(
        activation="relu", depth=3, architecture="symmetrized", deduplicate=False
    ).fit(x)
    f = lib.features_
    one = int(np.searchsorted(lib.knots_, 1.0))
    zero = int(np.searchsorted(lib.knots_, 0.0))
    hit = np.flatnonzero(
        np.all(f.knot_index == [one, one, zero], axis=1)
        & np.all(f.first_weights == [1, -1], axis=1)
        & np.all(f.second_weights == [1, 1], axis=1)
    )[0]
    np.testing.assert_allclose(f.evaluate(x)[:, hit], y)
    np.testing.assert_allclose(f.breakpoints(hit, -10, 10), [0.0, 2.0])
    res = min_norm_interpolation(lib.fit_transform(x), y)
    assert res.objective == pytest.approx(1.0, abs=1e-9)
    # the deep narrow ReLU library needs twice the norm on the same data
    deep = Library(activation="relu", depth=3).fit_transform(x)
    assert min_norm_interpolation(deep, y).objective == pytest.approx(2.0, abs=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beta": -1.0}, "beta must be a finite number >= 0"),
        ({"loss": "huber"}, "loss must be one of"),
        ({"loss": "quantile", "quantile": 1.2}, "quantile must be in \\(0, 1\\)"),
        ({"activation": "sign", "depth": 3}, "supported combinations"),
        ({"solver": "operator", "depth": 3}, "needs a 2-layer network"),
    ],
)
def test_bad_parameters(kwargs, message):
    x, y = _data()
    with pytest.raises(ValueError, match=message):
        ConvexNetRegressor(**kwargs).fit(x, y)


def test_bad_data():
    x, y = _data()
    with pytest.raises(ValueError, match="NaN"):
        ConvexNetRegressor().fit(np.r_[x[:-1], [[np.nan]]], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ConvexNetRegressor().fit(x, y[:-1])
    with pytest.raises(ValueError, match="column 0 of X is constant"):
        ConvexNetRegressor().fit(np.ones_like(x), y)
