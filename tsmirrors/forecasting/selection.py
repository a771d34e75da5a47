"""Automatic beta, lags and target by time-series cross-validation.

Inside the training window the last rows are cut into ``cv`` consecutive
validation blocks (rolling origins). Fold ``f`` fits on every row whose
target comes before its block (less ``cv_gap`` rows) and is scored on the
one-step forecasts of its block, so a fold never reads a value after its
own validation block and the whole search never reads a value after the
training window.

Squared loss: exact curves, not a grid. One exact Lasso path
(:func:`~tsmirrors.solvers.lasso_path`) per fold. Between two kinks the
coefficients are affine in beta, so the validation forecasts are affine and
the validation mean squared error is a quadratic in beta. On the union of
every fold's kinks (expressed in the common (4.3) scaling
``(1/T) sum r^2 + beta ||z||_1``, where beta does not depend on the fold's
length) each fold's curve is one quadratic per segment, and so is their
mean: its minimum is found exactly on every segment (end points and the
vertex). The curve is followed from the largest ``beta_max`` of the folds
down: each fold's path to its own ``beta_max * cv_beta_ratio``, or until
it has ``MAX_ACTIVE_FRACTION`` of its rows (or ``MAX_ACTIVE``) as active
features, or until its validation loss has not improved for a decade of
beta (``PATIENCE``); the mean curve ends where the first fold's does.

How it differs from scikit-learn's ``LassoLarsCV``: the folds are rolling
origins in time (never shuffled K-fold blocks that train on the future);
each fold rebuilds its own dictionary (the library of mirrors depends on the
training inputs, so the design matrix is not shared across folds); the
penalty is compared in the length-free (4.3) scaling rather than scikit's
``alpha``, so folds of different lengths share one beta axis; and the mean
curve is minimized exactly on each segment of the union of kinks instead of
being evaluated at the kinks only (the minimum is often inside a segment).

Pinball loss: there is no exact piecewise-linear quantile path in this
package (the quantile Lasso is solved as a linear program), so the curve is
evaluated on a geometric grid of ``cv_n_betas`` penalties from the largest
``quantile_beta_max`` down, solved warm-started from the previous grid
point (:func:`~tsmirrors.solvers.quantile_path`). The validation pinball
loss of a quantile Lasso is piecewise linear but its breakpoints are not
known in advance; the grid is geometric because the useful penalties span
orders of magnitude.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._warnings import quiet
from ..models.convex import penalty_factor

__all__ = [
    "AUTO_MAX_LAG",
    "CV_RULES",
    "check_lags",
    "cross_validate_beta",
    "plot_cv_results",
    "rolling_folds",
    "select_beta",
]

#: Candidate lags of ``lags="auto"``: 1..AUTO_MAX_LAG plus the seasonal period.
AUTO_MAX_LAG = 10
CV_RULES = ("min", "1se")
#: Each fold's path stops once this fraction of its rows has an active
#: feature. Below that the network nearly interpolates its fold (the
#: validation loss only rises there) and the homotopy meets ties in the span
#: of the active columns, where its steps are the most expensive.
MAX_ACTIVE_FRACTION = 1 / 3
#: ... and once this many features are active: on a noisy series (daily BTC
#: changes) the path beyond that point is thousands of kinks fitting noise,
#: while the validation minimum lies near ``beta_max``.
MAX_ACTIVE = 64
#: ... and once the fold's validation loss has not improved over a factor
#: ``PATIENCE`` of beta (a decade): the curves are unimodal in log beta up
#: to noise, and below its minimum a fold only adds neurons that fit noise,
#: which is where its path is the longest.
PATIENCE = 0.1
#: ... or once it is ``1 + RISE`` times its minimum: the network already
#: fits the fold's noise well past the best validation loss.
RISE = np.inf


# --------------------------------------------------------------------- lags
def check_lags(lags, seasonal_period=None, n_obs=None) -> np.ndarray:
    """Lags as a sorted array of distinct positive integers.

    Parameters
    ----------
    lags : int, sequence of int or "auto"
        ``p`` means ``1..p``; a sequence lists the lags (``[1, 2, 24]``);
        ``"auto"`` is ``1..AUTO_MAX_LAG``.
    seasonal_period : int or None
        A lag added to the others (whatever form ``lags`` takes).
    n_obs : int or None
        Length of the training series. With ``"auto"``, at most one
        candidate lag per 10 observations (at least lag 1), and the
        seasonal lag only if the series holds four seasons: every candidate
        costs a library, and a short series cannot tell many lags apart.

    Returns
    -------
    ndarray of int
    """
    if seasonal_period is not None:
        seasonal_period = _check_positive(seasonal_period, "seasonal_period")
    if isinstance(lags, str):
        if lags != "auto":
            raise ValueError(
                f"lags must be an int, a list of ints or 'auto', got {lags!r}"
            )
        p_max = AUTO_MAX_LAG if n_obs is None else max(
            1, min(AUTO_MAX_LAG, int(n_obs) // 10))
        out = list(range(1, p_max + 1))
        if seasonal_period is not None and (
            n_obs is None or seasonal_period <= int(n_obs) // 4
        ):
            out.append(seasonal_period)
        return np.unique(np.asarray(out, dtype=np.intp))
    if isinstance(lags, numbers.Integral) and not isinstance(lags, bool):
        p = _check_positive(lags, "lags")
        out = np.arange(1, p + 1, dtype=np.intp)
        if seasonal_period is not None and seasonal_period > p:
            out = np.append(out, seasonal_period)
        return out
    if isinstance(lags, bool) or not hasattr(lags, "__iter__"):
        _check_positive(lags, "lags")  # raises: not an integer >= 1
    items = list(lags)
    if not items:
        raise ValueError("lags must not be empty")
    for k in items:
        _check_positive(k, "each lag")
    arr = np.asarray(items, dtype=np.intp)
    if np.unique(arr).size != arr.size:
        raise ValueError(f"lags must be distinct, got {items}")
    if seasonal_period is not None:
        arr = np.append(arr, seasonal_period)
    return np.unique(arr)


def _check_positive(value, name: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < 1
    ):
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


# -------------------------------------------------------------------- folds
def rolling_folds(n_rows: int, n_folds: int = 3, gap: int = 0,
                  val_fraction: float = 0.2, min_train: int = 10):
    """Rolling-origin folds over ``n_rows`` time-ordered rows.

    The last ``val_fraction`` of the rows (at least ``n_folds`` rows) is cut
    into ``n_folds`` consecutive validation blocks; fold ``f`` trains on the
    rows before its block, less ``gap`` rows.

    Returns
    -------
    list of (train_stop, val_start, val_stop)
        Row ranges ``[0, train_stop)`` and ``[val_start, val_stop)``.
    """
    n_folds = _check_positive(n_folds, "cv")
    if isinstance(gap, bool) or not isinstance(gap, numbers.Integral) or gap < 0:
        raise ValueError(f"cv_gap must be an integer >= 0, got {gap!r}")
    size = max(1, int(round(val_fraction * n_rows / n_folds)))
    first = n_rows - n_folds * size
    if first - gap < min_train:
        raise ValueError(
            f"the training window has {n_rows} rows: too few for cv={n_folds} "
            f"validation blocks of {size} rows, cv_gap={gap} and at least "
            f"{min_train} training rows per fold; give beta, lags and target "
            "as values to fit without cross-validation"
        )
    folds = []
    for f in range(n_folds):
        start = first + f * size
        folds.append((start - gap, start, start + size))
    return folds


# ---------------------------------------------------------------- designs
def _fold_design(regressor, X_train, X_val):
    """Dictionary of the fold's training inputs and its columns at ``X_val``."""
    libs = regressor._make_libraries(X_train)
    design = regressor._design(libs, X_train)
    val = np.hstack([lib.features_.evaluate(X_val[:, k]) for k, lib in enumerate(libs)])
    intercept = all(lib.fit_intercept_ for lib in libs) and regressor._wants_intercept()
    return design, val, bool(intercept)


