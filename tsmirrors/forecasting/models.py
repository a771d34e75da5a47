"""Forecasters: convex autoregressive networks, their quantile version, baselines.

All follow :class:`~tsmirrors.forecasting.base.BaseForecaster`.

Scaling. :class:`ConvexAR` uses the Section 4 objective (4.3),
``(1/T) sum_t L(f(x_t) - x_{t+1}) + (beta/L~) ||theta_w||^{L~}`` with
``L(r) = r^2``, which equals the Lasso ``(1/T) sum (A z + xi - y)^2 +
beta ||z||_1``. In the sum convention of
:class:`~tsmirrors.models.ConvexNetRegressor` (``1/2 sum r^2``) that is
``beta_sum = T beta / 2``; for the pinball loss of
:class:`ConvexQuantileAR`, ``(1/T) sum L_tau + beta ||z||_1`` gives
``beta_sum = T beta``.

Several lags. With ``lags=p > 1`` the network is the additive network
``f(x_{t-1}, ..., x_{t-p}) = xi + sum_k f_k(x_{t-k})`` of 1-D parallel units,
one 1-D library per lag; the Lasso over the concatenated libraries is still
exactly the training problem of that network.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.utils.validation import check_is_fitted

from ..data.embedding import _embed
from ..models.baselines import ar1_bias_fit
from ..models.convex import ConvexNetRegressor
from .autofit import lags_in_use, resolve_settings
from .base import BaseForecaster, check_quantiles, check_steps
from .direct import check_strategy, fit_direct, predict_direct
from .exog import check_exog, future_exog

__all__ = [
    "AR1Forecaster",
    "ConvexAR",
    "ConvexQuantileAR",
    "NaiveForecaster",
    "SGDNetAR",
    "DEFAULT_TARGET",
]

#: Default target transform, chosen by a backtest on the shared BTC data
#: (see the README, "Choosing the target transform").
DEFAULT_TARGET = "difference"


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
            agg = mean + sd * stats.norm.ppf(self.quantiles_)
            rows.append(self.transform_.to_level(agg, window[-1]))
        return pd.DataFrame(
            rows, index=self._future_index(steps, last), columns=list(self.quantiles_)
        )


# ------------------------------------------------------------ network AR
class _NetworkAR(BaseForecaster):
    """Recursive autoregression with a regressor on the lag embedding."""

    def _make_regressor(self, n_rows: int):
        raise NotImplementedError

    def _selection_regressor(self):
        """Factory of the regressor that cross-validation uses (None: no 'auto')."""
        return None

    def fit(self, y, freq=None, exog=None):
        """Fit on a Series with a DatetimeIndex (or a 1-D array).

        Parameters
        ----------
        y : pandas.Series or array-like of shape (n,)
        freq : str or None
            Frequency of the timestamps; inferred when None.
        exog : pandas.DataFrame or array-like of shape (n, k), default=None
            Future-known inputs, one row per value of ``y``
            (:mod:`tsmirrors.forecasting.exog`).
        """
        self.__dict__.pop("lags_", None)
        levels = self._validate_fit_series(y, freq)
        E, self.exog_columns_ = (None, []) if exog is None else check_exog(
            exog, y, levels.size)
        self.n_exog_ = len(self.exog_columns_)
        resolve_settings(self, levels, regressor_factory=self._selection_regressor(),
                         exog=E)
        z = self._scaled_target(self._fit_transform(levels, self.target_))
        X, t = _embed(z, self._n_lags())
        X = np.ascontiguousarray(X[:, self.lags_ - 1])
        if E is not None:  # each row's exog at its target's time
            pos = np.arange(t.size) + self._n_lags() + self.transform_.offset
            X = np.hstack([X, E[pos]])
        regressor = self._make_regressor(t.size)
        # the embedding is finite float64: skip the estimator's re-validation
        fit = getattr(regressor, "_fit_checked", regressor.fit)
        self.regressor_ = fit(X, t)
        self.n_rows_ = int(t.size)
        self.lags_in_use_ = lags_in_use(self.regressor_, self.lags_)
        if check_strategy(self)[0] == "direct":
            if self.n_exog_:
                raise ValueError("strategy='direct' does not take exog")
            self.direct_models_ = fit_direct(self, z, check_strategy(self)[1])
        self._store_window(levels)
        return self

    def predict(self, steps: int = 1, last_window=None, exog=None) -> pd.Series:
        """Recursive multi-step point forecasts, as levels.

        Each step feeds the previous forecasts back as lags. A model fit with
        ``exog`` needs its rows for the ``steps`` forecast times.
        """
        check_is_fitted(self, "regressor_")
        steps = check_steps(steps)
        window, last = self._window(last_window)
        E = None
        if getattr(self, "n_exog_", 0):
            E = future_exog(self, exog, steps, self._exog_index(steps, last))
        if getattr(self, "strategy", "recursive") == "direct":
            levels = predict_direct(self, window, steps)
            return pd.Series(levels, index=self._future_index(steps, last),
                             name="y_pred")
        lags = self._n_lags()
        idx = self.lags_ - 1
        buf = list(self.transform_.forward(window)[-lags:] / self.z_scale_)
        path = np.empty(steps)
        # inputs are validated here, so use the regressor's unchecked evaluation
        # when it has one (this is the hot path of a backtest)
        evaluate = getattr(self.regressor_, "_decision", self.regressor_.predict)
        for h in range(steps):
            x = np.asarray(buf[::-1])[idx][None, :]
            if E is not None:
                x = np.hstack([x, E[h : h + 1]])
            path[h] = evaluate(x)[0]
            buf.append(path[h])
        levels = self.transform_.path_to_levels(path * self.z_scale_, window[-1])
        return pd.Series(levels, index=self._future_index(steps, last), name="y_pred")

    predict_point = predict

    def _exog_index(self, steps, last):
        return self._future_index(steps, last) if isinstance(
            last, pd.Timestamp) else None

    @property
    def objective_(self) -> float:
        """Training objective in the Section 4 scaling (4.3)."""
        check_is_fitted(self, "regressor_")
        return self.regressor_.objective_ * 2.0 / self.n_rows_

    def predict_one_step(self, windows) -> np.ndarray:
        """One-step forecasts from many origins at once (no refit).

        Parameters
        ----------
        windows : array-like of shape (n_origins, window_length)
            Each row holds the most recent observed levels before an origin,
            oldest first; only the last ``lags`` (+1 for differences) are used.

        Returns
        -------
        ndarray of shape (n_origins,)
            The same values as ``predict(1, last_window=row)`` for every row.
        """
        check_is_fitted(self, "regressor_")
        if getattr(self, "n_exog_", 0):
            raise ValueError("a model fit with exog forecasts through predict(exog=)")
        windows = np.asarray(windows, dtype=np.float64)
        lags = self._n_lags()
        need = lags + self.transform_.offset
        if windows.ndim != 2 or windows.shape[1] < need:
            raise ValueError(
                f"windows must have shape (n_origins, >= {need}), got {windows.shape}"
            )
        if not np.all(np.isfinite(windows[:, -need:])):
            raise ValueError("windows contain NaN or inf")
        z = self.transform_.forward(windows[:, -need:]) / self.z_scale_
        x = np.ascontiguousarray(z[:, ::-1][:, self.lags_ - 1])
        evaluate = getattr(self.regressor_, "_decision", self.regressor_.predict)
        return self.transform_.to_level(evaluate(x) * self.z_scale_, windows[:, -1])


class ConvexAR(_NetworkAR):
    """Convex autoregressive network: the globally optimal AR network.

    Fits ``z_t = f(z_{t-1}, ..., z_{t-p}) + eps_t`` on the transformed series
    ``z`` with ``f`` a 2-layer, deep narrow or symmetrized network trained to
    global optimality through its Lasso, in the Section 4 scaling (4.3).

    Parameters
    ----------
    lags : int, list of int or "auto", default=1
        ``p`` (lags 1..p), a list of lags such as ``[1, 2, 24]`` (one 1-D
        library per lag: the additive network), or ``"auto"``: lags 1..10
        plus ``seasonal_period``, the cross-validated Lasso choosing among
        them (``lags_in_use_``).
    activation : str, default="abs"
    depth : int, default=2
    architecture : {"deep_narrow", "symmetrized"}, default="deep_narrow"
    beta : float or "auto", default=1.0
        beta of (4.3): ``(1/T) sum r^2 + beta ||z||_1``. ``"auto"`` chooses
        it by rolling-origin cross-validation on the exact path
        (:mod:`tsmirrors.forecasting.selection`).
    n_features : int or None, default=None
        Sampled features per lag (None: the exact library).
    target : {"difference", "level", "log_return", "standardize", "auto"}, \
