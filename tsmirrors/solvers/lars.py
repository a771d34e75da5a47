"""Exact Lasso with a free intercept: LARS with the Lasso modification.

Solves (1.2) of the paper,

    min_{z, xi}  1/2 ||A z + xi 1 - y||^2 + beta ||z||_1,

by following the piecewise-linear solution path (homotopy) from
``beta_max = ||A_c^T y_c||_inf`` down to the requested ``beta``. The intercept
is eliminated by centering: ``A_c v = A v - mean(A v)`` and, for a centered
``r``, ``A_c^T r = A^T r``, so operators are never centered explicitly. The
active columns are kept as an incremental QR factorisation (a Cholesky factor
of their Gram matrix on working sets, where only Gram entries exist). At the end
the active-set system is solved again with iterative refinement and the KKT
conditions are verified on fresh correlations; an active-set correction runs
if they fail, and an iteration limit reached gives a ``ConvergenceWarning``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._validation import check_nonnegative, check_positive_int
from ._design import _ScaledDesign, check_problem
from ._homotopy import (
    DesignBackend,
    GramBackend,
    Homotopy,
    Problem,
    _small_blas,
    lasso_objective,
    run,
)
from ._path import LassoPath, lasso_path
from ._result import SolverResult
from .penalties import check_weights

__all__ = ["lasso", "lasso_path", "lasso_beta_max", "LassoPath"]

def _prepare(A, y, beta, weights, fit_intercept):
    design, y = check_problem(A, y)
    if beta is not None:
        beta = check_nonnegative(beta, "beta")
    w = None
    if weights is not None:
        w = check_weights(weights, design.n_features)
        design = _ScaledDesign(design, w)
    return design, y, beta, w


def _default_max_iter(design) -> int:
    return 50 * min(design.n_samples, design.n_features) + 1000


def lasso_beta_max(A, y, *, weights=None, fit_intercept: bool = True) -> float:
    """Smallest ``beta`` whose Lasso solution is ``z = 0``.

    ``beta_max = max_j |A_j^T (y - mean(y))| / w_j`` (no centering of ``y``
    when ``fit_intercept=False``).

    Parameters
    ----------
    A : ndarray, sparse matrix or operator of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    weights : array-like of shape (n_features,), default=None
    fit_intercept : bool, default=True

    Returns
    -------
    float
    """
    design, y, _, _ = _prepare(A, y, None, weights, fit_intercept)
    yc = y - y.mean() if fit_intercept else y
    return float(np.max(np.abs(design.rmatvec(yc))))


def _result(problem: Problem, z, active, beta, w, tol, n_iter, hit_limit,
            message) -> SolverResult:
    ok, primal, gap, kkt = problem.certified(z, beta, tol)
    intercept = problem.intercept(z)
    coef = z / w if w is not None else z.copy()
    converged = (not hit_limit) and ok
    if not converged:
        reason = ("iteration limit reached" if hit_limit
                  else f"certificate above tol={tol:g}, at the limit of rounding")
        warnings.warn(
            f"lasso did not certify optimality ({reason}): KKT residual {kkt:.3e}, "
            f"duality gap {gap:.3e} (objective {primal:.6g}) at beta={beta}",
            ConvergenceWarning,
            stacklevel=3,
        )
    active = np.asarray([j for j in active if coef[j] != 0], dtype=np.intp)
    return SolverResult(
        coef=coef, intercept=intercept, objective=primal, duality_gap=gap,
        kkt_residual=kkt, n_iter=n_iter, converged=converged,
        active_set=active, beta=beta, datafit="squared", message=message,
    )


def _warm_support(warm, n_features: int, w) -> tuple[np.ndarray, np.ndarray]:
    """Support and signs of a previous solution (in the solver's scaling)."""
    coef = getattr(warm, "coef", warm)
    coef = np.asarray(coef, dtype=float).reshape(-1)
    if coef.shape[0] != n_features or not np.all(np.isfinite(coef)):
        raise ValueError(
            f"warm_start must be finite with {n_features} coefficients, got shape "
            f"{coef.shape}"
        )
    idx = np.flatnonzero(coef)
    return idx, np.sign(coef[idx])


def _strict_kkt(problem: Problem, z: np.ndarray, beta: float) -> float:
    """KKT residual over ``beta`` (not ``beta_max``): the solver's own target.

    The solver aims at this stricter measure and reports convergence on the
    scale-relative one of :meth:`Problem.certified`.
    """
    _, _, kkt = problem.certificate(z, beta)
    return kkt * problem.kkt_scale / (beta if beta > 0 else problem.kkt_scale)


#: Rounds without a lower objective after which the dictionary correction stops.
_POLISH_PATIENCE = 5


def _design_polish(problem: Problem, z: np.ndarray, beta: float, tol: float,
                   max_rounds: int) -> tuple[np.ndarray, np.ndarray]:
    """KKT correction on the full dictionary, from the support of ``z``."""
    h = Homotopy(DesignBackend(problem))
    for j in np.flatnonzero(z):
        # start from the given coefficients: a solve from scratch on knots a
        # few samples apart is accurate to cond(G_S) eps only, and is kept
        # only where it improves on the state it starts from
        if h.try_add(int(j), float(np.sign(z[j]))):
            h.z[j] = z[j]
    h.just_added = -1
    # Round by round, stopping once the objective has stalled: columns closer
    # to the active ones than the factor's precision are refused one by one,
    # each refusal costing products on the whole dictionary and changing
    # nothing.
    best, stalled = lasso_objective(h.z, problem.residual(h.z), beta), 0
    for _ in range(max_rounds):
        if h.polish(beta, tol, max_rounds=1):
            break
        obj = lasso_objective(h.z, problem.residual(h.z), beta)
        if obj < best - 1e-14 * abs(best):
            best, stalled = obj, 0
        else:
            stalled += 1
            if stalled >= _POLISH_PATIENCE:
                break
    return h.z.copy(), h.active.copy()


def _active_set_descent(problem: Problem, h: Homotopy, beta: float, tol: float,
                        max_rounds: int) -> tuple[bool, int, Homotopy]:
    """Exact active-set descent at fixed ``beta`` from the state of ``h``.

    A feature-sign search (Lee et al., 2007) with a pivot for degenerate
    columns: each round either solves the equality-constrained problem on the
    active set with its signs and, if signs would flip, moves to the best
    point of the segment (the objective is evaluated at every zero crossing,
    so it never increases and the crossing coefficient leaves), or adds the
    worst KKT violator. A violator in the span of the active columns (refused
    by the Cholesky factor) is pivoted in: along ``e_j - v`` with
    ``a_j = A_S v`` the fit is constant and the penalty decreases, so the
    first active coefficient reaching zero is swapped for it. Ends when the
    KKT conditions hold to ``tol`` on fresh correlations. Returns whether
    they do and the number of rounds. ``h`` needs a :class:`DesignBackend`.
    """
    scale = beta if beta > 0 else max(problem.beta_max, np.finfo(float).tiny)
    tol_abs = tol * scale
    p = problem.n_features
    # Start from the sign-consistent part of the state of ``h``, refactored
    # afresh (largest coefficients first): the path's factor carries the
    # rounding of all its updates.
    z0 = h.z.copy()
    h = Homotopy(DesignBackend(problem))
    h.beta = beta
    for j in np.flatnonzero(z0)[np.argsort(-np.abs(z0[np.flatnonzero(z0)]))]:
        if h.try_add(int(j), float(np.sign(z0[j]))):
            h.z[j] = z0[j]
    h.just_added = h.just_dropped = -1
    r, c = problem.residual_correlations(h.z)
    h.c = c
    refines, last_eq = 0, np.inf
    best_obj, stalled = np.inf, 0

    for it in range(max_rounds):
        S, th = h.active, h.signs
        if S.size:
            zS = h.z[S]
            dz = h.chol.solve(c[S] - beta * th)
            new = zS + dz
            flip = new * th < 0
            if flip.any():
                full = np.zeros(p)
                full[S] = dz
                dr = -problem.fitted(full)
                tk = zS[flip] / (zS[flip] - new[flip])
                ts = np.unique(np.concatenate([np.clip(tk, 0.0, 1.0), [1.0]]))
                vals = [lasso_objective(zS + t * dz, r + t * dr, beta) for t in ts]
                t = float(ts[int(np.argmin(vals))])
                zS = zS + t * dz
                # Coefficients whose crossing is at (or before) t leave.
                gone = np.zeros(S.size, dtype=bool)
                gone[np.flatnonzero(flip)[tk <= t]] = True
                gone |= zS * th <= 0
                h.z[S] = np.where(gone, 0.0, zS)
                for pos in np.flatnonzero(gone)[::-1]:
                    h.drop(int(pos))
                r, c = problem.residual_correlations(h.z)
                h.c = c
                continue
            h.z[S] = new
            r, c = problem.residual_correlations(h.z)
            h.c = c
            eq = float(np.abs(c[S] - beta * th).max())
            if eq > tol_abs and (refines < 2 or (refines < 12 and eq < 0.5 * last_eq)):
                # refine the equality-constrained solve while it improves
                refines, last_eq = refines + 1, eq
                continue
        refines, last_eq = 0, np.inf
        viol = np.abs(c) - beta
        viol[S] = -np.inf
        j = int(np.argmax(viol))
        if not viol[j] > tol_abs:
            return True, it + 1, h
        obj = lasso_objective(h.z, r, beta)
        if obj < best_obj - 1e-14 * abs(best_obj):
            best_obj, stalled = obj, 0
        elif viol[j] <= 1e-6 * scale:
            stalled += 1
            if stalled > 20:
                return False, it + 1, h  # pivoting at the limit of rounding
        sigma = float(np.sign(c[j]))
        h.unblock_all()
        if h.try_add(j, sigma):
            h.z[j] = 0.0
            continue
        # Pivot: a_j = A_S v; move z_j = t sigma, z_S -= t sigma v.
        S, th = h.active, h.signs
        kb, _ = h.backend.span_data(S, np.array([j]),
                                    None if h.K is None else h.K[:S.size])
        v = sigma * h.chol.solve(kb[:, 0])
        zS = h.z[S]
        shrink = (v * th) > 0
        if not shrink.any():
            return False, it + 1, h
        ratio = np.full(S.size, np.inf)
        ratio[shrink] = zS[shrink] / v[shrink]
        pos = int(np.argmin(ratio))
        t = float(ratio[pos])
        h.z[S] = zS - t * v
        h.z[S[pos]] = 0.0
        h.drop(pos)
        h.z[j] = 0.0
        if h.try_add(j, sigma):
            h.z[j] = t * sigma
        r, c = problem.residual_correlations(h.z)
        h.c = c
    return False, max_rounds, h



def _select(problem: Problem, score: np.ndarray, floor: float, k: int) -> np.ndarray:
    """Up to ``k`` features with the largest ``score > floor``, spread out.

    For structured dictionaries only local maxima of the score among
    neighbouring columns are taken, so that one round covers every region
    where the current solution violates the optimality conditions.
    """
    cand = score > floor
    peaks = problem.design.local_maxima(score)
    if peaks is not None and np.any(cand & peaks):
        cand &= peaks
    idx = np.flatnonzero(cand)
    if idx.size > k:
        idx = idx[np.argpartition(-score[idx], k - 1)[:k]]
    return idx


def _working_set(problem: Problem, beta: float, tol: float, max_iter: int,
                 seed: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Exact Lasso on growing working sets, each solved by a Gram homotopy.

    Each round solves the problem restricted to the working set ``W`` exactly
    (homotopy on the Gram block ``A_c[:, W]^T A_c[:, W]``), refines the
    active-set solution with fresh correlations from the full dictionary, and
    stops when no feature outside the active set violates ``|c_j| <= beta``;
    otherwise the worst violators join ``W``. Only ``A v``, ``A^T r`` and Gram
    entries of ``W`` are ever needed. Where the Gram block's rounding keeps
    the solution from the strict target (relative to ``beta``), a solution
    certified on the problem's scale is returned as it is; otherwise a
    correction on the full dictionary is tried and kept if it lowers the
    objective.
    """
    p = problem.n_features
    c0 = problem.c0
    top = _select(problem, np.abs(c0), 0.0, max(32, 2 * seed.size))
    W = np.unique(np.concatenate([seed.astype(np.intp), top]))
    G = problem.gram_block(W, W)
    n_iter = 0
    scale = beta if beta > 0 else max(problem.beta_max, np.finfo(float).tiny)
    while True:
        h = Homotopy(GramBackend(G, c0[W]))
        hit = run(h, beta, max(max_iter - n_iter, 1))
        n_iter += h.n_iter
        if hit:
            z = np.zeros(p)
            z[W] = h.z
            return z, W[h.active], n_iter, True
        z = np.zeros(p)
        z[W] = h.z
        c = problem.correlations(z)
        viol = np.abs(c) - beta
        in_w = np.zeros(p, dtype=bool)
        in_w[W] = True
        outside = np.where(in_w, -np.inf, viol)
        if outside.max() <= tol * scale:
            # Every violator is in W. The Gram block alone resolves the
            # correlations only up to its rounding errors, which are large
            # relative to beta on long series: correct with the dictionary's
            # correlations, then verify everything on the dictionary.
            for _ in range(4):
                h.correct(c[W], beta, 0.01 * tol * scale, 3 * h.n_active + 20)
                z = np.zeros(p)
                z[W] = h.z
                S, signs = W[h.active], h.signs
                r, c = problem.residual_correlations(z)
                viol = np.abs(c) - beta
                inactive = viol.copy()
                inactive[S] = -np.inf
                eq = np.abs(c[S] - beta * signs).max() if S.size else 0.0
                sign_ok = bool(np.all(z[S] * signs > 0))
                if sign_ok and max(inactive.max(), eq) <= tol * scale:
                    return z, S.copy(), n_iter, False
                if np.where(in_w, -np.inf, viol).max() > tol * scale:
                    break
                primal, gap = problem.gap(z, r, c, beta)
                if sign_ok and gap <= tol * primal:
                    # Left-over KKT violations belong to columns nearly
                    # collinear with active ones (knots closer than the
                    # precision of their Gram entries); the objective is
                    # certified optimal by the duality gap.
                    return z, S.copy(), n_iter, False
            else:
                if problem.certified(z, beta, tol)[0]:
                    # Certified on the problem's scale (what the result
                    # reports): the correction only moves ``z`` by rounding
                    # and costs hundreds of products on long series.
                    return z, S.copy(), n_iter, False
                zp, Sp = _design_polish(problem, z, beta, tol, 3 * S.size + 20)
                # keep the polish only where it helps: on knots closer than
                # the precision of their Gram entries it can lose accuracy
                if (lasso_objective(zp, problem.residual(zp), beta)
                        <= lasso_objective(z, problem.residual(z), beta)):
                    return zp, Sp, n_iter, False
                return z, S.copy(), n_iter, False
            outside = np.where(in_w, -np.inf, viol)
        S = W[h.active]
        new = _select(problem, outside, tol * scale, max(32, 2 * S.size))
        B = problem.gram_block(W, new)
        C = problem.gram_block(new, new)
        G = np.block([[G, B], [B.T, C]])
        W = np.concatenate([W, new])


def lasso(A, y, beta: float, *, weights=None, fit_intercept: bool = True,
          warm_start=None, tol: float = 1e-9, max_iter: int | None = None
          ) -> SolverResult:
    """Exact Lasso with an unpenalized intercept, by homotopy (LARS-Lasso).

    Solves ``min_{z, xi} 1/2 ||A z + xi 1 - y||^2 + beta * sum_j w_j |z_j|``.

    Parameters
    ----------
    A : ndarray, sparse matrix, TwoLayerOperator or operator
        Dictionary of shape (n_samples, n_features). An operator needs
        ``shape``, ``matvec`` and ``rmatvec`` (``columns`` and
        ``column_means`` are used when present).
    y : array-like of shape (n_samples,)
        Targets.
    beta : float
        Penalty level, ``>= 0``.
    weights : array-like of shape (n_features,), default=None
        Positive l1 weights ``w_j``.
    fit_intercept : bool, default=True
        Fit the unpenalized ``xi``; ``False`` forces ``xi = 0`` (sign and
        threshold dictionaries of the paper).
    warm_start : SolverResult or array-like of shape (n_features,), default=None
        A previous solution. Its support and signs are tried first; when they
        do not solve the problem, the homotopy runs from ``beta_max``.
    tol : float, default=1e-9
        Relative tolerance of the certificate. Convergence is declared when
        the scaled KKT residual ``max_j dist(c_j, beta * d|z_j|) / beta_max``
        (fresh correlations ``c = A_c^T r``, ``beta_max = ||A_c^T y_c||_inf``)
        is at most ``tol``, or when the duality gap is at most
        ``tol * 1/2 ||y_c||^2`` (the objective at ``z = 0``). Both are
        relative to the problem's scale, where rounding lives, so that a
        solution certified on one CPU is certified on another. Internally
        the solver aims at ``tol`` relative to ``beta``.
    max_iter : int, default=None
        Largest number of homotopy steps, summed over working sets
        (``50 * min(n_samples, n_features) + 1000`` by default).

    Returns
    -------
    SolverResult
        With ``duality_gap`` and ``kkt_residual`` computed from fresh
        correlations.

    Examples
    --------
    >>> import numpy as np
    >>> from tsmirrors.solvers import lasso
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> res = lasso(A, np.array([1.0, 0.0, 1.0]), beta=0.1)
    >>> res.converged
    True
    """
    design, y, beta, w = _prepare(A, y, beta, weights, fit_intercept)
    max_iter = (_default_max_iter(design) if max_iter is None
                else check_positive_int(max_iter, "max_iter"))
    tol = check_nonnegative(tol, "tol")
    problem = Problem(design, y, fit_intercept)
    if beta >= problem.beta_max:
        z = np.zeros(problem.n_features)
        return _result(problem, z, [], beta, w, tol, 0, False,
                       "beta >= beta_max: z = 0")
    seed, seed_signs = (
        (np.empty(0, dtype=np.intp), np.empty(0)) if warm_start is None
        else _warm_support(warm_start, problem.n_features, w))
    with _small_blas():
        if _products_are_costly(design):
            z, active, n_iter, hit = _working_set(problem, beta, tol, max_iter, seed)
        else:
            z, active, n_iter, hit = _full_homotopy(problem, beta, tol, max_iter,
                                                    seed, seed_signs)
        if not hit:  # small eigenproblems too: one BLAS thread
            z = _independent_support(problem, z, beta)
            active = np.flatnonzero(z)
    msg = "iteration limit reached" if hit else "KKT conditions verified"
    return _result(problem, z, active, beta, w, tol, n_iter, hit, msg)


#: Eigenvalues of the support's Gram matrix below this fraction of the largest
#: are exact linear dependencies (rounding level), not near-collinearity.
_NULL_RTOL = 1e-12


def _independent_support(problem: Problem, z: np.ndarray, beta: float) -> np.ndarray:
    """An optimal solution on linearly independent columns, from optimal ``z``.

    When the (centred) columns of the support are dependent, ``A_S v = 0``
    for some ``v``, and optimality (``A_S^T r = beta s``) gives ``s^T v =
    0``: moving along ``v`` changes neither the fit nor the l1 norm until a
    coefficient reaches zero. Each such move removes a neuron at the same
    objective, so the result has the fewest neurons among the solutions on
    that support's span (e.g. it never keeps both ``relu(x - t)`` and
    ``relu(t - x)`` for two knots, whose differences are all linear).
    The move is kept only if the objective does not increase beyond rounding.
    """
    S = np.flatnonzero(z)
    if S.size < 2:
        return z
    out = z.copy()
    r = problem.residual(out)
    obj0 = lasso_objective(out, r, beta)
    for _ in range(S.size - 1):
        S = np.flatnonzero(out)
        if S.size < 2:
            break
        G = problem.gram_block(S, S)
        G = 0.5 * (G + G.T)
        vals = np.linalg.eigvalsh(G)
        if not vals[0] <= _NULL_RTOL * max(vals[-1], np.finfo(float).tiny):
            break
        vals, vecs = np.linalg.eigh(G)
        v = vecs[:, 0]
        zS = out[S]
        # step to the first coefficient reaching zero, in the direction that
        # gets there first (either direction keeps the objective)
        best_t, best_pos = np.inf, -1
        for sign in (1.0, -1.0):
            d = sign * v
            shrink = d * zS < 0
            if shrink.any():
                t = np.abs(zS[shrink] / d[shrink])
                k = int(np.argmin(t))
                if t[k] < abs(best_t):
                    best_t, best_pos = sign * t[k], int(np.flatnonzero(shrink)[k])
        if best_pos < 0:
            break
        trial = out.copy()
        trial[S] = zS + best_t * v
        trial[S[best_pos]] = 0.0
        r = problem.residual(trial)
        obj = lasso_objective(trial, r, beta)
        if obj > obj0 + 1e-12 * abs(obj0):
            break
        out = trial
    return out


#: Path steps per feature that can be active (``min(n, p)``) before the
#: homotopy hands over to the active-set descent at the requested ``beta``.
_PATH_STEPS_PER_RANK = 8

#: Above this many rows plus columns, an operator's products dominate and the
#: working-set solver (few products, Gram homotopies) is used.
_WORKING_SET_SIZE = 20_000


def _products_are_costly(design) -> bool:
    return (design.kind == "operator"
            and design.n_samples + design.n_features > _WORKING_SET_SIZE)


def _full_homotopy(problem: Problem, beta: float, tol: float, max_iter: int,
                   seed: np.ndarray, seed_signs: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """One homotopy on the whole dictionary, then KKT verification.

    A warm start's support and signs are tried first: if the active-set
    solution on them passes the KKT check, no homotopy runs.
    """
    if seed.size:
        h = Homotopy(DesignBackend(problem))
        for j, sgn in zip(seed, seed_signs, strict=True):
            h.try_add(int(j), float(sgn))
        h.just_added = -1
        h.polish(beta, 0.01 * tol, max_rounds=3 * seed.size + 10)
        if _strict_kkt(problem, h.z, beta) <= tol:
            return h.z.copy(), h.active.copy(), 0, False
    h = Homotopy(DesignBackend(problem))
    # The path is followed while it is short; a path with many more kinks
    # than features can enter (heavily degenerate dictionaries: exact linear
    # dependencies, ties) is left for an active-set descent at ``beta``.
    switch = _PATH_STEPS_PER_RANK * min(problem.n_samples, problem.n_features) + 100
    hit = run(h, beta, min(max_iter, switch))
    n_iter = h.n_iter
    if not hit:
        h.polish(beta, 0.01 * tol)
        # Deep in the path the strict target (relative to beta) is below
        # rounding; the scale-relative certificate, with a margin of 100 for
        # other CPUs' rounding, spares the much slower descent.
        if (_strict_kkt(problem, h.z, beta) <= tol
                or problem.certified(h.z, beta, 0.01 * tol)[0]):
            return h.z.copy(), h.active.copy(), n_iter, False
    elif n_iter >= max_iter:
        return h.z.copy(), h.active.copy(), n_iter, True
    budget = max(max_iter - n_iter, 1)
    ok, rounds, h2 = _active_set_descent(problem, h, beta, tol, budget)
    if not ok and not hit:
        # Keep the better certified of the two (the descent stopped at the
        # limit of rounding, or a pivot found no descent).
        certs = [problem.certificate(g.z, beta) for g in (h, h2)]
        h2 = min((h, h2), key=lambda g: certs[0 if g is h else 1][0])
    return (h2.z.copy(), h2.active.copy(), n_iter + rounds,
            not ok and rounds >= budget)

