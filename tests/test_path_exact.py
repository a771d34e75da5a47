"""The exact regularization path on degenerate (relu) dictionaries.

Every kink is certified on the whole dictionary, the training loss never
rises as beta decreases, and the path agrees with ``lasso`` and with an
interior-point reference (Clarabel).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from tsmirrors.data import lag_embed
from tsmirrors.features import Library
from tsmirrors.features.operators import TwoLayerOperator
from tsmirrors.solvers import lasso, lasso_path

BTC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "btc"

#: Rounding of ``A^T r`` is relative to ``||A_c^T y_c||_inf`` (``beta_max``)
#: and of the loss to the loss at ``beta_max``; 1e-8 leaves room for BLAS and
#: code generation differences between CPUs, and is far below the errors of a
#: wrong path (relative 1e-3 to 1e6 in the cases below).
RTOL = 1e-8


def btc_problem(name: str, n_closes: int):
    """Standardized difference series of the last closes, relu dictionary."""
    frame = pd.read_csv(BTC / name)
    if "unix" in frame:
        frame = frame.sort_values("unix")
    z = np.diff(frame["close"].to_numpy()[-n_closes:])
    z = z / z.std()
    X, t, _ = lag_embed(z, lags=1)
    return Library(activation="relu").fit(X[:, 0]).operator(), t


def random_walk_problem(n: int, seed: int):
    rng = np.random.default_rng(seed)
    w = np.cumsum(rng.normal(size=n + 1))
    w = (w - w.mean()) / w.std()
    return TwoLayerOperator.from_inputs(w[:-1], "relu"), w[1:]


def dense_kkt(D, y, z, xi, beta, beta_max):
    """KKT residual from scratch on the dense dictionary, over ``beta_max``."""
    c = D.T @ (y - D @ z - xi)
    dist = np.where(z != 0, np.abs(c - beta * np.sign(z)),
                    np.maximum(np.abs(c) - beta, 0.0))
    return float(dist.max()) / beta_max


def clarabel_objective(D, y, beta):
    z = cp.Variable(D.shape[1])
    xi = cp.Variable()
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(D @ z + xi - y)
                                  + beta * cp.norm1(z)))
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-13, tol_gap_rel=1e-13,
               tol_feas=1e-13, max_iter=500)
    return prob.value


def check_path(op, y, n_ref: int = 0):
    D = op.toarray()
    path = lasso_path(op, y)
    assert path.certified.shape == (path.n_kinks,)
    assert path.kkt_residuals.shape == (path.n_kinks,)
    coefs = path.coefs.toarray()
    loss = np.array([0.5 * np.sum((y - D @ c - xi) ** 2)
                     for c, xi in zip(coefs, path.intercepts, strict=True)])
    ok = path.certified
    # The part of the path where correlations are resolved well above
    # rounding is certified everywhere.
    assert ok[path.betas >= 1e-4 * path.beta_max].all()
    for k in np.flatnonzero(ok):
        assert dense_kkt(D, y, coefs[k], path.intercepts[k], path.betas[k],
                         path.beta_max) <= RTOL
    # The training loss never rises as beta decreases.
    assert np.all(np.diff(loss[ok]) <= RTOL * loss[0])
    # Values between kinks agree with lasso and with Clarabel.
    betas = np.geomspace(1e-3, 0.5, max(n_ref, 2)) * path.beta_max
    for beta in betas[:n_ref]:
        c, xi = path.evaluate(beta)
        ours = 0.5 * np.sum((y - D @ c[0] - xi[0]) ** 2) + beta * np.abs(c).sum()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ref = lasso(op, y, beta)
        assert ours == pytest.approx(ref.objective, rel=RTOL)
        assert ours == pytest.approx(clarabel_objective(D, y, beta), rel=1e-7)
    return path


def test_relu_path_certified_on_hourly_closes():
    op, y = btc_problem("BTCUSD_gemini_1h_2017.csv", 101)
    check_path(op, y, n_ref=2)


def test_relu_path_certified_on_daily_closes():
    op, y = btc_problem("BTC-Daily.csv", 101)
    check_path(op, y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_path_certified_on_random_walks(seed):
    op, y = random_walk_problem(80, seed)
    check_path(op, y)


def test_path_end_equals_lasso():
    op, y = random_walk_problem(80, 1)
    beta_max = float(np.max(np.abs(op.rmatvec(y - y.mean()))))
    beta = 1e-3 * beta_max
    path = lasso_path(op, y, beta_min=beta)
    assert path.betas[-1] == beta
    assert path.certified.all() and path.converged
    ref = lasso(op, y, beta)
    D = op.toarray()
    c = path.coefs[[path.n_kinks - 1]].toarray().ravel()
    ours = (0.5 * np.sum((y - D @ c - path.intercepts[-1]) ** 2)
            + beta * np.abs(c).sum())
    assert ours == pytest.approx(ref.objective, rel=RTOL)


def test_uncertified_kinks_are_flagged_and_warned():
    # tol=0 asks for a certificate beyond rounding: kinks past the first fail
    # it and must be reported, not returned as exact.
    op, y = random_walk_problem(40, 3)
    with pytest.warns(ConvergenceWarning, match="could not certify"):
        path = lasso_path(op, y, tol=0.0)
    assert not path.converged
    assert path.certified[0]
    assert not path.certified.all()
    # evaluations between uncertified kinks are reported as such
    k = int(np.argmin(path.certified))
    mid = 0.5 * (path.betas[k - 1] + path.betas[k])
    flags = path.certified_at([2 * path.beta_max, mid, path.betas[k]])
    assert flags.tolist() == [True, False, False]


def test_abs_path_certified_near_interpolation():
    """Down to ~380 neurons on 400 points (cond(A_S) ~ 1e6) every kink is exact.

    Independent columns at squared relative distance ~1e-11 from the span of
    the active ones enter the path; a Gram-based factor refuses them and the
    kinks after such a refusal fail the certificate.
    """
    rng = np.random.default_rng(3)
    w = np.cumsum(rng.normal(size=401))
    w = (w - w.mean()) / w.std()
    op, y = TwoLayerOperator.from_inputs(w[:-1], "abs"), w[1:]
    beta = 1e-5
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        path = lasso_path(op, y, beta_min=beta)
    assert path.converged and path.certified.all()
    assert path.n_active()[-1] > 300
    D = op.toarray()
    coefs = path.coefs.toarray()
    for k in range(0, path.n_kinks, 50):
        assert dense_kkt(D, y, coefs[k], path.intercepts[k], path.betas[k],
                         path.beta_max) <= RTOL
    c = coefs[-1]
    loss = np.array([0.5 * np.sum((y - D @ ck - xi) ** 2)
                     for ck, xi in zip(coefs, path.intercepts, strict=True)])
    assert np.all(np.diff(loss) <= RTOL * loss[0])
    ours = 0.5 * np.sum((y - D @ c - path.intercepts[-1]) ** 2) + beta * np.abs(c).sum()
    assert ours == pytest.approx(lasso(op, y, beta).objective, rel=RTOL)
