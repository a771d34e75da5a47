"""Checks on a series before it is fitted: clear reasons, nothing repaired."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from .._validation import check_scale
from .._warnings import quiet
from ._quality import _timedelta_alias

__all__ = ["validate_series"]


def _labels(labels, limit: int = 5) -> str:
    shown = ", ".join(str(v) for v in list(labels[:limit]))
    more = f" and {len(labels) - limit} more" if len(labels) > limit else ""
    return shown + more


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value}")
    return int(value)


def _as_1d_values(y, name: str) -> tuple[np.ndarray, pd.Index | None, object]:
    """Return (float values, index or None for arrays, series name)."""
    if isinstance(y, pd.DataFrame):
        raise ValueError(
            f"{name} must be a 1-D series, got a DataFrame with columns "
            f"{list(y.columns)[:5]}; select one, e.g. prices['close']"
        )
    if isinstance(y, pd.Series):
        try:
            values = y.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be numeric, got dtype {y.dtype}") from exc
        return values, y.index, y.name
    try:
        values = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a 1-D array of numbers, got {type(y).__name__}"
        ) from exc
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
    return values, None, None


def _check_finite(values: np.ndarray, index: pd.Index | None, name: str) -> None:
    """Raise a ValueError naming the timestamps (or positions) of NaN and inf."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    where = np.flatnonzero(bad)
    kind = "NaN" if np.isnan(values[where]).all() else "non-finite (NaN or inf)"
    if index is None:
        at = f"positions {_labels(where)}"
    elif isinstance(index, pd.DatetimeIndex):
        at = f"timestamps {_labels(index[where])}"
    else:
        at = f"labels {_labels(index[where])}"
    raise ValueError(
        f"{name} has {where.size} {kind} value(s) at {at}; fill or drop them "
        "explicitly first (e.g. y.ffill(), y.interpolate() or y.dropna())"
    )


def _check_time_index(index: pd.DatetimeIndex, name: str) -> None:
    if index.hasnans:
        raise ValueError(
            f"{name} has missing timestamps (NaT) at positions "
            f"{_labels(np.flatnonzero(index.isna()))}"
        )
    dup = index.duplicated(keep=False)
    if dup.any():
        stamps = index[dup].unique()
        raise ValueError(
            f"{name} has {len(stamps)} duplicated timestamp(s): {_labels(stamps)}; "
            "aggregate or drop the duplicates explicitly"
        )
    if not index.is_monotonic_increasing:
        k = int(np.argmax(np.diff(index.asi8) < 0)) + 1
        raise ValueError(
            f"{name} timestamps are not sorted ascending: {index[k]} (position "
            f"{k}) comes after {index[k - 1]}; sort with y.sort_index()"
        )


def _carries_ascending_freq(index: pd.DatetimeIndex, freq) -> bool:
    """Whether ``index`` already has the requested (or any) freq, ascending."""
    own = index.freq
    if own is None or (freq is not None and freq != own and freq != own.freqstr):
        return False
    stamps = index.asi8
    return stamps.size < 2 or bool(stamps[0] < stamps[-1])


def _resolve_freq(index: pd.DatetimeIndex, freq, name: str):
    """The offset the index follows; ValueError if it follows none."""
    n = len(index)
    if freq is not None:
        try:
            offset = to_offset(freq)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"freq must be a pandas frequency such as 'h', 'D' or '15min', "
                f"got {freq!r}"
            ) from exc
        expected = pd.date_range(index[0], periods=n, freq=offset)
        off = np.flatnonzero(expected.as_unit("ns").asi8 != index.as_unit("ns").asi8)
        if off.size:
            k = int(off[0])
            raise ValueError(
                f"{name} does not follow freq {offset.freqstr!r}: position {k} is "
                f"{index[k]} but {expected[k]} was expected (a gap or an off-grid "
                "timestamp); resample or reindex explicitly and decide how to fill"
            )
        return offset
    if index.freq is not None:
        return index.freq
    if n < 2:
        raise ValueError(
            f"{name} has a single timestamp, so its frequency cannot be inferred; "
            "pass freq"
        )
    steps = np.diff(index.as_unit("ns").asi8)
    if (steps == steps[0]).all():
        return to_offset(_timedelta_alias(pd.Timedelta(int(steps[0]), unit="ns")))
    if n >= 3:
        with quiet():
            calendar = pd.infer_freq(index)
        if calendar is not None:
            return to_offset(calendar)
    distinct, counts = np.unique(steps, return_counts=True)
    modal_ns = distinct[np.argmax(counts)]
    modal = _timedelta_alias(pd.Timedelta(int(modal_ns), unit="ns"))
    with_other = np.flatnonzero(steps != modal_ns)
    k = int(with_other[0]) + 1
    raise ValueError(
        f"{name} is irregularly spaced and no freq was given: most steps are "
        f"{modal!r} but {with_other.size} differ, first {index[k - 1]} -> "
        f"{index[k]}; pass freq, or resample explicitly (e.g. "
        f"y.resample({modal!r}).last()) and decide how to fill the gaps"
    )


