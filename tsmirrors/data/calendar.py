"""Calendar features: future-known inputs built from timestamps alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset
from pandas.tseries.offsets import Tick

__all__ = ["CALENDAR_FEATURES", "calendar_features"]

#: Supported features and their number of categories.
CALENDAR_FEATURES = {"hour": 24, "dayofweek": 7, "month": 12}
_ATTRIBUTES = {"hour": "hour", "dayofweek": "day_of_week", "month": "month"}
#: The features of ``features=None``, before dropping those that do not vary.
DEFAULT_FEATURES = ("hour", "dayofweek")
_DAY_NS = 86_400 * 10**9
#: periods sampled to see whether a feature varies at a calendar frequency
_SAMPLE = 200


def _index_offset(index: pd.DatetimeIndex, freq):
    """The frequency of ``index``: ``freq``, its own, or inferred."""
    if freq is not None:
        try:
            return to_offset(freq)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"freq must be a pandas frequency such as 'h' or 'D', got {freq!r}"
            ) from exc
    if index.freq is not None:
        return index.freq
    inferred = None
    if len(index) >= 3:
        inferred = pd.infer_freq(index)
    elif len(index) == 2 and index[1] > index[0]:
        inferred = index[1] - index[0]
    if inferred is None:
        raise ValueError(
            f"calendar_features cannot tell the frequency of this index ({len(index)} "
            "timestamp(s), no freq, none inferable); pass freq (e.g. freq='h')"
        )
    return to_offset(inferred)


def _varies(name: str, offset, start: pd.Timestamp) -> bool:
    """Whether calendar feature ``name`` takes several values at ``offset``."""
    if isinstance(offset, Tick):  # a fixed step: decided by its length
        step = int(offset.nanos)
        if name == "hour":
            return step % _DAY_NS != 0
        if name == "dayofweek":
            return step % (7 * _DAY_NS) != 0
        return True  # any fixed step reaches every month
    # calendar offsets (days, business days, weeks, months, ...): look at them
    try:
        sample = pd.date_range(start, periods=_SAMPLE, freq=offset)
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        sample = pd.date_range(end=start, periods=_SAMPLE, freq=offset)
    return np.unique(np.asarray(getattr(sample, _ATTRIBUTES[name]))).size > 1


def calendar_features(index, features=None, freq=None) -> pd.DataFrame:
    """Indicator columns of calendar categories, one column per category.

    A categorical input becomes indicator (0/1) columns, ``hour_0`` ..
    ``hour_23``, ``dayofweek_0`` (Monday) .. ``dayofweek_6``, ``month_1`` ..
    ``month_12``. They are known for any future timestamp, so they can be
    passed as ``exog`` for the forecast rows.

    Only features that vary at the frequency of the index are emitted: a
    daily series has no ``hour`` columns (every timestamp has the same
    hour) and a weekly one no ``dayofweek`` columns. The choice depends on
    the frequency alone, never on the timestamps at hand, so the training
    rows and the forecast rows get the same columns. A single category can
    still be absent from a short window (``hour_3`` on 3 hourly rows):
    :class:`~tsmirrors.forecasting.ConvexAR` then refuses the constant
    column, naming it.

    Parameters
    ----------
    index : pandas.DatetimeIndex, or a Series/DataFrame indexed by one
    features : sequence of {"hour", "dayofweek", "month"} or None, default=None
        None: ``hour`` and ``dayofweek``, keeping those that vary at the
        frequency. A named feature that does not vary at the frequency is
        an error.
    freq : str, pandas.DateOffset or None, default=None
        Frequency of the index; None uses the index's own or infers it
        (needed when the index has fewer than 2 timestamps and no freq).

    Returns
    -------
    pandas.DataFrame
        Float indicator columns indexed by ``index``.

    Raises
    ------
    ValueError
        Not a DatetimeIndex; an unknown feature; a named feature that does
        not vary at the frequency (or no default one does); a frequency that
        cannot be told.

    Examples
    --------
    >>> import pandas as pd
    >>> from tsmirrors.data import calendar_features
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="h")
    >>> calendar_features(idx, ["hour"]).shape
    (3, 24)
    >>> days = pd.date_range("2024-01-01", periods=3, freq="D")
    >>> list(calendar_features(days).columns)[:2]
    ['dayofweek_0', 'dayofweek_1']
    """
    if isinstance(index, (pd.Series, pd.DataFrame)):
        index = index.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(
            f"calendar_features needs a DatetimeIndex, got {type(index).__name__}"
        )
    default = features is None
    features = DEFAULT_FEATURES if default else features
    if isinstance(features, str):
        features = [features]
    features = list(features)
    if not features:
        raise ValueError("features must name at least one calendar feature")
    for name in features:
        if name not in CALENDAR_FEATURES:
            raise ValueError(
                f"unknown calendar feature {name!r}; choose from "
                f"{tuple(CALENDAR_FEATURES)}"
            )
    offset = _index_offset(index, freq)
    start = index[0] if len(index) else pd.Timestamp("2000-01-01", tz=index.tz)
    varying = [name for name in features if _varies(name, offset, start)]
    fixed = [name for name in features if name not in varying]
    if fixed and not default:
        raise ValueError(
            f"calendar feature(s) {fixed} do not vary at frequency "
            f"{offset.freqstr!r} (every timestamp has the same value); leave "
            "them out"
        )
    if not varying:
        raise ValueError(
            f"none of the default calendar features {list(DEFAULT_FEATURES)} "
            f"varies at frequency {offset.freqstr!r}; name one that does "
            "(e.g. features=['month'])"
        )
    columns = {}
    for name in varying:
        values = np.asarray(getattr(index, _ATTRIBUTES[name]))
        first = 1 if name == "month" else 0
        for k in range(first, first + CALENDAR_FEATURES[name]):
            columns[f"{name}_{k}"] = (values == k).astype(np.float64)
    return pd.DataFrame(columns, index=index)
