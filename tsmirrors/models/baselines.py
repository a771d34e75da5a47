"""Baselines of the paper: AR(1) with a bias ("AR1+bias") and the naive forecast.

Both are small scikit-learn regressors on ``X`` whose column ``column`` holds
the previous value ``x_{t-1}`` and ``y`` the next value ``x_t``. Each can
also be fitted directly on a series with ``fit_series``.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._optional import import_optional
from .._validation import check_finite_array

__all__ = ["AR1Fit", "ar1_bias_fit", "AR1Regressor", "NaiveLastValue"]


class AR1Fit(NamedTuple):
    """``x_t = intercept + slope * x_{t-1} + e_t`` with ``Var(e_t) = sigma2``."""

    intercept: float
    slope: float
    sigma2: float


def _check_series(x, name: str = "x_train", min_length: int = 3) -> np.ndarray:
    arr = check_finite_array(np.asarray(x, dtype=np.float64), name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D series, got shape {arr.shape}")
    if arr.size < min_length:
        raise ValueError(
            f"{name} needs at least {min_length} values, got {arr.size}"
        )
    return arr


def ar1_bias_fit(x_train) -> AR1Fit:
    """Fit the AR(1) model with a constant, by statsmodels ``AutoReg``.

    ``AutoReg(x, lags=1, trend="c")`` is conditional least squares: the
    intercept and slope equal the ordinary least squares regression of
    ``x_t`` on ``(1, x_{t-1})``; ``sigma2`` is the mean squared residual.

    Parameters
    ----------
    x_train : array-like of shape (T,)
        Training series, ``T >= 3``, not constant.

    Returns
    -------
    AR1Fit

    Examples
    --------
    >>> fit = ar1_bias_fit([1.0, 2.0, 2.5, 2.75, 2.875])
    >>> round(fit.intercept, 6), round(fit.slope, 6)
    (1.5, 0.5)
    """
    x = _check_series(x_train)
    if np.ptp(x[:-1]) == 0:
        raise ValueError("x_train[:-1] is constant; the AR(1) slope is undefined")
    ar_model = import_optional("statsmodels.tsa.ar_model")
    res = ar_model.AutoReg(x, lags=1, trend="c").fit()
    params = np.asarray(res.params, dtype=np.float64)
    return AR1Fit(float(params[0]), float(params[1]), float(res.sigma2))


def _check_column(column, n_features: int) -> int:
    if (
        isinstance(column, bool)
        or not isinstance(column, numbers.Integral)
        or not 0 <= column < n_features
    ):
        raise ValueError(
            f"column must be an integer in [0, {n_features - 1}] for X with "
            f"{n_features} columns, got {column!r}"
        )
    return int(column)


class AR1Regressor(RegressorMixin, BaseEstimator):
    """AR(1) with a bias: ``y = intercept_ + slope_ * X[:, column]``.

    ``fit(X, y)`` is the least squares regression of ``y`` on
    ``X[:, column]`` with an intercept; ``fit_series(x)`` fits the same
    model on a series with statsmodels ``AutoReg(lags=1, trend="c")``. On
    ``X = x[:-1, None]``, ``y = x[1:]`` the two agree.

    Parameters
    ----------
    column : int, default=0
        Column of ``X`` holding the previous value ``x_{t-1}``.

    Attributes
    ----------
    intercept_ : float
    slope_ : float
    coef_ : ndarray of shape (1,)
        ``[slope_]``.
    sigma2_ : float
        Mean squared residual.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 2.5, 2.75, 2.875])
    >>> model = AR1Regressor().fit(x[:-1, None], x[1:])
    >>> round(float(model.predict([[3.0]])[0]), 10)
    3.0
    """

    def __init__(self, column: int = 0):
        self.column = column

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # one input column by design, so arbitrary tabular targets fit poorly
        tags.regressor_tags.poor_score = True
        return tags

    def _set_fit(self, intercept: float, slope: float, sigma2: float):
        self.intercept_ = float(intercept)
        self.slope_ = float(slope)
        self.coef_ = np.array([self.slope_])
        self.sigma2_ = float(sigma2)

    def fit(self, X, y):
        """Least squares of ``y`` on ``(1, X[:, column])``; returns self."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        col = _check_column(self.column, X.shape[1])
        x = X[:, col]
        if x.size < 2:
            raise ValueError(
                f"AR1Regressor needs at least 2 samples, got n_samples = {x.size}"
            )
        if np.ptp(x) == 0:
            raise ValueError(
                f"AR1Regressor needs at least 2 distinct values in X[:, {col}], "
                f"got {np.unique(x).size}"
            )
        design = np.column_stack([np.ones_like(x), x])
        (intercept, slope), *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - intercept - slope * x
        self._set_fit(intercept, slope, np.mean(resid**2))
        return self

    def fit_series(self, x):
        """Fit on a series ``x`` with statsmodels ``AutoReg``; returns self.

        Afterwards ``predict`` expects ``X`` with ``column + 1`` columns.
        """
        fit = ar1_bias_fit(x)
        self._set_fit(fit.intercept, fit.slope, fit.sigma2)
        self.n_features_in_ = _check_column(self.column, np.iinfo(np.int64).max) + 1
        return self

    def predict(self, X) -> np.ndarray:
        """``intercept_ + slope_ * X[:, column]``, shape (n,)."""
        check_is_fitted(self, "slope_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.intercept_ + self.slope_ * X[:, self.column]


class NaiveLastValue(RegressorMixin, BaseEstimator):
    """Naive forecast: the next value is the last one, ``y = X[:, column]``.

    Parameters
    ----------
    column : int, default=0
        Column of ``X`` holding the previous value ``x_{t-1}``.

    Attributes
    ----------
    last_value_ : float
        Last training value (``y[-1]`` or the series' last value), the
        forecast from the end of the training data.
    n_features_in_ : int
    """

    def __init__(self, column: int = 0):
        self.column = column

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # it learns nothing, so it cannot be expected to fit arbitrary targets
        tags.regressor_tags.poor_score = True
        return tags

    def fit(self, X, y):
        """Validate ``X`` and ``y``; returns self."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        _check_column(self.column, X.shape[1])
        self.last_value_ = float(y[-1])
        return self

    def fit_series(self, x):
        """Remember the last value of the series ``x``; returns self."""
        x = _check_series(x, "x", min_length=1)
        self.last_value_ = float(x[-1])
        self.n_features_in_ = _check_column(self.column, np.iinfo(np.int64).max) + 1
        return self

    def predict(self, X) -> np.ndarray:
        """``X[:, column]``, shape (n,)."""
        check_is_fitted(self, "last_value_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X[:, self.column].copy()