default="difference"
        ``"auto"`` picks among level, difference (and log_return for a
        positive series) by the cross-validation folds, in original units.
    random_state : int, RandomState or None, default=None
    sampling : {"sequential", "uniform"}, default="sequential"
    normalize : bool, default=True
        Divide the transformed series by its training standard deviation
        before fitting, so that ``beta`` does not depend on the price scale.
        ``normalize=False`` with ``target="level"`` is the paper's setting.
    seasonal_period : int or None, default=None
        Added to the lags (to ``1..p`` for an int, to the candidates of
        ``"auto"``).
    cv : int, default=3
        Rolling-origin validation blocks (the last 20% of the window).
    cv_gap : int, default=0
        Rows left out between each fold's training rows and its block.
    cv_rule : {"min", "1se"}, default="min"
        Lowest mean validation loss, or the sparsest network within one
        standard error of it.
    strategy : {"recursive", "direct"}, default="recursive"
        Multi-step forecasts by feeding forecasts back, or by one network
        per horizon up to ``max_horizon`` (:mod:`tsmirrors.forecasting.direct`).
    max_horizon : int or None, default=None
        Largest ``steps`` of a direct model (required with "direct").

    Attributes
    ----------
    beta_, target_ : float, str
        The settings used (chosen ones when "auto").
    lags_, lags_in_use_ : ndarray of int
        The model's lags, and those with at least one neuron.
    cv_results_ : dict
        With any "auto" setting: ``betas``, ``mean_loss``, ``std_loss``,
        ``fold_loss``, ``neurons``, ``target_scores``
        (see :func:`~tsmirrors.forecasting.selection.plot_cv_results`).
    regressor_ : ConvexNetRegressor
    objective_ : float
        The value of (4.3) at the optimum.
    transform_ : TargetTransform

    Examples
    --------
    >>> from tsmirrors.data import make_planted
    >>> from tsmirrors.forecasting import ConvexAR
    >>> y = make_planted(300, random_state=0).series
    >>> model = ConvexAR(target="level", beta=1e-3).fit(y)
    >>> model.predict(3).shape
    (3,)
    """

    def __init__(
        self,
        lags: int = 1,
        activation="abs",
        depth: int = 2,
        architecture: str = "deep_narrow",
        beta: float = 1.0,
        n_features: int | None = None,
        target: str = DEFAULT_TARGET,
        random_state=None,
        sampling: str = "sequential",
        normalize: bool = True,
        seasonal_period: int | None = None,
        cv: int = 3,
        cv_gap: int = 0,
        cv_rule: str = "min",
        strategy: str = "recursive",
        max_horizon: int | None = None,
    ):
        self.lags = lags
        self.activation = activation
        self.depth = depth
        self.architecture = architecture
        self.beta = beta
        self.n_features = n_features
        self.target = target
        self.random_state = random_state
        self.sampling = sampling
        self.normalize = normalize
        self.seasonal_period = seasonal_period
        self.cv = cv
        self.cv_gap = cv_gap
        self.cv_rule = cv_rule
        self.strategy = strategy
        self.max_horizon = max_horizon

    def _selection_regressor(self):
        return lambda: self._make_regressor_at(1.0)

    def _make_regressor(self, n_rows):
        return self._make_regressor_at(n_rows * self.beta_ / 2.0)

    def _make_regressor_at(self, beta_sum):
        return ConvexNetRegressor(
            activation=self.activation,
            depth=self.depth,
            architecture=self.architecture,
            beta=beta_sum,
            n_features=self.n_features,
            sampling=self.sampling,
            random_state=self.random_state,
        )

    def to_torch(self):
        """The reconstructed network on the transformed lag inputs."""
        check_is_fitted(self, "regressor_")
        return self.regressor_.to_torch()


class SGDNetAR(_NetworkAR):
    """The same autoregressive network trained by SGD or Adam (baseline).

    Parameters mirror :class:`ConvexAR` plus those of
    :class:`~tsmirrors.models.sgd.SGDNetRegressor`; the objective is the
    same (4.3) scaling, ``beta_sum = T beta / 2``.
    """

    def __init__(
        self,
        lags: int = 1,
        activation="abs",
        depth: int = 2,
        architecture: str = "deep_narrow",
        beta: float = 1.0,
        n_neurons: int = 200,
        optimizer: str = "sgd",
        lr: float = 0.05,
        epochs: int = 100,
        batch_size: int | None = None,
        target: str = DEFAULT_TARGET,
        random_state=None,
        normalize: bool = True,
    ):
        self.lags = lags
        self.activation = activation
        self.depth = depth
        self.architecture = architecture
        self.beta = beta
        self.n_neurons = n_neurons
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.target = target
        self.random_state = random_state
        self.normalize = normalize

    def _make_regressor(self, n_rows):
        from ..models.sgd import SGDNetRegressor

        return SGDNetRegressor(
            architecture=self.architecture,
            activation=self.activation,
            depth=self.depth,
            n_neurons=self.n_neurons,
            beta=n_rows * self.beta_ / 2.0,
            optimizer=self.optimizer,
            lr=self.lr,
            epochs=self.epochs,
            batch_size=self.batch_size,
            random_state=self.random_state,
        )


# --------------------------------------------------------- quantile AR
def _conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ceil((n + 1) level)-th smallest score (inf when it does not exist)."""
    n = scores.size
    k = int(np.ceil((n + 1) * level))
    if k > n:
        return np.inf
    if k < 1:
        return -np.inf
    return float(np.sort(scores)[k - 1])


