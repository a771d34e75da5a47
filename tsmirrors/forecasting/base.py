"""The contract every tsmirrors forecaster follows.

``fit(y)`` takes a pandas Series with a DatetimeIndex (frequency inferred or
given) or a 1-D array; ``predict(steps)`` returns point forecasts as a Series
indexed by the future timestamps (or positions). Quantile forecasters also
have ``predict_quantiles(steps)`` (a DataFrame with one column per quantile
level) and ``predict_interval(steps, coverage)``. Every prediction method
takes ``last_window``: the most recent observed values, to forecast from a
later origin without refitting (the transform and the model stay as fitted).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._validation import check_quantile
from ..data.validation import (
    _carries_ascending_freq,
    _check_time_index,
    _checked_values,
    _positional_index,
    _resolve_freq,
)
from .transforms import check_positive_levels, make_transform

__all__ = ["BaseForecaster", "check_quantiles", "check_steps"]


def check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    return int(steps)


#: Smallest gap between two quantile levels: closer levels are one level
#: written twice (``0.1`` and ``0.1 + 1e-17``), whose columns would carry the
#: same label.
MIN_QUANTILE_GAP = 1e-9


def check_quantiles(quantiles) -> np.ndarray:
    """Quantile levels strictly inside (0, 1), increasing, at least 1e-9 apart.

    Raises a ValueError for text (``"0.5"``: levels are numbers), levels
    outside (0, 1), unsorted ones, and levels closer than
    :data:`MIN_QUANTILE_GAP`, naming them.
    """
    raw = np.asarray(quantiles, dtype=object).reshape(-1)
    text = [v for v in raw if isinstance(v, (str, bytes))]
    if isinstance(quantiles, (str, bytes)) or text:
        raise ValueError(f"quantiles must be numbers, not text, got {quantiles!r}")
    try:
        q = np.asarray(quantiles, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"quantiles must be numbers, got {quantiles!r}") from exc
    if q.size == 0:
        raise ValueError("quantiles must not be empty")
    for tau in q:
        check_quantile(float(tau), "each quantile")
    if np.any(np.diff(q) <= 0):
        raise ValueError(f"quantiles must be sorted and distinct, got {q.tolist()}")
    close = np.flatnonzero(np.diff(q) < MIN_QUANTILE_GAP)
    if close.size:
        j = int(close[0])
        raise ValueError(
            f"quantiles {float(q[j])!r} and {float(q[j + 1])!r} are closer than "
            f"{MIN_QUANTILE_GAP:g}; give each level once"
        )
    return q


class BaseForecaster(BaseEstimator):
    """Shared series handling: validation, transforms, windows, future index."""

    #: lags of the model (overridden by estimators with a ``lags`` parameter)
    _lags = 1

    # ------------------------------------------------------------ helpers
    def _lag_list(self) -> np.ndarray:
        """The model's lags (1-based, sorted): fitted ``lags_`` or the parameter."""
        fitted = self.__dict__.get("lags_")
        if fitted is not None:
            return fitted
        lags = getattr(self, "lags", self._lags)
        if isinstance(lags, numbers.Integral) and not isinstance(lags, bool):
            if lags < 1:
                raise ValueError(f"lags must be an integer >= 1, got {lags!r}")
        from .selection import check_lags

        # before a fit, "auto" stands for its smallest candidate set (lag 1:
        # the candidates grow with the length of the training series)
        return check_lags(lags, getattr(self, "seasonal_period", None),
                          n_obs=0 if isinstance(lags, str) else None)

    def _n_lags(self) -> int:
        """The largest lag: how many transformed values one input row reads."""
        return int(self._lag_list().max())

    def _validate_fit_series(self, y, freq=None) -> np.ndarray:
        """Check the training series (see ``validate_series``); its levels."""
        lags = self._n_lags()
        levels, index, name = _checked_values(y, freq=freq, min_length=lags + 2)
        if getattr(self, "target", None) == "log_return":
            check_positive_levels(levels, index)
        self.index_type_ = type(index)
        self.freq_ = getattr(index, "freq", None)
        self.index_step_ = int(getattr(index, "step", 1))  # integer positions
        self.last_index_ = index[-1]
        self.n_train_ = int(levels.size)
        self.name_ = name
        return levels

    def _fit_transform(self, levels: np.ndarray, target: str | None = None):
        target = getattr(self, "target", "level") if target is None else target
        tr = make_transform(target).fit(levels)
        z = tr.forward(levels)
        if z.size < self._n_lags() + 2:
            raise ValueError(
                f"the series is too short: {levels.size} values give {z.size} "
                f"transformed values, at least {self._n_lags() + 2} needed"
            )
        if np.ptp(z) == 0:
            raise ValueError(
                f"the {target} series is constant; there is nothing to forecast"
            )
        self.transform_ = tr
        return z

    def _window(
        self, last_window, need: int | None = None, whole: bool = False
    ) -> tuple[np.ndarray, object]:
        """Recent levels (oldest first) and the label of the last one.

        ``need`` values at least (default: the lags and the transform's
        offset); the last ``need`` of them, or all of them with ``whole``.
        """
        need = self._n_lags() + self.transform_.offset if need is None else need
        if last_window is None:
            return self.window_, self.last_index_
        if isinstance(last_window, pd.Series):
            values = last_window.to_numpy(dtype=np.float64)
            last = self._check_window_labels(last_window.index)
        else:
            values = np.asarray(last_window, dtype=np.float64).reshape(-1)
            last = None
        if values.size < need:
            raise ValueError(
                f"last_window needs at least {need} values (lags + transform), "
                f"got {values.size}"
            )
        if not np.all(np.isfinite(values)):
            raise ValueError("last_window contains NaN or inf")
        return (values if whole else values[-need:]), last

    def _check_window_labels(self, index: pd.Index):
        """The label of the last value of a Series ``last_window``.

        Its labels must be like those of the training series: timestamps
        sorted, distinct and regular at the fitted frequency, with the same
        time zone awareness; integer positions evenly increasing (with the
        fitted step, for a model fit without timestamps).
        """
        if len(index) == 0:
            raise ValueError("last_window is empty")
        if not isinstance(index, pd.DatetimeIndex):
            positions = _positional_index(index, len(index), "last_window")
            step = getattr(self, "index_step_", 1)
            if (
                len(index) > 1
                and self.index_type_ is not pd.DatetimeIndex
                and positions.step != step
            ):
                raise ValueError(
                    f"last_window positions step by {positions.step}, the training "
                    f"series by {step}"
                )
            return positions[-1]
        if self.index_type_ is not pd.DatetimeIndex:
            raise ValueError(
                "last_window has timestamps but the model was fit without them"
            )
        fitted_tz = getattr(self.last_index_, "tz", None)
        if (index.tz is None) != (fitted_tz is None):
            raise ValueError(
                f"last_window timestamps are "
                f"{'tz-naive' if index.tz is None else 'tz-aware'} but the model "
                f"was fit on {'tz-naive' if fitted_tz is None else 'tz-aware'} "
                "timestamps; localize or convert them (tz_localize / tz_convert)"
            )
        freq = self.freq_
        if not _carries_ascending_freq(index, freq):
            _check_time_index(index, "last_window")
            if len(index) > 1:  # regular at the fitted frequency (names the gap)
                _resolve_freq(index, freq, "last_window")
        return index[-1]

    def _future_index(self, steps: int, last) -> pd.Index:
        if last is None:
            return pd.RangeIndex(steps)
        if isinstance(last, pd.Timestamp):
            if self.freq_ is None:
                raise ValueError(
                    "the training series has no frequency; cannot "
                    "build future timestamps"
                )
            return pd.date_range(last, periods=steps + 1, freq=self.freq_)[1:]
        step = getattr(self, "index_step_", 1)
        return pd.RangeIndex(int(last) + step, int(last) + step * (steps + 1), step)

    def _store_window(self, levels: np.ndarray) -> None:
        need = self._n_lags() + self.transform_.offset
        self.window_ = np.asarray(levels[-need:], dtype=np.float64).copy()

    def _lag_row(self, window: np.ndarray) -> np.ndarray:
        """Model input (lag 1 first) from a window of levels."""
        z = self.transform_.forward(window) / getattr(self, "z_scale_", 1.0)
        return z[::-1][self._lag_list() - 1]

    def _scaled_target(self, z: np.ndarray) -> np.ndarray:
        """``z`` in model units: divided by its training std when normalizing."""
        self.z_scale_ = float(np.std(z)) if getattr(self, "normalize", False) else 1.0
        return z / self.z_scale_

    # ----------------------------------------------------------- public
    def predict(self, steps: int = 1, last_window=None) -> pd.Series:
        raise NotImplementedError

    def predict_interval(
        self, steps: int = 1, coverage: float = 0.9, last_window=None
    ) -> pd.DataFrame:
        """Central prediction interval with nominal ``coverage``.

        Uses the fitted quantiles ``(1 - coverage)/2`` and ``(1 + coverage)/2``.
        """
        check_is_fitted(self, "transform_")
        coverage = check_quantile(coverage, "coverage")
        lo, hi = (1 - coverage) / 2, (1 + coverage) / 2
        q = self.predict_quantiles(steps, last_window=last_window)
        levels = np.asarray(q.columns, dtype=float)
        for level in (lo, hi):
            if not np.any(np.isclose(levels, level)):
                raise ValueError(
                    f"coverage={coverage} needs the quantiles {lo:g} and {hi:g}; "
                    f"this model has {levels.tolist()}"
                )
        col = {lv: q.columns[np.argmin(np.abs(levels - lv))] for lv in (lo, hi)}
        return pd.DataFrame({"lower": q[col[lo]], "upper": q[col[hi]]})
