"""Quantile Lasso: LP formulations, references and warm-started paths."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import QuantileRegressor

from tsmirrors.features import Library
from tsmirrors.features.operators import TwoLayerOperator
from tsmirrors.solvers import (
    QuantileLoss,
    pinball_loss,
    quantile_beta_max,
    quantile_lasso,
    quantile_path,
)
from tsmirrors.solvers._highs import HighsSession
from tsmirrors.solvers._lp import build_dense_lp


def objective(A, y, z, xi, beta, tau):
    return float(pinball_loss(y - A @ z - xi, tau).sum() + beta * np.abs(z).sum())


def series(n, seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=n))
    x = (x - x.mean()) / x.std()
    return x, np.sin(2 * x) + 0.3 * rng.standard_t(3, size=n)


@pytest.mark.parametrize("tau", [0.1, 0.5, 0.85])
def test_dense_matches_quantile_regressor(tau):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(60, 15))
    y = A[:, :3] @ [1.0, -2.0, 0.5] + rng.standard_t(3, size=60)
    beta = 3.0
    res = quantile_lasso(A, y, beta, tau)
    ref = QuantileRegressor(quantile=tau, alpha=beta / 60, solver="highs").fit(A, y)
    assert res.objective == pytest.approx(
        objective(A, y, ref.coef_, ref.intercept_, beta, tau), rel=1e-7)
    assert res.converged and res.kkt_residual <= 1e-7


@pytest.mark.parametrize("name", ["relu", "abs", "leaky_relu", "sign", "threshold"])
@pytest.mark.parametrize("tau", [0.2, 0.9])
def test_two_layer_matches_quantile_regressor(name, tau):
    x, y = series(70, 1)
    op = TwoLayerOperator.from_inputs(x, name)
    D = op.toarray()
    beta = 1.5
    res = quantile_lasso(op, y, beta, tau)
    ref = QuantileRegressor(quantile=tau, alpha=beta / 70, solver="highs").fit(D, y)
    assert res.objective == pytest.approx(
        objective(D, y, ref.coef_, ref.intercept_, beta, tau), rel=1e-7)
    expected = "slope" if name in ("relu", "abs", "leaky_relu") else "dense"
    assert expected in res.message
    fit = D @ res.coef + res.intercept
    # Optimality in the intercept: #below <= tau N <= #below-or-on.
    assert np.sum(y < fit - 1e-9) <= tau * y.size + 1e-9
    assert np.sum(y <= fit + 1e-9) >= tau * y.size - 1e-9


@pytest.mark.parametrize("name", ["relu", "abs", "leaky_relu"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_slope_lp_equals_dense_lp(name, fit_intercept):
    # Knots off the data, outside its range, repeated inputs, both directions.
    rng = np.random.default_rng(2)
    x = np.round(rng.normal(size=40), 1)
    knots = np.concatenate([x[:15], rng.uniform(-3, 3, size=10), [5.0, -5.0]])
    dirs = rng.choice([-1.0, 1.0], size=knots.size)
    op = TwoLayerOperator(x, name, knots, dirs)
    y = np.cos(2 * x) + 0.2 * rng.normal(size=40)
    w = rng.uniform(0.5, 1.5, size=knots.size)
    for tau in (0.25, 0.7):
        slope = quantile_lasso(op, y, 0.8, tau, weights=w, fit_intercept=fit_intercept,
                               formulation="slope")
        dense = quantile_lasso(op.toarray(), y, 0.8, tau, weights=w,
                               fit_intercept=fit_intercept)
        assert slope.objective == pytest.approx(dense.objective, rel=1e-9)
        if not fit_intercept:
            assert slope.intercept == 0.0


def test_fraction_below_close_to_tau():
    x, y = series(400, 3)
    op = TwoLayerOperator.from_inputs(x, "relu")
    for tau in (0.1, 0.5, 0.9):
        res = quantile_lasso(op, y, 5.0, tau)
        below = np.mean(y < res.predict(op))
        assert abs(below - tau) <= 0.05


def test_beta_max():
    x, y = series(50, 4)
    op = TwoLayerOperator.from_inputs(x, "abs")
    for tau in (0.3, 0.5):  # 0.5 * 50 is an integer: an interval of intercepts
        bmax = quantile_beta_max(op, y, tau)
        assert not quantile_lasso(op, y, bmax * 1.0001, tau).coef.any()
        assert quantile_lasso(op, y, bmax * 0.999, tau).coef.any()
    bmax = quantile_beta_max(op, y, 0.3, fit_intercept=False)
    assert not quantile_lasso(op, y, bmax * 1.0001, 0.3, fit_intercept=False).coef.any()


def test_path_warm_starts_equal_cold_solves():
    x, y = series(60, 5)
    op = TwoLayerOperator.from_inputs(x, "relu")
    path = quantile_path(op, y, tau=[0.2, 0.8], n_betas=4)
    assert path.coefs.shape == (2, 4, op.shape[1]) and path.converged
    assert np.all(np.diff(path.betas) < 0)
    for i, tau in enumerate(path.taus):
        for k, beta in enumerate(path.betas):
            cold = quantile_lasso(op, y, beta, tau, backend="scipy")
            assert path.objectives[i, k] == pytest.approx(cold.objective, rel=1e-9)
    assert path.intercepts.shape == (2, 4)


def test_scipy_backend_and_warm_start_on_scipy():
    x, y = series(40, 6)
    op = TwoLayerOperator.from_inputs(x, "abs")
    a = quantile_lasso(op, y, 1.0, 0.4, backend="scipy")
    b = quantile_lasso(op, y, 0.5, 0.4, backend="scipy", warm_start=a)
    c = quantile_lasso(op, y, 0.5, 0.4)
    assert b.objective == pytest.approx(c.objective, rel=1e-9)


def test_datafit_object():
    loss = QuantileLoss(0.9)
    assert loss.value([1.0, -1.0], [0.0, 0.0]) == pytest.approx(0.9 + 0.1)
    with pytest.raises(ValueError, match=r"tau must be in \(0, 1\), got 1.3"):
        QuantileLoss(1.3)


@pytest.mark.parametrize("tau", [0.0, 1.0, -0.2, 1.3])
def test_bad_tau(tau):
    with pytest.raises(ValueError, match=r"tau must be in \(0, 1\)"):
        quantile_lasso(np.eye(3), [1.0, 2.0, 3.0], 1.0, tau)


def test_unsupported_formulation():
    op = TwoLayerOperator.from_inputs(np.arange(5.0), "sign")
    with pytest.raises(ValueError, match="formulation='slope' needs a TwoLayerOperator"
                                         " with a continuous activation"):
        quantile_lasso(op, np.arange(5.0), 1.0, 0.5, formulation="slope")
    with pytest.raises(ValueError, match="formulation must be"):
        quantile_lasso(op, np.arange(5.0), 1.0, 0.5, formulation="sparse")


def test_highs_prints_nothing(capfd):
    """HiGHS's banner and log must not reach stdout/stderr (fd level)."""
    pytest.importorskip("highspy")
    from tsmirrors.solvers import _highs

    rng = np.random.default_rng(0)
    capfd.readouterr()
    _highs._BANNER_SILENCED = False  # take the first-construction path again
    quantile_lasso(rng.random((20, 5)), rng.random(20), 0.1, 0.5)
    _highs.new_highs()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_highs_banner_silent_in_fresh_process():
    """The C++ banner is printed once per process: check a fresh one."""
    pytest.importorskip("highspy")
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from tsmirrors.solvers import quantile_lasso\n"
        "rng = np.random.default_rng(0)\n"
        "quantile_lasso(rng.random((20, 5)), rng.random(20), 0.1, 0.5)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b""


