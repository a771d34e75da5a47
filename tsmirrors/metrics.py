"""Forecast accuracy metrics: point, quantile and interval scores.

Every metric is a mean over the evaluated points (unlike the training
objective (1.1), which sums), and checks its inputs: matching shapes and no
NaN or inf, else a ValueError.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import check_finite_array, check_quantile
from .risk_metrics import *  # noqa: F403  (value-at-risk backtests)
from .risk_metrics import __all__ as _risk_all

__all__ = [
    "mse",
    "rmse",
    "mae",
    "mase",
    "pinball_loss",
    "empirical_coverage",
    "mean_interval_width",
    "interval_score",
    "crps_from_quantiles",
    *_risk_all,
]


def _vector(a, name: str) -> np.ndarray:
    arr = check_finite_array(a, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def _pair(y_true, y_pred, pred_name: str = "y_pred"):
    y = _vector(y_true, "y_true")
    p = _vector(y_pred, pred_name)
    if y.shape != p.shape:
        raise ValueError(
            f"y_true and {pred_name} have different lengths: {y.size} and {p.size}"
        )
    return y, p


def _interval(y_true, lower, upper):
    y, lo = _pair(y_true, lower, "lower")
    _, hi = _pair(y_true, upper, "upper")
    _check_ordered(lo, hi)
    return y, lo, hi


def _check_ordered(lo, hi):
    bad = np.flatnonzero(lo > hi)
    if bad.size:
        raise ValueError(
            f"lower > upper at {bad.size} point(s), first at index {int(bad[0])} "
            f"({lo[bad[0]]} > {hi[bad[0]]})"
        )


def mse(y_true, y_pred) -> float:
    """Mean squared error ``mean((y - yhat)^2)``.

    Examples
    --------
    >>> mse([1.0, 2.0], [1.0, 4.0])
    2.0
    """
    y, p = _pair(y_true, y_pred)
    return float(np.mean((y - p) ** 2))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error ``sqrt(mse)``."""
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error ``mean(|y - yhat|)``."""
    y, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y - p)))


def mase(y_true, y_pred, y_train, m: int = 1) -> float:
    """Mean absolute scaled error.

    ``mae(y_true, y_pred) / mean_t |y_train[t] - y_train[t - m]|``: the
    test MAE divided by the in-sample MAE of the seasonal naive forecast
    with period ``m`` (``m = 1``: the one-step last-value forecast).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
    y_train : array-like of shape (T,)
        Training series, ``T > m``, not constant at lag ``m``.
    m : int, default=1
        Seasonal period.

    Examples
    --------
    >>> mase([3.0, 5.0], [4.0, 4.0], y_train=[1.0, 2.0, 4.0])
    0.6666666666666666
    """
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
        raise ValueError(f"m must be a positive integer, got {m!r}")
    train = _vector(y_train, "y_train")
    if train.size <= m:
        raise ValueError(
            f"y_train needs more than m={m} values, got {train.size}"
        )
    scale = float(np.mean(np.abs(train[m:] - train[:-m])))
    if scale == 0.0:
        raise ValueError(
            f"the in-sample naive MAE of y_train at lag m={m} is 0 "
            "(y_train[t] == y_train[t - m] for all t); MASE is undefined"
        )
    return mae(y_true, y_pred) / scale


def pinball_loss(y_true, q_pred, quantile):
    """Mean pinball (quantile) loss.

    ``mean_i L_tau(y_i - q_i)`` with ``L_tau(r) = max(tau r, (tau - 1) r)``
    (equivalently ``0.5 |r| + (tau - 0.5) r``).

    Parameters
    ----------
    y_true : array-like of shape (n,)
    q_pred : array-like of shape (n,) or (n, k)
        Predicted quantiles; one column per level when 2-D.
    quantile : float or array-like of shape (k,)
        Levels ``tau`` in (0, 1).

    Returns
    -------
    float, or ndarray of shape (k,) when ``q_pred`` is 2-D with ``k`` levels.

    Examples
    --------
    >>> pinball_loss([1.0, 3.0], [2.0, 2.0], 0.9)
    0.5
    """
    y = _vector(y_true, "y_true")
    q = check_finite_array(q_pred, "q_pred")
    if np.ndim(quantile) == 0:
        tau = check_quantile(quantile)
        q = q[:, 0] if q.ndim == 2 and q.shape[1] == 1 else q
        if q.shape != y.shape:
            raise ValueError(
                f"q_pred must have shape {y.shape} for one quantile, got {q.shape}"
            )
        r = y - q
        return float(np.mean(np.maximum(tau * r, (tau - 1.0) * r)))
    taus = _levels(quantile)
    if q.shape != (y.size, taus.size):
        raise ValueError(
            f"q_pred must have shape {(y.size, taus.size)} for {taus.size} "
            f"quantiles, got {q.shape}"
        )
    r = y[:, None] - q
    return np.mean(np.maximum(taus * r, (taus - 1.0) * r), axis=0)


def _levels(quantiles) -> np.ndarray:
    taus = check_finite_array(quantiles, "quantiles", ndim=1)
    bad = (taus <= 0) | (taus >= 1)
    if bad.any():
        raise ValueError(
            f"quantiles must be in (0, 1), got {taus[bad].tolist()}"
        )
    if np.unique(taus).size != taus.size:
        raise ValueError(f"quantiles must be distinct, got {taus.tolist()}")
    return taus


def empirical_coverage(y_true, lower, upper) -> float:
    """Fraction of points with ``lower <= y <= upper``.

    Examples
    --------
    >>> empirical_coverage([0.0, 1.0, 5.0, 2.0], [0, 0, 0, 2], [1, 1, 1, 3])
    0.75
    """
    y, lo, hi = _interval(y_true, lower, upper)
    return float(np.mean((lo <= y) & (y <= hi)))


def mean_interval_width(lower, upper) -> float:
    """Mean of ``upper - lower``.

    Examples
    --------
    >>> mean_interval_width([0.0, 1.0], [2.0, 2.0])
    1.5
    """
    lo = _vector(lower, "lower")
    hi = _vector(upper, "upper")
    if lo.shape != hi.shape:
        raise ValueError(
            f"lower and upper have different lengths: {lo.size} and {hi.size}"
        )
    _check_ordered(lo, hi)
    return float(np.mean(hi - lo))


def interval_score(y_true, lower, upper, coverage: float = 0.9) -> float:
    """Mean interval (Winkler) score of central intervals at ``coverage``.

    With ``alpha = 1 - coverage``, the score of one point is
    ``(u - l) + (2 / alpha) (l - y) 1{y < l} + (2 / alpha) (y - u) 1{y > u}``
    (Gneiting and Raftery, 2007); lower is better.

    Examples
    --------
    >>> interval_score([0.5, 3.0], [0.0, 0.0], [1.0, 1.0], coverage=0.5)
    5.0
    """
    cov = check_quantile(coverage, "coverage")
    y, lo, hi = _interval(y_true, lower, upper)
    alpha = 1.0 - cov
    below = np.maximum(lo - y, 0.0)
    above = np.maximum(y - hi, 0.0)
    return float(np.mean((hi - lo) + (2.0 / alpha) * (below + above)))


def crps_from_quantiles(y_true, quantile_preds, quantiles) -> float:
    """CRPS approximated from predicted quantiles.

    ``CRPS(F, y) = 2 int_0^1 L_tau(y - F^{-1}(tau)) d tau``; replacing the
    integral by the mean over the ``k`` given levels gives
    ``2 * mean_tau pinball_tau``, here also averaged over the ``n`` points.
    It is exact in the limit of a fine, evenly spread grid of levels.

    Parameters
    ----------
    y_true : array-like of shape (n,)
    quantile_preds : array-like of shape (n, k)
    quantiles : array-like of shape (k,)
        Distinct levels in (0, 1), in any order.

    Raises
    ------
    ValueError
        If the predicted quantiles of a point decrease as the level rises
        (crossing quantiles are no distribution, and the approximation would
        score them as one); the message names the first such row. Sort each
        row, or repair the forecasts, before scoring.

    Examples
    --------
    >>> crps_from_quantiles([1.0], [[0.0, 2.0]], [0.25, 0.75])
    0.5
    """
    taus = _levels(quantiles)
    losses = pinball_loss(y_true, quantile_preds, taus)
    _check_not_crossing(np.asarray(quantile_preds, dtype=np.float64), taus)
    return float(2.0 * np.mean(losses))


def _check_not_crossing(q: np.ndarray, taus: np.ndarray) -> None:
    """Refuse rows of ``q`` (columns at levels ``taus``) that fall as tau rises."""
    order = np.argsort(taus)
    q, taus = q[:, order], taus[order]
    falls = np.diff(q, axis=1) < 0
    rows = np.flatnonzero(falls.any(axis=1))
    if rows.size:
        i = int(rows[0])
        j = int(np.flatnonzero(falls[i])[0])
        raise ValueError(
            f"quantile_preds cross in {rows.size} row(s), first at row {i}: the "
            f"level {taus[j]:g} forecast {q[i, j]:g} is above the level "
            f"{taus[j + 1]:g} forecast {q[i, j + 1]:g}; predicted quantiles must "
            "not decrease as the level rises"
        )
