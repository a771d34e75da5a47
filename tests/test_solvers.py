"""Exact Lasso (squared loss) and its regularization path."""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoLars, lars_path

from tsmirrors.features.operators import TwoLayerOperator
from tsmirrors.solvers import (
    L1,
    QuantileLoss,
    SquaredLoss,
    lasso,
    lasso_beta_max,
    lasso_path,
    solve,
)

ACTIVATIONS = ["relu", "leaky_relu", "abs", "sign", "threshold"]


def objective(A, y, z, xi, beta):
    r = A @ z + xi - y
    return 0.5 * float(r @ r) + beta * float(np.abs(z).sum())


def kkt(A, y, z, xi, beta):
    """Scaled KKT residual recomputed from scratch (dense)."""
    c = A.T @ (y - A @ z - xi)
    dist = np.where(z != 0, np.abs(c - beta * np.sign(z)),
                    np.maximum(np.abs(c) - beta, 0))
    return dist.max() / beta


def cvxpy_lasso(A, y, beta, fit_intercept=True):
    z = cp.Variable(A.shape[1])
    xi = cp.Variable() if fit_intercept else 0.0
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ z + xi - y)
                                  + beta * cp.norm1(z)))
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-13, tol_gap_rel=1e-13,
               tol_feas=1e-13, max_iter=500)
    return prob.value


def series(n, seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=n))
    x = (x - x.mean()) / x.std()
    y = np.sin(2.5 * x) + 0.2 * rng.normal(size=n)
    return x, y


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dense_bounded_by_lasso_lars_equal_to_clarabel(seed, fit_intercept):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(40, 60))
    y = rng.normal(size=40) + 3.0
    bmax = lasso_beta_max(A, y, fit_intercept=fit_intercept)
    for frac in (0.5, 0.05, 0.002):
        beta = frac * bmax
        res = lasso(A, y, beta, fit_intercept=fit_intercept)
        ref = LassoLars(alpha=beta / 40, fit_intercept=fit_intercept,
                        max_iter=5000).fit(A, y)
        ours = objective(A, y, res.coef, res.intercept, beta)
        theirs = objective(A, y, ref.coef_, ref.intercept_, beta)
        # LARS bounds us from above (up to rounding relative to the
        # objective); equality is against the interior-point reference,
        # solved to 1e-13, with room for its accuracy.
        assert ours <= theirs * (1 + 1e-9)
        assert ours == pytest.approx(cvxpy_lasso(A, y, beta, fit_intercept),
                                     rel=1e-9)
        assert res.objective == pytest.approx(ours, rel=1e-12)
        assert res.converged and res.kkt_residual <= 1e-8
        assert kkt(A, y, res.coef, res.intercept, beta) <= 1e-8
        assert res.duality_gap <= 1e-9 * ours
        np.testing.assert_array_equal(np.sort(res.active_set), np.flatnonzero(res.coef))