def _kink_forecasts(path, val, scale_to_43):
    """Validation forecasts at the certified kinks, and those kinks in (4.3) units.

    The path is cut before its first kink that the solver could not certify
    (``LassoPath.certified``): the curve is only scored where every
    coefficient is a certified Lasso solution, never on an inexact stretch.
    """
    keep = path.n_kinks
    if path.certified is not None and not path.certified.all():
        keep = max(1, int(np.argmin(path.certified)))
    preds = np.asarray(path.coefs[:keep] @ val.T) + path.intercepts[:keep, None]
    return path.betas[:keep] * scale_to_43, preds, path.n_active()[:keep]


def _patience(val, t_val, start_loss, beta_max):
    """A path ``stop``: the fold's validation loss has not improved for a decade.

    Stops at the first kink whose beta is below ``PATIENCE`` times the beta
    of the lowest validation loss so far, or whose loss is above ``1 +
    RISE`` times that loss.
    """
    best = [start_loss, beta_max]  # loss, beta: the network with no neuron

    def stop(beta, S, vals, intercept) -> bool:
        pred = val[:, S] @ vals + intercept if S.size else np.full(
            t_val.size, intercept)
        loss = float(np.mean((pred - t_val) ** 2))
        if loss < best[0]:
            best[0], best[1] = loss, beta
        return beta < PATIENCE * best[1] or loss > (1.0 + RISE) * best[0]

    return stop


