"""Scoring a backtest: its predictions table and the metrics per fold and overall."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import metrics as _metrics

#: metrics that need quantile forecasts
QUANTILE_METRICS = ("pinball", "coverage", "width", "interval_score", "crps")


def _column_names(levels) -> list[str]:
    """``"q_0.05"``, ...; the full digits when 6 significant ones are ambiguous."""
    names = [f"q_{level:g}" for level in levels]
    if len(set(names)) < len(names):  # e.g. 0.1 and 0.1000001
        names = [f"q_{float(level)!r}" for level in levels]
    return names


def _fold_means(rows: np.ndarray, starts: np.ndarray, counts: np.ndarray):
    return np.add.reduceat(rows, starts) / counts


def _score(
    names: tuple[str, ...],
    y: np.ndarray,
    pred: np.ndarray,
    q: np.ndarray | None,
    levels: np.ndarray | None,
    interval: tuple[int, int] | None,
    counts: np.ndarray,
    scales: np.ndarray | None,
    coverage: float,
) -> pd.DataFrame:
    """Per-fold metrics (vectorized) and overall metrics (tsmirrors.metrics).

    ``scales`` holds the MASE scale of each fold (see :func:`_window_scales`).
    """
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    n_folds = counts.size
    err = y - pred
    per_fold: dict[str, np.ndarray] = {}
    overall: dict[str, float] = {}
    nan = np.full(n_folds, np.nan)
    pinball_rows = None
    if q is not None:
        r = y[:, None] - q
        pinball_rows = np.mean(np.maximum(levels * r, (levels - 1.0) * r), axis=1)
    if interval is not None:
        lo, hi = q[:, interval[0]], q[:, interval[1]]
    for name in names:
        if name in QUANTILE_METRICS and q is None:
            per_fold[name], overall[name] = nan, np.nan
        elif name in ("mse", "rmse"):
            value = _fold_means(err**2, starts, counts)
            per_fold[name] = np.sqrt(value) if name == "rmse" else value
            overall[name] = getattr(_metrics, name)(y, pred)
        elif name == "mae":
            per_fold[name] = _fold_means(np.abs(err), starts, counts)
            overall[name] = _metrics.mae(y, pred)
        elif name == "mase":
            scaled = np.abs(err) / np.repeat(scales, counts)
            per_fold[name] = _fold_means(scaled, starts, counts)
            overall[name] = float(np.mean(scaled))
        elif name == "pinball":
            per_fold[name] = _fold_means(pinball_rows, starts, counts)
            overall[name] = float(np.mean(_metrics.pinball_loss(y, q, levels)))
        elif name == "crps":
            per_fold[name] = 2.0 * _fold_means(pinball_rows, starts, counts)
            overall[name] = _metrics.crps_from_quantiles(y, q, levels)
        elif name == "coverage":
            inside = ((lo <= y) & (y <= hi)).astype(np.float64)
            per_fold[name] = _fold_means(inside, starts, counts)
            overall[name] = _metrics.empirical_coverage(y, lo, hi)
        elif name == "width":
            per_fold[name] = _fold_means(hi - lo, starts, counts)
            overall[name] = _metrics.mean_interval_width(lo, hi)
        else:  # interval_score
            penalty = (2.0 / (1.0 - coverage)) * (
                np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0)
            )
            per_fold[name] = _fold_means(hi - lo + penalty, starts, counts)
            overall[name] = _metrics.interval_score(y, lo, hi, coverage=coverage)
    index = pd.Index([*range(n_folds), "overall"], dtype=object, name="fold")
    return pd.DataFrame(
        {name: np.append(per_fold[name], overall[name]) for name in names},
        index=index,
    )


# -------------------------------------------------------------------- main
def _assemble(series, values, layout, results, names, levels, interval, scales,
              coverage, calibrator=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    firsts = layout["test_start"]
    counts = layout["test_stop"] - firsts
    ends = np.cumsum(counts)
    row = np.arange(ends[-1])
    fold_of_row = np.repeat(np.arange(counts.size), counts)
    step = row - (ends - counts)[fold_of_row]  # 0-based step within its fold
    positions = firsts[fold_of_row] + step  # the forecast targets
    pred = np.concatenate([p for p, _, _ in results])
    q = None if levels is None else np.concatenate([qq for _, qq, _ in results])
    bad = ~np.isfinite(pred)
    if q is not None:
        bad |= ~np.isfinite(q).all(axis=1)
    if bad.any():
        fold_of = fold_of_row[bad]
        first = int(fold_of[0])
        raise ValueError(
            f"the forecaster returned NaN or inf forecasts in "
            f"{np.unique(fold_of).size} fold(s), first fold {first} "
            f"(origin {series.index[layout['origin'][first] - 1]})"
        )
    index = series.index
    y_true = values[positions]
    fit_of_fold = np.cumsum(layout["refit"]) - 1
    if calibrator is not None:
        middle = int(np.argmin(np.abs(levels - 0.5)))
        is_median = np.array_equal(pred, q[:, middle])
        q = calibrator.calibrate(
            q, y_true, origin=layout["origin"][fold_of_row], target=positions
        )
        if is_median:  # a point forecast that is the median follows its column
            pred = q[:, middle].copy()
    frame = {
        "fold": fold_of_row,
        "refit": fit_of_fold[fold_of_row],
        "origin": index[layout["origin"][fold_of_row] - 1],
        "timestamp": index[positions],
        "step": step + 1,
        "y_true": y_true,
        "y_pred": pred,
    }
    if levels is not None:
        returned = results[0][2]
        if returned.shape != levels.shape or not np.allclose(returned, levels):
            raise ValueError(
                f"forecaster.predict_quantiles returned the levels "
                f"{returned.tolist()}, but its quantiles are {levels.tolist()}"
            )
        for j, name in enumerate(_column_names(levels)):
            frame[name] = q[:, j]
        frame["lower"] = q[:, interval[0]]
        frame["upper"] = q[:, interval[1]]
    predictions = pd.DataFrame(frame)
    scores = _score(names, y_true, pred, q, levels, interval, counts, scales,
                    coverage)
    return scores, predictions
