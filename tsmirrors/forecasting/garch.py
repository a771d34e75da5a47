"""GARCH(1,1) with Student-t innovations: the value-at-risk baseline.

:class:`GARCHForecaster` fits, with the ``arch`` package (the ``garch``
extra), the model

    r_t = mu + eps_t,   eps_t = sigma_t e_t,   e_t ~ standardized t(nu),
    sigma_t^2 = omega + alpha eps_{t-1}^2 + beta sigma_{t-1}^2,

on percentage log returns ``r_t = 100 log(y_t / y_{t-1})`` of a positive
price series, by maximum likelihood, and maps return quantiles back to
prices: ``y_{T+h} = y_T exp(R_h / 100)`` where ``R_h`` is the sum of the next
``h`` returns. One-step quantiles are exact under the model; for ``h > 1`` the
sum of returns is approximated by a standardized t with the summed variance
(mean ``h mu``, variance ``sum_k sigma_{T+k}^2``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from .._optional import import_optional
from .._warnings import quiet
from .base import BaseForecaster, check_quantiles, check_steps
from .transforms import make_transform

__all__ = ["GARCHForecaster", "garch_variance"]

#: Fewest returns a GARCH(1,1)-t fit accepts (5 parameters).
MIN_RETURNS = 30

#: Largest share of exactly-zero returns a fit accepts. Above one half the
#: median return is a point mass at zero (stale or tick-rounded prices): the
#: continuous t likelihood then shrinks the scale onto the zeros and the
#: fitted intervals cover little more than the zero returns.
MAX_ZERO_SHARE = 0.5

#: Lower bound of ``nu`` in ``arch``'s standardized t; a fit that ends on it
#: has found no finite-variance tail to fit.
NU_LOWER_BOUND = 2.05


def _arch():
    try:
        return import_optional("arch")
    except ImportError as exc:
        raise ImportError(
            "GARCHForecaster needs the 'arch' package. Install it with: "
            "pip install 'tsmirrors[garch]'"
        ) from exc


def _backcast(resid: np.ndarray) -> float:
    """``arch``'s starting variance: EWMA (0.94) of the first 75 squares."""
    tau = min(75, resid.size)
    w = 0.94 ** np.arange(tau)
    return float(np.sum(resid[:tau] ** 2 * (w / w.sum())))


def garch_variance(resid, omega: float, alpha: float, beta: float) -> np.ndarray:
    """GARCH(1,1) conditional variances ``sigma_t^2`` for ``t = 1..n+1``.

    ``sigma_1^2 = omega + (alpha + beta) b`` with ``arch``'s backcast ``b``
    and ``sigma_{t+1}^2 = omega + alpha eps_t^2 + beta sigma_t^2``; the last
    entry is the one-step forecast after ``resid``. Only residuals up to
    ``t`` enter ``sigma_{t+1}^2``.

    Parameters
    ----------
    resid : array-like of shape (n,)
    omega, alpha, beta : float

    Returns
    -------
    ndarray of shape (n + 1,)
    """
    eps = np.asarray(resid, dtype=np.float64).reshape(-1)
    out = np.empty(eps.size + 1)
    b = _backcast(eps)
    out[0] = omega + (alpha + beta) * b
    for t in range(eps.size):
        out[t + 1] = omega + alpha * eps[t] ** 2 + beta * out[t]
    return out


