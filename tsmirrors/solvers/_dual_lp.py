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

from ._highs import _highspy, new_highs

__all__ = ["DualQuantileLP"]


def _dual_matrix(A: np.ndarray):
    """CSC arrays of ``[A^T; 1^T]``: column ``i`` holds row ``i`` of ``A``.

    Built from the nonzeros of ``A`` in row-major order (already sorted by
    column of the result), each column closed by the 1 of the sum row.
    """
    n, p = A.shape
    flat = np.flatnonzero(A)  # row-major: sorted by data row, then feature
    rows_of = flat // p
    counts = np.bincount(rows_of, minlength=n) + 1
    indptr = np.concatenate([[0], np.cumsum(counts)])
    nnz = int(indptr[-1])
    ones_at = indptr[1:] - 1
    indices = np.full(nnz, p, dtype=np.int32)
    data = np.ones(nnz)
    keep = np.ones(nnz, dtype=bool)
    keep[ones_at] = False
    indices[keep] = (flat % p).astype(np.int32)
    data[keep] = A.reshape(-1)[flat]
    return _Matrix(indptr, indices, data)


class _Matrix:
    def __init__(self, indptr, indices, data):
        self.indptr = indptr
        self.indices = indices
        self.data = data
        self.nnz = int(data.size)


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
        A = np.ascontiguousarray(A, dtype=np.float64)
        n, p = A.shape
        self.n, self.p = n, p
        self.fit_intercept = bool(fit_intercept)
        matrix = _dual_matrix(A)
        h = new_highs(hs)
        # the LP is already lean; presolve would redo its work at every level
        h.setOptionValue("presolve", "off")
        # the entries are library features of standardized inputs, already
        # of one scale; HiGHS's scaling took more dual simplex iterations
        # (every solve is certified by the caller, which falls back to the
        # primal LP otherwise)
        h.setOptionValue("simplex_scale_strategy", 0)
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
