"""Quantile Lasso: ``min sum_i L_tau(y_i - (A z)_i - xi) + beta sum_j w_j |z_j|``.

``L_tau(u) = 0.5 |u| + (tau - 0.5) u`` applied to ``u = y - f``, so the fit
models the tau-quantile (about a fraction ``tau`` of the points lies below
it), as in :class:`sklearn.linear_model.QuantileRegressor`. The problem is a
linear program solved by HiGHS; for a :class:`TwoLayerOperator` with a
continuous activation the LP is written over slope changes with ``O(N + p)``
nonzeros (see :mod:`tsmirrors.solvers._lp`). Above ``N + p > 20,000`` that
LP is solved by an exact working-set scheme (column generation over the
knots, priced with ``|A^T g| <= beta w`` through one ``rmatvec`` per round,
each round re-solved from the previous basis); the certificate is computed on
the full problem as before. A wide dense dictionary (a deep library: N rows
and up to ~N^3 columns) is solved the same way, by column generation priced
with ``A^T g``: HiGHS on the whole dense LP takes minutes there (most of it
in presolve), the working set a fraction of a second.

Several continuous 2-layer operators side by side (the additive network of
several input columns) get one slope-change chain per column
(:mod:`tsmirrors.solvers._additive_lp`); when they hold few features (at
most half as many as rows) the dual LP is solved instead, with bases ``p +
1`` wide (:mod:`tsmirrors.solvers._dual_lp`). A warm start re-solves the
previous level's live HiGHS model: after a cost change (the slope LPs) by
the primal simplex, after a bound change (the dual LP) by the dual simplex.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from sklearn.exceptions import ConvergenceWarning

from .._validation import check_nonnegative, check_quantile
from ._additive_lp import additive_blocks
from ._design import check_problem
from ._dual_lp import DualQuantileLP
from ._highs import HighsSession, _highspy, solve_lp
from ._lp import (
    build_dense_lp,
    build_quantile_lp,
    solve_slope_working_set,
    split_solution,
)
from ._result import SolverResult
from .datafits import pinball_loss
from .penalties import check_weights

__all__ = ["quantile_lasso", "quantile_path", "quantile_beta_max", "QuantilePath"]


def _fix_sum(g: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Move ``g`` inside ``[lo, hi]`` so that it sums to zero, if possible."""
    g = np.clip(g, lo, hi)
    delta = -float(g.sum())
    if delta > 0:
        room = hi - g
    elif delta < 0:
        room = g - lo
    else:
        return g
    total = float(room.sum())
    if total <= 0:
        return g
    step = min(abs(delta) / total, 1.0)
    return g + np.sign(delta) * step * room


def _certificate(design, y, z, xi, cost_z, tau, duals, fit_intercept):
    """Objective, duality gap and relative gap from LP duals of the data rows."""
    fit = design.matvec(z) + xi
    primal = float(pinball_loss(y - fit, tau).sum() + cost_z @ np.abs(z))
    lo, hi = tau - 1.0, tau
    g = np.nan_to_num(np.asarray(duals, dtype=float))
    g = _fix_sum(g, lo, hi) if fit_intercept else np.clip(g, lo, hi)
    c = design.rmatvec(g)
    pos = cost_z > 0
    if np.any(~pos & (np.abs(c) > 0)):
        # Unpenalized columns: dual feasibility needs (A^T g)_j = 0 there.
        dual = -np.inf
    else:
        ratio = float(np.max(np.abs(c[pos]) / cost_z[pos])) if pos.any() else 0.0
        if ratio > 1.0:
            g = g / ratio
        dual = float(y @ g)
    gap = max(primal - dual, 0.0)
    rel = gap / primal if primal > 0 else gap
    return primal, gap, rel


def _costs(design, beta, weights):
    w = (np.ones(design.n_features) if weights is None
         else check_weights(weights, design.n_features))
    return beta * w


def _result_from_lp(design, y, lp, sol, cost_z, beta, tau, fit_intercept, tol,
                    state=None) -> SolverResult:
    if not sol.ok:
        z = np.zeros(design.n_features)
        xi = 0.0
    else:
        z, xi = split_solution(lp, sol.x)
    duals = sol.row_duals[lp.data_rows]
    return _result(design, y, z, xi, duals, sol.ok, sol.status, sol.iterations,
                   lp.formulation, cost_z, beta, tau, fit_intercept, tol, state)