@pytest.mark.parametrize("name", ["relu", "abs", "leaky_relu"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("tau", [0.2, 0.9])
def test_working_set_matches_direct_lp(name, fit_intercept, tau):
    # The working-set path (column generation over knots) is forced on a
    # moderate problem and must reach the direct slope LP's optimum.
    x, y = series(1200, 7)
    op = TwoLayerOperator.from_inputs(x, name)
    beta = 0.005 * quantile_beta_max(op, y, tau, fit_intercept=fit_intercept)
    direct = quantile_lasso(op, y, beta, tau, fit_intercept=fit_intercept,
                            _working_set_threshold=10**12)
    ws = quantile_lasso(op, y, beta, tau, fit_intercept=fit_intercept,
                        _working_set_threshold=0)
    assert "working-set" in ws.message and "working-set" not in direct.message
    assert ws.converged and ws.kkt_residual <= 1e-9
    assert ws.objective == pytest.approx(direct.objective, rel=1e-9)
    D = op.toarray()
    assert objective(D, y, ws.coef, ws.intercept, beta, tau) == pytest.approx(
        ws.objective, rel=1e-12)
    # a warm start on the working-set path also stays exact
    again = quantile_lasso(op, y, 0.7 * beta, tau, fit_intercept=fit_intercept,
                           warm_start=ws, _working_set_threshold=0)
    ref = quantile_lasso(op, y, 0.7 * beta, tau, fit_intercept=fit_intercept,
                         _working_set_threshold=10**12)
    assert again.converged
    assert again.objective == pytest.approx(ref.objective, rel=1e-9)


@pytest.mark.parametrize(("fit_intercept", "tau"), [(True, 0.1), (False, 0.7),
                                                    (True, None)])
def test_dense_lp_matrix_is_the_stacked_blocks_without_zeros(fit_intercept, tau):
    rng = np.random.default_rng(4)
    A = np.maximum(rng.normal(size=(9, 7)), 0.0)  # ramps: many exact zeros
    lp = build_dense_lp(A, rng.normal(size=9), np.ones(7), tau, fit_intercept)
    blocks = [sp.csc_array(A), -sp.csc_array(A)]
    if fit_intercept:
        blocks.append(sp.csc_array(np.ones((9, 1))))
    if tau is not None:
        blocks += [sp.identity(9, format="csc"), -sp.identity(9, format="csc")]
    reference = sp.hstack(blocks, format="csc")
    assert lp.matrix.nnz == reference.nnz == np.count_nonzero(reference.toarray())
    np.testing.assert_array_equal(lp.matrix.toarray(), reference.toarray())


def test_deep_library_quantile_lp_runs_without_presolve_to_the_same_optimum():
    # HiGHS's presolve took ten times the simplex on the N x p dense LP of a
    # deep library (3 quantiles of depth-3 abs on 58 points: 200 s); the
    # optimum is the one with presolve, to the LP's own accuracy.
    from scipy.optimize import linprog

    x, y = series(14, 2)
    A = Library(activation="abs", depth=3).fit_transform(x)
    lp = build_dense_lp(A, y, np.full(A.shape[1], 0.5), 0.2, True)
    session = HighsSession(lp)
    assert session.h.getOptionValue("presolve")[1] == "off"
    ours = quantile_lasso(A, y, 0.5, 0.2)
    bounds = np.column_stack([lp.lower, lp.upper])
    ref = linprog(lp.cost, A_eq=lp.matrix, b_eq=lp.rhs, bounds=bounds,
                  method="highs", options={"presolve": True})
    assert ours.converged
    # relative: both are HiGHS optima of one LP, equal to its tolerances
    assert ours.objective == pytest.approx(ref.fun, rel=1e-9)


@pytest.mark.parametrize("tau", [0.05, 0.5, 0.9])
def test_wide_dense_dictionary_column_generation_equals_the_full_lp(
    monkeypatch, tau
):
    import tsmirrors.solvers.quantile as quantile_module

    x, y = series(25, 3)
    A = Library(activation="abs", depth=3).fit_transform(x)  # 25 x ~8,000
    assert A.shape[1] > 20 * A.shape[0]
    ours = quantile_lasso(A, y, 0.3, tau)
    assert "working-set" in ours.message and ours.converged
    monkeypatch.setattr(quantile_module, "_DENSE_WS_MIN_FEATURES", 10**9)
    full = quantile_lasso(A, y, 0.3, tau)
    assert "working-set" not in full.message and full.converged
    # both are certified HiGHS optima of the same LP: equal to its accuracy
    assert ours.objective == pytest.approx(full.objective, rel=1e-9)
    assert np.count_nonzero(ours.coef) <= A.shape[0] + 1  # a basic solution


# ------------------------------------------------- additive (several inputs)
def additive_problem(n_features, act="abs", n=90, seed=3):
    from tsmirrors.models.convex import HStackDesign

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.abs(X[:, 0]) - 0.5 * X[:, 1] + 0.4 * rng.standard_t(3, size=n)
    ops = [Library(activation=act, n_features=n_features, random_state=k)
           .fit(X[:, k]).operator() for k in range(X.shape[1])]
    return HStackDesign(ops), y


@pytest.mark.parametrize("act", ["relu", "abs", "leaky_relu"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("formulation", ["auto", "slope"])
def test_additive_design_matches_quantile_regressor(act, fit_intercept, formulation):
    # 3 input columns with 8 sampled features each (the narrow dual LP under
    # "auto") and the per-column slope-change LP ("slope")
    H, y = additive_problem(8, act)
    D = H.toarray()
    beta, tau = 2.0, 0.15
    res = quantile_lasso(H, y, beta, tau, fit_intercept=fit_intercept,
                         formulation=formulation)
    ref = QuantileRegressor(quantile=tau, alpha=beta / y.size, solver="highs",
                            fit_intercept=fit_intercept).fit(D, y)
    # both are exact LP optima: equal up to HiGHS's feasibility tolerances
    assert res.objective == pytest.approx(
        objective(D, y, ref.coef_, ref.intercept_, beta, tau), rel=1e-7)
    assert objective(D, y, res.coef, res.intercept, beta, tau) == pytest.approx(
        res.objective, rel=1e-12)
    assert res.converged and res.kkt_residual <= 1e-7
    assert ("dual" if formulation == "auto" else "additive") in res.message


def test_additive_exact_library_uses_the_slope_chains():
    # the exact library is wider than the data: the per-column slope LP
    H, y = additive_problem(None, "relu", n=40)
    D = H.toarray()
    res = quantile_lasso(H, y, 1.0, 0.7)
    ref = QuantileRegressor(quantile=0.7, alpha=1.0 / 40, solver="highs").fit(D, y)
    assert "additive" in res.message
    assert res.objective == pytest.approx(
        objective(D, y, ref.coef_, ref.intercept_, 1.0, 0.7), rel=1e-7)


def test_additive_warm_start_across_levels_equals_cold_solves():
    H, y = additive_problem(8)
    warm = None
    for tau, beta in [(0.05, 2.0), (0.1, 2.0), (0.9, 1.0), (0.95, 1.0)]:
        cold = quantile_lasso(H, y, beta, tau)
        res = quantile_lasso(H, y, beta, tau, warm_start=warm)
        if warm is not None:
            # the same live model, re-solved after bound changes
            assert res.state.dual is warm.state.dual
        assert res.converged
        # equal optima of one LP (a tight relative tolerance for round-off)
        assert res.objective == pytest.approx(cold.objective, rel=1e-9)
        warm = res


@pytest.mark.parametrize("random_state", [0, None])
def test_convex_net_warm_start_handle_equals_cold_fits(random_state):
    import copy
    import pickle

    from tsmirrors.models.convex import ConvexNetRegressor
    from tsmirrors.models.warm_start import WarmStart

    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 4))
    y = np.abs(X[:, 0]) + 0.3 * rng.standard_t(3, size=120)
    handle = WarmStart()
    for tau in (0.05, 0.5, 0.95):
        params = dict(activation="abs", beta=2.0, loss="quantile", quantile=tau,
                      n_features=6, random_state=random_state)
        if random_state is None:
            params["random_state"] = np.random.RandomState(7)
            cold = ConvexNetRegressor(
                **{**params, "random_state": np.random.RandomState(7)}
            ).fit(X, y)
        else:
            cold = ConvexNetRegressor(**params).fit(X, y)
        warm = ConvexNetRegressor(**params).fit(X, y, warm_start=handle)
        assert warm.solver_result_.converged
        assert warm.objective_ == pytest.approx(cold.objective_, rel=1e-9)
        # the fitted model keeps no solver session: copyable and picklable
        assert warm.solver_result_.state is None
        pickle.loads(pickle.dumps(warm))
        copy.deepcopy(warm)
    if random_state is None:
        # features drawn anew at every fit: nothing to reuse
        assert handle.result is not None and handle._X is None
    else:
        assert handle.result.state.dual is not None


def test_dual_lp_without_a_certificate_falls_back_to_the_primal_lp(monkeypatch):
    from tsmirrors.solvers import _dual_lp

    H, y = additive_problem(8)
    cold = quantile_lasso(H, y, 2.0, 0.2)
    solve = _dual_lp.DualQuantileLP.solve

    def spoiled(self):
        z, xi, g, ok, status, iters = solve(self)
        return z + 0.1, xi, g, ok, status, iters  # off the optimum

    monkeypatch.setattr(_dual_lp.DualQuantileLP, "solve", spoiled)
    res = quantile_lasso(H, y, 2.0, 0.2)
    assert "additive" in res.message and res.converged
    assert res.objective == pytest.approx(cold.objective, rel=1e-9)


def test_additive_exact_library_warm_start_reuses_the_session():
    H, y = additive_problem(None, "abs", n=50)
    first = quantile_lasso(H, y, 1.0, 0.1)
    for tau in (0.2, 0.9):
        res = quantile_lasso(H, y, 1.0, tau, warm_start=first)
        cold = quantile_lasso(H, y, 1.0, tau)
        assert "additive" in res.message and res.converged
        assert res.state.session is first.state.session
        assert res.objective == pytest.approx(cold.objective, rel=1e-9)
        first = res


def test_warm_start_handle_reuses_the_exact_library_without_a_seed():
    from tsmirrors.models.convex import ConvexNetRegressor
    from tsmirrors.models.warm_start import WarmStart

    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 2))
    y = X[:, 0] + 0.3 * rng.standard_t(3, size=40)
    handle = WarmStart()
    fits = []
    for tau in (0.1, 0.9):
        params = dict(activation="relu", beta=0.5, loss="quantile", quantile=tau)
        warm = ConvexNetRegressor(**params).fit(X, y, warm_start=handle)
        cold = ConvexNetRegressor(**params).fit(X, y)
        assert warm.objective_ == pytest.approx(cold.objective_, rel=1e-9)
        fits.append(warm)
    # the exact library draws nothing: the second fit reused the first's
    assert fits[1].libraries_ is fits[0].libraries_
