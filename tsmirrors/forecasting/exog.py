"""Future-known exogenous inputs of the additive network.

Each exogenous column enters the additive network as one more input with
its own 1-D library, ``f(x) = xi + sum_k f_k(z_{t-k}) + sum_j g_j(e_{j,t})``,
where ``e_{j,t}`` is the column's value at the time being forecast (a
calendar indicator, a holiday flag, a scheduled event): the value must be
known in advance for every forecast row. Past-only series (volume) are not
future-known; lag them yourself (``volume.shift(1)``) before passing them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_exog", "future_exog"]


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


def check_exog(exog, y, n_levels: int) -> tuple[np.ndarray, list]:
    """Exogenous values aligned with the training series, and their names.

    With timestamps on both ``y`` and ``exog`` the rows are matched by
    timestamp (the error names the training timestamps that are missing);
    otherwise ``exog`` must have one row per training value.
    """
    frame = _as_frame(exog)
    index = getattr(y, "index", None)
    timestamps = isinstance(frame.index, pd.DatetimeIndex)
    if isinstance(index, pd.DatetimeIndex) and timestamps:
        missing = index.difference(frame.index)
        if missing.size:
            raise ValueError(
                f"exog has no row for {missing.size} training timestamp(s): "
                f"{[str(t) for t in missing[:5]]}"
            )
        frame = frame.loc[index]
    elif len(frame) != n_levels:
        raise ValueError(
            f"exog must have one row per value of y ({n_levels}), got {len(frame)}"
        )
    return frame.to_numpy(dtype=np.float64), list(frame.columns)


def future_exog(model, exog, steps: int, future_index) -> np.ndarray:
    """The exogenous rows of the ``steps`` forecast timestamps."""
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
    if isinstance(future_index, pd.DatetimeIndex) and isinstance(
        frame.index, pd.DatetimeIndex
    ):
        missing = future_index.difference(frame.index)
        if missing.size:
            raise ValueError(
                f"exog has no row for the forecast timestamp(s) "
                f"{[str(t) for t in missing[:5]]}"
            )
        return frame.loc[future_index].to_numpy(dtype=np.float64)
    if len(frame) < steps:
        raise ValueError(
            f"exog has {len(frame)} row(s), the forecast needs {steps} "
            "(one per forecast step)"
        )
    return frame.to_numpy(dtype=np.float64)[:steps]
