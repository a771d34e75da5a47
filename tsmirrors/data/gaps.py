"""Gaps in a loaded series: filling them on request, and the part a run uses.

:func:`load_prices` reports gaps and never fills them. :func:`fill_gaps` is
the explicit step that does, and records which timestamps it filled.
:func:`select_close` picks the close prices a command-line run reads
(``--start``/``--end``, the latest rows it needs) and checks the spacing of
that part only, so that a gap years before the data in use does not stop it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ._quality import DataQualityWarning, describe_gaps, find_gaps, infer_frequency

__all__ = ["FILL_METHODS", "fill_gaps", "select_close"]

FILL_METHODS = ("ffill", "interpolate")


def _labels(index, limit: int = 3) -> str:
    shown = ", ".join(str(t) for t in index[:limit])
    return shown + (f" and {len(index) - limit} more" if len(index) > limit else "")


def fill_gaps(frame, method: str = "ffill", *, freq: str | None = None):
    """Put a series on its regular time grid and fill what is missing.

    Missing timestamps (the gaps :func:`load_prices` reports) are inserted,
    and they and any NaN price are filled by carrying the last price forward
    (``"ffill"``) or by linear interpolation in time (``"interpolate"``).
    Nothing before the first valid price is invented: leading NaN stay NaN
    (and trailing NaN with ``"interpolate"``); a :class:`DataQualityWarning`
    names them and ``attrs["unfilled"]`` lists them.

    Parameters
    ----------
    frame : pandas.DataFrame or pandas.Series
        Prices indexed by an ascending, duplicate-free ``DatetimeIndex``, such
        as the frame :func:`load_prices` returns.
    method : {"ffill", "interpolate"}, default="ffill"
        How missing prices are filled.
    freq : str, optional
        Spacing of the grid; by default ``frame.attrs["freq"]`` or the
        inferred frequency (:func:`infer_frequency`).

    Returns
    -------
    filled : same type as ``frame``
        On the regular grid, with ``index.freq`` set. A DataFrame gets a
        boolean column ``"filled"`` marking the rows where something was
        filled; its ``volume`` is 0 on inserted rows (no trades recorded) and
        left as it is elsewhere. ``filled.attrs`` keeps the input's report and
        adds ``"fill_method"``, ``"filled"`` (the filled timestamps) and
        ``"unfilled"`` (timestamps where a price column that has values
        elsewhere is still NaN).

    Raises
    ------
    ValueError
        For an unknown ``method``, an index that is not an ascending,
        duplicate-free ``DatetimeIndex``, a frequency that cannot be
        inferred, or timestamps off the grid (resample those first).

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.date_range("2020-01-01", periods=5, freq="h").delete([2, 3])
    >>> y = fill_gaps(pd.Series([1.0, 2.0, 5.0], index=idx), "interpolate")
    >>> y.tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0]
    >>> [str(t) for t in y.attrs["filled"]]
    ['2020-01-01 02:00:00', '2020-01-01 03:00:00']
    """
    if method not in FILL_METHODS:
        raise ValueError(f"method must be one of {FILL_METHODS}, got {method!r}")
    if not isinstance(frame, (pd.Series, pd.DataFrame)):
        raise TypeError(f"expected a Series or DataFrame, got {type(frame).__name__}")
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(f"fill_gaps needs a DatetimeIndex, got {type(index).__name__}")
    if not (index.is_monotonic_increasing and index.is_unique):
        raise ValueError("fill_gaps needs ascending timestamps without duplicates")
    freq = freq or frame.attrs.get("freq") or infer_frequency(index)
    if freq is None:
        raise ValueError(
            "fill_gaps cannot infer a frequency from fewer than two timestamps; "
            "pass freq"
        )
    gaps, off_grid = find_gaps(index, freq)
    if len(off_grid):
        raise ValueError(
            f"{len(off_grid)} timestamp(s) are off the {freq!r} grid, first "
            f"{_labels(off_grid)}; resample them first (e.g. "
            f"frame.resample({freq!r}).last())"
        )
    grid = pd.date_range(index[0], index[-1], freq=freq, name=index.name)
    out = frame.reindex(grid)
    inserted = ~grid.isin(index)
    if isinstance(out, pd.Series):
        columns = [None]
        data = {None: out}
    else:
        columns = [
            c
            for c in out.columns
            if c != "volume" and pd.api.types.is_float_dtype(out[c].dtype)
        ]
        data = {c: out[c] for c in columns}
    changed = np.zeros(len(out), dtype=bool)
    filled_data = {}
    for c in columns:
        col = data[c]
        if method == "ffill":
            new = col.ffill()
        else:
            new = col.interpolate(method="time", limit_area="inside")
        changed |= (col.isna() & new.notna()).to_numpy()
        filled_data[c] = new
    if isinstance(out, pd.Series):
        out = filled_data[None]
    else:
        out = out.copy()
        for c in columns:
            out[c] = filled_data[c]
        if "volume" in out.columns:
            out.loc[inserted, "volume"] = 0.0
        out["filled"] = changed | inserted
    unfilled = np.zeros(len(grid), dtype=bool)
    for new in filled_data.values():
        if new.notna().any():  # a column absent from the file is not a gap
            unfilled |= new.isna().to_numpy()
    out.index = pd.DatetimeIndex(grid, freq=freq, name=index.name)
    out.attrs = dict(frame.attrs)
    out.attrs["fill_method"] = method
    out.attrs["filled"] = list(grid[changed | inserted])
    out.attrs["unfilled"] = list(grid[unfilled])
    if unfilled.any():
        where = "before the first valid price"
        if method == "interpolate":
            where += " or after the last one"
        warnings.warn(
            f"{int(unfilled.sum())} row(s) still have no price after {method}, "
            f"at {_labels(grid[unfilled])}: they come {where}, so nothing fills "
            "them; listed in attrs['unfilled']",
            DataQualityWarning,
            stacklevel=2,
        )
    return out


def _timestamp(value, name: str, tz):
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a date such as 2020-01-31, got {value!r}"
        ) from exc
    if stamp is pd.NaT:
        raise ValueError(f"{name} must be a date such as 2020-01-31, got {value!r}")
    if tz is not None:
        stamp = stamp.tz_localize(tz) if stamp.tzinfo is None else stamp.tz_convert(tz)
    return stamp


def select_close(
    frame: pd.DataFrame,
    label: str,
    *,
    start=None,
    end=None,
    fill: str | None = None,
    last: int | None = None,
) -> pd.Series:
    """The close prices a run reads, checked on that part only.

    Parameters
    ----------
    frame : pandas.DataFrame
        Prices from :func:`load_prices` or :func:`load_yfinance`.
    label : str
        Name of the source in messages (the file name).
    start, end : str or pandas.Timestamp, optional
        First and last timestamp kept, both included; as in pandas' ``.loc``,
        a date alone keeps its whole day (``end="2020-06-30"``) and a month its
        whole month (``end="2020-06"``). Naive values are in the index's time
        zone (UTC for files).
    fill : {"ffill", "interpolate"}, optional
        Fill gaps and missing closes of the selected range with
        :func:`fill_gaps` (a :class:`DataQualityWarning` says what was
        filled); by default they are refused.
    last : int, optional
        How many of the latest rows the run uses; spacing and missing values
        are checked on those only. None checks the whole selection.

    Returns
    -------
    close : pandas.Series
        Named ``"close"``, its ``DatetimeIndex`` carrying the frequency;
        ``close.attrs["filled"]`` lists filled timestamps when ``fill`` is set.

    Raises
    ------
    ValueError
        If ``start``/``end`` are not dates or select nothing, or if the part
        used has missing closes or is not evenly spaced: the message names the
        first gaps and how to proceed.
    """
    index = frame.index
    if start is not None or end is not None:
        lo = _timestamp(start, "--start", index.tz) if start is not None else None
        hi = _timestamp(end, "--end", index.tz) if end is not None else None
        if isinstance(end, str) and pd.Timestamp(end).tzinfo is None:
            # As pandas' .loc slices: "2020-06" keeps June, "2020-06-30" its day.
            try:
                period_end = pd.Period(end.strip()).end_time
            except (TypeError, ValueError):
                period_end = None
            if period_end is not None and period_end.tzinfo is None:
                hi = period_end.tz_localize(index.tz)
        keep = np.ones(len(index), dtype=bool)
        if lo is not None:
            keep &= index >= lo
        if hi is not None:
            keep &= index <= hi
        if not keep.any():
            covers = f"{index[0]} .. {index[-1]}" if len(index) else "no rows"
            if start is not None and end is not None:
                bounds = f"between --start {start} and --end {end}"
            else:  # only the bound that was given
                bounds = (f"from --start {start} on" if end is None
                          else f"up to --end {end}")
            raise ValueError(
                f"{label}: no rows {bounds}; the data covers {covers}"
            )
        frame = frame[keep]
    if fill is not None:
        if fill not in FILL_METHODS:
            raise ValueError(f"--fill must be one of {FILL_METHODS}, got {fill!r}")
        with warnings.catch_warnings():  # unfilled rows used are refused below
            warnings.simplefilter("ignore", DataQualityWarning)
            frame = fill_gaps(frame, fill)
        filled = frame.attrs["filled"]
        if filled:
            warnings.warn(
                f"{label}: filled {len(filled)} timestamp(s) by {fill}, first "
                f"{_labels(pd.DatetimeIndex(filled))}; listed in "
                "close.attrs['filled']",
                DataQualityWarning,
                stacklevel=2,
            )
    used = frame if last is None or last >= len(frame) else frame.iloc[-last:]
    close = used["close"]
    missing = close.index[close.isna().to_numpy()]
    if len(missing):
        advice = (
            "they come before the first valid price, so nothing fills them; "
            "choose --start after them"
            if fill is not None
            else "pass --fill ffill or --fill interpolate, or choose --start/--end "
            "around them"
        )
        raise ValueError(
            f"{label}: {len(missing)} missing close price(s) in the rows used, at "
            f"{_labels(missing)}; {advice}"
        )
    freq = frame.attrs.get("freq") or infer_frequency(used.index)
    if freq is not None and len(used) > 1:
        gaps, off_grid = find_gaps(used.index, freq)
        if gaps or len(off_grid):
            what = []
            if gaps:
                n_missing = sum(g.missing for g in gaps)
                what.append(
                    f"{len(gaps)} gap(s) with {n_missing} missing timestamp(s): "
                    f"{describe_gaps(gaps)}"
                )
            if len(off_grid):
                what.append(
                    f"{len(off_grid)} timestamp(s) off the grid: {_labels(off_grid)}"
                )
            last_bad = gaps[-1].end if gaps else off_grid[-1]
            after = (last_bad.normalize() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
            raise ValueError(
                f"{label}: the {len(used)} rows used ({used.index[0]} .. "
                f"{used.index[-1]}) are not evenly spaced at {freq!r}: "
                f"{'; '.join(what)}; pass --fill ffill or --fill interpolate, or "
                f"start after the last gap (e.g. --start {after})"
            )
        index = pd.DatetimeIndex(used.index, freq=freq)
    else:
        index = used.index
    out = pd.Series(close.to_numpy(dtype=np.float64), index=index, name="close")
    out.attrs = dict(frame.attrs)
    return out