def _result(design, y, z, xi, duals, ok, status, iterations, formulation, cost_z,
            beta, tau, fit_intercept, tol, state) -> SolverResult:
    primal, gap, rel = _certificate(design, y, z, xi, cost_z, tau, duals, fit_intercept)
    converged = bool(ok and rel <= tol)
    if not converged:
        warnings.warn(
            f"quantile_lasso did not certify optimality (HiGHS status: {status}); "
            f"relative duality gap {rel:.3e} at beta={beta}, tau={tau}",
            ConvergenceWarning, stacklevel=4,
        )
    active = np.flatnonzero(z)
    return SolverResult(
        coef=z, intercept=xi, objective=primal, duality_gap=gap, kkt_residual=rel,
        n_iter=iterations, converged=converged, active_set=active, beta=beta,
        datafit="quantile", tau=tau,
        message=f"HiGHS {status} ({formulation} formulation)", state=state,
    )


def _slope_operator(design):
    from ..features.operators import TwoLayerOperator

    op = getattr(design, "op", None)
    if isinstance(op, TwoLayerOperator) and op.is_continuous:
        return op
    return None


def quantile_lasso(A, y, beta: float, tau: float = 0.5, *, weights=None,
                   fit_intercept: bool = True, warm_start=None, tol: float = 1e-7,
                   formulation: str = "auto", backend: str = "auto",
                   _working_set_threshold: int = 20_000) -> SolverResult:
    """Quantile Lasso with an unpenalized intercept, as an exact linear program.

    Solves ``min_{z, xi} sum_i L_tau(y_i - (A z)_i - xi) + beta sum_j w_j |z_j|``.

    Parameters
    ----------
    A : ndarray, sparse matrix, TwoLayerOperator or operator
        Dictionary of shape (n_samples, n_features). Operators other than a
        continuous :class:`TwoLayerOperator` are densified (refused beyond
        ``6e7`` entries).
    y : array-like of shape (n_samples,)
        Targets.
    beta : float
        Penalty level, ``>= 0``.
    tau : float, default=0.5
        Quantile level in (0, 1).
    weights : array-like of shape (n_features,), default=None
        Positive l1 weights.
    fit_intercept : bool, default=True
        Fit the unpenalized intercept.
    warm_start : SolverResult, default=None
        A previous result of this function on the same ``A`` and ``y``: its
        HiGHS model is re-solved from its last basis after the costs (or, for
        the dual LP, the bounds) change with ``beta`` and ``tau``.
    tol : float, default=1e-7
        Largest accepted relative duality gap.
    formulation : {"auto", "slope", "dense"}, default="auto"
        ``"slope"``: slope-change LP (continuous 2-layer operators only, or
        several side by side); ``"dense"``: the dictionary as a constraint
        block. ``"auto"`` may also pick the dual LP of a side-by-side design
        with few features.
    backend : {"auto", "highspy", "scipy"}, default="auto"
        HiGHS through ``highspy`` (warm starts) or :func:`scipy.optimize.linprog`.

    Returns
    -------
    SolverResult
        ``duality_gap`` comes from the LP duals made dual feasible, and
        ``kkt_residual`` is that gap relative to the objective.

    Examples
    --------
    >>> import numpy as np
    >>> from tsmirrors.solvers import quantile_lasso
    >>> rng = np.random.default_rng(0)
    >>> A, y = rng.normal(size=(30, 4)), rng.normal(size=30)
    >>> res = quantile_lasso(A, y, beta=1.0, tau=0.8)
    >>> res.converged
    True
    """
    design, y = check_problem(A, y)
    beta = check_nonnegative(beta, "beta")
    tau = check_quantile(tau, "tau")
    tol = check_nonnegative(tol, "tol")
    cost_z = _costs(design, beta, weights)
    session = None
    lp = None
    state = getattr(warm_start, "state", None)
    if (isinstance(state, _QuantileState) and state.lp is not None
            and state.matches(A, y, fit_intercept, formulation)):
        session, lp = state.session, state.lp
        idx = np.concatenate([lp.z_plus, lp.z_minus, lp.u_plus, lp.u_minus])
        values = np.concatenate([cost_z, cost_z, np.full(lp.u_plus.size, tau),
                                 np.full(lp.u_minus.size, 1.0 - tau)])
        if session is not None:
            session.set_costs(idx, values)
        else:
            lp.cost[idx] = values
    n, p = design.shape
    dual = state.dual if (isinstance(state, _QuantileState) and lp is None
                          and state.matches(A, y, fit_intercept, formulation)
                          ) else None
    if dual is not None:
        dual.update(cost_z, tau)
    elif (lp is None and backend != "scipy" and formulation == "auto"
            and _highspy() is not None and _prefers_dual(design)):
        dual = DualQuantileLP(design.toarray(), y, cost_z, tau, fit_intercept)
    if dual is not None:
        z, xi, g, ok, status, iters = dual.solve()
        rel = _certificate(design, y, z, xi, cost_z, tau, g, fit_intercept)[2]
        if ok and rel <= tol:
            state = _QuantileState(A, y, fit_intercept, formulation, None, None,
                                   dual)
            return _result(design, y, z, xi, g, ok, status, iters, "dual",
                           cost_z, beta, tau, fit_intercept, tol, state)
        # not certified (a HiGHS tolerance issue): the primal LP below
    if (lp is None and backend != "scipy" and _highspy() is not None
            and n + p > _working_set_threshold and formulation != "dense"
            and _slope_operator(design) is not None):
        # Large slope-change LP: column generation over the knots (exact;
        # see solve_slope_working_set), started from a coarse grid of knots,
        # the largest correlations with the intercept-only dual point and
        # the support of a warm start.
        op = _slope_operator(design)
        initial = _initial_working_set(design, y, cost_z, tau, fit_intercept,
                                       warm_start)
        z, xi, g, ok, status, iters = solve_slope_working_set(
            op, y, cost_z, tau, fit_intercept, initial, options=_WS_OPTIONS)
        state = _QuantileState(A, y, fit_intercept, formulation, None, None)
        return _result(design, y, z, xi, g, ok, status, iters, "slope working-set",
                       cost_z, beta, tau, fit_intercept, tol, state)
    if (lp is None and backend != "scipy" and _highspy() is not None
            and getattr(design, "kind", None) == "dense"
            and formulation in ("auto", "dense")
            and p > max(_DENSE_WS_MIN_FEATURES, _DENSE_WS_RATIO * n)):
        # A wide dense dictionary (a deep library: N rows, up to 1e5 columns):
        # column generation priced with one product A^T g per round, exact.
        initial = _initial_working_set(design, y, cost_z, tau, fit_intercept,
                                       warm_start, n_grid=0,
                                       n_corr=max(50, 2 * n))
        z, xi, g, ok, status, iters = _solve_dense_working_set(
            design.A, y, cost_z, tau, fit_intercept, initial)
        state = _QuantileState(A, y, fit_intercept, formulation, None, None)
        return _result(design, y, z, xi, g, ok, status, iters, "dense working-set",
                       cost_z, beta, tau, fit_intercept, tol, state)
    if lp is None:
        lp = build_quantile_lp(design, y, cost_z, tau, fit_intercept, formulation)
    sol, session = solve_lp(lp, backend, session)
    state = _QuantileState(A, y, fit_intercept, formulation, lp, session)
    return _result_from_lp(design, y, lp, sol, cost_z, beta, tau, fit_intercept, tol,
                           state)


