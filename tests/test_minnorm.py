"""Min-norm interpolation (C.1) and the closed forms of Appendix C, checked."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from tsmirrors.features.operators import TwoLayerOperator
from tsmirrors.solvers import lasso, lasso_path, min_norm_interpolation


def independent_lp(A, y, fit_intercept=True):
    z = cp.Variable(A.shape[1])
    xi = cp.Variable() if fit_intercept else 0.0
    prob = cp.Problem(cp.Minimize(cp.norm1(z)), [A @ z + xi == y])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12,
               tol_feas=1e-12)
    return prob.value


def decreasing(x, y):
    """The paper's ordering x_1 > x_2 > ... > x_N."""
    order = np.argsort(-x)
    return x[order], y[order]


def slopes(x, y):
    """mu_n = (y_n - y_{n+1}) / (x_n - x_{n+1}), n = 1..N-1, x decreasing."""
    xd, yd = decreasing(x, y)
    return np.diff(yd) / np.diff(xd)


def lemma_c6_value(x, y):
    mu = np.append(slopes(x, y), 0.0)  # mu_N = 0
    return float(np.abs(np.diff(mu)).sum())


def relu_min_norm_closed_form(x, y):
    """Min-norm value of the 2-layer ReLU dictionary [A+, A-] with free xi.

    With m_1, ..., m_{N-1} the slopes left to right and D_k = m_k - m_{k-1}
    the interior slope changes, the value is
    sum_k |D_k| + min{|c| : m_1 + N_- <= c <= m_1 + N_+},
    N_+ (N_-) the sum of the positive (negative) D_k.
    """
    m = slopes(x, y)[::-1]
    d = np.diff(m)
    lo = m[0] + d[d < 0].sum()
    hi = m[0] + d[d > 0].sum()
    return float(np.abs(d).sum() + max(0.0, lo, -hi))


def test_matches_independent_lp_on_random_dense_data():
    rng = np.random.default_rng(0)
    for fit_intercept in (True, False):
        for _ in range(3):
            A = rng.normal(size=(12, 30))
            y = rng.normal(size=12)
            res = min_norm_interpolation(A, y, fit_intercept=fit_intercept)
            assert res.value == pytest.approx(independent_lp(A, y, fit_intercept),
                                              rel=1e-7)
            assert res.max_violation <= 1e-8
            assert res.objective == res.value


@pytest.mark.parametrize("name", ["relu", "abs", "leaky_relu"])
def test_slope_formulation_equals_dense(name):
    rng = np.random.default_rng(1)
    x = rng.normal(size=15)
    y = rng.normal(size=15)
    op = TwoLayerOperator.from_inputs(x, name)
    slope = min_norm_interpolation(op, y)
    dense = min_norm_interpolation(op.toarray(), y)
    assert slope.formulation == "slope" and dense.formulation == "dense"
    assert slope.value == pytest.approx(dense.value, rel=1e-9)
    assert slope.max_violation <= 1e-8


@pytest.mark.parametrize("name", ["relu", "abs"])
def test_lasso_path_limit_is_min_norm(name):
    # The Lasso path at beta -> 0 ends at a min-norm interpolant.
    for seed in range(4):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=10)
        y = rng.normal(size=10)
        op = TwoLayerOperator.from_inputs(x, name)
        value = min_norm_interpolation(op, y).value
        path = lasso_path(op, y)
        z, xi = path.coef_at(0.0), path.intercept_at(0.0)
        assert np.abs(z).sum() == pytest.approx(value, rel=1e-8)
        np.testing.assert_allclose(op @ z + xi, y, atol=1e-9)


def test_relu_closed_form_and_lemmas_c5_c6():
    """Lemma C.6's solution is feasible but its value is only an upper bound;
    Lemma C.5's bound holds; the closed form is exact."""
    rng = np.random.default_rng(3)
    strictly_lower = 0
    for _ in range(60):
        n = int(rng.integers(2, 25))
        x = rng.normal(size=n)
        y = rng.normal(size=n) * rng.uniform(0.1, 10)
        op = TwoLayerOperator.from_inputs(x, "relu")
        value = min_norm_interpolation(op, y).value
        # Lemma C.6's solution: (z+)_{n+1} = mu_n - mu_{n+1}, z- = 0, xi = y_N.
        xd, yd = decreasing(x, y)
        mu = np.append(slopes(x, y), 0.0)
        z_plus = np.zeros(n)
        z_plus[1:] = mu[:-1] - mu[1:]
        fit = np.maximum(xd[:, None] - xd[None, :], 0.0) @ z_plus + yd[-1]
        np.testing.assert_allclose(fit, yd, atol=1e-9 * (1 + np.abs(yd).max()))
        assert np.abs(z_plus).sum() == pytest.approx(lemma_c6_value(x, y), rel=1e-12)
        assert value <= lemma_c6_value(x, y) * (1 + 1e-9)
        assert value >= np.abs(slopes(x, y)).max() * (1 - 1e-9)  # Lemma C.5
        assert value == pytest.approx(relu_min_norm_closed_form(x, y), rel=1e-9)
        strictly_lower += value < lemma_c6_value(x, y) * (1 - 1e-6)
    assert strictly_lower >= 30  # C.6's value is usually not the minimum


