"""What a :class:`~tsmirrors.forecasting.volatility.ScaledQuantileAR` fit fixes.

Its lags, the first training row (after the lags and the scale's burn-in),
the fewest levels a fit accepts, the cross-validation of ``beta="auto"``,
and the fitted state of model files saved before that state was stored.
Forecasts read the fitted state only, so that ``set_params`` after a fit
changes nothing until the next fit.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_nonnegative
from ..models.warm_start import WarmStart
from .calibration import CALIBRATIONS
from .periodic import check_periodic
from .scale_models import CV_FOLDS, CV_VAL_FRACTION, check_decay, check_ewma_power
from .selection import check_lags, rolling_folds
from .transforms import make_transform

__all__ = [
    "BURN_IN", "MIN_ROWS", "SCALED_TARGETS", "VOLATILITIES", "check_params",
    "check_scaled_lags", "cv_beta", "first_row",
    "fitted_state_from_params", "min_fit_size",
]

VOLATILITIES = ("ewma", "convex", None)
SCALED_TARGETS = ("difference", "log_return")

#: Changes before the first training row: the scale needs a few observations.
BURN_IN = 10
#: Fewest training rows of a fit.
MIN_ROWS = 20


def check_scaled_lags(lags, owner: str = "ScaledQuantileAR") -> np.ndarray:
    """An int ``p`` (lags ``1..p``) or a list of lags, sorted; never "auto"."""
    if isinstance(lags, str):
        raise ValueError(
            f"{owner} takes lags as an int or a list of ints, got {lags!r}"
        )
    return check_lags(lags)


def first_row(lags: np.ndarray, volatility, scale_windows) -> int:
    """First training row: after the largest lag and the scale's burn-in."""
    first = max(int(np.max(lags)), BURN_IN)
    if volatility == "convex":
        first = max(first, max(int(k) for k in scale_windows))
    return first


def min_fit_size(model) -> int:
    """Fewest levels that ``model.fit`` accepts, from its parameters."""
    lags = check_scaled_lags(model.lags, type(model).__name__)
    first = first_row(lags, model.volatility, model.scale_windows)
    return first + MIN_ROWS + make_transform(model.target).offset


def fitted_state_from_params(state: dict) -> dict:
    """Fitted attributes that a model file of an earlier version lacks.

    Its forecasts read the parameters, which then matched its fit; its
    inputs were the lags ``1..p``, ``p`` the largest lag of the parameter.
    """
    if "models_" not in state or "lags_" in state:
        return {}
    lags = state["lags"]
    p = int(np.max(check_lags(lags, n_obs=0 if isinstance(lags, str) else None)))
    return {
        "lags_": np.arange(1, p + 1, dtype=np.intp),
        "volatility_": state["volatility"],
        "scale_windows_": tuple(int(k) for k in state["scale_windows"]),
    }


def cv_beta(model, X, u, sigma_rows, taus, grid) -> dict:
    """Choose ``beta`` of ``model`` from ``grid`` on the training rows.

    The networks of every level are fit on the rows before the scale's
    first validation block (the same rolling folds) and scored by the
    pinball loss, in units of the changes, of their sorted quantiles on
    the validation rows; one warm-start handle serves every candidate
    (the same library and LP, only the penalty changes).
    """
    folds = rolling_folds(u.size, CV_FOLDS, val_fraction=CV_VAL_FRACTION)
    stop, start, end = folds[0][0], folds[0][1], folds[-1][2]
    X_fit, u_fit = np.ascontiguousarray(X[:stop]), u[:stop]
    X_val = np.ascontiguousarray(X[start:end])
    handle = WarmStart()
    losses = []
    for beta in grid:
        q = np.sort(np.column_stack([
            model._fit_level(float(tau), X_fit, u_fit, handle, beta=beta)
            ._decision(X_val)
            for tau in taus
        ]), axis=1)
        d = (u[start:end, None] - q) * sigma_rows[start:end, None]
        losses.append(float(np.mean(np.maximum(taus * d, (taus - 1) * d))))
    losses = np.asarray(losses)
    return {
        "grid": np.asarray(grid, dtype=np.float64),
        "mean_pinball": losses,
        "best": float(grid[int(np.argmin(losses))]),
        "rows": np.array([stop, start, end], dtype=np.int64),
    }


def check_params(model) -> None:
    """ValueError naming the first invalid parameter of a ScaledQuantileAR."""
    if model.volatility not in VOLATILITIES:
        raise ValueError(
            f"volatility must be one of {VOLATILITIES}, got {model.volatility!r}"
        )
    if model.target not in SCALED_TARGETS:
        raise ValueError(
            f"target must be one of {SCALED_TARGETS}, got {model.target!r}"
        )
    if model.calibration not in CALIBRATIONS:
        raise ValueError(
            f"calibration must be one of {CALIBRATIONS}, got {model.calibration!r}"
        )
    if model.decay != "auto":
        check_decay(model.decay)
    if model.long_run != "auto" and (
        isinstance(model.long_run, bool)
        or not isinstance(model.long_run, numbers.Real)
        or not 0.0 <= model.long_run < 1.0
    ):
        raise ValueError(
            f"long_run must be a number in [0, 1) or 'auto', got {model.long_run!r}"
        )
    if check_ewma_power(model.ewma_power) != 2 and model.volatility != "ewma":
        raise ValueError(
            f"ewma_power={model.ewma_power!r} needs volatility='ewma', got "
            f"volatility={model.volatility!r}"
        )
    check_periodic(model.periodic, model.volatility)
    if model.scale_beta != "auto":
        check_nonnegative(model.scale_beta, "scale_beta")
    windows = model.scale_windows
    if (
        not isinstance(windows, (tuple, list))
        or not windows
        or not all(
            isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 1
            for k in windows
        )
    ):
        raise ValueError(
            "scale_windows must be a non-empty sequence of integers >= 1, "
            f"got {windows!r}"
        )
    if model.beta != "auto":
        check_nonnegative(model.beta, "beta")
