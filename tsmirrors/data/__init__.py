"""Data: price loaders, the planted model of Section 4, lag embedding, checks.

The first step of the pipeline. Real price files are read by
:func:`load_prices` (Kaggle, CryptoDataDownload, Gemini, yfinance exports
and plain CSVs), tickers are downloaded and cached by :func:`load_yfinance`,
synthetic series come from the planted network model :func:`make_planted`,
:func:`fill_gaps` fills reported gaps on request, and :func:`lag_embed`
turns a series into the regression problem the forecasters solve.
:func:`validate_series` is the input check every forecaster applies.
"""

from ._quality import DataQualityWarning, Gap, infer_frequency
from .calendar import calendar_features
from .embedding import LagEmbedding, lag_embed
from .gaps import fill_gaps
from .loaders import PRICE_COLUMNS, load_prices
from .planted import PlantedNetwork, PlantedSeries, make_planted
from .validation import validate_series
from .yahoo import DataUnavailableError, default_cache_dir, load_yfinance

__all__ = [
    "PRICE_COLUMNS",
    "DataQualityWarning",
    "DataUnavailableError",
    "Gap",
    "calendar_features",
    "LagEmbedding",
    "PlantedNetwork",
    "PlantedSeries",
    "default_cache_dir",
    "fill_gaps",
    "infer_frequency",
    "lag_embed",
    "load_prices",
    "load_yfinance",
    "make_planted",
    "validate_series",
]
