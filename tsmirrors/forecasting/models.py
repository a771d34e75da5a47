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
import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from .._validation import check_nonnegative
from ..data.embedding import _embed
from ..models.baselines import ar1_bias_fit
from ..models.convex import ConvexNetRegressor
from ..models.warm_start import WarmStart
from .base import BaseForecaster, check_quantiles, check_steps

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

#: memory the dense libraries of one fit may take with ``n_features="auto"``
AUTO_MEMORY_BUDGET = 2**30


def _library_choice(model, n_rows: int) -> tuple[int | None, str]:
    """``(n_features, sampling)`` for a fit on ``n_rows`` rows.

    ``n_features="auto"`` keeps the exact library when its dense matrix fits
    :data:`AUTO_MEMORY_BUDGET` (2-layer networks never build it) and
    otherwise samples ``min(10 * n_rows, what fits)`` features per lag,
    with a warning that says so; it also samples when the exact library has
    more than ``10 * n_rows`` features per lag, which would be slow to
    solve. ``sampling="auto"`` is ``"sequential"`` for deep narrow networks
    and ``"uniform"`` for the symmetrized one (where sequential sampling is
    not defined).
    """
    from ..features import library_size

    sampling = model.sampling
    if sampling == "auto":
        sampling = "uniform" if model.architecture == "symmetrized" else "sequential"
    n_features = model.n_features
    if isinstance(n_features, str):
        if n_features != "auto":
            raise ValueError(
                f"n_features must be an int, None or 'auto', got {n_features!r}"
            )
        n_features = None
        two_layer = model.architecture == "deep_narrow" and model.depth == 2
        if not two_layer:
            lags = model._n_lags()
            size = library_size(
                model.activation, model.depth, model.architecture, n_points=n_rows
            )
            fit = AUTO_MEMORY_BUDGET // (8 * n_rows * lags)
            # at most 10 candidates per row: a Lasso that solves in seconds,
            # with enough candidates per point to place the kinks
            cap = max(1, min(int(fit), 10 * n_rows))
            if size > cap:
                n_features = cap
                why = (
                    f"over the memory budget of {AUTO_MEMORY_BUDGET / 2**30:g} GiB"
                    if size > fit
                    else "more than 10 per row"
                )
                warnings.warn(
                    f"{type(model).__name__}: the exact depth-{model.depth} "
                    f"{model.architecture} library on {n_rows} points has "
                    f"{size:,} features per lag, {why}; sampling {n_features:,} "
                    f"features per lag ({sampling}) instead (n_features='auto'; "
                    "pass n_features=K to choose, or None for the exact library)",
                    UserWarning,
                    stacklevel=3,
                )
    return n_features, sampling


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


# ------------------------------------------------------------ network AR
class _NetworkAR(BaseForecaster):
    """Recursive autoregression with a regressor on the lag embedding."""

    def _make_regressor(self, n_rows: int):
        raise NotImplementedError

    def fit(self, y, freq=None):
        """Fit on a Series with a DatetimeIndex (or a 1-D array).

        Parameters
        ----------
        y : pandas.Series or array-like of shape (n,)
        freq : str or None
            Frequency of the timestamps; inferred when None.
        """
        check_nonnegative(self.beta, "beta")
        levels = self._validate_fit_series(y, freq)
        z = self._scaled_target(self._fit_transform(levels))
        X, t = _embed(z, self._n_lags())
        regressor = self._make_regressor(t.size)
        # the embedding is finite float64: skip the estimator's re-validation
        fit = getattr(regressor, "_fit_checked", regressor.fit)
        self.regressor_ = fit(X, t)
        self.n_rows_ = int(t.size)
        self.n_neurons_ = self._count_neurons()
        self._store_window(levels)
        return self

    def _count_neurons(self) -> int:
        """Units of the fitted network with a nonzero output weight."""
        count = getattr(self.regressor_, "n_neurons_", None)
        if count is not None:
            return int(count)
        alpha = self.regressor_.net_.alpha.detach().numpy()
        return int(np.count_nonzero(alpha))

    def predict(self, steps: int = 1, last_window=None) -> pd.Series:
        """Recursive multi-step point forecasts, as levels.

        Each step feeds the previous forecasts back as lags.
        """
        check_is_fitted(self, "regressor_")
        steps = check_steps(steps)
        window, last = self._window(last_window)
        lags = self._n_lags()
        buf = list(self.transform_.forward(window)[-lags:] / self.z_scale_)
        path = np.empty(steps)
        # inputs are validated here, so use the regressor's unchecked evaluation
        # when it has one (this is the hot path of a backtest)
        evaluate = getattr(self.regressor_, "_decision", self.regressor_.predict)
        for h in range(steps):
            x = np.asarray(buf[::-1][:lags])[None, :]
            path[h] = evaluate(x)[0]
            buf.append(path[h])
        levels = self.transform_.path_to_levels(path * self.z_scale_, window[-1])
        return pd.Series(levels, index=self._future_index(steps, last), name="y_pred")

    predict_point = predict

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
        x = np.ascontiguousarray(z[:, ::-1][:, :lags])
        evaluate = getattr(self.regressor_, "_decision", self.regressor_.predict)
        return self.transform_.to_level(evaluate(x) * self.z_scale_, windows[:, -1])


