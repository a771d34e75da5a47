"""Scale-adaptive quantile autoregression: intervals that follow volatility.

:class:`ScaledQuantileAR` forecasts the quantiles of the next change
``z_{t}`` (a price difference or log return) as

    q_tau(z_t | past) = sigma_t * f_tau(x_t),

where ``sigma_t`` is a volatility estimate known at ``t`` (it uses only
``z_s`` for ``s < t``) and ``f_tau`` is a convex quantile network (the
additive network of :class:`~tsmirrors.models.ConvexNetRegressor` with
``loss="quantile"``) on the standardized inputs

    x_t = (z_{t-1} / sigma_t, ..., z_{t-p} / sigma_t,
           |z_{t-1}| / sigma_t, ..., |z_{t-p}| / sigma_t).

The location is the networks' intercepts (in units of ``sigma_t``). Lagged
absolute changes let volatility clustering beyond ``sigma_t`` enter as
inputs. Each level is one exact convex problem, the pinball-loss Lasso over
the library of the inputs, solved to optimality by the LP quantile solver;
``sigma_t`` is a closed-form filter (``"ewma"``) or one exact squared Lasso
(``"convex"``). Quantiles never
cross: at every prediction the levels are sorted (monotone rearrangement,
which never increases the pinball loss of the set), and ``sigma_t > 0``
keeps that order in price units.

Volatility models (``volatility``):

- ``"ewma"``: exponentially weighted mean of the past squared changes
  (``ewma_power=2``, the default, as RiskMetrics) or of the absolute
  changes (``ewma_power=1``), ``sigma_t^p = sum_{s<t} lambda^{t-1-s} |z_s|^p /
  sum_{s<t} lambda^{t-1-s}`` (normalized weights, so that no starting
  value is needed), with ``decay = lambda``, optionally mixed with the
  training mean, ``(1 - w) sigma_t^p + w mean(|z|^p)`` (``long_run = w``,
  a level the scale reverts to, like GARCH's ``omega``);
- ``"convex"``: a convex network of trailing means of past ``|z|``, fit
  exactly as a squared Lasso (the homotopy's optimum), floored to stay
  positive (:mod:`~tsmirrors.forecasting.scale_models`);
- ``None``: a constant scale, the training standard deviation of ``z``.

Periodic factor (``periodic``, with ``"ewma"``; Andersen and Bollerslev,
1997): the changes are divided by ``s_phase(t)``, the shrunk training RMS
of the changes of ``t``'s phase (e.g. its hour of day) over the overall one,
before the EWMA, and ``sigma_t = s_phase(t)`` times the scale above of the
deseasonalized changes (:mod:`~tsmirrors.forecasting.periodic`).

Settings of the scale (``decay="auto"``, ``periodic="auto"``,
``scale_beta="auto"``) are chosen
at every fit by a cross-validation on rolling folds of the training rows
only (:func:`~tsmirrors.forecasting.scale_models.cv_scale`).

The scale is recomputed from the newest observations at every forecast
origin, also between refits, so intervals widen right after large moves.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ..models.convex import ConvexNetRegressor
from ..models.warm_start import WarmStart
from .base import BaseForecaster, check_quantiles, check_steps
from .calibration import AdaptiveConformal
from .periodic import (
    auto_period,
    cv_ewma,
    deseasonalized,
    fit_periodic_factor,
    phases_of,
)
from .scale_models import (
    convex_scale,
    cv_scale,
    ewma_volatility,
    fit_convex_scale,
)
from .scaled_state import (
    BURN_IN,  # noqa: F401  (re-exported: the burn-in of the scale)
    MIN_ROWS,
    SCALED_TARGETS,  # noqa: F401  (re-exported)
    VOLATILITIES,  # noqa: F401  (re-exported)
    check_params,
    check_scaled_lags,
    cv_beta,
    first_row,
    fitted_state_from_params,
    min_fit_size,
)

__all__ = [
    "TUNABLE_PARAMS",
    "ScaledLinearQuantileAR",
    "ScaledQuantileAR",
    "ewma_volatility",
]

#: Grids of the settings that ``"auto"`` chooses by cross-validation (the
#: pinball loss of filtered historical simulation on rolling folds of the
#: training rows, :func:`~tsmirrors.forecasting.scale_models.cv_scale`), and
#: of ``beta``, which a caller may tune with ``set_params``.
TUNABLE_PARAMS = {
    "beta": (1e-1, 3e-2, 1e-2, 3e-3, 1e-3),
    "decay": (0.9, 0.94, 0.97, 0.985),
    "long_run": (0.0, 0.1, 0.2, 0.3),
    "scale_beta": (2e-2, 2e-3, 2e-4),
}


class ScaledQuantileAR(BaseForecaster):
    """Quantiles of the next change as ``sigma_t`` times a quantile network.

    See the module docstring for the model. One step ahead
    (``steps=1``) only: the scale is a one-step forecast.

    Parameters
    ----------
    quantiles : sequence of float, default=(0.05, 0.5, 0.95)
    lags : int or list of int, default=1
        The lagged changes and lagged absolute changes in the inputs: ``p``
        for lags ``1..p``, or a list of lags such as ``[1, 24]``.
    volatility : {"ewma", "convex", None}, default="ewma"
        The scale model (module docstring and
        :mod:`~tsmirrors.forecasting.scale_models`).
    decay : float or "auto", default="auto"
        EWMA decay ``lambda`` (0.94 is RiskMetrics' value for daily data);
        ``"auto"`` chooses it from ``TUNABLE_PARAMS["decay"]`` at every fit by
        the cross-validation of
        :func:`~tsmirrors.forecasting.scale_models.cv_scale` (training rows
        only).
    long_run : float or "auto", default="auto"
        ``w`` of ``sigma_t^p = (1 - w) ewma_t^p + w v``, ``v`` the training
        mean of ``|z|^p`` (``p = ewma_power``): the scale reverts towards a
        long-run level (GARCH's ``omega``). ``"auto"`` chooses it from
        ``TUNABLE_PARAMS["long_run"]`` (jointly with ``decay`` when both are
        ``"auto"``).
    ewma_power : {1, 2}, default=2
        ``volatility="ewma"``: the EWMA averages squared changes (2,
        RiskMetrics) or absolute changes (1). Absolute changes give the
        steadier scale: one extreme change moves it less, and their
        autocorrelation is more persistent (Ding, Granger and Engle, 1993).
        On hourly BTC they lowered the pinball loss before the benchmark's
        hourly test periods and tied in them, and the width follows realized
        volatility less closely (README, "Value-at-risk intervals"). The
        periodic factor stays a root mean square. Only with
        ``volatility="ewma"``.
    periodic : "auto", None or int, default=None
        ``volatility="ewma"``: the period ``P`` of a periodic volatility
        factor (module docstring), in steps of the series. ``"auto"``: 24 for
        hourly timestamps (the hour of day), 7 for daily ones (the day of
        week), and the cross-validation chooses between that factor and
        none, jointly with ``decay`` and ``long_run``; no factor for other
        series (plain arrays included). An integer ``P`` always uses it; the
        phase comes from the labels (positions for a plain array,
        :mod:`~tsmirrors.forecasting.periodic`), so that with a factor
        ``predict(last_window=...)`` needs a pandas Series.
    scale_windows : sequence of int, default=(1, 5, 25)
        ``volatility="convex"``: the trailing means of ``|z|`` (over the last
        ``k`` changes) that the scale network reads.
    scale_beta : float or "auto", default=2e-3
        ``volatility="convex"``: penalty of the scale network's squared Lasso
        in the (4.3) scaling, on ``|z|`` in units of its training mean;
        ``"auto"`` chooses it from ``TUNABLE_PARAMS["scale_beta"]`` like
        ``decay``.
    scale_features : int or None, default=20
        ``volatility="convex"``: library features per input of the scale
        network (None: the exact library).
    beta : float or "auto", default=0.01
        Penalty of ``(1/T) sum L_tau(u - f) + beta ||z||_1`` on the
        standardized target ``u_t = z_t / sigma_t``. The default was
        chosen on a holdout of the daily BTC series: at 0.01 the tails keep
        few or no neurons (the scale does the work) and the median a few.
        ``"auto"`` chooses it from ``TUNABLE_PARAMS["beta"]`` at every fit:
        the networks are fit on the training rows before the scale's first
        validation block and scored by their pinball loss on the rest
        (``beta_cv_results_``); it costs several fits.
    activation : str, default="abs"
    n_features : int or None, default=20
        Library features per input column, taken at data points
        (``sampling``); None uses the exact library (every data point a
        knot: the global optimum over all networks, much slower).
    sampling : {"sequential", "uniform"}, default="sequential"
    target : {"log_return", "difference"}, default="log_return"
        Changes ``z`` as log returns (the series must be positive; a scale
        of returns does not drift with the price level) or differences.
    calibration : {None, "adaptive"}, default=None
        ``"adaptive"``: a backtest recalibrates the quantiles online with
        adaptive conformal inference (:meth:`online_calibrator`), its
        ``y_pred`` (the level nearest 0.5) included; fitting and single
        forecasts are unchanged.
    adaptation_rate : float, default=0.005
        ``gamma`` of adaptive conformal inference.
    random_state : int, RandomState or None, default=0
        Seed of the sampled library features; fixed by default so that
        forecasts are reproducible (None draws new features at every fit).

    Attributes
    ----------
    models_ : list of ConvexNetRegressor
        One quantile network per level, on the standardized inputs.
    quantiles_ : ndarray
    lags_ : ndarray of int
        The lags of the inputs.
    volatility_ : {"ewma", "convex", None}
        The scale model of the fit (forecasts use it, not the parameter).
    scale_windows_ : tuple of int
        The trailing means of the scale network (``volatility="convex"``).
    sigma_ : float
        The scale of the next change after the training series.
    decay_, long_run_ : float
        ``volatility="ewma"``: the decay and long-run weight in use (chosen
        with ``"auto"``).
    ewma_power_ : int
        The power of ``|z|`` the EWMA averages.
    long_run_var_ : float
        ``volatility="ewma"``: ``v``, the training mean of ``|z|^p``
        (``p = ewma_power_``; of the deseasonalized changes with a periodic
        factor).
    period_ : int or None
        The period of the periodic factor in use (None: no factor).
    periodic_factor_ : ndarray of shape (period_,) or None
        ``s_p`` of each phase ``p``, estimated on the training rows.
    scale_model_ : ConvexNetRegressor
        ``volatility="convex"``: the scale network, on inputs and target in
        units of ``scale_unit_`` (the training mean of ``|z|``), with
        ``scale_upper_`` the largest training input of each column.
    scale_beta_ : float
        ``volatility="convex"``: its penalty (chosen with ``"auto"``).
    beta_ : float
        The penalty in use (chosen with ``beta="auto"``).
    beta_cv_results_ : dict or None
        With ``beta="auto"``: its ``grid``, the validation pinball loss of
        each candidate (``mean_pinball``), the chosen ``best`` and the
        ``rows`` (fit stop, validation start and stop); else None.
    cv_results_ : dict or None
        With ``decay``, ``long_run``, ``periodic`` (on hourly or daily
        timestamps) or ``scale_beta`` ``"auto"``: the setting
        (``param``), its ``grid``, the validation pinball loss per
        candidate and fold (``fold_pinball``) and its mean
        (``mean_pinball``), the folds' rows and the chosen value
        (``best``); else None. A searched ``periodic`` is the first
        entry of each candidate, 0 standing for no factor.
    n_rows_ : int
        Training rows (after the burn-in of the scale and the lags).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = 100 + np.cumsum(rng.standard_normal(200))
    >>> model = ScaledQuantileAR(quantiles=(0.1, 0.9)).fit(y)
    >>> model.predict_quantiles(1).shape
    (1, 2)
    """

    #: Whether ``beta="auto"`` is cross-validated (the linear baseline has none).
    _tunes_beta = True

    def __init__(
        self,
        quantiles=(0.05, 0.5, 0.95),
        lags: int = 1,
        volatility="ewma",
        decay: float | str = "auto",
        long_run: float | str = "auto",
        ewma_power: int = 2,
        periodic=None,
        scale_windows=(1, 5, 25),
        scale_beta: float | str = 2e-3,
        scale_features: int | None = 20,
        beta: float = 0.01,
        activation="abs",
        n_features: int | None = 20,
        sampling: str = "sequential",
        target: str = "log_return",
        calibration=None,
        adaptation_rate: float = 0.005,
        random_state=0,
    ):
        self.quantiles = quantiles
        self.lags = lags
        self.volatility = volatility
        self.decay = decay
        self.long_run = long_run
        self.ewma_power = ewma_power
        self.periodic = periodic
        self.scale_windows = scale_windows
        self.scale_beta = scale_beta
        self.scale_features = scale_features
        self.beta = beta
        self.activation = activation
        self.n_features = n_features
        self.sampling = sampling
        self.target = target
        self.calibration = calibration
        self.adaptation_rate = adaptation_rate
        self.random_state = random_state

    # ----------------------------------------------------------- helpers
    def _check_params(self):
        check_params(self)

    def _first_row(self) -> int:
        """First training row: after the lags and the scale's burn-in."""
        return first_row(self.lags_, self.volatility_, self.scale_windows_)

    def _min_fit_size(self) -> int:
        """Fewest levels :meth:`fit` accepts (:func:`min_fit_size`)."""
        return min_fit_size(self)

    _fitted_state_from_params = staticmethod(fitted_state_from_params)

    def _phases(self, n: int, last, period=None):
        """Phases of ``n`` changes ending at the label ``last``, and the next."""
        period = getattr(self, "period_", None) if period is None else period
        return phases_of(last, n, period, self.freq_, self.index_step_)

    def _scales(self, z: np.ndarray, phases=None, decay=None, long_run=None,
                long_run_var=None, factor="fitted") -> np.ndarray:
        """``sigma[t]`` for ``t = 0..n`` (entry ``n``: the next change).

        ``phases`` (:meth:`_phases`) index the periodic ``factor`` (default
        the fitted one; None: no factor). ``decay``, ``long_run``,
        ``long_run_var`` and ``factor`` override the fitted ones
        (cross-validation candidates).
        """
        if self.volatility_ is None:
            return np.full(z.size + 1, self.constant_scale_)
        if self.volatility_ == "convex":
            return convex_scale(
                self.scale_model_, self.scale_unit_, self.scale_upper_, z,
                self.scale_windows_,
            )
        if isinstance(factor, str):
            factor = getattr(self, "periodic_factor_", None)
        s = None if factor is None else factor[phases]
        p = self.ewma_power_
        sigma = ewma_volatility(deseasonalized(z, factor, phases),
                                self.decay_ if decay is None else decay, p)
        w = self.long_run_ if long_run is None else long_run
        if w:
            v = self.long_run_var_ if long_run_var is None else long_run_var
            sigma = ((1.0 - w) * sigma**p + w * v) ** (1.0 / p)
        if s is not None:
            sigma = sigma * s
        return np.maximum(sigma, self.scale_floor_)

    def _fit_ewma(self, z: np.ndarray, rows: np.ndarray, taus: np.ndarray) -> None:
        """Decay, long-run weight and periodic factor, chosen by ``cv_scale``."""
        period = self.periodic
        if period == "auto":
            period = auto_period(self.index_type_, self.freq_)
        periods = (0, period) if self.periodic == "auto" and period else (
            period or 0,
        )
        phases = self._phases(z.size, self.last_index_, period)
        grids = {
            "periodic": periods,
            "decay": TUNABLE_PARAMS["decay"] if self.decay == "auto" else (
                self.decay,
            ),
            "long_run": TUNABLE_PARAMS["long_run"] if self.long_run == "auto"
            else (self.long_run,),
        }
        self.cv_results_, best = cv_ewma(z, rows, taus, phases, grids, self._scales,
                                         self.ewma_power_)
        self.decay_, self.long_run_ = float(best[1]), float(best[2])
        self.period_ = int(best[0]) if best[0] else None
        if self.period_:
            self.periodic_factor_ = fit_periodic_factor(z, phases, rows, self.period_)
        self.long_run_var_ = float(np.mean(
            np.abs(deseasonalized(z, self.periodic_factor_, phases)[rows])
            ** self.ewma_power_
        ))

    def _fit_scale(self, z: np.ndarray, rows: np.ndarray, taus: np.ndarray) -> None:
        """The scale model's state, its settings chosen by ``cv_scale``."""
        self.cv_results_ = None
        self.period_ = self.periodic_factor_ = None
        if self.volatility_ == "ewma":
            self._fit_ewma(z, rows, taus)
        elif self.volatility_ == "convex":

            def fit(beta, fit_rows):
                return fit_convex_scale(
                    z, fit_rows, self.scale_windows_, beta, self.scale_features,
                    self.random_state,
                )

            self.scale_beta_ = self.scale_beta
            if self.scale_beta == "auto":
                def scales_of(beta, fit_rows):
                    return convex_scale(*fit(beta, fit_rows), z, self.scale_windows_)

                self.cv_results_ = cv_scale(
                    z, rows, taus, TUNABLE_PARAMS["scale_beta"], scales_of
                ) | {"param": "scale_beta"}
                self.scale_beta_ = float(self.cv_results_["best"])
            self.scale_model_, self.scale_unit_, self.scale_upper_ = fit(
                self.scale_beta_, rows
            )

    def _inputs(self, z: np.ndarray, sigma: np.ndarray, rows: np.ndarray):
        lagged = np.column_stack([z[rows - k] for k in self.lags_])
        s = sigma[rows][:, None]
        return np.ascontiguousarray(np.hstack([lagged / s, np.abs(lagged) / s]))

    # --------------------------------------------------------------- fit
    def _fit_level(self, tau: float, X: np.ndarray, u: np.ndarray, warm_start=None,
                   beta=None):
        """The quantile network of one level on the standardized rows.

        ``warm_start`` (a :class:`~tsmirrors.models.warm_start.WarmStart`
        shared by the levels of one fit) reuses the library and the LP;
        ``beta`` overrides the fitted ``beta_``.
        """
        model = ConvexNetRegressor(
            activation=self.activation,
            beta=u.size * (self.beta_ if beta is None else beta),
            loss="quantile",
            quantile=tau,
            n_features=self.n_features,
            sampling=self.sampling,
            random_state=self.random_state,
        )._fit_checked(X, u, warm_start=warm_start)
        # the solver's warm-start session holds a HiGHS handle, which cannot
        # be saved; a finished fit does not need it
        model.solver_result_ = dataclasses.replace(model.solver_result_, state=None)
        return model

    def fit(self, y, freq=None):
        """Fit one quantile network per level on the standardized series.

        Parameters
        ----------
        y : pandas.Series or array-like of shape (n,)
        freq : str or None
        """
        self._check_params()
        taus = check_quantiles(self.quantiles)
        # forecasts read these fitted settings, never the parameters
        self.__dict__.pop("lags_", None)
        self.lags_ = check_scaled_lags(self.lags, type(self).__name__)
        self.volatility_ = self.volatility
        self.ewma_power_ = int(self.ewma_power)
        self.scale_windows_ = tuple(int(k) for k in self.scale_windows)
        levels = self._validate_fit_series(y, freq)
        z = self._fit_transform(levels)
        first = self._first_row()
        if z.size - first < MIN_ROWS:
            raise ValueError(
                f"ScaledQuantileAR needs at least {first + MIN_ROWS} changes for "
                f"lags={self.lags!r} (a burn-in of {first} for the scale), got {z.size}"
            )
        # a scale of 0 (flat stretches) would divide by zero: floor it at a
        # small fraction of the training spread
        spread = float(np.std(z))
        self.constant_scale_ = spread
        self.scale_floor_ = 1e-3 * spread
        rows = np.arange(first, z.size)
        self._fit_scale(z, rows, taus)
        sigma = self._scales(z, self._phases(z.size, self.last_index_))
        X = self._inputs(z, sigma, rows)
        u = z[rows] / sigma[rows]
        # neighbouring levels share the library and re-solve one LP from the
        # previous level's basis; the handle is dropped after the fit
        self.beta_cv_results_ = None
        self.beta_ = self.beta
        if self.beta == "auto" and self._tunes_beta:
            self.beta_cv_results_ = cv_beta(
                self, X, u, sigma[rows], taus, TUNABLE_PARAMS["beta"])
            self.beta_ = self.beta_cv_results_["best"]
        handle = WarmStart()
        self.models_ = [self._fit_level(float(tau), X, u, handle) for tau in taus]
        self.quantiles_ = taus
        self.n_rows_ = int(rows.size)
        self.sigma_ = float(sigma[-1])
        self.window_ = levels.copy()
        return self

    # ----------------------------------------------------------- predict
    def _levels_window(self, last_window) -> tuple[np.ndarray, object]:
        """The whole window of levels: the EWMA scale runs over all of it.

        At least the changes before the fit's first row (the lags and the
        scale's burn-in): a scale from fewer would not be the fitted one.
        """
        need = max(self._first_row(), self._n_lags() + 1) + self.transform_.offset
        return self._window(last_window, need=need, whole=True)

    def _window_scales(self, last_window):
        """The window of levels, its last label, changes and scales."""
        window, last = self._levels_window(last_window)
        z = self.transform_.forward(window)
        return window, last, z, self._scales(z, self._phases(z.size, last))

    @property
    def _timed_windows(self) -> bool:
        """Whether forecasts read the labels of ``last_window`` (the phase)."""
        return getattr(self, "period_", None) is not None

    def scale(self, last_window=None) -> float:
        """``sigma`` of the next change after ``last_window`` (or the fit)."""
        check_is_fitted(self, "models_")
        return float(self._window_scales(last_window)[3][-1])

    def predict_quantiles(self, steps: int = 1, last_window=None) -> pd.DataFrame:
        """One-step quantiles as levels (one column per quantile level)."""
        check_is_fitted(self, "models_")
        if check_steps(steps) != 1:
            raise ValueError(
                f"ScaledQuantileAR forecasts one step ahead, got steps={steps}"
            )
        window, last, z, sigma = self._window_scales(last_window)
        x = self._inputs(np.append(z, 0.0), sigma, np.array([z.size]))
        u = np.sort(
            [getattr(m, "_decision", m.predict)(x)[0] for m in self.models_]
        )
        q = self.transform_.to_level(u * sigma[-1], window[-1])
        return pd.DataFrame(
            [q], index=self._future_index(1, last), columns=list(self.quantiles_)
        )

    def predict(self, steps: int = 1, last_window=None) -> pd.DataFrame:
        """Same as :meth:`predict_quantiles`."""
        return self.predict_quantiles(steps, last_window=last_window)

    def predict_point(self, steps: int = 1, last_window=None) -> pd.Series:
        """The quantile forecast nearest the median."""
        q = self.predict_quantiles(steps, last_window=last_window)
        levels = np.asarray(q.columns, dtype=float)
        return q[q.columns[int(np.argmin(np.abs(levels - 0.5)))]].rename("y_pred")

    def online_calibrator(self) -> AdaptiveConformal | None:
        """The online recalibration a backtest applies (None without one)."""
        if self.calibration != "adaptive":
            return None
        return AdaptiveConformal(
            check_quantiles(self.quantiles), gamma=self.adaptation_rate
        )


class ScaledLinearQuantileAR(ScaledQuantileAR):
    """The linear baseline: quantile regression on EWMA-scaled inputs.

    The model of :class:`ScaledQuantileAR` with ``f_tau`` linear in the
    standardized inputs, fit without penalty by scikit-learn's
    ``QuantileRegressor(alpha=0, solver="highs")`` (an exact LP). The network
    parameters (``beta``, ``activation``, ``n_features``, ``sampling``) are
    ignored.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = 100 + np.cumsum(rng.standard_normal(200))
    >>> ScaledLinearQuantileAR(quantiles=(0.1, 0.9)).fit(y).predict(1).shape
    (1, 2)
    """

    _tunes_beta = False

    def _fit_level(self, tau: float, X: np.ndarray, u: np.ndarray, warm_start=None,
                   beta=None):
        from sklearn.linear_model import QuantileRegressor

        return QuantileRegressor(quantile=tau, alpha=0.0, solver="highs").fit(X, u)