def validate_series(
    y, freq: str | pd.DateOffset | None = None, *, min_length: int = 2
) -> pd.Series:
    """Check a series before fitting and return it as a clean float Series.

    Parameters
    ----------
    y : pandas.Series or array-like of shape (n_samples,)
        The series. A Series is indexed by a ``DatetimeIndex`` (timestamps) or
        by integer positions; an array gets positions ``0 .. n - 1``.
    freq : str, pandas.DateOffset or None, default=None
        Expected spacing of the timestamps. None uses the index's own ``freq``
        or infers it from perfectly regular timestamps. Only for a
        ``DatetimeIndex``.
    min_length : int, default=2
        Fewest observations accepted.

    Returns
    -------
    y : pandas.Series
        float64 values, same name. A ``DatetimeIndex`` keeps its time zone and
        carries ``freq``; other input gets a ``RangeIndex``.

    Raises
    ------
    ValueError
        With the reason: not 1-D or not numeric; shorter than ``min_length``;
        NaN or inf (naming the timestamps or positions; fill or drop them
        yourself); missing, duplicated or unsorted timestamps; timestamps that
        do not follow ``freq``, or irregular spacing when ``freq`` is None;
        a constant series; ``freq`` given for data without timestamps.

    Examples
    --------
    >>> import pandas as pd
    >>> from tsmirrors.data import validate_series
    >>> idx = pd.date_range("2017-01-01", periods=4, freq="h", tz="UTC")
    >>> y = validate_series(pd.Series([1, 2, 4, 3], index=idx))
    >>> y.index.freqstr
    'h'
    >>> validate_series([1.0, float("nan"), 2.0])
    Traceback (most recent call last):
    ...
    ValueError: y has 1 NaN value(s) at positions 1; fill or drop them \
explicitly first (e.g. y.ffill(), y.interpolate() or y.dropna())
    """
    values, index, series_name = _checked_values(y, freq, min_length=min_length)
    return pd.Series(values, index=index, name=series_name, copy=False)


def _checked_values(
    y, freq=None, *, min_length: int = 2
) -> tuple[np.ndarray, pd.Index, object]:
    """:func:`validate_series` without building the Series.

    Returns a float64 copy of the values, the checked index (a
    ``DatetimeIndex`` carrying its ``freq``, or a ``RangeIndex``) and the
    series name. For code that only needs the numbers and the labels.
    """
    name = "y"
    min_length = _check_positive_int(min_length, "min_length")
    values, index, series_name = _as_1d_values(y, name)
    n = values.size
    if n < min_length:
        raise ValueError(
            f"{name} is too short: {n} observation(s), at least {min_length} needed"
        )
    _check_finite(values, index, name)
    check_scale(values, name)
    if isinstance(index, pd.DatetimeIndex):
        if _carries_ascending_freq(index, freq):
            # pandas only attaches a freq to timestamps that follow it, so
            # they are regular, distinct and free of NaT; ascending is left
            new_index = index
        else:
            _check_time_index(index, name)
            offset = _resolve_freq(index, freq, name)
            new_index = pd.DatetimeIndex(index, freq=offset)
    else:
        if freq is not None:
            raise ValueError(
                f"freq={freq!r} needs a Series with a DatetimeIndex, got "
                f"{'an array' if index is None else type(index).__name__}"
            )
        new_index = _positional_index(index, n, name)
    if n > 1 and np.ptp(values) == 0:
        raise ValueError(
            f"{name} is constant (every value is {float(values[0])!r}); there is "
            "nothing to forecast"
        )
    return np.array(values, dtype=np.float64), new_index, series_name


def _positional_index(index: pd.Index | None, n: int, name: str) -> pd.RangeIndex:
    if index is None:
        return pd.RangeIndex(n)
    if isinstance(index, pd.RangeIndex):
        if index.step < 0:
            raise ValueError(f"{name} has a decreasing RangeIndex; sort it first")
        return index
    if not pd.api.types.is_integer_dtype(index.dtype):
        raise ValueError(
            f"{name} must be indexed by a DatetimeIndex or integer positions, "
            f"got an index of dtype {index.dtype}"
        )
    positions = index.to_numpy(dtype=np.int64)
    steps = np.diff(positions)
    if n > 1 and not ((steps == steps[0]).all() and steps[0] > 0):
        raise ValueError(
            f"{name} has an integer index that is not evenly increasing "
            f"(first values {_labels(positions)}); reset it with y.reset_index("
            "drop=True) or give timestamps"
        )
    step = int(steps[0]) if n > 1 else 1
    return pd.RangeIndex(positions[0], positions[0] + step * n, step)
