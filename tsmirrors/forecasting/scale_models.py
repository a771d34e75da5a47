"""Scale models of :class:`~tsmirrors.forecasting.ScaledQuantileAR`.

Two volatility estimates known at ``t`` (each uses only the changes
``z_s`` with ``s < t``), and the cross-validation that chooses their
settings inside a training window.

``ewma``
    An exponentially weighted mean of the past absolute changes, or of
    their squares as in RiskMetrics (:func:`ewma_volatility`), a closed-form
    filter.

``convex``
    A convex network of lagged absolute changes, fit exactly as a squared
    Lasso (:class:`~tsmirrors.models.ConvexNetRegressor` with
    ``loss="squared"``, solved to optimality by the homotopy). Its inputs
    are the trailing means of ``|z|`` over the last ``k`` changes for each
    ``k`` in ``windows`` (by default 1, 5 and 25: the day, week and month of
    daily data, as in heterogeneous autoregressive volatility models), its
    target is ``|z_t|``; the fitted value estimates ``E|z_t|`` given the
    past. The network's intercept is a long-run level that the scale
    reverts to, like GARCH's ``omega``. Positivity is not a constraint of
    the Lasso: the scale is floored at ``SCALE_FLOOR`` times the training
    mean of ``|z|``. Nor is the network trusted beyond its training inputs
    (its end slopes are free and may fall): inputs above their training
    maximum are clipped to it and the output multiplied by the largest
    ratio of an input to its clipped value, so that beyond the data the
    scale grows in proportion to the changes (a scale is homogeneous of
    degree one).

Cross-validation (:func:`cv_scale`): the decay of ``ewma`` and the penalty
of ``convex`` are chosen by the mean pinball loss of *filtered historical
simulation* on rolling-origin folds of the training rows: each validation
block is forecast as ``sigma_t * Q_tau(u)``, ``Q_tau`` the empirical
quantile of the standardized changes ``u_s = z_s / sigma_s`` of the rows
before the block. This is the model of ``ScaledQuantileAR`` with constant
quantile networks; it costs a few array operations per candidate, so the
choice can be remade at every refit. A convex scale network of a fold is
fit on the rows before the first validation block only.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
from scipy.signal import lfilter

from ..models.convex import ConvexNetRegressor
from .selection import rolling_folds

__all__ = [
    "CV_FOLDS",
    "CV_VAL_FRACTION",
    "SCALE_FLOOR",
    "EWMA_POWERS",
    "check_decay",
    "check_ewma_power",
    "cv_scale",
    "ewma_volatility",
    "fit_convex_scale",
    "fhs_pinball",
    "trailing_abs_means",
]

#: Floor of the convex scale, as a fraction of the training mean of ``|z|``.
SCALE_FLOOR = 0.1
#: Rolling-origin folds of the scale's cross-validation, and the fraction of
#: the training rows they validate on (tail levels need many rows).
CV_FOLDS = 5
CV_VAL_FRACTION = 0.5


#: Powers of ``|z|`` an EWMA scale may average: absolute changes or squares.
EWMA_POWERS = (1, 2)


def check_ewma_power(power) -> int:
    """``power`` as 1 or 2, else a ValueError."""
    if isinstance(power, bool) or power not in EWMA_POWERS:
        raise ValueError(f"ewma_power must be 1 or 2, got {power!r}")
    return int(power)


def check_decay(decay) -> float:
    """``decay`` as a float in (0, 1), else a ValueError."""
    if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not (
        0.0 < decay < 1.0
    ):
        raise ValueError(f"decay must be a number in (0, 1) or 'auto', got {decay!r}")
    return float(decay)


def ewma_volatility(changes, decay: float = 0.94, power: int = 2) -> np.ndarray:
    """Volatility known before each change, and after the last one.

    ``sigma[t]^p = sum_{s<t} decay^(t-1-s) |z_s|^p / sum_{s<t} decay^(t-1-s)``
    for ``t = 1..n``: entry ``t`` uses only ``changes[:t]``; the last entry
    (``t = n``) is the scale of the next, unseen change. ``p = 2`` is
    RiskMetrics' root mean square; ``p = 1`` the mean absolute change, which
    a single extreme change moves less (it enters once, not squared) and
    whose autocorrelation decays more slowly than that of the squares
    (Ding, Granger and Engle, 1993): a steadier estimate of the scale.

    Parameters
    ----------
    changes : array-like of shape (n,)
    decay : float, default=0.94
        RiskMetrics' daily decay.
    power : {1, 2}, default=2
        ``p``: the mean of absolute changes (1) or the root mean square (2).

    Returns
    -------
    ndarray of shape (n + 1,)
        ``sigma[0]`` is NaN (no past change).

    Examples
    --------
    >>> ewma_volatility([3.0, 4.0], decay=0.5).round(6).tolist()
    [nan, 3.0, 3.696846]
    >>> ewma_volatility([3.0, -4.0], decay=0.5, power=1).round(6).tolist()
    [nan, 3.0, 3.666667]
    """
    lam = check_decay(decay)
    p = check_ewma_power(power)
    z = np.abs(np.asarray(changes, dtype=np.float64).reshape(-1))
    # both sums are causal first-order recursions x_t = lam x_{t-1} + input_t
    num = lfilter([1.0], [1.0, -lam], z**p)
    den = lfilter([1.0], [1.0, -lam], np.ones_like(z))
    mean = np.concatenate([[np.nan], num / den])
    return np.sqrt(mean) if p == 2 else mean


def trailing_abs_means(changes, windows) -> np.ndarray:
    """Mean ``|z|`` over the last ``k`` changes before each position.

    Row ``t`` (``t = 0..n``) holds, for each ``k`` in ``windows``, the mean
    of ``|z_s|`` over ``max(0, t - k) <= s < t`` (fewer than ``k`` changes
    near the start); row 0 is NaN.

    Examples
    --------
    >>> trailing_abs_means([1.0, -3.0, 2.0], (1, 2)).tolist()[1:]
    [[1.0, 1.0], [3.0, 2.0], [2.0, 2.5]]
    """
    a = np.abs(np.asarray(changes, dtype=np.float64).reshape(-1))
    csum = np.concatenate([[0.0], np.cumsum(a)])
    t = np.arange(a.size + 1)
    out = np.full((a.size + 1, len(windows)), np.nan)
    for j, k in enumerate(windows):
        lo = np.maximum(t - int(k), 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j] = (csum[t] - csum[lo]) / (t - lo)
    return out


def fit_convex_scale(z, rows, windows, beta, n_features, random_state):
    """The squared-Lasso network of ``|z_t|`` on trailing means of ``|z|``.

    Fit on ``rows`` (positions of ``z``, each at least 1). Inputs and target
    are divided by the mean ``|z|`` of those rows (``unit``), so that
    ``beta`` (in the (4.3) scaling ``(1/T) sum r^2 + beta ||z||_1``) does not
    depend on the units of the series.

    Returns
    -------
    (ConvexNetRegressor, float, ndarray)
        The network, ``unit`` and the largest training input of each column
        (in units of ``unit``).
    """
    feats = trailing_abs_means(z, windows)
    target = np.abs(z[rows])
    unit = float(np.mean(target))
    if not unit > 0:
        raise ValueError("the changes of the training window are all zero")
    X = np.ascontiguousarray(feats[rows] / unit)
    net = ConvexNetRegressor(
        activation="abs",
        beta=rows.size * beta / 2.0,  # (4.3): beta_sum = T beta / 2
        loss="squared",
        n_features=n_features,
        sampling="sequential",
        random_state=random_state,
    )._fit_checked(X, target / unit)
    net.solver_result_ = dataclasses.replace(net.solver_result_, state=None)
    return net, unit, X.max(axis=0)


def convex_scale(net, unit: float, upper, z, windows) -> np.ndarray:
    """``sigma[t]``, ``t = 0..n``, of a fitted convex scale.

    Floored, and extrapolated in proportion beyond ``upper`` (module
    docstring).
    """
    feats = trailing_abs_means(z, windows)[1:] / unit
    clipped = np.minimum(feats, upper)
    # 1 inside the training range (and where an input is 0)
    ratio = np.max(
        np.divide(feats, clipped, out=np.ones_like(feats), where=clipped > 0), axis=1
    )
    out = np.full(feats.shape[0] + 1, np.nan)
    out[1:] = unit * ratio * net._decision(np.ascontiguousarray(clipped))
    return np.maximum(out, SCALE_FLOOR * unit)


def fhs_pinball(z, sigma, rows, taus, folds) -> np.ndarray:
    """Pinball loss of filtered historical simulation on each fold.

    Parameters
    ----------
    z, sigma : ndarray
        Changes and the scale known before each (``sigma[t]`` for ``z[t]``).
    rows : ndarray of int
        Training rows in time order; ``folds`` index into them.
    taus : ndarray
    folds : list of (train_stop, val_start, val_stop)

    Returns
    -------
    ndarray of shape (n_folds,)
        Mean over the levels and the block's rows, in units of ``z``.
    """
    u = z[rows] / sigma[rows]
    out = np.empty(len(folds))
    for f, (stop, start, end) in enumerate(folds):
        # numpy's default (linear) quantile, from one sort
        srt = np.sort(u[:stop])
        pos = taus * (stop - 1)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, stop - 1)
        q = srt[lo] + (pos - lo) * (srt[hi] - srt[lo])
        block = rows[start:end]
        d = z[block][:, None] - sigma[block][:, None] * q[None, :]
        out[f] = np.mean(np.maximum(taus * d, (taus - 1) * d))
    return out


def cv_scale(z, rows, taus, grid, scales_of) -> dict:
    """Cross-validate a scale setting by the pinball loss of :func:`fhs_pinball`.

    Parameters
    ----------
    z : ndarray
        The training changes.
    rows : ndarray of int
        Training rows (positions of ``z``) in time order.
    taus : ndarray
    grid : sequence
        Candidate settings.
    scales_of : callable
        ``scales_of(value, fit_rows)``: ``sigma`` (length ``z.size + 1``)
        under the setting ``value``, fit (when there is anything to fit) on
        the rows ``fit_rows`` only.

    Returns
    -------
    dict
        ``grid`` (ndarray), ``fold_pinball`` (ndarray (n_grid, n_folds)),
        ``mean_pinball`` (ndarray (n_grid,)), ``best`` (the chosen value,
        the smallest mean; ties to the first), ``folds`` (ndarray of the
        folds' ``(train_stop, val_start, val_stop)`` rows).
    """
    folds = rolling_folds(rows.size, CV_FOLDS, val_fraction=CV_VAL_FRACTION)
    fit_rows = rows[: folds[0][0]]  # before the first validation block
    losses = np.array(
        [fhs_pinball(z, scales_of(v, fit_rows), rows, taus, folds) for v in grid]
    )
    mean = losses.mean(axis=1)
    return {
        "grid": np.asarray(grid, dtype=np.float64),
        "fold_pinball": losses,
        "mean_pinball": mean,
        "best": grid[int(np.argmin(mean))],
        "folds": np.asarray(folds, dtype=np.int64),
    }