def test_without_intercept_bounded_by_lars_path():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(30, 20))
    y = rng.normal(size=30)
    alphas, _, coefs = lars_path(A, y, method="lasso")
    for k in (3, 8, len(alphas) - 2):
        beta = alphas[k] * 30
        res = lasso(A, y, beta, fit_intercept=False)
        assert res.intercept == 0.0
        ours = objective(A, y, res.coef, 0.0, beta)
        # lars_path may only bound us from above (rounding relative to the
        # objective); Clarabel, solved to 1e-13, is the equality reference.
        assert ours <= objective(A, y, coefs[:, k], 0.0, beta) * (1 + 1e-9)
        assert ours == pytest.approx(cvxpy_lasso(A, y, beta, False), rel=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_dense_matches_cvxpy_clarabel(fit_intercept):
    rng = np.random.default_rng(4)
    A = rng.normal(size=(25, 35))
    y = rng.normal(size=25)
    beta = 0.1 * lasso_beta_max(A, y, fit_intercept=fit_intercept)
    res = lasso(A, y, beta, fit_intercept=fit_intercept)
    assert res.objective == pytest.approx(cvxpy_lasso(A, y, beta, fit_intercept),
                                          rel=1e-9)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_two_layer_operator_matches_dense_and_references(name):
    x, y = series(80, 5)
    fit_intercept = name not in ("sign", "threshold")
    op = TwoLayerOperator.from_inputs(x, name)
    D = op.toarray()
    bmax = lasso_beta_max(op, y, fit_intercept=fit_intercept)
    assert bmax == pytest.approx(lasso_beta_max(D, y, fit_intercept=fit_intercept),
                                 rel=1e-12)
    for frac in (0.1, 0.003):
        beta = frac * bmax
        r_op = lasso(op, y, beta, fit_intercept=fit_intercept)
        r_dense = lasso(D, y, beta, fit_intercept=fit_intercept)
        o_op = objective(D, y, r_op.coef, r_op.intercept, beta)
        o_dense = objective(D, y, r_dense.coef, r_dense.intercept, beta)
        assert o_op == pytest.approx(o_dense, rel=1e-9)
        assert kkt(D, y, r_op.coef, r_op.intercept, beta) <= 1e-8
        assert r_op.converged and r_op.kkt_residual <= 1e-8
        ref = cvxpy_lasso(D, y, beta, fit_intercept)
        assert o_op == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("name", ["abs", "sign"])
def test_two_layer_bounded_by_lasso_lars(name):
    # LassoLars handles these dictionaries (relu's [A+, A-] has exact
    # collinearities that it does not resolve).
    x, y = series(60, 6)
    op = TwoLayerOperator.from_inputs(x, name)
    D = op.toarray()
    fit_intercept = name == "abs"
    beta = 0.01 * lasso_beta_max(op, y, fit_intercept=fit_intercept)
    res = lasso(op, y, beta, fit_intercept=fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = LassoLars(alpha=beta / 60, fit_intercept=fit_intercept,
                        max_iter=5000).fit(D, y)
    # LARS is a heuristic on these degenerate dictionaries (its result depends
    # on the CPU's rounding): it may only bound us from above, up to rounding
    # relative to the objective.
    ours = objective(D, y, res.coef, res.intercept, beta)
    assert ours <= objective(D, y, ref.coef_, ref.intercept_, beta) * (1 + 1e-9)
    # Equality against the interior-point reference, solved to 1e-13: 1e-8
    # leaves room for its own accuracy on a nearly singular problem.
    assert res.objective == pytest.approx(
        cvxpy_lasso(D, y, beta, fit_intercept), rel=1e-8)


def test_degenerate_dictionaries():
    rng = np.random.default_rng(7)
    B = rng.normal(size=(30, 8))
    A = np.hstack([B, B[:, :3], np.zeros((30, 1)), -B[:, [5]], np.ones((30, 1))])
    y = B @ rng.normal(size=8) + 0.1 * rng.normal(size=30)
    for fit_intercept in (True, False):
        for frac in (0.3, 0.01, 1e-4):
            beta = frac * lasso_beta_max(A, y, fit_intercept=fit_intercept)
            res = lasso(A, y, beta, fit_intercept=fit_intercept)
            assert res.converged
            assert res.objective == pytest.approx(
                cvxpy_lasso(A, y, beta, fit_intercept), rel=1e-9)
    # many exactly equal correlations: orthogonal columns, equal targets
    Q = np.linalg.qr(rng.normal(size=(20, 6)))[0]
    y = Q.sum(axis=1)
    res = lasso(Q, y, 0.5, fit_intercept=False)
    np.testing.assert_allclose(res.coef, 0.5, atol=1e-12)


def test_abs_extreme_columns_are_collinear():
    # |x - min| + |x - max| is constant on the data: after centering the two
    # columns are opposite; the solver must not break on the singular Gram.
    x, y = series(50, 8)
    op = TwoLayerOperator.from_inputs(x, "abs")
    res = lasso(op, y + 5 * x, 1e-3)
    assert res.converged and res.kkt_residual <= 1e-8


def test_beta_max_and_zero_solution():
    x, y = series(40, 9)
    op = TwoLayerOperator.from_inputs(x, "relu")
    bmax = lasso_beta_max(op, y)
    above = lasso(op, y, bmax * (1 + 1e-9))
    assert not above.coef.any() and above.intercept == pytest.approx(y.mean())
    assert above.converged and above.duality_gap == pytest.approx(0, abs=1e-10)
    below = lasso(op, y, bmax * (1 - 1e-6))
    assert np.count_nonzero(below.coef) >= 1


def test_weights_equal_rescaled_columns():
    rng = np.random.default_rng(10)
    A = rng.normal(size=(30, 12))
    y = rng.normal(size=30)
    w = rng.uniform(0.5, 2.0, size=12)
    res = lasso(A, y, 2.0, weights=w)
    ref = lasso(A / w, y, 2.0)
    np.testing.assert_allclose(res.coef, ref.coef / w, atol=1e-10)
    assert res.intercept == pytest.approx(ref.intercept, abs=1e-10)
    assert res.objective == pytest.approx(ref.objective, rel=1e-12)


def test_warm_start():
    x, y = series(60, 11)
    op = TwoLayerOperator.from_inputs(x, "relu")
    first = lasso(op, y, 1.0)
    again = lasso(op, y, 0.9, warm_start=first)
    cold = lasso(op, y, 0.9)
    assert again.objective == pytest.approx(cold.objective, rel=1e-12)
    same = lasso(op, y, 1.0, warm_start=first.coef)
    assert same.objective == pytest.approx(first.objective, rel=1e-12)
    with pytest.raises(ValueError, match="warm_start must be finite with 120"):
        lasso(op, y, 1.0, warm_start=np.zeros(3))


def test_iteration_limit_warns():
    x, y = series(60, 12)
    op = TwoLayerOperator.from_inputs(x, "abs")
    with pytest.warns(ConvergenceWarning, match="KKT residual"):
        res = lasso(op, y, 1e-4, max_iter=2)
    assert not res.converged


def test_path_is_exact_between_kinks():
    x, y = series(50, 13)
    op = TwoLayerOperator.from_inputs(x, "relu")
    D = op.toarray()
    path = lasso_path(op, y, beta_min=0.01)
    assert path.betas[0] == pytest.approx(path.beta_max)
    assert np.all(np.diff(path.betas) <= 0) and path.converged
    rng = np.random.default_rng(0)
    picks = rng.integers(1, path.n_kinks - 1, size=6)
    for k in picks:
        beta = path.betas[k] + rng.uniform() * (path.betas[k - 1] - path.betas[k])
        z = path.coef_at(beta)
        xi = path.intercept_at(beta)
        direct = lasso(op, y, beta)
        assert objective(D, y, z, xi, beta) == pytest.approx(direct.objective,
                                                             rel=1e-9)
        assert kkt(D, y, z, xi, beta) <= 1e-8
    # every segment, not only the sampled ones: no kink is missed (this relu
    # dictionary is degenerate: ties, dependent pairs, zero-length steps)
    for k in range(1, path.n_kinks):
        beta = 0.5 * (path.betas[k - 1] + path.betas[k])
        z, xi = path.coef_at(beta), path.intercept_at(beta)
        assert kkt(D, y, z, xi, beta) <= 1e-6, (k, beta)
    coefs, intercepts = path.evaluate([path.beta_max * 2, 0.05])
    assert coefs.shape == (2, op.shape[1]) and not coefs[0].any()
    assert intercepts[0] == pytest.approx(y.mean())
    with pytest.raises(ValueError, match="below the computed path"):
        path.coef_at(0.001)


def test_path_kinks_certified_and_bounded_by_lars_path():
    rng = np.random.default_rng(14)
    A = rng.normal(size=(30, 15))
    y = rng.normal(size=30)
    alphas, _, coefs = lars_path(A, y, method="lasso")
    path = lasso_path(A, y, fit_intercept=False)
    assert path.converged and path.certified.all()
    for k in range(path.n_kinks):
        beta, z = path.betas[k], path.coefs[[k]].toarray().ravel()
        # certificate recomputed from scratch, relative to beta_max (the
        # scale of the correlations, where rounding lives)
        c = A.T @ (y - A @ z)
        dist = np.where(z != 0, np.abs(c - beta * np.sign(z)),
                        np.maximum(np.abs(c) - beta, 0))
        assert dist.max() <= 1e-12 * path.beta_max
    for k in (2, len(alphas) // 2, len(alphas) - 2):
        beta = alphas[k] * 30
        z = path.coef_at(beta)
        ours = objective(A, y, z, 0.0, beta)
        assert ours <= objective(A, y, coefs[:, k], 0.0, beta) * (1 + 1e-9)
        assert ours == pytest.approx(cvxpy_lasso(A, y, beta, False), rel=1e-9)


def test_path_options():
    x, y = series(40, 15)
    op = TwoLayerOperator.from_inputs(x, "abs")
    path = lasso_path(op, y, betas=[5.0, 1.0, 0.5])
    assert path.betas[-1] == pytest.approx(0.5)
    short = lasso_path(op, y, max_features=3)
    assert short.n_active()[-1] >= 3
    w = np.linspace(1, 2, op.shape[1])
    wp = lasso_path(op, y, betas=[0.7], weights=w)
    assert wp.coef_at(0.7) == pytest.approx(lasso(op, y, 0.7, weights=w).coef,
                                            abs=1e-9)


def test_other_designs():
    rng = np.random.default_rng(16)
    A = rng.normal(size=(25, 10))
    A[A < 0.5] = 0.0
    y = rng.normal(size=25)
    ref = lasso(A, y, 0.3)
    for design in (sp.csr_array(A), aslinearoperator(A)):
        res = lasso(design, y, 0.3)
        assert res.objective == pytest.approx(ref.objective, rel=1e-12)
    np.testing.assert_allclose(ref.predict(A), A @ ref.coef + ref.intercept)


def test_solve_dispatch_and_unsupported_pairs():
    rng = np.random.default_rng(17)
    A = rng.normal(size=(20, 5))
    y = rng.normal(size=20)
    res = solve(A, y, SquaredLoss(), L1(0.5))
    assert res.objective == pytest.approx(lasso(A, y, 0.5).objective)
    assert solve(A, y, QuantileLoss(0.3), L1(0.5)).tau == 0.3

    class Ridge:
        name = "l2"

    with pytest.raises(ValueError, match="no solver for datafit SquaredLoss"):
        solve(A, y, SquaredLoss(), Ridge())


@pytest.mark.parametrize(
    "A, y, beta, message",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]]), [1.0, 2.0], 1.0,
         "A contains 1 non-finite value(s) (NaN)"),
        (np.eye(2), [1.0, np.inf], 1.0, "y contains 1 non-finite value(s) (inf)"),
        (np.eye(3), [1.0, 2.0], 1.0, "A has 3 rows but y has 2 samples"),
        (np.eye(2), [1.0, 2.0], -1.0, "beta must be a finite number >= 0, got -1.0"),
        (np.zeros((2, 0)), [1.0, 2.0], 1.0, "A is empty"),
        (np.eye(2), [], 1.0, "y is empty"),
        (np.eye(2), [[1.0, 2.0]], 1.0, "y must be 1-D, got shape (1, 2)"),
    ],
)
def test_bad_input(A, y, beta, message):
    with pytest.raises(ValueError) as err:
        lasso(A, y, beta)
    assert message in str(err.value)


