"""Direct multi-step point forecasts: one network per horizon.

``ConvexAR(strategy="direct", max_horizon=H)`` fits, next to the one-step
network, a network for each ``h = 2..H`` on the h-step aggregate of the
transformed series (the value ``h`` steps ahead for ``level``, the sum of the
next ``h`` changes for ``difference`` and ``log_return``), from the same
lags, at the same beta (in the (4.3) scaling, so the penalty per row is the
same for every horizon); when the cross-validation kept the naive forecast,
every horizon's network is empty too. A recursive forecast feeds its own
errors back as inputs; a direct one does not, at the price of ``H`` fits.

``strategy="average"`` fits the same networks and forecasts the mean of the
recursive and the direct forecast at each step (the same one-step forecast):
the two err differently, the recursive one by compounding its own errors,
the direct one by fitting each horizon on fewer, noisier aggregates, and
their mean hedges between them: on the benchmark series it lies between the
two, nearer the better one (README, "Forecasters against peers").
"""

from __future__ import annotations

import numpy as np

from .autofit import lag_matrix
from .selection import _check_positive

__all__ = [
    "STRATEGIES", "check_max_horizon", "fit_direct", "horizons_min_size",
    "predict_direct",
]

STRATEGIES = ("recursive", "direct", "average")


def check_max_horizon(max_horizon) -> int:
    """``max_horizon`` as an int >= 1 (ValueError naming it otherwise)."""
    return _check_positive(max_horizon, "max_horizon")


def check_strategy(model) -> tuple[str, int]:
    """The strategy and the largest horizon of ``model``'s parameters."""
    strategy = getattr(model, "strategy", "recursive")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    max_horizon = getattr(model, "max_horizon", None)
    if strategy != "recursive" and max_horizon is None:
        raise ValueError(
            f"strategy={strategy!r} needs max_horizon (one model per step)"
        )
    return strategy, check_max_horizon(1 if max_horizon is None else max_horizon)


def horizons_min_size(model, max_horizon: int, n_rows: int = 3) -> int:
    """Fewest levels that leave ``n_rows`` rows to the largest horizon's fit.

    ``lags + max_horizon - 1 + n_rows`` transformed values (the largest lag of
    the parameters; the smallest candidate set for ``lags="auto"``) and the
    observations the target transform consumes (``"auto"``: a change target).
    """
    from .selection import check_lags
    from .transforms import make_transform

    lags = model.lags
    max_lag = int(np.max(check_lags(
        lags, model.seasonal_period, n_obs=0 if isinstance(lags, str) else None)))
    target = "difference" if model.target == "auto" else model.target
    return max_lag + max_horizon - 1 + n_rows + make_transform(target).offset


def fit_direct(model, z: np.ndarray, max_horizon: int) -> dict:
    """Networks for ``h = 2..max_horizon`` on the scaled transformed series ``z``."""
    models = {}
    for h in range(2, max_horizon + 1):
        X, start = lag_matrix(z, model.lags_, horizon=h)
        if start.size < 3:
            raise ValueError(
                f"the series is too short for max_horizon={max_horizon} with "
                f"lags up to {int(model.lags_.max())}"
            )
        target = model.transform_.aggregate(z, start, h)
        regressor = model._make_regressor(start.size)
        handle = _no_neuron(regressor, X, target) if getattr(
            model, "naive_", False) else None
        models[h] = regressor._fit_checked(X, target, warm_start=handle)
    return models


def _no_neuron(regressor, X, target):
    """Set the penalty just above beta_max: the network predicts no change.

    When the cross-validation kept the naive forecast, the one-step network
    and every horizon's keep it (the chosen beta would let the h-step sums,
    whose signal grows with h, buy neurons the one-step folds never tested).
    Sampled features are drawn from one fixed seed, so that beta_max is
    that of the library the fit then uses; the returned
    :class:`~tsmirrors.models.warm_start.WarmStart` hands that library and
    its design to the fit (``warm_start=``), which does not build them again.
    """
    from sklearn.utils import check_random_state

    from ..models.convex import penalty_factor
    from ..models.warm_start import WarmStart
    from ..solvers import lasso_beta_max

    seed = regressor.random_state
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        regressor.set_params(
            random_state=int(check_random_state(seed).randint(2**31 - 1)))
    libraries = regressor._make_libraries(X)
    design = regressor._design(libraries, X)
    bmax = lasso_beta_max(design, target, fit_intercept=regressor.fit_intercept)
    regressor.set_params(
        beta=bmax * (1 + 1e-6) / penalty_factor(regressor.architecture))
    handle = WarmStart()
    handle.remember(regressor, X, libraries, design)
    return handle


def predict_direct(model, window: np.ndarray, steps: int) -> np.ndarray:
    """Levels ``h = 1..steps`` ahead of ``window``, one network per step."""
    if steps > model.max_horizon_:
        raise ValueError(
            f"steps={steps} exceeds max_horizon={model.max_horizon_}; refit with "
            f"max_horizon={steps} (one direct model per step)"
        )
    x = model._lag_row(window)[None, :]
    out = np.empty(steps)
    for h in range(1, steps + 1):
        net = model.regressor_ if h == 1 else model.direct_models_[h]
        agg = net._decision(x)[0] * model.z_scale_
        out[h - 1] = model.transform_.to_level(agg, window[-1])
    return out
