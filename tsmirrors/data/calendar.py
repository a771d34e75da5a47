"""Calendar features: future-known inputs built from timestamps alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CALENDAR_FEATURES", "calendar_features"]

#: Supported features and their number of categories.
CALENDAR_FEATURES = {"hour": 24, "dayofweek": 7, "month": 12}
_ATTRIBUTES = {"hour": "hour", "dayofweek": "day_of_week", "month": "month"}


def calendar_features(index, features=("hour", "dayofweek")) -> pd.DataFrame:
    """Indicator columns of calendar categories, one column per category.

    A categorical input becomes indicator (0/1) columns, ``hour_0`` ..
    ``hour_23``, ``dayofweek_0`` (Monday) .. ``dayofweek_6``, ``month_1`` ..
    ``month_12``. They are known for any future timestamp, so they can be
    passed as ``exog`` for the forecast rows.

    Parameters
    ----------
    index : pandas.DatetimeIndex, or a Series/DataFrame indexed by one
    features : sequence of {"hour", "dayofweek", "month"}

    Returns
    -------
    pandas.DataFrame
        Float indicator columns indexed by ``index``.

    Examples
    --------
    >>> import pandas as pd
    >>> from tsmirrors.data import calendar_features
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="h")
    >>> calendar_features(idx, ["hour"]).shape
    (3, 24)
    """
    if isinstance(index, (pd.Series, pd.DataFrame)):
        index = index.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(
            f"calendar_features needs a DatetimeIndex, got {type(index).__name__}"
        )
    if isinstance(features, str):
        features = [features]
    features = list(features)
    if not features:
        raise ValueError("features must name at least one calendar feature")
    columns = {}
    for name in features:
        if name not in CALENDAR_FEATURES:
            raise ValueError(
                f"unknown calendar feature {name!r}; choose from "
                f"{tuple(CALENDAR_FEATURES)}"
            )
        values = np.asarray(getattr(index, _ATTRIBUTES[name]))
        first = 1 if name == "month" else 0
        for k in range(first, first + CALENDAR_FEATURES[name]):
            columns[f"{name}_{k}"] = (values == k).astype(np.float64)
    return pd.DataFrame(columns, index=index)
