"""Sign and threshold networks outside the training range.

The 2-layer sign/threshold Lasso has no output bias (Theorem 3.11): the
column ``sigma(x - x_min)`` (and, for threshold, ``sigma(x_max - x)``) is
constant on the data and stands in for it. It is represented as a truly
constant unit, so predictions beyond the data stay in the data's range and
the training problem is unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tsmirrors import ConvexAR, ConvexNetRegressor
from tsmirrors.features import Library
from tsmirrors.nets import training_objective

SIGN_DETERMINED = ["sign", "threshold"]


@pytest.mark.parametrize("activation", SIGN_DETERMINED)
def test_constant_target_extrapolates_constant(activation):
    x = np.linspace(0, 1, 10)[:, None]
    y = np.full(10, 10.0)
    model = ConvexNetRegressor(beta=0.01, activation=activation).fit(x, y)
    outside = np.array([[-5.0], [-0.1], [1.1], [7.0]])
    inside = model.predict(x)
    # the fit is a constant (shrunk by beta): the same value everywhere
    np.testing.assert_allclose(model.predict(outside), inside[0], rtol=1e-12)
    np.testing.assert_allclose(inside, inside[0], rtol=1e-12)
    with torch.no_grad():
        out = model.to_torch()(torch.as_tensor(outside)).numpy()
    np.testing.assert_allclose(out, inside[0], rtol=1e-12)


@pytest.mark.parametrize("activation", SIGN_DETERMINED)
@pytest.mark.parametrize("deduplicate", [True, False])
def test_library_columns_constant_on_data_are_constant(activation, deduplicate):
    x = np.array([0.0, 0.4, 1.0, 2.5])
    lib = Library(activation=activation, deduplicate=deduplicate)
    A = lib.fit_transform(x)
    constant_on_data = np.all(A == A[0], axis=0)
    assert constant_on_data.any()
    far = lib.transform(np.array([-100.0, -1.0, 3.0, 100.0]))
    np.testing.assert_array_equal(far[:, constant_on_data], 1.0)


@pytest.mark.parametrize("activation", SIGN_DETERMINED)
@pytest.mark.parametrize("solver", ["operator", "dense"])
def test_torch_equals_predict_outside_the_range(activation, solver):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(25, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    model = ConvexNetRegressor(beta=0.05, activation=activation, solver=solver)
    model.fit(X, y)
    net = model.to_torch()
    Z = np.vstack([X, X - 10.0, X + 10.0, 3.0 * X])
    with torch.no_grad():
        out = net(torch.as_tensor(Z)).numpy()
    # float64 sums of the same few terms: rounding only
    np.testing.assert_allclose(out, model.predict(Z), rtol=1e-12, atol=1e-12)
    # below every training input the network equals its value at the minimum
    lo = X.min(axis=0)
    np.testing.assert_allclose(
        model.predict((lo - 3.0)[None, :]), model.predict(lo[None, :]), rtol=1e-12
    )
    np.testing.assert_allclose(
        training_objective(net, X, y, beta=0.05), model.objective_, rtol=1e-12
    )


@pytest.mark.parametrize("activation", SIGN_DETERMINED)
def test_training_problem_unchanged(activation):
    """Same columns at the training points, hence the same Lasso solution."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=30)
    y = np.cos(3 * x) + 0.1 * rng.normal(size=30)
    lib = Library(activation=activation).fit(x)
    # the dictionary of Theorem 3.11 at the training points, built directly:
    # sigma(x - x_j) for every knot, and for threshold sigma(x_j - x) too
    # (the all-ones sigma(x_max - x) is left out as a repeat)
    knots = np.unique(x)
    act = lib.activation_
    cols = [act(x[:, None] - knots)]
    if activation == "threshold":
        cols.append(act(knots[:-1] - x[:, None]))
    reference = np.hstack(cols)
    np.testing.assert_array_equal(lib.transform(x), reference)
    model = ConvexNetRegressor(beta=0.1, activation=activation).fit(x[:, None], y)
    dense = ConvexNetRegressor(beta=0.1, activation=activation, solver="dense")
    dense.fit(x[:, None], y)
    # the objective from the reference dictionary with the fitted coefficients
    fitted = reference @ model.coef_
    ref_objective = 0.5 * np.sum((y - fitted) ** 2) + 0.1 * np.abs(model.coef_).sum()
    np.testing.assert_allclose(model.predict(x[:, None]), fitted, rtol=1e-12)
    np.testing.assert_allclose(model.objective_, ref_objective, rtol=1e-12)
    # both solvers see the same problem; exact solvers agree to their tolerance
    np.testing.assert_allclose(dense.objective_, model.objective_, rtol=1e-7)


@pytest.mark.parametrize("activation", SIGN_DETERMINED)
def test_level_forecast_below_training_minimum_stays_in_range(activation):
    rng = np.random.default_rng(1)
    y = pd.Series(np.r_[100.0 + rng.uniform(0, 1, 40), 99.5])
    model = ConvexAR(activation=activation, lags=[1], beta=1.0, target="level")
    forecast = model.fit(y).predict(1).to_numpy()
    assert y.min() <= forecast[0] <= y.max()


@pytest.mark.parametrize("activation", ["sign", "threshold"])
def test_sampled_library_without_the_constant_column_gets_an_output_bias(activation):
    # five sampled knots miss the column constant on the data: the network
    # then has its output bias, so a constant target is fitted exactly
    x = np.linspace(0.0, 1.0, 50)[:, None]
    y = np.full(50, 10.0)
    model = ConvexNetRegressor(beta=0.01, activation=activation, n_features=5,
                               random_state=0).fit(x, y)
    assert not np.any(model.libraries_[0].features_.weights[:, 0] == 0.0)
    assert model.fit_intercept_
    grid = np.array([[-1.0], [0.5], [2.0]])
    np.testing.assert_allclose(model.predict(grid), 10.0, rtol=1e-12)
    net = model.to_torch()
    with torch.no_grad():
        out = net(torch.as_tensor(grid)).numpy().ravel()
    np.testing.assert_allclose(out, model.predict(grid), rtol=1e-12)