def test_bad_weights():
    with pytest.raises(ValueError, match="weights must be > 0"):
        lasso(np.eye(2), [1.0, 2.0], 1.0, weights=[1.0, 0.0])
    with pytest.raises(ValueError, match="one entry per feature"):
        lasso(np.eye(2), [1.0, 2.0], 1.0, weights=[1.0])


def _additive_relu(n, seed):
    """Additive model of 10 2-layer relu dictionaries of integer inputs.

    Built like ``ConvexNetRegressor`` on scikit-learn's estimator checks:
    every block is a full-rank dictionary, and ``relu(x - t) - relu(t - x) =
    x - t`` makes the blocks exactly linearly dependent, so that the path has
    thousands of ties and kinks near interpolation (it used to stop at the
    iteration limit, or end far from the optimum).
    """
    from tsmirrors.features import Library

    rng = np.random.default_rng(seed)
    X = rng.integers(0, 1000, size=(n, 10)).astype(float)
    A = np.hstack([Library(activation="relu").fit_transform(X[:, k])
                   for k in range(10)])
    return A, rng.normal(0.0, 40.0, n)


def test_degenerate_additive_relu_near_interpolation():
    A, y = _additive_relu(100, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = lasso(A, y, 1.0)
    assert res.converged
    assert res.n_iter < 30 * A.shape[0]
    # Rounding of A^T r is relative to ||A_c^T y_c||_inf (2.2e5 here, against
    # beta = 1) and of the objective to 1/2 ||y_c||^2: the bounds are relative
    # to those scales, with a margin of about 25 over what is observed, so
    # that other CPUs' rounding passes and a wrong solution (relative errors
    # of 1e-6 and more) does not.
    yc = y - y.mean()
    assert kkt(A, y, res.coef, res.intercept, 1.0) <= 1e-12 * lasso_beta_max(A, y)
    assert res.duality_gap <= 1e-11 * 0.5 * float(yc @ yc)
    A, y = _additive_relu(50, 1)
    res = lasso(A, y, 1.0)
    assert res.converged
    assert kkt(A, y, res.coef, res.intercept, 1.0) <= 1e-12 * lasso_beta_max(A, y)
    assert res.objective == pytest.approx(cvxpy_lasso(A, y, 1.0), rel=1e-7)


def test_active_cholesky_updates_match_numpy():
    """Incremental Cholesky: adds, removals and solves against numpy."""
    from tsmirrors.solvers._cholesky import ActiveCholesky

    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 40))
    G = X.T @ X
    chol = ActiveCholesky(capacity=2)  # forces the factor to grow
    active = []
    for j in range(25):
        assert chol.add(G[active, j], G[j, j])
        active.append(j)
    for pos in (0, 7, 22, 3):
        chol.remove(pos)
        del active[pos]
    GS = G[np.ix_(active, active)]
    np.testing.assert_array_equal(chol.G, GS)  # the kept Gram matrix, exactly
    np.testing.assert_allclose(chol.L @ chol.L.T, GS, rtol=1e-12, atol=1e-10)
    b = rng.normal(size=len(active))
    np.testing.assert_allclose(chol.solve(b), np.linalg.solve(GS, b), rtol=1e-10)
    # a column in the span of the active ones is refused, and nothing changes
    v = rng.normal(size=len(active))
    col = X[:, active] @ v
    L_before = chol.L.copy()
    assert not chol.add(X[:, active].T @ col, col @ col)
    assert not chol.add(np.zeros(len(active)), 0.0)
    np.testing.assert_array_equal(chol.L, L_before)


