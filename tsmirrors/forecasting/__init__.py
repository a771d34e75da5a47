"""Forecasters: convex autoregressive and quantile networks, and baselines."""

from .base import BaseForecaster
from .garch import GARCHForecaster
from .models import (
    DEFAULT_TARGET,
    AR1Forecaster,
    ConvexAR,
    ConvexQuantileAR,
    NaiveForecaster,
    SGDNetAR,
)
from .transforms import TARGETS, make_transform
from .volatility import ScaledQuantileAR

__all__ = [
    "AR1Forecaster",
    "BaseForecaster",
    "ConvexAR",
    "ConvexQuantileAR",
    "DEFAULT_TARGET",
    "GARCHForecaster",
    "NaiveForecaster",
    "SGDNetAR",
    "ScaledQuantileAR",
    "TARGETS",
    "make_transform",
]