def _interpolate(betas, values, grid):
    """Values of a piecewise-linear function of beta stored at decreasing kinks."""
    b = betas[::-1]
    v = values[::-1]
    g = np.clip(grid, b[0], b[-1])
    k = np.clip(np.searchsorted(b, g, side="right") - 1, 0, max(b.size - 2, 0))
    if b.size == 1:
        return np.repeat(v[:1], grid.size, axis=0)
    span = b[k + 1] - b[k]
    theta = np.where(span > 0, (g - b[k]) / np.where(span > 0, span, 1.0), 0.0)
    out = v[k] * (1 - theta)[:, None] + v[k + 1] * theta[:, None]
    # above a fold's beta_max its solution is zero: the first kink's forecasts
    return np.where((grid >= b[-1])[:, None], v[-1], out)


def _squared_curve(regressor, folds_data, beta_ratio):
    from ..solvers import lasso_beta_max, lasso_path

    factor = penalty_factor(regressor.architecture)
    curves, bmax43 = [], 0.0
    # one fold's dictionary at a time: a sampled deep library may take the
    # whole memory budget of a fit, and the folds never need two at once
    for X_tr, t_tr, X_val, t_val in folds_data:
        design, val, intercept = _fold_design(regressor, X_tr, X_val)
        to43 = 2.0 / (factor * t_tr.size)  # beta43 = 2 beta_lasso / (factor T)
        bmax = lasso_beta_max(design, t_tr, fit_intercept=intercept)
        bmax43 = max(bmax43, bmax * to43)
        # uncertified kinks are cut from the curve (_kink_forecasts)
        with quiet(ConvergenceWarning):
            path = lasso_path(
                design, t_tr, beta_min=bmax * beta_ratio, fit_intercept=intercept,
                max_features=max(
                    2, min(MAX_ACTIVE, int(MAX_ACTIVE_FRACTION * t_tr.size))
                ),
                stop=_patience(
                    val, t_val,
                    float(np.mean((t_val - (t_tr.mean() if intercept else 0.0)) ** 2)),
                    bmax,
                ),
            )
        betas43, preds, active = _kink_forecasts(path, val, to43)
        curves.append((betas43, preds - t_val[None, :], active))
        del design, val, path
    low = max(c[0][-1] for c in curves)
    grid = np.unique(np.concatenate([c[0] for c in curves] + [[bmax43]]))
    grid = grid[grid >= low][::-1]  # decreasing
    res = [_interpolate(b, r, grid) for b, r, _ in curves]  # (n_grid, n_val) each
    losses = np.array([(r * r).mean(axis=1) for r in res])  # (n_folds, n_grid)
    neurons = np.array([
        _interpolate(b, a[:, None].astype(float), grid)[:, 0] for b, _, a in curves
    ]).mean(axis=0)
    # exact minimum of the mean curve inside each segment [grid[k+1], grid[k]]
    best_beta, best_loss = grid[int(np.argmin(losses.mean(0)))], losses.mean(0).min()
    # every segment at once: the mean over folds of mean((lo + t d)^2) is
    # a t^2 + b t + c (d = hi - lo: a = mean d^2, b = 2 mean lo d, c = mean lo^2);
    # the lowest three vertices are re-evaluated exactly
    a = np.mean([(np.diff(r, axis=0) ** 2).mean(axis=1) for r in res], axis=0)
    b = np.mean([2 * (r[:-1] * np.diff(r, axis=0)).mean(axis=1) for r in res], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(a > 0, -b / (2 * a), -1.0)
    inside = np.flatnonzero((t > 0) & (t < 1))
    c = np.mean([(r[:-1] ** 2).mean(axis=1) for r in res], axis=0)
    approx = (a * t * t + b * t + c)[inside]
    for k in inside[np.argsort(approx)[:3]]:
        # the value itself from the interpolated residuals (no cancellation)
        value = float(np.mean([
            np.mean((r[k] + t[k] * (r[k + 1] - r[k])) ** 2) for r in res
        ]))
        if value < best_loss:
            best_beta = grid[k] + t[k] * (grid[k + 1] - grid[k])
            best_loss = value
    return dict(_curve(grid, losses, neurons, best_beta, best_loss), residuals=res)


def _curve(grid, losses, neurons, best_beta, best_loss) -> dict:
    """``cv_results_`` of a curve: fold losses ``(n_folds, n_betas)`` on ``grid``."""
    return {
        "betas": grid,
        "mean_loss": losses.mean(0),
        "std_loss": losses.std(0),
        "fold_loss": losses,
        "neurons": neurons,
        "best_beta": float(best_beta),
        "best_loss": float(best_loss),
    }


def _quantile_curve(regressor, folds_data, taus, beta_ratio, n_betas):
    from ..solvers import quantile_beta_max, quantile_path

    fold_designs = []
    for X_tr, t_tr, X_val, t_val in folds_data:
        design, val, intercept = _fold_design(regressor, X_tr, X_val)
        fold_designs.append((design, val, intercept, t_tr, t_val))
    factor = penalty_factor(regressor.architecture)
    # (1/T) sum L_tau + beta ||z||_1: beta_sum = factor T beta
    bmax = max(
        quantile_beta_max(d, t, float(tau), fit_intercept=i) / (factor * t.size)
        for d, _, i, t, _ in fold_designs
        for tau in taus
    )
    grid = bmax * np.geomspace(1.0, beta_ratio, n_betas)
    losses = np.zeros((len(fold_designs), grid.size))
    neurons = np.zeros(grid.size)
    for f, (design, val, intercept, t_tr, t_val) in enumerate(fold_designs):
        path = quantile_path(
            design, t_tr, tau=list(taus), betas=grid * factor * t_tr.size,
            fit_intercept=intercept,
        )
        # coefs (n_taus, n_betas, n_features), intercepts (n_taus, n_betas)
        coefs, intercepts = path.coefs, path.intercepts
        for j, tau in enumerate(taus):
            pred = coefs[j] @ val.T + intercepts[j][:, None]
            r = t_val[None, :] - pred
            losses[f] += np.mean(0.5 * np.abs(r) + (tau - 0.5) * r, axis=1) / len(taus)
            neurons += np.count_nonzero(coefs[j], axis=1) / (
                len(taus) * len(fold_designs)
            )
    k = int(np.argmin(losses.mean(0)))
    return _curve(grid, losses, neurons, grid[k], losses.mean(0)[k])


def select_beta(cv_results: dict, rule: str = "min") -> float:
    """The beta of a CV curve: lowest mean loss, or the one-standard-error rule.

    ``"1se"`` takes the largest beta (the sparsest network) whose mean loss
    is within one standard error (fold spread / sqrt(n_folds)) of the
    minimum, searched on the curve's points.
    """
    if rule not in CV_RULES:
        raise ValueError(f"cv_rule must be one of {CV_RULES}, got {rule!r}")
    if rule == "min":
        return float(cv_results["best_beta"])
    betas, mean, std = (cv_results[k] for k in ("betas", "mean_loss", "std_loss"))
    n_folds = cv_results["fold_loss"].shape[0]
    k = int(np.argmin(mean))
    bound = min(mean[k], cv_results["best_loss"]) + std[k] / np.sqrt(n_folds)
    ok = np.flatnonzero(mean <= bound)
    # the exact minimum (inside a segment) is always a candidate: the curve's
    # points may all lie above the bound when it is below every one of them
    return float(max(betas[ok].max(initial=-np.inf), cv_results["best_beta"]))


def cross_validate_beta(regressor, folds_data, *, loss="squared", taus=None,
                        beta_ratio=1e-3, n_betas=12) -> dict:
    """The validation curve of beta over folds, exact for the squared loss.

    Parameters
    ----------
    regressor : ConvexNetRegressor
        Supplies the libraries (activation, depth, architecture, sampling).
    folds_data : list of (X_train, t_train, X_val, t_val)
    loss : {"squared", "quantile"}
    taus : sequence of float
        Quantile levels (pinball loss averaged over them).

    Returns
    -------
    dict
        ``betas`` (decreasing, (4.3) scaling), ``mean_loss``, ``std_loss``,
        ``fold_loss`` (n_folds, n_betas), ``neurons`` (mean active features),
        ``best_beta`` and ``best_loss`` (the exact minimum of the mean curve).
    """
    if loss == "squared":
        return _squared_curve(regressor, folds_data, beta_ratio)
    return _quantile_curve(regressor, folds_data, taus, beta_ratio, n_betas)


# -------------------------------------------------------------------- plot
def plot_cv_results(model, ax=None):
    """Mean validation loss (with its fold spread) against beta, and the choice.

    Parameters
    ----------
    model : ConvexAR or ConvexQuantileAR fitted with ``beta="auto"``
    ax : matplotlib Axes or None

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted.
    ValueError
        If it was fitted without cross-validation (its beta and target were
        given).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "beta_")
    if getattr(model, "cv_results_", None) is None:
        raise ValueError(
            f"{type(model).__name__} has no cross-validation results: its beta "
            f"({model.beta!r}) and target ({model.target!r}) were given, so "
            "nothing was cross-validated; fit with beta='auto' (or "
            "target='auto') to plot the validation curve"
        )
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.5))
    cv = model.cv_results_
    betas, mean, std = cv["betas"], cv["mean_loss"], cv["std_loss"]
    ax.plot(betas, mean, color="C0", label="mean validation loss")
    ax.fill_between(betas, mean - std, mean + std, color="C0", alpha=0.2,
                    label="fold spread (1 sd)")
    ax.axvline(model.beta_, color="C3", linestyle="--",
               label=f"beta_ = {model.beta_:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("beta")
    ax.set_ylabel("validation loss")
    ax.legend(loc="best", fontsize="small")
    return ax