@pytest.mark.parametrize("seed", range(3))
def test_solution_support_is_linearly_independent(seed):
    """Of the optimal solutions, lasso returns one on independent columns.

    In the 2-layer relu dictionary ``relu(x - t) - relu(t - x) = x - t``, so
    two knots with both directions are dependent once centred: the path may
    end on such a support, and the solver moves along the null direction
    (same fit, same l1 norm) until a neuron drops.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=20)
    y = np.sin(2 * x) + 0.2 * rng.normal(size=20)
    op = TwoLayerOperator.from_inputs(x, "relu", unique=True)
    A = op.toarray()
    for beta in (0.02, 0.05, 0.2):  # seed 0: the path ends dependent at 0.02, 0.05
        res = lasso(op, y, beta)
        S = np.flatnonzero(res.coef)
        Ac = A - A.mean(axis=0)
        assert np.linalg.matrix_rank(Ac[:, S]) == S.size
        assert res.objective == pytest.approx(cvxpy_lasso(A, y, beta), rel=1e-7)
        assert kkt(A, y, res.coef, res.intercept, beta) <= 1e-8


def test_active_qr_updates_match_numpy():
    """QR of the active columns: adds, removals, solves and distances."""
    from tsmirrors.solvers._qr import ActiveQR

    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 40))
    qr = ActiveQR(60, rtol=1e-20, capacity=2)  # forces the factor to grow
    active = []
    for j in range(25):
        assert qr.add_column(X[:, j])
        active.append(j)
    for pos in (0, 7, 22, 3):
        qr.remove(pos)
        del active[pos]
    AS = X[:, active]
    # Q R = A_S, Q orthonormal, R upper triangular with a positive diagonal
    np.testing.assert_allclose(qr.Q @ qr.L.T, AS, rtol=0, atol=1e-12 * np.abs(AS).max())
    np.testing.assert_allclose(qr.Q.T @ qr.Q, np.eye(len(active)), atol=1e-13)
    assert np.all(np.diag(qr.L) > 0) and np.allclose(qr.L, np.tril(qr.L))
    b = rng.normal(size=len(active))
    np.testing.assert_allclose(qr.solve(b), np.linalg.solve(AS.T @ AS, b), rtol=1e-10)
    # distances to the span: zero for combinations, exact for the rest
    v = rng.normal(size=len(active))
    inside = AS @ v
    outside = X[:, 30]
    proj = AS @ np.linalg.lstsq(AS, outside, rcond=None)[0]
    d2 = qr.distances(np.column_stack([inside, outside]))
    assert d2[0] <= 1e-26 * (inside @ inside)
    assert d2[1] == pytest.approx(float((outside - proj) @ (outside - proj)), rel=1e-10)
    # a column in the span is refused and nothing changes; a column at
    # relative distance 1e-6 from it (squared 1e-12, below the precision of a
    # Cholesky factor of the Gram matrix) is accepted
    L_before = qr.L.copy()
    assert not qr.add_column(inside)
    assert not qr.add_column(np.zeros(60))
    np.testing.assert_array_equal(qr.L, L_before)
    rest = outside - proj
    near = inside + 1e-6 * np.linalg.norm(inside) * rest / np.linalg.norm(rest)
    assert qr.add_column(near)
    assert qr.L[-1, -1] == pytest.approx(1e-6 * np.linalg.norm(inside), rel=1e-6)


def test_near_interpolation_random_walk_certified():
    """Deep in the path (cond(A_S) ~ 1e6) the homotopy stays exact.

    A standardized random walk, 2-layer abs, beta far below beta_max: the
    solution has ~380 neurons on 400 points. Columns at squared relative
    distance ~1e-11 from the span of the active ones are independent and
    must enter; a Cholesky factor of the Gram matrix cannot tell them from
    dependent ones (its distances carry errors of cond(A_S)^2 eps).
    """
    rng = np.random.default_rng(3)
    w = np.cumsum(rng.normal(size=401))
    w = (w - w.mean()) / w.std()
    x, y = w[:-1], w[1:]
    op = TwoLayerOperator.from_inputs(x, "abs")
    beta = 1e-5
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = lasso(op, y, beta)
    assert res.converged and res.n_active > 300
    A = op.toarray()
    # certificate recomputed densely, relative to beta_max (the scale of the
    # correlations, where rounding lives); a wrong active set violates it by
    # 1e-6 and more
    scale = lasso_beta_max(A, y)
    assert kkt(A, y, res.coef, res.intercept, beta) * beta <= 1e-9 * scale
    # Clarabel reaches ~1e-8 relative on this ill-conditioned problem: its
    # objective bounds ours from above and agrees to 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "may be inaccurate"
        ref = cvxpy_lasso(A, y, beta)
    assert res.objective <= ref * (1 + 1e-12)
    assert res.objective == pytest.approx(ref, rel=1e-6)


def test_long_design_keeps_gram_factor(monkeypatch):
    """Where Q would not fit the budget, the Cholesky factor gives the same fit."""
    from tsmirrors.solvers import _homotopy
    from tsmirrors.solvers._cholesky import ActiveCholesky
    from tsmirrors.solvers._design import check_problem
    from tsmirrors.solvers._qr import ActiveQR

    x, y = series(80, 2)
    op = TwoLayerOperator.from_inputs(x, "abs")
    problem = _homotopy.Problem(*check_problem(op, y), True)
    assert isinstance(_homotopy.DesignBackend(problem).new_factor(), ActiveQR)
    ref = lasso(op, y, 0.05)
    monkeypatch.setattr(_homotopy, "_GRAM_BUDGET", 100)
    assert isinstance(_homotopy.DesignBackend(problem).new_factor(), ActiveCholesky)
    res = lasso(op, y, 0.05)
    assert ref.converged and res.converged
    # both certified on the same problem: same objective to rounding
    assert res.objective == pytest.approx(ref.objective, rel=1e-10)
