"""Lag embedding: a series as the regression problem an AR model solves."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .validation import _as_1d_values, _check_finite, _check_positive_int

__all__ = ["LagEmbedding", "lag_embed"]


class LagEmbedding(NamedTuple):
    """Design matrix, targets and target labels returned by :func:`lag_embed`.

    Attributes
    ----------
    X : ndarray of shape (n_rows, lags)
        Lagged values, most recent first: ``X[i, k]`` is lag ``k + 1``.
    y : ndarray of shape (n_rows,)
        Targets.
    index : pandas.Index of length n_rows
        Label of each target: the series' own index (timestamps) for a
        Series, target positions (a ``RangeIndex``) for an array.
    """

    X: np.ndarray
    y: np.ndarray
    index: pd.Index


def lag_embed(y, lags: int = 1, horizon: int = 1) -> LagEmbedding:
    """Embed a series into lagged inputs and targets ``horizon`` steps ahead.

    Row ``i`` stands for time ``t = i + lags``. Its inputs are the ``lags``
    most recent values known before ``t``,
    ``X[i] = (y[t-1], y[t-2], ..., y[t-lags])``, lag 1 first, and its target
    is ``y[t + horizon - 1]``. With ``horizon=1`` this is the autoregression
    of (4.1), ``x_t = f(x_{t-1}, ..., x_{t-p}) + eps_t``; with ``horizon=h``
    it is the direct ``h``-step-ahead problem. The number of rows is
    ``n - lags - horizon + 1``.

    Parameters
    ----------
    y : pandas.Series or array-like of shape (n_samples,)
        The series, oldest first. It must be finite.
    lags : int, default=1
        Number of lagged values per row (``p``), at least 1.
    horizon : int, default=1
        Steps between the most recent input and the target, at least 1.

    Returns
    -------
    embedding : LagEmbedding
        Named tuple ``(X, y, index)``: ``X`` float64 of shape
        ``(n_samples - lags - horizon + 1, lags)``, ``y`` float64 targets, and
        ``index`` the labels of the targets (``y.index[lags + horizon - 1:]``
        for a Series, a ``RangeIndex`` of positions for an array). Unpack it
        as ``X, target, index = lag_embed(...)``. The arrays are copies.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D or not numeric, holds NaN or inf (the message
        names the timestamps or positions), if ``lags`` or ``horizon`` is not
        an integer >= 1, or if ``y`` has fewer than ``lags + horizon + 1``
        values (at least two rows are needed).

    See Also
    --------
    validate_series : checks the timestamps as well.

    Examples
    --------
    >>> import numpy as np
    >>> from tsmirrors.data import lag_embed
    >>> X, target, index = lag_embed(np.arange(6.0), lags=2)
    >>> X
    array([[1., 0.],
           [2., 1.],
           [3., 2.],
           [4., 3.]])
    >>> target
    array([2., 3., 4., 5.])
    >>> list(index)
    [2, 3, 4, 5]
    """
    lags = _check_positive_int(lags, "lags")
    horizon = _check_positive_int(horizon, "horizon")
    values, index, _ = _as_1d_values(y, "y")
    n = values.size
    needed = lags + horizon + 1
    if n < needed:
        raise ValueError(
            f"y is too short for lags={lags} and horizon={horizon}: {n} value(s), "
            f"at least lags + horizon + 1 = {needed} needed"
        )
    _check_finite(values, index, "y")
    X, target = _embed(values, lags, horizon)
    first = lags + horizon - 1
    labels = pd.RangeIndex(first, n) if index is None else index[first:]
    return LagEmbedding(X, target, labels)


def _embed(values: np.ndarray, lags: int, horizon: int = 1
           ) -> tuple[np.ndarray, np.ndarray]:
    """``(X, target)`` of :func:`lag_embed` for checked float64 ``values``."""
    n = values.size
    n_rows = n - lags - horizon + 1
    X = np.empty((n_rows, lags))
    for k in range(lags):  # column k is lag k + 1
        X[:, k] = values[lags - 1 - k : lags - 1 - k + n_rows]
    return X, values[lags + horizon - 1 :].copy()
