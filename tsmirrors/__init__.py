"""tsmirrors: globally optimal neural-network forecasters for 1-D time series.

Training a 2-layer or deep narrow network on 1-D data is exactly a convex
Lasso problem over an explicit dictionary of ramp and reflection features
("the library of mirrors"). tsmirrors builds those dictionaries, solves the
Lasso exactly, rebuilds the network, and uses it for autoregressive and
quantile forecasting.
"""

from ._version import __version__
from .io import load, save

__all__ = [
    "__version__",
    "AR1Forecaster",
    "ConvexAR",
    "ConvexNetRegressor",
    "ConvexQuantileAR",
    "Library",
    "NaiveForecaster",
    "SGDNetAR",
    "SGDNetRegressor",
    "backtest",
    "load",
    "save",
]

_LAZY = {
    "ConvexNetRegressor": ("tsmirrors.models.convex", "ConvexNetRegressor"),
    "SGDNetRegressor": ("tsmirrors.models.sgd", "SGDNetRegressor"),
    "Library": ("tsmirrors.features", "Library"),
    "ConvexAR": ("tsmirrors.forecasting", "ConvexAR"),
    "ConvexQuantileAR": ("tsmirrors.forecasting", "ConvexQuantileAR"),
    "AR1Forecaster": ("tsmirrors.forecasting", "AR1Forecaster"),
    "NaiveForecaster": ("tsmirrors.forecasting", "NaiveForecaster"),
    "SGDNetAR": ("tsmirrors.forecasting", "SGDNetAR"),
    "backtest": ("tsmirrors.backtesting", "backtest"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'tsmirrors' has no attribute {name!r}")
