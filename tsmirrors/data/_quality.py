"""Frequency inference and the gap report shared by the loaders."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

__all__ = ["DataQualityWarning", "Gap", "infer_frequency", "find_gaps"]


class DataQualityWarning(UserWarning):
    """A loaded series has gaps, duplicates, placeholder prices or stale data.

    The loaders never repair such problems silently: they report them with
    this warning and in ``df.attrs``. Filter it with
    ``warnings.simplefilter("ignore", DataQualityWarning)`` once you have
    read the report.
    """


class Gap(NamedTuple):
    """A run of consecutive timestamps missing from a regular series.

    Attributes
    ----------
    start : pandas.Timestamp
        First missing timestamp.
    end : pandas.Timestamp
        Last missing timestamp (equal to ``start`` for a single missing step).
    missing : int
        Number of missing timestamps in the run.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    missing: int


def _as_datetime_index(index) -> pd.DatetimeIndex:
    if isinstance(index, (pd.Series, pd.DataFrame)):
        index = index.index
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(
            f"expected a DatetimeIndex or a Series/DataFrame indexed by one, "
            f"got {type(index).__name__}"
        )
    return index


def _timedelta_alias(step: pd.Timedelta) -> str:
    """Pandas offset alias of a fixed step; whole days are spelled ``"D"``."""
    day = pd.Timedelta(days=1)
    if step >= day and step % day == pd.Timedelta(0):
        days = step // day
        return "D" if days == 1 else f"{days}D"
    return to_offset(step).freqstr


def infer_frequency(index) -> str | None:
    """Infer the sampling frequency of a time index as a pandas offset alias.

    The frequency is the most common step between consecutive distinct
    timestamps, so a few gaps do not hide it (``pandas.infer_freq`` returns
    None as soon as one step differs). Daily data that never falls on a
    weekend and skips Saturday and Sunday is reported as business days
    (``"B"``); regular calendar frequencies (monthly, quarterly, ...) are
    recognised as pandas does.

    Parameters
    ----------
    index : pandas.DatetimeIndex, pandas.Series or pandas.DataFrame
        The timestamps, or an object indexed by them. Order and duplicates
        do not matter.

    Returns
    -------
    freq : str or None
        An offset alias such as ``"h"``, ``"D"``, ``"B"``, ``"15min"`` or
        ``"MS"``; None when there are fewer than two distinct timestamps.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.date_range("2017-01-01", periods=6, freq="h").delete(3)
    >>> infer_frequency(idx)
    'h'
    """
    index = _as_datetime_index(index)
    idx = index.unique().sort_values()
    if len(idx) < 2:
        return None
    idx = idx.as_unit("ns")
    steps = np.diff(idx.asi8)
    values, counts = np.unique(steps, return_counts=True)
    step = pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")
    day = pd.Timedelta(days=1)
    if len(values) > 1 and step >= pd.Timedelta(days=28) and len(idx) >= 3:
        # Months and quarters have steps of varying length.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calendar = pd.infer_freq(idx)
        if calendar is not None:
            return to_offset(calendar).freqstr
    if step == day and (idx.day_of_week < 5).all():
        if (steps == pd.Timedelta(days=3).value).any():
            return "B"
    return _timedelta_alias(step)


def find_gaps(index, freq: str) -> tuple[list[Gap], pd.DatetimeIndex]:
    """List the runs of timestamps missing from ``index`` at frequency ``freq``.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Sorted, duplicate-free timestamps.
    freq : str
        Pandas offset alias of the expected spacing.

    Returns
    -------
    gaps : list of Gap
        One entry per run of consecutive missing timestamps, in time order.
    off_grid : pandas.DatetimeIndex
        Timestamps of ``index`` that do not lie on the grid
        ``pandas.date_range(index[0], index[-1], freq=freq)``.
    """
    index = _as_datetime_index(index)
    if len(index) < 2:
        return [], index[:0]
    expected = pd.date_range(index[0], index[-1], freq=freq)
    missing = expected.difference(index)
    off_grid = index.difference(expected)
    if len(missing) == 0:
        return [], off_grid
    pos = expected.get_indexer(missing)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(pos) != 1) + 1])
    ends = np.concatenate([starts[1:], [len(pos)]])
    gaps = [
        Gap(missing[s], missing[e - 1], int(e - s))
        for s, e in zip(starts, ends, strict=True)
    ]
    return gaps, off_grid


def describe_gaps(gaps: list[Gap], limit: int = 3) -> str:
    """Short human-readable list of the first ``limit`` gaps."""
    parts = []
    for gap in gaps[:limit]:
        if gap.missing == 1:
            parts.append(f"{gap.start}")
        else:
            parts.append(f"{gap.start} .. {gap.end} ({gap.missing} missing)")
    more = f" and {len(gaps) - limit} more" if len(gaps) > limit else ""
    return "; ".join(parts) + more