class ConvexAR(_NetworkAR):
    """Convex autoregressive network: the globally optimal AR network.

    Fits ``z_t = f(z_{t-1}, ..., z_{t-p}) + eps_t`` on the transformed series
    ``z`` with ``f`` a 2-layer, deep narrow or symmetrized network trained to
    global optimality through its Lasso, in the Section 4 scaling (4.3).

    Parameters
    ----------
    lags : int, default=1
    activation : str, default="abs"
    depth : int, default=2
    architecture : {"deep_narrow", "symmetrized"}, default="deep_narrow"
    beta : float, default=1.0
        beta of (4.3): ``(1/T) sum r^2 + beta ||z||_1``.
    n_features : int, None or "auto", default="auto"
        Sampled features per lag (None: the exact library). ``"auto"`` uses
        the exact library when it fits in memory (always for 2-layer
        networks) and has at most ``10 n`` features per lag on ``n`` rows,
        and otherwise samples ``min(10 n, what fits)`` features per lag,
        with a warning that says so.
    target : {"difference", "level", "log_return", "standardize"}, default="difference"
    random_state : int, RandomState or None, default=None
    sampling : {"auto", "sequential", "uniform"}, default="auto"
        ``"auto"``: sequential for deep narrow networks, uniform for the
        symmetrized one.
    normalize : bool, default=True
        Divide the transformed series by its training standard deviation
        before fitting, so that ``beta`` does not depend on the price scale.
        ``normalize=False`` with ``target="level"`` is the paper's setting.

    Attributes
    ----------
    regressor_ : ConvexNetRegressor
    objective_ : float
        The value of (4.3) at the optimum.
    n_neurons_ : int
        Neurons of the fitted network (nonzero Lasso coefficients).
    transform_ : TargetTransform
    z_scale_ : float
        The training standard deviation of the transformed series (1.0 with
        ``normalize=False``); the network works on ``z / z_scale_``.

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
        n_features: int | str | None = "auto",
        target: str = DEFAULT_TARGET,
        random_state=None,
        sampling: str = "auto",
        normalize: bool = True,
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

    def _make_regressor(self, n_rows):
        n_features, sampling = _library_choice(self, n_rows)
        return ConvexNetRegressor(
            activation=self.activation,
            depth=self.depth,
            architecture=self.architecture,
            beta=n_rows * self.beta / 2.0,
            n_features=n_features,
            sampling=sampling,
            random_state=self.random_state,
        )

    def to_torch(self):
        """The reconstructed network, on the scale the model was fit on.

        The network does not work on prices. Its input ``k`` (``k = 0 ..
        lags - 1``) is ``z[t - 1 - k] / z_scale_``, where ``z =
        transform_.forward(levels)`` is the transformed series (differences
        by default) and ``z_scale_`` its training standard deviation (1.0
        with ``normalize=False``); its output is the next ``z / z_scale_``.
        The price forecast is
        ``transform_.to_level(net(x) * z_scale_, last_level)``, which is what
        :meth:`predict` computes.

        Returns
        -------
        tsmirrors.nets.MirrorNet
            Its output equals ``regressor_.predict`` on the lag inputs.
        """
        check_is_fitted(self, "regressor_")
        return self.regressor_.to_torch()


class SGDNetAR(_NetworkAR):
    """The same autoregressive network trained by SGD or Adam (baseline).

    Parameters mirror :class:`ConvexAR` plus those of
    :class:`~tsmirrors.models.sgd.SGDNetRegressor`; the objective is the
    same (4.3) scaling, ``beta_sum = T beta / 2``.

    Attributes
    ----------
    n_neurons_ : int
        Units of the trained network with a nonzero output weight.
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
        lr: float | str = "auto",
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
            beta=n_rows * self.beta / 2.0,
            optimizer=self.optimizer,
            lr=self.lr,
            epochs=self.epochs,
            batch_size=self.batch_size,
            random_state=self.random_state,
        )


