"""Baseline forecasters: the naive last value and AR(1) with a bias."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ..models.baselines import ar1_bias_fit
from .base import BaseForecaster, check_quantiles, check_steps

__all__ = ["AR1Forecaster", "NaiveForecaster"]


# --------------------------------------------------------------------- naive
class NaiveForecaster(BaseForecaster):
    """The last observed value, with empirical quantiles of past h-step changes.

    Parameters
    ----------
    quantiles : sequence of float or None, default=None
        Levels of :meth:`predict_quantiles`, taken from the training
        distribution of ``y[t+h] - y[t]``.
    """

    def __init__(self, quantiles=None):
        self.quantiles = quantiles

    def fit(self, y, freq=None):
        levels = self._validate_fit_series(y, freq)
        self._fit_transform(levels, "level")
        self._store_window(levels)
        self.levels_ = levels.copy()
        self.n_neurons_ = 0  # no network
        if self.quantiles is not None:
            self.quantiles_ = check_quantiles(self.quantiles)
        return self

    def predict(self, steps: int = 1, last_window=None) -> pd.Series:
        check_is_fitted(self, "transform_")
        steps = check_steps(steps)
        window, last = self._window(last_window)
        return pd.Series(
            np.full(steps, window[-1]),
            index=self._future_index(steps, last),
            name="y_pred",
        )

    predict_point = predict

    def predict_quantiles(self, steps: int = 1, last_window=None) -> pd.DataFrame:
        check_is_fitted(self, "transform_")
        if getattr(self, "quantiles_", None) is None:
            raise ValueError("this NaiveForecaster was fit with quantiles=None")
        steps = check_steps(steps)
        window, last = self._window(last_window)
        rows = []
        for h in range(1, steps + 1):
            if h >= self.levels_.size:
                raise ValueError(f"steps={steps} is longer than the training series")
            change = self.levels_[h:] - self.levels_[:-h]
            rows.append(window[-1] + np.quantile(change, self.quantiles_))
        return pd.DataFrame(
            rows, index=self._future_index(steps, last), columns=list(self.quantiles_)
        )


# --------------------------------------------------------------------- AR(1)
class AR1Forecaster(BaseForecaster):
    """AR(1) with a bias ("AR1+bias"), fit by statsmodels ``AutoReg``.

    ``z_t = c + a z_{t-1} + e_t`` on the transformed series ``z``, with
    Gaussian quantiles of the h-step aggregate.

    Parameters
    ----------
    target : {"level", "difference", "log_return", "standardize"}, default="level"
        The paper's AR(1) models levels.
    quantiles : sequence of float or None, default=None
    """

    def __init__(self, target: str = "level", quantiles=None):
        self.target = target
        self.quantiles = quantiles

    def fit(self, y, freq=None):
        levels = self._validate_fit_series(y, freq)
        z = self._fit_transform(levels)
        fit = ar1_bias_fit(z)
        self.intercept_, self.slope_, self.sigma2_ = (
            fit.intercept,
            fit.slope,
            fit.sigma2,
        )
        self._store_window(levels)
        self.n_neurons_ = 0  # a linear model, no network
        if self.quantiles is not None:
            self.quantiles_ = check_quantiles(self.quantiles)
        return self

    def _mean_path(self, z_last: float, steps: int) -> np.ndarray:
        out = np.empty(steps)
        z = z_last
        for h in range(steps):
            z = self.intercept_ + self.slope_ * z
            out[h] = z
        return out

    def predict(self, steps: int = 1, last_window=None) -> pd.Series:
        check_is_fitted(self, "transform_")
        steps = check_steps(steps)
        window, last = self._window(last_window)
        z_last = self.transform_.forward(window)[-1]
        path = self.transform_.path_to_levels(
            self._mean_path(z_last, steps), window[-1]
        )
        return pd.Series(path, index=self._future_index(steps, last), name="y_pred")

    predict_point = predict

    def predict_quantiles(self, steps: int = 1, last_window=None) -> pd.DataFrame:
        check_is_fitted(self, "transform_")
        if getattr(self, "quantiles_", None) is None:
            raise ValueError("this AR1Forecaster was fit with quantiles=None")
        steps = check_steps(steps)
        window, last = self._window(last_window)
        z_last = self.transform_.forward(window)[-1]
        means = self._mean_path(z_last, steps)
        a = self.slope_
        summed = self.transform_.offset == 1
        from scipy.stats import norm  # imported here: ~1 s at import time

        rows = []
        for h in range(1, steps + 1):
            powers = a ** np.arange(h)
            if summed:  # sum of the next h values: coefficient of e_k
                coef = np.cumsum(powers)
                mean = means[:h].sum()
            else:
                coef = powers
                mean = means[h - 1]
            sd = np.sqrt(self.sigma2_ * np.sum(coef**2))
            agg = mean + sd * norm.ppf(self.quantiles_)
            rows.append(self.transform_.to_level(agg, window[-1]))
        return pd.DataFrame(
            rows, index=self._future_index(steps, last), columns=list(self.quantiles_)
        )