class ConvexQuantileAR(BaseForecaster):
    """Convex quantile autoregression with non-crossing, calibrated quantiles.

    For each level tau and each horizon ``h = 1..max_horizon`` a network is
    fit to the h-step aggregate of the transformed series (a *direct*
    model): the pinball loss ``(1/T) sum L_tau(y - f) + beta ||z||_1``
    solved exactly as a quantile Lasso. Multi-step quantiles are therefore
    honest quantiles of the h-step-ahead value, not a recursion of one-step
    quantiles.

    Quantiles never cross: at every prediction the levels are sorted across
    tau (monotone rearrangement, which never increases the pinball loss of
    the set). With ``calibration="conformal"`` the last ``calibration_size``
    rows are held out of the fit and used for split-conformal calibration
    (CQR): symmetric pairs ``(tau, 1 - tau)`` are widened by the conformal
    quantile of ``max(q_lo - y, y - q_hi)``, other levels shifted by the
    conformal quantile of ``y - q_tau``.

    Parameters
    ----------
    quantiles : sequence of float, default=(0.05, 0.5, 0.95)
    lags, activation, depth, architecture, beta, n_features, target,
    random_state, sampling, normalize
        As in :class:`ConvexAR`.
    max_horizon : int, default=1
        Largest ``steps`` that :meth:`predict` accepts (one model per step).
    seasonal_period, cv, cv_gap, cv_rule
        As in :class:`ConvexAR`. With ``beta="auto"`` one beta is chosen for
        every level and horizon, by the mean one-step pinball loss over the
        levels on a warm-started geometric grid
        (:mod:`tsmirrors.forecasting.selection`).
    calibration : {None, "conformal"}, default=None
    calibration_size : int or float, default=0.25
        Trailing rows (an int) or fraction of rows (a float in (0, 1)) used
        for calibration.
    """

    def __init__(
        self,
        quantiles=(0.05, 0.5, 0.95),
        lags: int = 1,
        activation="abs",
        depth: int = 2,
        architecture: str = "deep_narrow",
        beta: float = 1.0,
        n_features: int | None = None,
        target: str = DEFAULT_TARGET,
        random_state=None,
        sampling: str = "sequential",
        max_horizon: int = 1,
        calibration=None,
        calibration_size=0.25,
        normalize: bool = True,
        seasonal_period: int | None = None,
        cv: int = 3,
        cv_gap: int = 0,
        cv_rule: str = "min",
    ):
        self.quantiles = quantiles
        self.lags = lags
        self.activation = activation
        self.depth = depth
        self.architecture = architecture
        self.beta = beta
        self.n_features = n_features
        self.target = target
        self.random_state = random_state
        self.sampling = sampling
        self.max_horizon = max_horizon
        self.calibration = calibration
        self.calibration_size = calibration_size
        self.normalize = normalize
        self.seasonal_period = seasonal_period
        self.cv = cv
        self.cv_gap = cv_gap
        self.cv_rule = cv_rule

    def _n_calibration(self, n_rows: int) -> int:
        size = self.calibration_size
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            n_cal = int(size)
        elif isinstance(size, numbers.Real) and 0 < size < 1:
            n_cal = int(round(size * n_rows))
        else:
            raise ValueError(
                f"calibration_size must be an int or a fraction in (0, 1), got {size!r}"
            )
        if not 10 <= n_cal <= n_rows - 10:
            raise ValueError(
                f"calibration_size gives {n_cal} calibration rows out of {n_rows}; "
                "at least 10 are needed for calibration and for the fit"
            )
        return n_cal

    def fit(self, y, freq=None):
        """Fit one quantile network per level and horizon (and calibrate)."""
        taus = check_quantiles(self.quantiles)
        max_h = check_steps(self.max_horizon)
        if self.calibration not in (None, "conformal"):
            raise ValueError(
                f"calibration must be None or 'conformal', got {self.calibration!r}"
            )
        self.__dict__.pop("lags_", None)
        levels = self._validate_fit_series(y, freq)
        resolve_settings(
            self, levels, loss="quantile", taus=taus,
            regressor_factory=lambda: ConvexNetRegressor(
                activation=self.activation, depth=self.depth,
                architecture=self.architecture, loss="quantile",
                n_features=self.n_features, sampling=self.sampling,
                random_state=self.random_state,
            ),
        )
        z = self._scaled_target(self._fit_transform(levels, self.target_))
        lags = self._n_lags()
        n_rows = z.size - lags - max_h + 1
        if n_rows < 3:
            raise ValueError(
                f"the series is too short for lags={lags} and max_horizon={max_h}"
            )
        start = np.arange(lags, lags + n_rows)
        X = np.column_stack([z[start - k] for k in self.lags_])
        n_cal = self._n_calibration(n_rows) if self.calibration else 0
        n_fit = n_rows - n_cal
        self.models_ = {}
        self.shifts_ = np.zeros((max_h, taus.size))
        for h in range(1, max_h + 1):
            target = self.transform_.aggregate(z, start, h)
            preds = np.empty((n_cal, taus.size))
            for j, tau in enumerate(taus):
                model = ConvexNetRegressor(
                    activation=self.activation,
                    depth=self.depth,
                    architecture=self.architecture,
                    beta=n_fit * self.beta_,
                    loss="quantile",
                    quantile=float(tau),
                    n_features=self.n_features,
                    sampling=self.sampling,
                    random_state=self.random_state,
                )._fit_checked(np.ascontiguousarray(X[:n_fit]), target[:n_fit])
                self.models_[h, j] = model
                if n_cal:
                    preds[:, j] = model.predict(X[n_fit:])
            if n_cal:
                self.shifts_[h - 1] = self._calibrate(
                    np.sort(preds, axis=1), target[n_fit:], taus
                )
        self.quantiles_ = taus
        self.lags_in_use_ = np.unique(np.concatenate(
            [lags_in_use(m, self.lags_) for m in self.models_.values()]
        )).astype(np.intp)
        self.n_calibration_ = n_cal
        self._store_window(levels)
        return self

    @staticmethod
    def _calibrate(q: np.ndarray, y: np.ndarray, taus: np.ndarray) -> np.ndarray:
        shifts = np.zeros(taus.size)
        done = np.zeros(taus.size, dtype=bool)
        for j, tau in enumerate(taus):
            if done[j]:
                continue
            partner = np.flatnonzero(np.isclose(taus, 1 - tau))
            if tau < 0.5 and partner.size:
                k = partner[0]
                scores = np.maximum(q[:, j] - y, y - q[:, k])
                width = _conformal_quantile(scores, 1 - 2 * tau)
                shifts[j], shifts[k] = -width, width
                done[[j, k]] = True
            elif not (tau > 0.5 and np.any(np.isclose(taus, 1 - tau))):
                shifts[j] = _conformal_quantile(y - q[:, j], tau)
                done[j] = True
        return shifts

    def predict_quantiles(self, steps: int = 1, last_window=None) -> pd.DataFrame:
        """Quantile forecasts for ``h = 1..steps`` as levels (one column per tau)."""
        check_is_fitted(self, "models_")
        steps = check_steps(steps)
        if steps > self.max_horizon:
            raise ValueError(
                f"steps={steps} exceeds max_horizon={self.max_horizon}; refit with "
                f"max_horizon={steps} (one direct model per step)"
            )
        window, last = self._window(last_window)
        x = self._lag_row(window)[None, :]
        rows = []
        for h in range(1, steps + 1):
            q = np.array(
                [
                    self.models_[h, j]._decision(x)[0]
                    for j in range(self.quantiles_.size)
                ]
            )
            q = np.sort(q) + self.shifts_[h - 1]
            q = np.sort(q)
            rows.append(self.transform_.to_level(q * self.z_scale_, window[-1]))
        return pd.DataFrame(
            rows, index=self._future_index(steps, last), columns=list(self.quantiles_)
        )

    def predict(self, steps: int = 1, last_window=None) -> pd.DataFrame:
        """Same as :meth:`predict_quantiles`: a DataFrame, one column per quantile."""
        return self.predict_quantiles(steps, last_window=last_window)

    def predict_point(self, steps: int = 1, last_window=None) -> pd.Series:
        """The median forecast (or the middle quantile level)."""
        q = self.predict_quantiles(steps, last_window=last_window)
        levels = np.asarray(q.columns, dtype=float)
        col = q.columns[int(np.argmin(np.abs(levels - 0.5)))]
        return q[col].rename("y_pred")
