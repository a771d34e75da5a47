"""Figure E.1: test MSE over the Lasso optimal set, by hit-and-run sampling.

Proposition E.3 describes the optimal set of the Lasso (1.2) through the
equicorrelation set ``E`` of the unique optimal fit ``yhat``:
``z_i = 0`` off ``E``, ``sign(z_i) = s_i`` (the sign of the residual
correlation) where ``z_i != 0``, and the fit ``A z + xi 1 = yhat``. With the
free intercept eliminated, the fit condition is ``P A_E z_E = P yhat`` (``P``
centers), and ``xi = mean(yhat - A_E z_E)``. (When ``1`` lies in the span of
active columns, ``A z*`` and ``xi*`` are not unique, unlike Lemma E.2 states;
the centered condition covers that case.) In ``u = s * z_E >= 0`` the set is
the polytope ``{u >= 0 : G u = d}`` with ``G = P A_E diag(s)``; on it the l1
norm ``sum u`` is constant, so it is bounded, and its dimension is
``|F| - rank(G_F)`` where ``F`` are the coordinates not forced to zero.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.linalg import null_space
from scipy.optimize import linprog, minimize

from ._common import DEFAULT_OUT, ExperimentResult
from ._output import new_figure, save_figure, write_tables
from ._sgd import run_parallel

__all__ = ["OptimalSet", "hit_and_run", "lasso_optimal_set", "min_norm_point",
           "optimal_set", "mse_range_over_optimal_set"]


@dataclass
class OptimalSet:
    """The optimal set of a Lasso problem as a polytope in ``u = s * z_E``.

    Attributes
    ----------
    beta : float
        Penalty of ``1/2 ||A z + xi 1 - y||^2 + beta ||z||_1``.
    support : ndarray of int
        The equicorrelation set ``E``.
    signs : ndarray
        ``s_E``.
    free : ndarray of bool
        Coordinates of ``E`` that are not zero on the whole set.
    G, d : ndarray
        Independent rows of the equality ``G u = d``.
    null_basis : ndarray of shape (n_free, dim)
        Orthonormal basis of the directions inside the set.
    interior : ndarray of shape (len(E),)
        A point of the relative interior (``u``).
    yhat : ndarray
        The optimal fit.
    objective : float
        The optimal value.
    xi_unique : bool
        Whether the intercept (and ``A z``) is the same for all solutions.
    """

    beta: float
    support: np.ndarray
    signs: np.ndarray
    free: np.ndarray
    G: np.ndarray
    d: np.ndarray
    null_basis: np.ndarray
    interior: np.ndarray
    yhat: np.ndarray
    objective: float
    xi_unique: bool

    @property
    def dim(self) -> int:
        """Dimension of the optimal set."""
        return int(self.null_basis.shape[1])

    def intercepts(self, A: np.ndarray, zE: np.ndarray) -> np.ndarray:
        """``xi = mean(yhat - A_E z_E)`` for each row of ``zE``."""
        fit = np.atleast_2d(zE) @ A[:, self.support].T
        return (self.yhat[None, :] - fit).mean(axis=1)


def _rank(M: np.ndarray, rtol: float = 1e-10) -> int:
    if M.size == 0:
        return 0
    s = np.linalg.svd(M, compute_uv=False)
    return int(np.sum(s > rtol * max(1.0, s[0])))


def lasso_optimal_set(A: np.ndarray, y: np.ndarray, beta: float, *,
                      tol: float = 1e-7) -> OptimalSet:
    """Describe the optimal set of the Lasso with a free intercept (Prop. E.3).

    Parameters
    ----------
    A : ndarray of shape (n, p)
    y : ndarray of shape (n,)
    beta : float
        Penalty in the sum convention.
    tol : float, default=1e-7
        Relative tolerance of the equicorrelation test ``|A_i^T r| = beta``.

    Returns
    -------
    OptimalSet
    """
    from ..solvers import lasso

    res = lasso(A, y, beta)
    z = np.asarray(res.coef)
    yhat = A @ z + res.intercept
    r = y - yhat
    corr = A.T @ (r - r.mean())
    E = np.flatnonzero(np.abs(corr) >= beta * (1 - tol))
    E = np.union1d(E, np.flatnonzero(z))
    s = np.sign(corr[E])
    AE = A[:, E]
    C = AE - AE.mean(axis=0)
    G_full = C * s
    d_full = C @ z[E]
    U, sv, _ = np.linalg.svd(G_full, full_matrices=False)
    rank = int(np.sum(sv > 1e-10 * max(1.0, sv[0]))) if sv.size else 0
    G = U[:, :rank].T @ G_full
    d = U[:, :rank].T @ d_full
    m = E.size
    # Coordinates that vanish on the whole set, and a relative-interior point.
    u_star = np.abs(z[E])
    points, maxima = [u_star], np.zeros(m)
    for i in range(m):
        c = np.zeros(m)
        c[i] = -1.0
        lp = linprog(c, A_eq=G if rank else None, b_eq=d if rank else None,
                     bounds=(0, None), method="highs")
        if lp.status == 0:
            maxima[i] = lp.x[i]
            points.append(np.maximum(lp.x, 0.0))
    scale = max(1.0, float(u_star.sum()))
    free = maxima > 1e-9 * scale
    interior = np.mean(points, axis=0)
    interior[~free] = 0.0
    Gf = G[:, free]
    basis = null_space(Gf, rcond=1e-10) if free.any() else np.zeros((0, 0))
    if basis.size == 0:
        basis = np.zeros((int(free.sum()), 0))
    Af = AE[:, free]
    xi_unique = _rank(Af) == _rank(Af - Af.mean(axis=0))
    return OptimalSet(beta=float(beta), support=E, signs=s, free=free, G=G, d=d,
                      null_basis=basis, interior=interior, yhat=yhat,
                      objective=float(res.objective), xi_unique=bool(xi_unique))


def hit_and_run(opt: OptimalSet, n_samples: int, *, burn_in: int = 2000,
                thin: int = 20, random_state=None) -> np.ndarray:
    """Uniform samples of the optimal set by hit-and-run.

    Each step draws a uniformly random direction of the set's affine hull
    (a Gaussian vector in the null space of ``G_F``, normalized), finds the
    chord through the current point allowed by ``u >= 0`` and moves to a
    uniform point on it.

    Parameters
    ----------
    opt : OptimalSet
    n_samples : int
    burn_in : int, default=2000
    thin : int, default=20
        Steps between kept samples.
    random_state : int, Generator or None

    Returns
    -------
    ndarray of shape (n_samples, len(E))
        Points ``u`` (``z_E = signs * u``).
    """
    rng = np.random.default_rng(random_state)
    m = opt.support.size
    out = np.zeros((n_samples, m))
    F = np.flatnonzero(opt.free)
    k = opt.dim
    if k == 0:
        out[:] = opt.interior
        return out
    N = opt.null_basis
    Gf = opt.G[:, F]
    pinv = np.linalg.pinv(Gf) if Gf.size else np.zeros((F.size, 0))
    u = opt.interior[F].copy()
    total = burn_in + n_samples * thin
    dirs = rng.standard_normal((total, k))
    unif = rng.random(total)
    kept = 0
    for it in range(total):
        v = N @ dirs[it]
        v /= np.linalg.norm(v)
        neg, pos = v < -1e-14, v > 1e-14
        t_hi = np.min(-u[neg] / v[neg]) if neg.any() else 0.0
        t_lo = np.max(-u[pos] / v[pos]) if pos.any() else 0.0
        u = u + (t_lo + unif[it] * (t_hi - t_lo)) * v
        np.maximum(u, 0.0, out=u)
        if it % 500 == 499 and Gf.size:
            u -= pinv @ (Gf @ u - opt.d)
            np.maximum(u, 0.0, out=u)
        if it >= burn_in and (it - burn_in) % thin == thin - 1:
            out[kept, F] = u
            kept += 1
    return out


def min_norm_point(opt: OptimalSet) -> np.ndarray:
    """The point of the optimal set with the least Euclidean norm (``u``).

    A quadratic program ``min ||u||^2`` over ``{u >= 0, G u = d}`` solved by
    SLSQP, then polished on its support by the minimum-norm least-squares
    solution of ``G_S u_S = d`` when that stays feasible.
    """
    m = opt.support.size
    F = np.flatnonzero(opt.free)
    u = np.zeros(m)
    if F.size == 0:
        return u
    Gf = opt.G[:, F]
    x0 = opt.interior[F]
    cons = ([{"type": "eq", "fun": lambda x: Gf @ x - opt.d, "jac": lambda x: Gf}]
            if Gf.size else [])
    sol = minimize(lambda x: float(x @ x), x0, jac=lambda x: 2 * x,
                   bounds=[(0.0, None)] * F.size, constraints=cons,
                   method="SLSQP", options={"ftol": 1e-15, "maxiter": 2000})
    x = np.maximum(sol.x, 0.0)
    S = x > 1e-9 * max(1.0, x.max())
    if Gf.size and S.any():
        xs = np.linalg.lstsq(Gf[:, S], opt.d, rcond=None)[0]
        cand = np.zeros_like(x)
        cand[S] = xs
        if (cand.min() >= -1e-12 and np.abs(Gf @ cand - opt.d).max() <= 1e-9
                * max(1.0, np.abs(opt.d).max()) and cand @ cand <= x @ x + 1e-12):
            x = np.maximum(cand, 0.0)
    u[F] = x
    return u


def mse_range_over_optimal_set(opt: OptimalSet, A: np.ndarray, A_test: np.ndarray,
                               y_test: np.ndarray) -> tuple[float, float]:
    """Least and largest test MSE over a Lasso optimal set of dimension <= 1.

    Every point of the set has the same training objective; their test MSE
    differs when the set is not a single point. On a segment (dimension 1)
    the test MSE is a convex quadratic along it: the largest value is at an
    end, the least at an end or at the vertex of the parabola.

    Parameters
    ----------
    opt : OptimalSet
        From :func:`lasso_optimal_set` on ``A``.
    A, A_test : ndarray
        The dictionary on the training and test inputs (same columns).
    y_test : ndarray

    Returns
    -------
    (float, float)
        The least and the largest test MSE.
    """
    if opt.dim > 1:
        raise ValueError(
            f"the optimal set has dimension {opt.dim}; exact extremes are "
            "computed for dimension 0 or 1 only (sample it with hit_and_run)"
        )
    u0 = opt.interior
    if opt.dim == 0:
        v = float(_test_mse(opt, A, A_test, y_test, u0)[0])
        return v, v
    F = np.flatnonzero(opt.free)
    step = np.zeros_like(u0)
    step[F] = opt.null_basis[:, 0]
    neg, pos = step < -1e-14, step > 1e-14
    t_hi = np.min(-u0[neg] / step[neg]) if neg.any() else 0.0
    t_lo = np.max(-u0[pos] / step[pos]) if pos.any() else 0.0
    ts = np.array([t_lo, 0.5 * (t_lo + t_hi), t_hi])
    ends = np.maximum(u0[None, :] + ts[:, None] * step[None, :], 0.0)
    mse = _test_mse(opt, A, A_test, y_test, ends)
    a, b, _ = np.polyfit(ts, mse, 2)  # exact: a quadratic through 3 points
    lowest = mse[[0, 2]].min()
    if a > 0 and t_lo < -b / (2 * a) < t_hi:
        vertex = np.maximum(u0 + (-b / (2 * a)) * step, 0.0)
        lowest = min(lowest, float(_test_mse(opt, A, A_test, y_test, vertex)[0]))
    return float(lowest), float(mse[[0, 2]].max())


def _problem(kind: str, n_train: int, n_test: int, noise: float, depth: int,
             activation: str, rng) -> dict:
    from ..features import Library

    x = rng.standard_normal(n_train)
    xt = rng.standard_normal(n_test)
    lib = Library(activation=activation, depth=depth)
    A = lib.fit_transform(x)
    At = lib.transform(xt)
    if kind == "affine":
        a = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0)
        b = float(rng.normal())
        f, ft = a * x + b, a * xt + b
        desc = f"y = {a:.3f} x + {b:.3f} + eps"
    else:
        idx = rng.choice(A.shape[1], size=5, replace=False)
        c = rng.choice([-1.0, 1.0], size=5) * rng.uniform(0.5, 1.5, size=5)
        f, ft = A[:, idx] @ c, At[:, idx] @ c
        names = lib.get_feature_names_out()[idx]
        desc = "y = " + " ".join(f"{v:+.2f} {n}" for v, n in zip(c, names)) + " + eps"
    y = f + noise * rng.standard_normal(n_train)
    yt = ft + noise * rng.standard_normal(n_test)
    return {"A": A, "A_test": At, "y": y, "y_test": yt, "x": x, "x_test": xt,
            "description": desc, "n_features": A.shape[1]}


def _test_mse(opt: OptimalSet, A, At, y_test, U: np.ndarray) -> np.ndarray:
    zE = np.atleast_2d(U) * opt.signs
    xi = opt.intercepts(A, zE)
    pred = zE @ At[:, opt.support].T + xi[:, None]
    return np.mean((pred - y_test[None, :]) ** 2, axis=1)


def _lasso_objective(opt: OptimalSet, A, y, U: np.ndarray) -> np.ndarray:
    zE = np.atleast_2d(U) * opt.signs
    xi = opt.intercepts(A, zE)
    r = zE @ A[:, opt.support].T + xi[:, None] - y[None, :]
    return 0.5 * np.sum(r * r, axis=1) + opt.beta * np.abs(zE).sum(axis=1)


def _run_model(kind: str, cfg: dict, seed: int) -> dict:
    from ..solvers import lasso_beta_max

    rng = np.random.default_rng(seed)
    prob = _problem(kind, cfg["n_train"], cfg["n_test"], cfg["noise"], cfg["depth"],
                    cfg["activation"], rng)
    A, At, y, yt = prob["A"], prob["A_test"], prob["y"], prob["y_test"]
    bmax = lasso_beta_max(A, y)
    grid_rows, best = [], None
    for frac in np.geomspace(cfg["beta_min_frac"], 0.9, cfg["n_beta"]):
        opt = lasso_optimal_set(A, y, frac * bmax)
        u0 = min_norm_point(opt)
        mse0 = float(_test_mse(opt, A, At, yt, u0)[0])
        grid_rows.append({
            "model": kind, "beta": frac * bmax, "beta_over_beta_max": frac,
            "equicorrelation": opt.support.size, "dim": opt.dim,
            "xi_unique": opt.xi_unique, "min_norm_test_mse": mse0,
        })
        if best is None or opt.dim > best[0].dim:
            best = (opt, u0, mse0)
    opt, u0, mse0 = best
    U = hit_and_run(opt, cfg["n_samples"], burn_in=cfg["burn_in"], thin=cfg["thin"],
                    random_state=seed + 1)
    mse = _test_mse(opt, A, At, yt, U)
    objs = _lasso_objective(opt, A, y, U)
    grid = pd.DataFrame(grid_rows)
    free = opt.free
    cdev = (float(np.max(np.abs(U[:, free] @ opt.G[:, free].T - opt.d[None, :])))
            if opt.G.size else 0.0)
    return {
        "kind": kind, "description": prob["description"], "opt": opt, "u0": u0,
        "mse": mse, "min_norm_mse": mse0, "grid": grid, "beta_max": bmax,
        "objective_dev": float(np.max(np.abs(objs - opt.objective))
                               / max(1.0, abs(opt.objective))),
        "constraint_dev": cdev,
        "n_features": prob["n_features"],
        "l1_min_norm": float(u0.sum()),
    }


FULL = {"n_samples": 5000, "burn_in": 2000, "thin": 20, "n_beta": 30}
QUICK = {"n_samples": 300, "burn_in": 200, "thin": 5, "n_beta": 8}


def optimal_set(
    out_dir: str | Path = DEFAULT_OUT,
    *,
    quick: bool = False,
    n_jobs: int | None = 1,
    backend: str = "loky",
    n_samples: int | None = None,
    n_train: int = 5,
    n_test: int = 100,
    noise: float = 0.1,
    depth: int = 3,
    activation: str = "relu",
    beta_min_frac: float = 1e-3,
    random_state: int = 0,
) -> ExperimentResult:
    """Distribution of test MSE over the Lasso optimal set (Figure E.1).

    Two synthetic problems with ``n_train`` training and ``n_test`` test
    points, ``x ~ N(0, 1)`` and noise ``N(0, noise^2)``: a planted affine
    model and a planted ``depth``-layer deep narrow ``activation`` network
    using five features of the deep library. Both are fitted with the exact
    deep library of that network. The penalty is chosen on a grid of
    ``beta / beta_max`` in ``[beta_min_frac, 0.9]`` as the one with the
    largest-dimensional optimal set (the smallest such beta), the set is
    sampled uniformly by hit-and-run and every sample (a globally optimal
    network: the reconstruction of Definition E.1 predicts exactly like its
    Lasso model) is scored on the test points. The minimum Euclidean-norm
    solution is marked.

    Parameters
    ----------
    out_dir : path-like
    quick : bool, default=False
    n_jobs : int or None, default=1
        The two problems run in parallel when 2.
    backend : str, default="loky"
    n_samples : int or None
        Hit-and-run samples (5000; quick 300).
    n_train, n_test : int
    noise : float, default=0.1
    depth : int, default=3
    activation : str, default="relu"
    beta_min_frac : float, default=1e-3
    random_state : int, default=0

    Returns
    -------
    ExperimentResult
        Tables ``summary``, ``samples`` and ``beta_grid``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    cfg = dict(QUICK if quick else FULL)
    if n_samples is not None:
        cfg["n_samples"] = int(n_samples)
    cfg.update(n_train=n_train, n_test=n_test, noise=noise, depth=depth,
               activation=activation, beta_min_frac=beta_min_frac)
    kinds = ("affine", f"{depth}-layer {activation}")
    tasks = [(kind, cfg, random_state + 17 * i) for i, kind in enumerate(kinds)]
    results = run_parallel(_run_model, tasks, n_jobs=n_jobs, backend=backend)

    rows, sample_parts, grids = [], [], []
    for res in results:
        opt, mse = res["opt"], res["mse"]
        grid = res["grid"]
        rows.append({
            "model": res["kind"], "description": res["description"],
            "library_size": res["n_features"],
            "beta": opt.beta, "beta_over_beta_max": opt.beta / res["beta_max"],
            "equicorrelation": int(opt.support.size),
            "free": int(opt.free.sum()), "dim": opt.dim,
            "xi_unique": opt.xi_unique,
            "samples": int(mse.size),
            "test_mse_min": float(mse.min()), "test_mse_median": float(np.median(mse)),
            "test_mse_max": float(mse.max()), "test_mse_mean": float(mse.mean()),
            "min_norm_test_mse": res["min_norm_mse"],
            "min_norm_percentile": float(100 * np.mean(mse < res["min_norm_mse"])),
            "optimal_set_range": float(mse.max() - mse.min()),
            "beta_grid_range": float(grid["min_norm_test_mse"].max()
                                     - grid["min_norm_test_mse"].min()),
            "max_objective_dev": res["objective_dev"],
            "max_constraint_dev": res["constraint_dev"],
        })
        sample_parts.append(pd.DataFrame({"model": res["kind"],
                                          "sample": np.arange(mse.size),
                                          "test_mse": mse}))
        grids.append(grid)
    summary = pd.DataFrame(rows)
    samples = pd.concat(sample_parts, ignore_index=True)
    beta_grid = pd.concat(grids, ignore_index=True)

    fig, axes = new_figure(1, len(results), (5.2 * len(results), 3.8))
    for ax, res, row in zip(axes[0], results, rows):
        mse = res["mse"]
        ax.hist(mse, bins=50, color="tab:gray", alpha=0.8)
        top = ax.get_ylim()[1]
        for v, name in ((mse.min(), "min"), (np.median(mse), "median"),
                        (mse.max(), "max")):
            ax.axvline(v, color="black", lw=1.0, ls="-" if name == "median" else ":",
                       label={"min": "min and max over the set", "median": "median",
                              "max": None}[name])
        ax.plot([res["min_norm_mse"]], [0.5 * top], marker="*", color="red",
                markersize=16, ls="none", label="min-norm solution")
        ax.set_xlabel("test MSE of an optimal network")
        ax.set_ylabel("hit-and-run samples")
        ax.set_title(f"planted {res['kind']}: dim {row['dim']}, "
                     f"beta/beta_max={row['beta_over_beta_max']:.3g}", fontsize=9)
        ax.legend(fontsize=7)
    files = [save_figure(fig, out / "fig_e1_optimal_set.png")]
    tables = {"summary": summary, "samples": samples, "beta_grid": beta_grid}
    settings = dict(cfg, random_state=random_state, quick=quick)
    notes = (
        f"Settings: {settings}. Lasso (1.2) in the sum convention over the exact "
        "deep library; beta chosen on the grid for the largest optimal-set "
        "dimension."
    )
    files += write_tables(out, "optimal_set", "Figure E.1", tables,
                          markdown=["summary"], notes=notes)
    return ExperimentResult("optimal_set", tables, files, time.perf_counter() - t0,
                            settings)
