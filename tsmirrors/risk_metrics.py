"""Value-at-risk backtests of quantile forecasts.

A quantile forecast ``q_t`` at level ``tau`` is *hit* when the outcome falls
beyond it on the tail side: ``y_t < q_t`` for a lower level (``tau <= 0.5``)
and ``y_t > q_t`` for an upper level, so that a correct forecast is hit with
probability ``p = min(tau, 1 - tau)``. The tests here judge a hit sequence:

- :func:`kupiec_pof`: the proportion of failures (unconditional coverage);
- :func:`christoffersen_test`: independence of consecutive hits and
  conditional coverage (Christoffersen, 1998);
- :func:`dynamic_quantile_test`: the dynamic quantile test of Engle and
  Manganelli (2004), a regression of the demeaned hits on their lags and on
  the forecast itself;
- :func:`coverage_by_volatility`: interval coverage within calm and
  volatile periods, split by terciles of trailing realized volatility.

Interval (Winkler) scores and the CRPS from a set of quantiles are
:func:`tsmirrors.metrics.interval_score` and
:func:`tsmirrors.metrics.crps_from_quantiles`.

Every likelihood ratio uses ``0 log 0 = 0``; p-values come from the
chi-square limits of the statistics.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
from scipy import stats
from scipy.special import xlogy

from ._validation import check_finite_array, check_quantile

__all__ = [
    "ChiSquareResult",
    "hit_sequence",
    "hit_rate",
    "kupiec_pof",
    "christoffersen_test",
    "dynamic_quantile_test",
    "trailing_volatility",
    "coverage_by_volatility",
]


class ChiSquareResult(NamedTuple):
    """A test statistic with its chi-square p-value and degrees of freedom."""

    statistic: float
    pvalue: float
    df: int


def _vector(a, name: str) -> np.ndarray:
    arr = check_finite_array(a, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def _hits(hits) -> np.ndarray:
    h = _vector(hits, "hits")
    if h.size < 2:
        raise ValueError(f"hits needs at least 2 values, got {h.size}")
    if not np.all((h == 0) | (h == 1)):
        raise ValueError("hits must contain only 0 and 1")
    return h.astype(np.int64)


def _rate(rate) -> float:
    return check_quantile(rate, "rate")


def hit_sequence(y_true, q_pred, quantile: float) -> np.ndarray:
    """Exceedances of a quantile forecast on its tail side.

    Parameters
    ----------
    y_true, q_pred : array-like of shape (n,)
    quantile : float
        Level ``tau`` of ``q_pred``, in (0, 1).

    Returns
    -------
    ndarray of int of shape (n,)
        ``1{y < q}`` when ``tau <= 0.5``, ``1{y > q}`` otherwise: a correct
        forecast is hit with probability ``min(tau, 1 - tau)``.

    Examples
    --------
    >>> hit_sequence([1.0, -3.0, 0.0], [-2.0, -2.0, -2.0], 0.05).tolist()
    [0, 1, 0]
    """
    tau = check_quantile(quantile)
    y = _vector(y_true, "y_true")
    q = _vector(q_pred, "q_pred")
    if y.shape != q.shape:
        raise ValueError(
            f"y_true and q_pred have different lengths: {y.size} and {q.size}"
        )
    return (y < q if tau <= 0.5 else y > q).astype(np.int64)


def hit_rate(y_true, q_pred, quantile: float) -> float:
    """Fraction of hits (see :func:`hit_sequence`); nominal ``min(tau, 1 - tau)``."""
    return float(np.mean(hit_sequence(y_true, q_pred, quantile)))


def _bernoulli_loglik(n0: float, n1: float, p: float) -> float:
    return float(xlogy(n0, 1.0 - p) + xlogy(n1, p))


def kupiec_pof(hits, rate: float) -> ChiSquareResult:
    """Kupiec's proportion-of-failures test (unconditional coverage).

    With ``x`` hits in ``T`` observations and nominal hit probability
    ``p``, ``LR = -2 [log L(p) - log L(x / T)]`` with the Bernoulli
    log-likelihood ``log L(pi) = (T - x) log(1 - pi) + x log(pi)``;
    asymptotically chi-square with 1 degree of freedom (Kupiec, 1995).

    Parameters
    ----------
    hits : array-like of 0/1 of shape (T,)
    rate : float
        Nominal hit probability ``p`` in (0, 1).

    Returns
    -------
    ChiSquareResult

    Examples
    --------
    >>> round(kupiec_pof([0, 0, 0, 1], 0.25).statistic, 12)
    0.0
    """
    h = _hits(hits)
    p = _rate(rate)
    n, x = h.size, int(h.sum())
    stat = -2.0 * (
        _bernoulli_loglik(n - x, x, p) - _bernoulli_loglik(n - x, x, x / n)
    )
    stat = max(stat, 0.0) + 0.0  # rounding can give -0.0 or -1e-16
    return ChiSquareResult(stat, float(stats.chi2.sf(stat, 1)), 1)


def _transitions(h: np.ndarray) -> np.ndarray:
    """Counts ``n[i, j]`` of a hit state ``i`` followed by ``j``."""
    counts = np.zeros((2, 2))
    np.add.at(counts, (h[:-1], h[1:]), 1.0)
    return counts


def christoffersen_test(hits, rate: float) -> dict[str, ChiSquareResult]:
    """Christoffersen's independence and conditional-coverage tests.

    From the transition counts ``n_ij`` (state ``i`` followed by ``j``) of
    the hit sequence, with ``pi_01 = n_01 / (n_00 + n_01)``, ``pi_11 =
    n_11 / (n_10 + n_11)`` and ``pi = (n_01 + n_11) / (T - 1)``:

    - independence: ``LR_ind = -2 [log L(pi, pi) - log L(pi_01, pi_11)]``,
      chi-square with 1 degree of freedom;
    - conditional coverage: ``LR_cc = -2 [log L(p, p) - log L(pi_01,
      pi_11)]``, chi-square with 2 degrees of freedom; it equals Kupiec's
      statistic on the last ``T - 1`` hits plus ``LR_ind``.

    Here ``log L(a, b) = n_00 log(1 - a) + n_01 log(a) + n_10 log(1 - b) +
    n_11 log(b)`` is the Markov log-likelihood conditional on the first hit.

    Parameters
    ----------
    hits : array-like of 0/1 of shape (T,)
    rate : float
        Nominal hit probability ``p`` in (0, 1).

    Returns
    -------
    dict
        ``{"independence": ChiSquareResult, "conditional_coverage": ChiSquareResult}``.
    """
    h = _hits(hits)
    p = _rate(rate)
    n = _transitions(h)
    n00, n01, n10, n11 = n[0, 0], n[0, 1], n[1, 0], n[1, 1]
    pi = (n01 + n11) / (h.size - 1)
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    markov = _bernoulli_loglik(n00, n01, pi01) + _bernoulli_loglik(n10, n11, pi11)
    iid = _bernoulli_loglik(n00 + n10, n01 + n11, pi)
    nominal = _bernoulli_loglik(n00 + n10, n01 + n11, p)
    ind = max(-2.0 * (iid - markov), 0.0) + 0.0
    cc = max(-2.0 * (nominal - markov), 0.0) + 0.0
    return {
        "independence": ChiSquareResult(ind, float(stats.chi2.sf(ind, 1)), 1),
        "conditional_coverage": ChiSquareResult(cc, float(stats.chi2.sf(cc, 2)), 2),
    }


def dynamic_quantile_test(y_true, q_pred, quantile: float,
                          n_lags: int = 4) -> ChiSquareResult:
    """Engle and Manganelli's dynamic quantile (DQ) test.

    The demeaned hits ``Hit_t = h_t - p`` (``h`` from :func:`hit_sequence`,
    ``p = min(tau, 1 - tau)``) should be unpredictable. With the regressors
    ``X_t = (1, Hit_{t-1}, ..., Hit_{t-K}, q_t)`` for ``t = K+1 .. T``,

        DQ = Hit' X (X'X)^{-1} X' Hit / (p (1 - p)),

    asymptotically chi-square with ``K + 2`` degrees of freedom (Engle and
    Manganelli, 2004, the out-of-sample version).

    Parameters
    ----------
    y_true, q_pred : array-like of shape (T,)
    quantile : float
        Level of ``q_pred``.
    n_lags : int, default=4
        ``K``, the lagged hits among the regressors.

    Returns
    -------
    ChiSquareResult

    Raises
    ------
    ValueError
        When the regressors are collinear (e.g. a constant forecast, or no
        hit at all in the lags), so that ``X'X`` is singular.
    """
    if isinstance(n_lags, bool) or not isinstance(n_lags, numbers.Integral) or (
        n_lags < 0
    ):
        raise ValueError(f"n_lags must be an integer >= 0, got {n_lags!r}")
    tau = check_quantile(quantile)
    h = hit_sequence(y_true, q_pred, tau)
    q = np.asarray(q_pred, dtype=np.float64)
    p = min(tau, 1.0 - tau)
    k = int(n_lags)
    if h.size <= k + 2:
        raise ValueError(
            f"dynamic_quantile_test needs more than n_lags + 2 = {k + 2} "
            f"observations, got {h.size}"
        )
    hit = h - p
    rows = slice(k, h.size)
    X = np.column_stack(
        [np.ones(h.size - k)]
        + [hit[k - j : h.size - j] for j in range(1, k + 1)]
        + [q[rows]]
    )
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(
            "the dynamic quantile regressors are collinear (constant forecast or "
            "no variation in the lagged hits); the DQ statistic is undefined"
        )
    target = hit[rows]
    coef, *_ = np.linalg.lstsq(X, target, rcond=None)
    fitted = X @ coef
    stat = float(fitted @ fitted / (p * (1.0 - p)))
    df = k + 2
    return ChiSquareResult(stat, float(stats.chi2.sf(stat, df)), df)


def trailing_volatility(changes, window: int = 20) -> np.ndarray:
    """Realized volatility known before each point.

    ``vol[t] = sqrt(mean(changes[t - window : t] ** 2))``: the root mean
    square of the ``window`` changes *before* ``t`` (never ``changes[t]``);
    NaN for the first ``window`` points, which lack a full window.

    Parameters
    ----------
    changes : array-like of shape (n,)
        Returns or price changes.
    window : int, default=20

    Returns
    -------
    ndarray of shape (n,)
    """
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or (
        window < 1
    ):
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    r = _vector(changes, "changes")
    sq = np.concatenate([[0.0], np.cumsum(r**2)])
    out = np.full(r.size, np.nan)
    t = np.arange(window, r.size)
    out[t] = np.sqrt((sq[t] - sq[t - window]) / window)
    return out


def coverage_by_volatility(y_true, lower, upper, volatility,
                           n_groups: int = 3) -> np.ndarray:
    """Interval coverage within volatility groups, calmest first.

    Points are ranked by ``volatility`` (e.g. :func:`trailing_volatility`
    at each forecast origin) and cut into ``n_groups`` groups of (nearly)
    equal size; terciles by default.

    Parameters
    ----------
    y_true, lower, upper, volatility : array-like of shape (n,)
    n_groups : int, default=3

    Returns
    -------
    ndarray of shape (n_groups,)
        Fraction of ``lower <= y <= upper`` in each group, from the calmest
        to the most volatile.

    Examples
    --------
    >>> coverage_by_volatility([0, 0, 5, 5], [-1] * 4, [1] * 4, [1, 2, 3, 4], 2)
    array([1., 0.])
    """
    if isinstance(n_groups, bool) or not isinstance(n_groups, numbers.Integral) or (
        n_groups < 1
    ):
        raise ValueError(f"n_groups must be an integer >= 1, got {n_groups!r}")
    arrays = [
        _vector(a, name)
        for a, name in (
            (y_true, "y_true"),
            (lower, "lower"),
            (upper, "upper"),
            (volatility, "volatility"),
        )
    ]
    y, lo, hi, vol = arrays
    if len({a.size for a in arrays}) != 1:
        raise ValueError(
            "y_true, lower, upper and volatility must have the same length, got "
            f"{[a.size for a in arrays]}"
        )
    if y.size < n_groups:
        raise ValueError(f"need at least n_groups={n_groups} points, got {y.size}")
    inside = (lo <= y) & (y <= hi)
    order = np.argsort(vol, kind="stable")
    return np.array([inside[g].mean() for g in np.array_split(order, n_groups)])
