"""Future-known exogenous inputs of the additive network.

Each exogenous column enters the additive network as one more input with
its own 1-D library, ``f(x) = xi + sum_k f_k(z_{t-k}) + sum_j g_j(e_{j,t})``,
where ``e_{j,t}`` is the column's value at the time being forecast (a
calendar indicator, a holiday flag, a scheduled event): the value must be
known in advance for every forecast row. Past-only series (volume) are not
future-known; lag them yourself (``volume.shift(1)``) before passing them.

Rows are matched by timestamp when both sides have timestamps, and by
position otherwise; nothing is ever guessed. A timestamped ``exog`` is
checked like the series (sorted, no timestamp repeated), and its time zone
awareness must be that of the series.
Without timestamps to match, ``exog`` must have exactly one row per value
(at fit) or per forecast step (at predict). Every column must vary over the
training rows: a constant input has no 1-D library to learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.validation import _check_time_index

__all__ = ["check_exog", "check_varying_inputs", "future_exog"]


def _as_frame(exog, name: str = "exog") -> pd.DataFrame:
    if isinstance(exog, pd.Series):
        exog = exog.to_frame()
    if not isinstance(exog, pd.DataFrame):
        arr = np.asarray(exog, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got shape {arr.shape}")
        exog = pd.DataFrame(arr)
    try:
        values = exog.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must hold numbers: {exc}") from exc
    if not np.all(np.isfinite(values)):
        rows = exog.index[~np.all(np.isfinite(values), axis=1)][:5].tolist()
        raise ValueError(f"{name} contains NaN or inf at {rows}")
    return exog


def _stamps(labels, limit: int = 5) -> list[str]:
    return [str(t) for t in labels[:limit]]


def _check_timestamps(frame: pd.DataFrame, target: pd.DatetimeIndex, what: str):
    """Raise unless ``frame`` can be matched to the ``target`` timestamps."""
    index = frame.index
    _check_time_index(index, "exog")  # no NaT, no duplicate, sorted: as y
    if (index.tz is None) != (target.tz is None):
        aware = "tz-aware" if index.tz is not None else "tz-naive"
        other = "tz-aware" if target.tz is not None else "tz-naive"
        raise ValueError(
            f"exog timestamps are {aware} but the {what} timestamps are {other} "
            f"({_zones(index, target, what)}); localize or convert one of them "
            "(tz_localize / tz_convert)"
        )
    missing = target.difference(index)
    if missing.size:
        zones = ""
        if str(index.tz) != str(target.tz):
            zones = f" ({_zones(index, target, what)})"
        raise ValueError(
            f"exog has no row for {missing.size} {what} timestamp(s): "
            f"{_stamps(missing)}{zones}"
        )


def _zones(index: pd.DatetimeIndex, target: pd.DatetimeIndex, what: str) -> str:
    """``"exog in Europe/Paris, training in UTC"``, for the messages."""
    def zone(ix):
        return "no time zone" if ix.tz is None else str(ix.tz)

    return f"exog in {zone(index)}, {what} in {zone(target)}"


def check_varying_inputs(X: np.ndarray, names, where: str, advice: str = "") -> None:
    """Raise a ValueError naming the first column of ``X`` that is constant.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_inputs)
        Inputs of one fit: each needs two distinct values for its library.
    names : sequence of str
        What each column is (``"exog column 'hour_3'"``, ``"the lag-1
        input"``), for the message.
    where : str
        Which rows these are (``"the training window"``).
    advice : str, default=""
        What to do about it, appended to the message.
    """
    if X.shape[0] == 0:
        return
    constant = np.flatnonzero(X.min(axis=0) == X.max(axis=0))
    if constant.size:
        k = int(constant[0])
        name = names[k] if k < len(names) else f"input column {k}"
        raise ValueError(
            f"{name} is constant in {where} (all {X.shape[0]} values are "
            f"equal): a constant input has nothing to learn from{advice}"
        )


def check_exog(exog, y, n_levels: int) -> tuple[np.ndarray, list]:
    """Exogenous values aligned with the training series, and their names.

    With timestamps on both ``y`` and ``exog`` the rows are matched by
    timestamp (the error names the training timestamps that are missing, or
    the duplicated ones of ``exog``); otherwise ``exog`` must have one row
    per training value. Every column must vary over the training rows.
    """
    frame = _as_frame(exog)
    index = getattr(y, "index", None)
    timestamps = isinstance(frame.index, pd.DatetimeIndex)
    if isinstance(index, pd.DatetimeIndex) and timestamps:
        _check_timestamps(frame, index, "training")
        frame = frame.loc[index]
    elif len(frame) != n_levels:
        raise ValueError(
            f"exog must have one row per value of y ({n_levels}), got {len(frame)}"
        )
    values = frame.to_numpy(dtype=np.float64)
    columns = list(frame.columns)
    check_varying_inputs(
        values,
        [f"exog column {c!r}" for c in columns],
        "the training window",
        "; drop it from exog (or train on a window where it varies)",
    )
    return values, columns


def future_exog(model, exog, steps: int, future_index) -> np.ndarray:
    """The exogenous rows of the ``steps`` forecast timestamps.

    Matched by timestamp when ``exog`` and the forecast both have them;
    an ``exog`` without timestamps (an array, or a frame without a
    ``DatetimeIndex``) must have exactly ``steps`` rows, the forecast
    steps in order. A timestamped ``exog`` for a forecast whose timestamps
    are unknown (``last_window`` given as an array) is refused.
    """
    if exog is None:
        raise ValueError(
            f"this model was fit with exog ({model.n_exog_} columns): predict "
            f"needs exog for the {steps} forecast row(s)"
        )
    frame = _as_frame(exog)
    if list(frame.columns) != list(model.exog_columns_):
        if frame.shape[1] != model.n_exog_ or not isinstance(
            frame.columns, pd.RangeIndex
        ):
            raise ValueError(
                f"exog must have the fitted columns {list(model.exog_columns_)}, "
                f"got {list(frame.columns)}"
            )
    timed = isinstance(frame.index, pd.DatetimeIndex)
    if timed and isinstance(future_index, pd.DatetimeIndex):
        _check_timestamps(frame, future_index, "forecast")
        return frame.loc[future_index].to_numpy(dtype=np.float64)
    if timed:
        raise ValueError(
            "exog has timestamps but the forecast timestamps are unknown (a "
            "last_window without them, or a model fit without them), so its rows "
            "cannot be matched: pass last_window as a Series indexed by its "
            f"timestamps, or exog without timestamps holding exactly the {steps} "
            "forecast row(s) in order (e.g. exog.to_numpy())"
        )
    if len(frame) != steps:
        raise ValueError(
            f"exog without timestamps must have exactly one row per forecast step, "
            f"in order: {steps} row(s) expected, got {len(frame)} (or give exog a "
            "DatetimeIndex to match the forecast timestamps)"
        )
    return frame.to_numpy(dtype=np.float64)
