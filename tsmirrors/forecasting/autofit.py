"""Resolve ``beta="auto"``, ``lags="auto"`` and ``target="auto"`` for a fit.

Every candidate target is scored on the same rolling-origin folds (the same
validation timestamps), with the errors mapped back to the original units,
so the comparison between ``level``, ``difference`` and ``log_return`` is a
comparison of one-step forecast errors of the series itself. See
:mod:`tsmirrors.forecasting.selection` for the folds and the curves.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_nonnegative
from .exog import check_varying_inputs
from .selection import (
    _curve,
    check_lags,
    cross_validate_beta,
    rolling_folds,
    select_beta,
)
from .transforms import make_transform

#: what to do when an input is constant in a cross-validation fold
_FOLD_ADVICE = (
    "; the folds train on the start of the window, so trim a flat or "
    "unvarying start (e.g. y.iloc[k:]), or give beta and target explicitly "
    "to fit without cross-validation"
)

__all__ = ["lag_matrix", "lags_in_use", "resolve_settings"]

#: The pinball grid: ``QUANTILE_N_BETAS`` penalties from ``beta_max`` down to
#: ``QUANTILE_BETA_RATIO * beta_max``. Each point is a linear program, and
#: the solves grow slower as beta falls; on the benchmark series the chosen
#: beta of the exact squared-loss curves is never below 1e-2 beta_max.
QUANTILE_N_BETAS = 8
QUANTILE_BETA_RATIO = 1e-2


def lag_matrix(z: np.ndarray, lags: np.ndarray, horizon: int = 1):
    """Inputs ``z[t - k]`` for ``k`` in ``lags`` and targets ``z[t + horizon - 1]``.

    Row ``i`` stands for ``t = i + max(lags)``.
    """
    p = int(lags.max())
    n_rows = z.size - p - horizon + 1
    start = np.arange(p, p + n_rows)
    X = np.column_stack([z[start - k] for k in lags])
    return np.ascontiguousarray(X), start


def _candidate_targets(model, levels) -> list[str]:
    target = getattr(model, "target", "level")
    if target != "auto":
        return [target]
    out = ["level", "difference"]
    if np.all(levels > 0):
        out.append("log_return")
    return out


def _fold_positions(n_levels: int, max_lag: int, model) -> list[tuple]:
    """Fold boundaries as positions of target levels, common to every target."""
    # rows of the target consuming one level (the largest offset), as positions
    first = max_lag + 1
    folds = rolling_folds(
        n_levels - first,
        n_folds=getattr(model, "cv", 3),
        gap=getattr(model, "cv_gap", 0),
        min_train=max(10, 2 * max_lag),
    )
    return [(a + first, b + first, c + first) for a, b, c in folds]


def _folds_data(z, lags, offset, positions, horizon=1, exog=None, names=None):
    X, start = lag_matrix(z, lags)
    t = z[start]
    pos = start + offset  # level position of each row's target
    if exog is not None:  # future-known: the value at the target's time
        X = np.hstack([X, exog[pos]])
    out = []
    for k, (train_stop, val_start, val_stop) in enumerate(positions):
        tr = pos < train_stop
        if names is not None:
            check_varying_inputs(
                X[tr], names, f"the training rows of cross-validation fold "
                f"{k + 1} of {len(positions)}", _FOLD_ADVICE)
        va = (pos >= val_start) & (pos < val_stop)
        out.append((X[tr], t[tr], X[va], t[va], pos[va]))
    return out


def resolve_settings(model, levels: np.ndarray, *, loss: str = "squared",
                     taus=None, regressor_factory=None, exog=None):
    """Choose lags, target and beta for ``model`` on the training ``levels``.

    Sets ``lags_``, ``target_``, ``beta_`` and, when anything was
    cross-validated, ``cv_results_`` (the curve of the chosen target, with
    ``target_scores`` holding each candidate target's validation loss in
    the original units). Returns nothing.
    """
    model.naive_ = False
    model.__dict__.pop("cv_results_", None)  # a refit with given settings has none
    seasonal = getattr(model, "seasonal_period", None)
    lags = check_lags(getattr(model, "lags", 1), seasonal, n_obs=levels.size)
    model.lags_ = lags
    targets = _candidate_targets(model, levels)
    beta = model.beta
    auto_beta = isinstance(beta, str)
    if auto_beta and beta != "auto":
        raise ValueError(f"beta must be a number >= 0 or 'auto', got {beta!r}")
    if not auto_beta:
        check_nonnegative(beta, "beta")
    if not auto_beta and len(targets) == 1:
        model.target_, model.beta_ = targets[0], float(beta)
        return
    if regressor_factory is None:
        raise ValueError(
            f"{type(model).__name__} does not support 'auto' settings; "
            "give beta and target explicitly"
        )
    positions = _fold_positions(levels.size, int(lags.max()), model)
    rule = getattr(model, "cv_rule", "min")
    ratio = getattr(model, "cv_beta_ratio", 1e-3)
    regressor = regressor_factory()
    scores, curves, fold_scores = {}, {}, {}
    for name in targets:
        if hasattr(model, "_fit_intercept_for"):
            regressor.set_params(fit_intercept=model._fit_intercept_for(name))
        transform = make_transform(name).fit(levels)
        z = transform.forward(levels)
        scale = float(np.std(z)) if getattr(model, "normalize", False) else 1.0
        if scale == 0:
            continue
        names = [f"the lag-{k} input of the {name} series" for k in lags] + [
            f"exog column {c!r}" for c in getattr(model, "exog_columns_", [])]
        data = _folds_data(z / scale, lags, transform.offset, positions, exog=exog,
                           names=names)
        folds = [d[:4] for d in data]
        if not auto_beta:
            curve = _fixed_beta_curve(regressor, folds, float(beta), loss, taus)
        else:
            curve = cross_validate_beta(
                regressor, folds, loss=loss, taus=taus,
                beta_ratio=ratio if loss == "squared" else QUANTILE_BETA_RATIO,
                n_betas=QUANTILE_N_BETAS,
            )
        chosen = select_beta(curve, rule) if auto_beta else float(beta)
        curve["beta"] = chosen
        fold_scores[name] = _original_units_score(
            curve, chosen, transform, scale, data, levels, loss, taus
        )
        scores[name] = float(np.mean(fold_scores[name]))
        curves[name] = curve
    if not scores:
        raise ValueError("every candidate target series is constant")
    best = min(scores, key=scores.get)
    if auto_beta and "difference" in curves and _naive_is_candidate(
        model, loss, targets
    ):
        # the sparsest model of all: no neuron, no drift (the last value);
        # kept unless the best candidate is more than one standard error
        # (of its fold losses) better, whatever the rule inside each curve
        naive = np.array([
            np.mean((levels[d[4]] - levels[d[4] - 1]) ** 2) for d in data
        ])
        bound = scores[best] + np.std(fold_scores[best]) / np.sqrt(naive.size)
        if naive.mean() <= bound:
            best = "difference"
            # provisional: the fit sets it just above its library's beta_max
            curves[best]["beta"] = float(curves[best]["betas"][0])
            scores["naive"] = float(naive.mean())
            model.naive_ = True
    curve = curves[best]
    curve.pop("residuals", None)
    curve["target_scores"] = scores
    model.target_, model.beta_ = best, float(curve["beta"])
    model.cv_results_ = curve


def _naive_is_candidate(model, loss, targets) -> bool:
    """Whether the no-neuron difference model is the naive forecast."""
    return (
        loss == "squared"
        and "difference" in targets
        and hasattr(model, "_fit_intercept_for")
        and not model._fit_intercept_for("difference")
    )


def _fixed_beta_curve(regressor, folds, beta, loss, taus):
    from sklearn.base import clone

    from ..models.convex import penalty_factor  # noqa: F401  (same scaling)

    res, losses = [], []
    for X_tr, t_tr, X_val, t_val in folds:
        fold_res = []
        for tau in taus if loss == "quantile" else [None]:
            m = clone(regressor)
            if loss == "squared":
                m.set_params(beta=t_tr.size * beta / 2.0)
            else:
                m.set_params(beta=t_tr.size * beta, loss="quantile", quantile=tau)
            m._fit_checked(X_tr, t_tr)
            fold_res.append(m._decision(X_val) - t_val)
        res.append(np.array(fold_res))
        losses.append(_z_loss(res[-1], loss, taus))
    losses = np.array(losses)[:, None]
    curve = _curve(np.array([beta]), losses, np.array([np.nan]), beta, losses.mean())
    return dict(curve, fixed_residuals=res)


def _z_loss(res, loss, taus):
    if loss == "squared":
        return float(np.mean(res**2))
    out = 0.0
    for j, tau in enumerate(taus):
        r = -res[j]
        out += float(np.mean(0.5 * np.abs(r) + (tau - 0.5) * r)) / len(taus)
    return out


def _residuals_at(curve, beta, fold):
    """Validation residuals of one fold at ``beta`` (exact between grid points)."""
    if "fixed_residuals" in curve:
        return curve["fixed_residuals"][fold]
    grid, res = curve["betas"], curve["residuals"][fold]
    k = int(np.clip(np.searchsorted(-grid, -beta, side="right") - 1, 0, grid.size - 2))
    if grid.size == 1:
        return res[0][None, :]
    theta = (beta - grid[k + 1]) / (grid[k] - grid[k + 1])
    theta = min(max(theta, 0.0), 1.0)
    return (theta * res[k] + (1 - theta) * res[k + 1])[None, :]


def _original_units_score(curve, beta, transform, scale, data, levels, loss, taus):
    """Validation loss of each fold, in the units of the series."""
    exact = "residuals" in curve or "fixed_residuals" in curve
    if loss == "quantile" or not exact:
        # pinball in model units times the scale: exact for level and
        # difference (linear maps of the level), first order for log returns
        k = int(np.argmin(np.abs(curve["betas"] - beta)))
        factor = scale * (
            float(np.mean(levels)) if transform.name == "log_return" else 1.0
        )
        return np.asarray(curve["fold_loss"][:, k], dtype=float) * factor
    out = []
    for f, (_, _, _, t_val, pos) in enumerate(data):
        r = _residuals_at(curve, beta, f)[0]
        pred = transform.to_level((t_val + r) * scale, levels[pos - 1])
        out.append(np.mean((levels[pos] - pred) ** 2))
    return np.asarray(out)


def lags_in_use(regressor, lags: np.ndarray) -> np.ndarray:
    """The lags whose 1-D library has at least one nonzero coefficient.

    Every lag for a regressor without per-input libraries (SGD networks).
    """
    if not hasattr(regressor, "n_library_features_"):
        return np.asarray(lags, dtype=np.intp)
    offsets = np.concatenate([[0], np.cumsum(regressor.n_library_features_)])
    coef = regressor.coef_
    used = [
        int(lag)
        for k, lag in enumerate(lags)
        if np.any(coef[offsets[k] : offsets[k + 1]] != 0)
    ]
    return np.asarray(used, dtype=np.intp)