def _initial_working_set(design, y, cost_z, tau, fit_intercept, warm_start,
                         n_grid: int | None = None,
                         n_corr: int | None = None) -> np.ndarray:
    """Knots that start the working set of a large slope-change LP."""
    p = design.n_features
    size = min(_WS_INITIAL_MAX, max(50, p // 50))
    n_grid = size if n_grid is None else n_grid
    n_corr = size if n_corr is None else n_corr
    parts = [np.unique(np.linspace(0, p - 1, min(n_grid, p)).astype(np.int64))]
    xi = float(np.quantile(y, tau)) if fit_intercept else 0.0
    g = np.where(y - xi > 0, tau, tau - 1.0)
    score = np.abs(design.rmatvec(g)) / np.maximum(cost_z, 1e-300)
    k = min(n_corr, p)
    parts.append(np.argpartition(-score, k - 1)[:k])
    coef = getattr(warm_start, "coef", None)
    if coef is not None and np.shape(coef) == (p,):
        parts.append(np.flatnonzero(coef))
    return np.unique(np.concatenate(parts))


#: A dense design wider than this many columns (and ``_DENSE_WS_RATIO``
#: times its rows) is solved by column generation.
_DENSE_WS_MIN_FEATURES = 2_000
_DENSE_WS_RATIO = 20


def _solve_dense_working_set(A, y, cost_z, tau, fit_intercept, initial,
                             max_rounds: int = 200):
    """Quantile LP of a wide dense ``A`` by column generation, exactly.

    Each round solves the LP on the working set of columns and prices every
    column with the row duals ``g``: a column whose ``|A_j^T g|`` exceeds
    its cost ``w_j`` has a negative reduced cost and joins the set (the
    ``2 N`` most violated ones per round). When none does, ``g`` is dual
    feasible for the full LP and the working-set optimum is the optimum.
    """
    n, p = A.shape
    work = np.asarray(initial, dtype=np.int64)
    iterations = 0
    add = np.zeros(0, dtype=np.int64)
    for _ in range(max_rounds):
        lp = build_dense_lp(A[:, work], y, cost_z[work], tau, fit_intercept)
        sol = HighsSession(lp, _WS_OPTIONS).solve()
        iterations += sol.iterations
        g = sol.row_duals[lp.data_rows]
        if not sol.ok:
            break
        excess = np.abs(A.T @ g) - cost_z * (1.0 + 1e-9) - 1e-12
        excess[work] = -np.inf
        add = np.flatnonzero(excess > 0)
        if add.size == 0:
            break
        if add.size > 2 * n:
            add = add[np.argpartition(-excess[add], 2 * n - 1)[: 2 * n]]
        work = np.union1d(work, add)
    z = np.zeros(p)
    xi = 0.0
    if sol.ok:
        z_work, xi = split_solution(lp, sol.x)
        z[work] = z_work
    status = sol.status if add.size == 0 or not sol.ok else "round limit reached"
    return z, xi, g, sol.ok and add.size == 0, status, iterations


# HiGHS options of the working-set solves: presolve off (the compressed LP is
# already lean and each round re-solves from the previous basis) and tighter
# tolerances, so that the certificate matches the direct LP's.
_WS_OPTIONS: dict = {"presolve": "off", "primal_feasibility_tolerance": 1e-9,
                     "dual_feasibility_tolerance": 1e-9}
_WS_INITIAL_MAX = 1000


def _prefers_dual(design) -> bool:
    """Whether the dual LP is the faster exact route for ``design``.

    Additive designs (several input columns) with few features per column:
    the dual's simplex bases are ``p + 1`` wide instead of ``N``.
    """
    n, p = design.shape
    return (2 * p <= n and n * p <= _DUAL_MAX_ENTRIES
            and additive_blocks(design) is not None)


#: Largest dense dictionary (entries, 40 MB) the dual route builds; beyond it
#: the per-column slope chains need no dense copy.
_DUAL_MAX_ENTRIES = 5_000_000


class _QuantileState:
    """What a warm start reuses: the LP and its live HiGHS model."""

    def __init__(self, A, y, fit_intercept, formulation, lp, session, dual=None):
        self.A = A
        self.y = y
        self.fit_intercept = fit_intercept
        self.formulation = formulation
        self.lp = lp
        self.session = session
        self.dual = dual

    def matches(self, A, y, fit_intercept, formulation) -> bool:
        return (A is self.A and fit_intercept == self.fit_intercept
                and formulation == self.formulation
                and np.shape(y) == np.shape(self.y) and np.array_equal(y, self.y))


def quantile_beta_max(A, y, tau: float = 0.5, *, weights=None,
                      fit_intercept: bool = True) -> float:
    """Smallest ``beta`` for which ``z = 0`` solves the quantile Lasso.

    ``z = 0`` is optimal iff some dual point ``g`` of the intercept-only fit
    (``g_i = tau`` above the fitted quantile, ``tau - 1`` below, anything in
    between at ties, summing to zero) has ``|A_j^T g| <= beta w_j``; the
    answer is the least such bound over the optimal intercepts.

    Parameters
    ----------
    A : ndarray, sparse matrix or operator of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    tau : float, default=0.5
    weights : array-like of shape (n_features,), default=None
    fit_intercept : bool, default=True

    Returns
    -------
    float
    """
    design, y = check_problem(A, y)
    tau = check_quantile(tau, "tau")
    w = (np.ones(design.n_features) if weights is None
         else check_weights(weights, design.n_features))
    n = y.size
    if fit_intercept:
        ys = np.sort(y)
        k = tau * n
        kk = int(np.ceil(k - 1e-12 * n))
        cands = {ys[max(kk - 1, 0)]}
        if abs(k - round(k)) <= 1e-12 * n and 0 < round(k) < n:
            cands = {ys[int(round(k)) - 1], ys[int(round(k))]}
    else:
        cands = {0.0}
    best = np.inf
    for xi in cands:
        r = y - xi
        g = np.where(r > 0, tau, tau - 1.0)
        Z = np.flatnonzero(r == 0)
        if Z.size == 0:
            if fit_intercept and abs(g.sum()) > 1e-9 * n:
                continue
            best = min(best, float(np.max(np.abs(design.rmatvec(g)) / w)))
            continue
        g[Z] = 0.0
        base = design.rmatvec(g) / w
        need = -float(g.sum())
        R = design.rows(Z) / w  # |Z| x p
        # min t  s.t. -t <= base + R^T g_Z <= t, tau - 1 <= g_Z <= tau,
        # sum g_Z = need (with an intercept).
        nz = Z.size
        c = np.zeros(nz + 1)
        c[-1] = 1.0
        A_ub = np.block([[R.T, -np.ones((R.shape[1], 1))],
                         [-R.T, -np.ones((R.shape[1], 1))]])
        b_ub = np.concatenate([-base, base])
        A_eq = np.concatenate([np.ones(nz), [0.0]])[None, :] if fit_intercept else None
        b_eq = np.array([need]) if fit_intercept else None
        bounds = [(tau - 1.0, tau)] * nz + [(0, None)]
        res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds,
                      method="highs")
        if res.status == 0:
            best = min(best, float(res.fun))
    return float(best)


@dataclass
class QuantilePath:
    """Quantile Lasso solutions on a grid of ``(tau, beta)``.

    Attributes
    ----------
    taus : ndarray of shape (n_taus,)
    betas : ndarray of shape (n_betas,)
        Decreasing penalty levels.
    results : list of list of SolverResult
        ``results[i][k]`` solves ``(taus[i], betas[k])``.
    """

    taus: np.ndarray
    betas: np.ndarray
    results: list

    @property
    def coefs(self) -> np.ndarray:
        """Coefficients, shape (n_taus, n_betas, n_features)."""
        return np.array([[r.coef for r in row] for row in self.results])

    @property
    def intercepts(self) -> np.ndarray:
        """Intercepts, shape (n_taus, n_betas)."""
        return np.array([[r.intercept for r in row] for row in self.results])

    @property
    def objectives(self) -> np.ndarray:
        """Objective values, shape (n_taus, n_betas)."""
        return np.array([[r.objective for r in row] for row in self.results])

    @property
    def converged(self) -> bool:
        """Whether every solve certified optimality."""
        return all(r.converged for row in self.results for r in row)


def quantile_path(A, y, tau=0.5, betas=None, *, n_betas: int = 10,
                  beta_ratio: float = 1e-3, weights=None, fit_intercept: bool = True,
                  tol: float = 1e-7, formulation: str = "auto",
                  backend: str = "auto") -> QuantilePath:
    """Quantile Lasso on a grid of penalties (and quantile levels), warm-started.

    One LP is built; every further grid point only changes its costs and is
    re-solved by HiGHS from the previous optimal basis.

    Parameters
    ----------
    A : ndarray, sparse matrix, TwoLayerOperator or operator
    y : array-like of shape (n_samples,)
    tau : float or array-like of float, default=0.5
        Quantile level(s) in (0, 1).
    betas : array-like, default=None
        Penalty levels; by default ``n_betas`` values spaced geometrically from
        ``quantile_beta_max`` (of the first ``tau``) down to ``beta_ratio`` times
        it. Sorted decreasing.
    n_betas : int, default=10
    beta_ratio : float, default=1e-3
    weights, fit_intercept, tol, formulation, backend
        As in :func:`quantile_lasso`.

    Returns
    -------
    QuantilePath
    """
    taus = np.atleast_1d(np.asarray(tau, dtype=float))
    if taus.size == 0:
        raise ValueError("tau is empty")
    for t in taus:
        check_quantile(float(t), "tau")
    if betas is None:
        bmax = quantile_beta_max(A, y, float(taus[0]), weights=weights,
                                 fit_intercept=fit_intercept)
        if not (0 < beta_ratio < 1):
            raise ValueError(f"beta_ratio must be in (0, 1), got {beta_ratio}")
        betas = bmax * np.geomspace(1.0, beta_ratio, int(n_betas))
    betas = np.sort(np.atleast_1d(np.asarray(betas, dtype=float)))[::-1]
    if betas.size == 0:
        raise ValueError("betas is empty")
    for b in betas:
        check_nonnegative(float(b), "beta")
    results = []
    warm = None
    for t in taus:
        row = []
        for b in betas:
            warm = quantile_lasso(A, y, float(b), float(t), weights=weights,
                                  fit_intercept=fit_intercept, warm_start=warm,
                                  tol=tol, formulation=formulation, backend=backend)
            row.append(warm)
        results.append(row)
    return QuantilePath(taus=taus, betas=betas, results=results)