def test_relu_v_shape_example():
    # |x| on (-1, 0, 1) = relu(x) + relu(-x): norm 2, while Lemma C.6 gives 3.
    x = np.array([-1.0, 0.0, 1.0])
    y = np.abs(x)
    op = TwoLayerOperator.from_inputs(x, "relu")
    assert min_norm_interpolation(op, y).value == pytest.approx(2.0)
    assert lemma_c6_value(x, y) == pytest.approx(3.0)


def test_proposition_c4_threshold():
    """Threshold, xi = 0, y_1 >= ... >= y_N >= 0 in the paper's ordering:
    z+_n = y_n - y_{n+1} (n < N), z+_N = y_N is optimal with value y_1. The
    printed y_n - y_{n-1} does not interpolate, and the solution is not
    unique: A_-'s first column equals A_+'s last (all ones)."""
    rng = np.random.default_rng(4)
    n = 8
    x = np.sort(rng.normal(size=n))[::-1]  # decreasing
    y = np.sort(rng.uniform(0.5, 3.0, size=n))[::-1]  # nonincreasing, positive
    op = TwoLayerOperator.from_inputs(x, "threshold")  # [A+, A-]
    A = op.toarray()
    res = min_norm_interpolation(op, y, fit_intercept=False)
    assert res.value == pytest.approx(y[0], rel=1e-9)
    corrected = np.zeros(2 * n)
    corrected[: n - 1] = y[:-1] - y[1:]
    corrected[n - 1] = y[-1]
    np.testing.assert_allclose(A @ corrected, y, atol=1e-12)
    assert np.abs(corrected).sum() == pytest.approx(y[0])
    printed = np.zeros(2 * n)
    printed[1 : n - 1] = y[1:-1] - y[:-2]  # y_n - y_{n-1}; y_0 undefined -> n >= 2
    printed[n - 1] = y[-1]
    assert np.abs(A @ printed - y).max() > 1e-3
    np.testing.assert_array_equal(A[:, n - 1], A[:, n])  # duplicate columns
    other = corrected.copy()
    other[n - 1], other[n] = 0.0, y[-1]
    np.testing.assert_allclose(A @ other, y, atol=1e-12)
    assert np.abs(other).sum() == pytest.approx(res.value)


def test_proposition_c3_and_lemma_d25_sign():
    rng = np.random.default_rng(5)
    n = 7
    x = np.sort(rng.normal(size=n))[::-1]
    y = rng.normal(size=n)
    op = TwoLayerOperator.from_inputs(x, "sign")
    A = op.toarray()
    # Lemma D.25: A^{-1} = 1/2 [[Delta | (0,...,0,-1)^T], [1, 0, ..., 0, 1]].
    inv = np.zeros((n, n))
    for i in range(n - 1):
        inv[i, i], inv[i, i + 1] = 1.0, -1.0
    inv[n - 1, 0] = inv[n - 1, n - 1] = 1.0
    np.testing.assert_allclose(0.5 * inv @ A, np.eye(n), atol=1e-12)
    res = min_norm_interpolation(op, y, fit_intercept=False)
    np.testing.assert_allclose(res.coef, 0.5 * inv @ y, atol=1e-9)
    # The Lasso (xi = 0) path at beta -> 0: the same unique solution.
    path = lasso_path(op, y, fit_intercept=False)
    np.testing.assert_allclose(path.coef_at(0.0), 0.5 * inv @ y, atol=1e-9)


def test_proposition_c2_abs():
    rng = np.random.default_rng(6)
    for _ in range(10):
        n = 9
        x = np.sort(rng.normal(size=n))[::-1]
        y = rng.normal(size=n)
        op = TwoLayerOperator.from_inputs(x, "abs")
        res = min_norm_interpolation(op, y)
        z = res.coef
        assert z[0] * z[-1] <= 1e-9
        s = np.sign(z[0]) if z[0] != 0 else -np.sign(z[-1])
        e = np.zeros(n)
        e[0] = e[-1] = 1.0
        A = op.toarray()
        for t in (-abs(z[0]), abs(z[-1])):
            alt = z + t * s * e
            xi = np.mean(y - A @ alt)
            np.testing.assert_allclose(A @ alt + xi, y, atol=1e-8)
            assert np.abs(alt).sum() == pytest.approx(res.value, rel=1e-9)


def test_remark_d21_intercept():
    # xi* = mean(y - A z*), a scalar (the printed formula is an N-vector).
    rng = np.random.default_rng(7)
    A = rng.normal(size=(20, 8))
    y = rng.normal(size=20)
    res = lasso(A, y, 1.0)
    assert res.intercept == pytest.approx(np.mean(y - A @ res.coef), abs=1e-12)


def test_infeasible_interpolation():
    x = np.array([0.0, 0.0, 1.0])
    op = TwoLayerOperator.from_inputs(x, "relu")
    with pytest.raises(ValueError, match="no interpolating solution"):
        min_norm_interpolation(op, [0.0, 1.0, 2.0])
