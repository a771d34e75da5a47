"""Convex quantile autoregression with non-crossing, calibrated quantiles.

For the pinball loss, ``(1/T) sum L_tau + beta ||z||_1`` of (4.3) is the
quantile Lasso with ``beta_sum = T beta`` (see :mod:`tsmirrors.forecasting.models`).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ..models.convex import ConvexNetRegressor
from ..models.warm_start import WarmStart
from .autofit import lags_in_use, resolve_settings
from .base import BaseForecaster, check_quantiles, check_steps
from .calibration import AdaptiveConformal
from .direct import check_max_horizon, horizons_min_size
from .models import DEFAULT_TARGET, _library_choice

__all__ = ["CALIBRATIONS", "ConvexQuantileAR"]

#: Calibrations of :class:`ConvexQuantileAR`.
CALIBRATIONS = (None, "conformal", "adaptive")


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
    seasonal_period, cv, cv_gap, cv_rule
        As in :class:`ConvexAR`. With ``beta="auto"`` one beta is chosen for
        every level and horizon, by the mean one-step pinball loss over the
        levels on a warm-started geometric grid
        (:mod:`tsmirrors.forecasting.selection`).
    calibration : {None, "conformal", "adaptive"}, default=None
        ``"conformal"``: split-conformal shifts from the held-out rows (see
        above). ``"adaptive"``: the fit is the uncalibrated one, and a
        backtest recalibrates the one-step quantiles online with adaptive
        conformal inference from past outcomes only (:meth:`online_calibrator`,
        :class:`~tsmirrors.forecasting.calibration.AdaptiveConformal`).
        Either way the point forecast is the calibrated median: a backtest's
        ``y_pred`` equals its median column.
    adaptation_rate : float, default=0.005
        ``gamma`` of adaptive conformal inference (``calibration="adaptive"``).
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
    max_horizon_ : int
        The largest ``steps`` of the fit (forecasts use it, not the parameter).
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
        seasonal_period: int | None = None,
        cv: int = 3,
        cv_gap: int = 0,
        cv_rule: str = "min",
        adaptation_rate: float = 0.005,
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
        self.adaptation_rate = adaptation_rate

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
        max_h = check_max_horizon(self.max_horizon)
        if self.calibration not in CALIBRATIONS:
            raise ValueError(
                f"calibration must be one of {CALIBRATIONS}, got {self.calibration!r}"
            )
        if self.calibration == "adaptive":
            self.online_calibrator()  # checks adaptation_rate
        self.__dict__.pop("lags_", None)
        levels = self._validate_fit_series(y, freq)
        resolve_settings(
            self, levels, loss="quantile", taus=taus,
            regressor_factory=lambda: ConvexNetRegressor(
                activation=self.activation, depth=self.depth,
                architecture=self.architecture, loss="quantile",
                **dict(zip(("n_features", "sampling"),
                           _library_choice(self, levels.size))),
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
        n_cal = self._n_calibration(n_rows) if self.calibration == "conformal" else 0
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
                    beta=n_fit * self.beta_,
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
        self.max_horizon_ = max_h  # predict reads this, not the parameter
        self.lags_in_use_ = np.unique(np.concatenate(
            [lags_in_use(m, self.lags_) for m in self.models_.values()]
        )).astype(np.intp)
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
        if steps > self.max_horizon_:
            raise ValueError(
                f"steps={steps} exceeds max_horizon={self.max_horizon_}; refit with "
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

    def _min_fit_size(self) -> int:
        """Fewest levels :meth:`fit` accepts, from the parameters.

        Three rows for every horizon's networks (``lags + max_horizon + 2``
        transformed values) or, with ``calibration="conformal"``, the rows
        that the calibration set and the fit need; ``"auto"`` settings may
        need more (their folds, :func:`~tsmirrors.backtesting.min_train_size`).
        """
        n_rows = 3
        if self.calibration == "conformal":
            taus = check_quantiles(self.quantiles)
            for n_rows in range(20, 100_000):
                try:
                    n_cal = self._n_calibration(n_rows)
                    self._check_calibration_rows(taus, n_cal, n_rows)
                except ValueError as exc:
                    refusal = exc
                    continue
                break
            else:  # no series is long enough: say why, as the fit would
                raise refusal
        return horizons_min_size(self, check_max_horizon(self.max_horizon), n_rows)

    @staticmethod
    def _fitted_state_from_params(state: dict) -> dict:
        """``max_horizon_`` of a model file of an earlier version (from its fit)."""
        if "shifts_" in state and "max_horizon_" not in state:
            return {"max_horizon_": int(np.shape(state["shifts_"])[0])}
        return {}

    def online_calibrator(self) -> AdaptiveConformal | None:
        """The online recalibration a backtest applies (None without one)."""
        if self.calibration != "adaptive":
            return None
        return AdaptiveConformal(
            check_quantiles(self.quantiles), gamma=self.adaptation_rate
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