# --------------------------------------------------------- quantile AR
def _min_calibration_rows(level: float) -> int:
    """Fewest scores whose conformal quantile at ``level`` exists.

    ``ceil((n + 1) level) <= n``, that is ``n >= ceil(1 / (1 - level)) - 1``;
    found with the arithmetic of :func:`_conformal_quantile` itself.
    """
    n = max(1, int(np.floor(level / (1.0 - level))) - 1)
    while int(np.ceil((n + 1) * level)) > n:
        n += 1
    return n


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
    calibration : {None, "conformal"}, default=None
    calibration_size : int or float, default=0.25
        Trailing rows (an int) or fraction of rows (a float in (0, 1)) used
        for calibration. A central interval of coverage ``c`` needs at least
        ``ceil(1 / (1 - c)) - 1`` calibration rows (9 for 0.9, 99 for
        0.99): with fewer, the conformal quantile does not exist and
        :meth:`fit` refuses.

    Attributes
    ----------
    models_ : dict of ConvexNetRegressor
        ``models_[h, j]``: the network of horizon ``h`` and level
        ``quantiles_[j]``.
    n_neurons_ : ndarray of shape (max_horizon, n_quantiles)
        Neurons of each of those networks.
    shifts_ : ndarray of shape (max_horizon, n_quantiles)
        Conformal shifts, on the normalized transformed scale.
    """

    def __init__(
        self,
        quantiles=(0.05, 0.5, 0.95),
        lags: int = 1,
        activation="abs",
        depth: int = 2,
        architecture: str = "deep_narrow",
        beta: float = 1.0,
        n_features: int | str | None = "auto",
        target: str = DEFAULT_TARGET,
        random_state=None,
        sampling: str = "auto",
        max_horizon: int = 1,
        calibration=None,
        calibration_size=0.25,
        normalize: bool = True,
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
        check_nonnegative(self.beta, "beta")
        taus = check_quantiles(self.quantiles)
        max_h = check_steps(self.max_horizon)
        if self.calibration not in (None, "conformal"):
            raise ValueError(
                f"calibration must be None or 'conformal', got {self.calibration!r}"
            )
        levels = self._validate_fit_series(y, freq)
        z = self._scaled_target(self._fit_transform(levels))
        lags = self._n_lags()
        n_rows = z.size - lags - max_h + 1
        if n_rows < 3:
            raise ValueError(
                f"the series is too short for lags={lags} and max_horizon={max_h}"
            )
        start = np.arange(lags, lags + n_rows)
        X = np.column_stack([z[start - k] for k in range(1, lags + 1)])
        n_cal = self._n_calibration(n_rows) if self.calibration else 0
        if n_cal:
            self._check_calibration_rows(taus, n_cal, n_rows)
        n_fit = n_rows - n_cal
        n_features, sampling = _library_choice(self, n_fit)
        self.models_ = {}
        self.shifts_ = np.zeros((max_h, taus.size))
        # the levels of one horizon share the library and re-solve one LP
        # from the previous level's basis (the handle is not kept)
        handle = WarmStart()
        for h in range(1, max_h + 1):
            target = self.transform_.aggregate(z, start, h)
            preds = np.empty((n_cal, taus.size))
            for j, tau in enumerate(taus):
                model = ConvexNetRegressor(
                    activation=self.activation,
                    depth=self.depth,
                    architecture=self.architecture,
                    beta=n_fit * self.beta,
                    loss="quantile",
                    quantile=float(tau),
                    n_features=n_features,
                    sampling=sampling,
                    random_state=self.random_state,
                )._fit_checked(
                    np.ascontiguousarray(X[:n_fit]), target[:n_fit], handle
                )
                self.models_[h, j] = model
                if n_cal:
                    preds[:, j] = model.predict(X[n_fit:])
            if n_cal:
                self.shifts_[h - 1] = self._calibrate(
                    np.sort(preds, axis=1), target[n_fit:], taus
                )
        self.quantiles_ = taus
        self.n_calibration_ = n_cal
        self.n_neurons_ = np.array(
            [
                [self.models_[h, j].n_neurons_ for j in range(taus.size)]
                for h in range(1, max_h + 1)
            ]
        )
        self._store_window(levels)
        return self

    def _check_calibration_rows(self, taus, n_cal: int, n_rows: int) -> None:
        """Refuse a calibration set too small for the conformal quantiles."""
        for tau in taus:
            paired = np.any(np.isclose(taus, 1 - tau)) and not np.isclose(tau, 0.5)
            if paired and tau > 0.5:
                continue
            level = 1 - 2 * tau if paired else float(tau)
            need = _min_calibration_rows(level)
            if n_cal < need:
                what = (
                    f"the central {level:.4g} interval (levels {tau:g} and "
                    f"{1 - tau:g})"
                    if paired
                    else f"the level {tau:g}"
                )
                raise ValueError(
                    f"split-conformal calibration of {what} needs at least "
                    f"ceil(1 / (1 - {level:.4g})) - 1 = {need} calibration rows, "
                    f"got {n_cal} (calibration_size={self.calibration_size!r} of "
                    f"{n_rows} rows); fit on a longer series, raise "
                    "calibration_size, lower the coverage, or use "
                    "calibration=None"
                )

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
