"""Backtesting: walk-forward evaluation of forecasters, serial or distributed.

The last step of the pipeline. :class:`BacktestSplit` describes the folds
(initial training window, forecasts per fold, refits, expanding or rolling
window, gap) and :func:`backtest` runs a forecaster over them, returning
``(scores, predictions)``: metrics per fold and overall, and every forecast
with its origin, target timestamp, truth and quantiles. Fits run in
parallel with joblib or on a dask.distributed cluster and give the serial
results exactly.
"""

from .engine import DEFAULT_METRICS, METRICS, backtest, min_train_size
from .folds import WINDOWS, BacktestSplit, Fold

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "WINDOWS",
    "BacktestSplit",
    "Fold",
    "backtest",
    "min_train_size",
]