class GARCHForecaster(BaseForecaster):
    """GARCH(1,1)-t on percentage log returns, quantiles as prices.

    Parameters
    ----------
    quantiles : sequence of float, default=(0.05, 0.5, 0.95)
        Levels of :meth:`predict_quantiles`.

    Attributes
    ----------
    params_ : dict
        ``mu``, ``omega``, ``alpha``, ``beta`` and ``nu`` (degrees of
        freedom) of the maximum-likelihood fit.
    loglikelihood_ : float
        Log-likelihood of the fit. The ``arch`` result object itself is not
        kept, so that a fitted forecaster holds arrays and numbers only (it
        can be saved with :func:`tsmirrors.save` and deep-copied).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = 100 * np.exp(np.cumsum(0.01 * rng.standard_t(5, 300)))
    >>> model = GARCHForecaster(quantiles=(0.05, 0.95)).fit(y)
    >>> model.predict_quantiles(1).shape
    (1, 2)
    """

    def __init__(self, quantiles=(0.05, 0.5, 0.95)):
        self.quantiles = quantiles

    @staticmethod
    def _returns(levels: np.ndarray) -> np.ndarray:
        if np.any(levels <= 0):
            raise ValueError(
                "GARCHForecaster models log returns: the series must be positive, "
                f"got a minimum of {levels.min()}"
            )
        return 100.0 * np.diff(np.log(levels))

    def fit(self, y, freq=None):
        """Fit GARCH(1,1)-t by maximum likelihood on ``100 diff(log y)``.

        Degenerate fits are refused: a ``ValueError`` when more than
        ``MAX_ZERO_SHARE`` (half) of the returns are exactly zero (stale or
        tick-rounded prices) or when the fitted mean return lies outside the
        observed returns; a ``ConvergenceWarning`` when ``nu`` ends on its
        lower bound (2.05).

        Parameters
        ----------
        y : pandas.Series or array-like of shape (n,)
            Positive prices, at least ``MIN_RETURNS + 1`` of them.
        freq : str or None
        """
        taus = check_quantiles(self.quantiles)
        arch = _arch()
        levels = self._validate_fit_series(y, freq)
        r = self._returns(levels)
        if r.size < MIN_RETURNS:
            raise ValueError(
                f"GARCHForecaster needs at least {MIN_RETURNS + 1} prices, "
                f"got {levels.size}"
            )
        if np.ptp(r) == 0:
            raise ValueError("the returns are constant; there is nothing to model")
        zero_share = float(np.mean(r == 0))
        if zero_share > MAX_ZERO_SHARE:
            raise ValueError(
                f"{zero_share:.0%} of the returns are exactly zero (stale or "
                "tick-rounded prices); GARCH with a continuous t distribution "
                f"does not suit them (at most {MAX_ZERO_SHARE:.0%} accepted)"
            )
        model = arch.arch_model(
            r, mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False
        )
        with quiet():
            res = model.fit(disp="off", show_warning=False)
        if res.convergence_flag != 0:
            warnings.warn(
                f"the GARCH likelihood maximization did not converge "
                f"(flag {res.convergence_flag})",
                ConvergenceWarning,
                stacklevel=2,
            )
        p = res.params
        self._check_fit(r, float(p["mu"]), float(p["nu"]))
        self.params_ = {
            "mu": float(p["mu"]),
            "omega": float(p["omega"]),
            "alpha": float(p["alpha[1]"]),
            "beta": float(p["beta[1]"]),
            "nu": float(p["nu"]),
        }
        self.loglikelihood_ = float(res.loglikelihood)
        self.quantiles_ = taus
        self.transform_ = make_transform("log_return").fit(levels)
        self.window_ = levels.copy()
        return self

    @staticmethod
    def _check_fit(r: np.ndarray, mu: float, nu: float) -> None:
        """Refuse a mean outside the returns, warn of ``nu`` on its bound."""
        lo, hi = float(r.min()), float(r.max())
        if not lo <= mu <= hi:
            # a constant mean outside every observed return cannot maximize
            # a proper likelihood: the optimizer has run off (typically a
            # series of a few level shifts)
            raise ValueError(
                f"the GARCH fit is degenerate: its mean return mu={mu:.4g} (%) "
                f"lies outside the training returns [{lo:.4g}, {hi:.4g}] (%); "
                "the series (e.g. a few level shifts) does not suit GARCH"
            )
        # relative tolerance: the optimizer stops within ~1e-6 of a bound
        if nu <= NU_LOWER_BOUND * (1 + 1e-3):
            warnings.warn(
                f"the GARCH fit's degrees of freedom nu={nu:.4g} sit at their "
                f"lower bound {NU_LOWER_BOUND}: the tails are not identified "
                "and the quantiles are unreliable",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _garch_window(self, last_window) -> tuple[np.ndarray, object]:
        """The whole window of prices: the variance filter runs over all of it.

        At least ``MIN_RETURNS + 1`` prices, as for :meth:`fit`: the filter
        starts from a backcast of the window's first squared residuals, and a
        few prices give a poor scale.
        """
        return self._window(last_window, need=MIN_RETURNS + 1, whole=True)

    def _moments(self, window: np.ndarray, steps: int):
        """Mean and variance of the sum of the next 1..steps returns."""
        p = self.params_
        r = self._returns(window)
        sigma2 = garch_variance(r - p["mu"], p["omega"], p["alpha"], p["beta"])[-1]
        path = np.empty(steps)
        for h in range(steps):
            path[h] = sigma2
            sigma2 = p["omega"] + (p["alpha"] + p["beta"]) * sigma2
        h = np.arange(1, steps + 1)
        return h * p["mu"], np.cumsum(path)

    def standardized_quantiles(self) -> np.ndarray:
        """Quantiles of the unit-variance t innovation at ``quantiles_``."""
        check_is_fitted(self, "params_")
        nu = self.params_["nu"]
        return stats.t.ppf(self.quantiles_, nu) * np.sqrt((nu - 2.0) / nu)

    def predict_quantiles(self, steps: int = 1, last_window=None) -> pd.DataFrame:
        """Price quantiles for ``h = 1..steps`` (one column per level).

        Parameters
        ----------
        steps : int, default=1
        last_window : pandas.Series, array-like or None
            Prices up to the forecast origin (default: the training series).
            The variance filter starts from the window's first prices (a
            backcast of its first squared residuals) and runs over all of
            it, so the window should be long: a few prices give a poor
            scale. At least ``MIN_RETURNS + 1`` (31) prices are required.

        Returns
        -------
        pandas.DataFrame
            One row per step, one column per level of ``quantiles_``.
        """
        check_is_fitted(self, "params_")
        steps = check_steps(steps)
        window, last = self._garch_window(last_window)
        mean, var = self._moments(window, steps)
        z = self.standardized_quantiles()
        ret = mean[:, None] + np.sqrt(var)[:, None] * z[None, :]
        prices = window[-1] * np.exp(ret / 100.0)
        return pd.DataFrame(
            prices, index=self._future_index(steps, last), columns=list(self.quantiles_)
        )

    def predict(self, steps: int = 1, last_window=None) -> pd.Series:
        """Price path of the conditional mean return, ``y_T exp(h mu / 100)``."""
        check_is_fitted(self, "params_")
        steps = check_steps(steps)
        window, last = self._garch_window(last_window)
        mean, _ = self._moments(window, steps)
        return pd.Series(
            window[-1] * np.exp(mean / 100.0),
            index=self._future_index(steps, last),
            name="y_pred",
        )

    predict_point = predict
