"""The quantile Lasso solved through its dual LP (a narrow dictionary).

For ``A`` of shape ``(N, p)`` the dual of the quantile Lasso is

    max_g  y^T g   s.t.  -beta w <= A^T g <= beta w,
                         sum_i g_i = 0 (with an intercept),
                         tau - 1 <= g_i <= tau,

an LP with ``p + 1`` rows and ``N`` bounded columns. When ``p`` is well
below ``N`` (a few sampled features per input column) its simplex bases are
``p + 1`` wide instead of ``N``, and the primal solution ``(z, xi)`` is the
negated row duals. A change of ``tau`` or ``beta`` only moves bounds, so the
previous optimal basis stays dual feasible and the dual simplex re-solves
from it in a few iterations: neighbouring quantile levels share one model.
Strong LP duality makes the optimum the primal LP's; the certificate of
:mod:`tsmirrors.solvers.quantile` checks it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._lp import _highspy, new_highs

__all__ = ["DualQuantileLP"]


class DualQuantileLP:
    """A live HiGHS model of the dual LP, re-solved after bound changes.

    Parameters
    ----------
    A : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    cost_z : ndarray of shape (n_features,)
        ``beta w``.
    tau : float
    fit_intercept : bool
    """

    def __init__(self, A, y, cost_z, tau, fit_intercept):
        hs = _highspy()
        self.hs = hs
        A = np.asarray(A, dtype=np.float64)
        n, p = A.shape
        self.n, self.p = n, p
        self.fit_intercept = bool(fit_intercept)
        # columns of the dual LP are the data rows: CSC of [A^T; 1^T]
        matrix = sp.csc_array(np.vstack([A.T, np.ones((1, n))]))
        matrix.eliminate_zeros()
        h = new_highs(hs)
        # the LP is already lean; presolve would redo its work at every level
        h.setOptionValue("presolve", "off")
        inf = hs.kHighsInf
        sum_bound = 0.0 if self.fit_intercept else inf
        cost_z = np.asarray(cost_z, dtype=np.float64)
        status = h.passModel(
            n, p + 1, int(matrix.nnz), int(hs.MatrixFormat.kColwise),
            int(hs.ObjSense.kMinimize), 0.0,
            -np.asarray(y, dtype=np.float64),
            np.full(n, tau - 1.0), np.full(n, float(tau)),
            np.concatenate([-cost_z, [-sum_bound]]),
            np.concatenate([cost_z, [sum_bound]]),
            matrix.indptr[:-1].astype(np.int32), matrix.indices.astype(np.int32),
            np.asarray(matrix.data, dtype=np.float64), np.zeros(n, dtype=np.int32),
        )
        if status == hs.HighsStatus.kError:  # pragma: no cover - malformed LP
            raise ValueError("HiGHS refused the linear program")
        self.h = h
        self.tau = float(tau)
        self.cost_z = cost_z.copy()

    def update(self, cost_z, tau) -> None:
        """New penalty costs and level: bound changes only."""
        h = self.h
        cost_z = np.asarray(cost_z, dtype=np.float64)
        if float(tau) != self.tau:
            idx = np.arange(self.n, dtype=np.int32)
            h.changeColsBounds(self.n, idx, np.full(self.n, tau - 1.0),
                               np.full(self.n, float(tau)))
            self.tau = float(tau)
        if not np.array_equal(cost_z, self.cost_z):
            idx = np.arange(self.p, dtype=np.int32)
            h.changeRowsBounds(self.p, idx, -cost_z, cost_z)
            self.cost_z = cost_z.copy()

    def solve(self):
        """``(z, xi, g, ok, status, iterations)`` at the current costs."""
        h = self.h
        h.run()
        status = h.getModelStatus()
        ok = status == self.hs.HighsModelStatus.kOptimal
        info = h.getInfo()
        iters = int(max(info.simplex_iteration_count, 0))
        sol = h.getSolution()
        g = np.asarray(sol.col_value, dtype=np.float64)
        duals = np.asarray(sol.row_dual, dtype=np.float64)
        if ok:
            z = -duals[: self.p]
            xi = -float(duals[self.p]) if self.fit_intercept else 0.0
        else:
            z, xi = np.zeros(self.p), 0.0
        return z, xi, g, ok, h.modelStatusToString(status), iters
