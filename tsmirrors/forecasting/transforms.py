"""Target transforms, fitted on the training part only, with exact inverses.

A forecaster models a transformed series ``z`` and maps its forecasts back to
price levels. Every transform maps an h-step *aggregate* of ``z`` to a level
through a strictly increasing function of the aggregate, so quantiles of the
aggregate are quantiles of the level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TARGETS", "TargetTransform", "check_positive_levels", "make_transform"]

TARGETS = ("level", "difference", "log_return", "standardize")


def check_positive_levels(levels, index=None) -> None:
    """Raise the ValueError of ``target='log_return'`` for values <= 0.

    The message names the timestamps (or index labels) of the first offending
    values when ``index`` is given, else their positions.
    """
    flat = np.asarray(levels, dtype=np.float64).reshape(-1)
    bad = np.flatnonzero(~(flat > 0))
    if not bad.size:
        return
    shown = bad[:5]
    if index is None:
        at = f"positions {shown.tolist()}"
    else:
        kind = "timestamps" if isinstance(index, pd.DatetimeIndex) else "labels"
        at = f"{kind} {', '.join(str(index[k]) for k in shown)}"
    more = f" and {bad.size - shown.size} more" if bad.size > shown.size else ""
    raise ValueError(
        f"target='log_return' needs positive values, got {float(flat[bad[0]])!r} at "
        f"{at}{more}; use target='difference', or fix or fill those values"
    )


class TargetTransform:
    """Base class. ``offset`` is how many leading levels ``forward`` consumes."""

    name = "level"
    offset = 0

    def fit(self, levels: np.ndarray) -> TargetTransform:
        return self

    def forward(self, levels: np.ndarray) -> np.ndarray:
        """Transformed series of a level series (``len(levels) - offset`` values)."""
        return np.asarray(levels, dtype=np.float64).copy()

    def aggregate(self, z: np.ndarray, start: np.ndarray, h: int) -> np.ndarray:
        """h-step aggregate of ``z`` beginning at positions ``start``."""
        return z[start + h - 1]

    def to_level(self, agg, last_level):
        """Level ``h`` steps ahead from its aggregate and the last known level."""
        return np.asarray(agg, dtype=np.float64)

    def path_to_levels(self, z_path: np.ndarray, last_level: float) -> np.ndarray:
        """Levels of a recursive forecast path of ``z``."""
        return np.asarray(z_path, dtype=np.float64)


class _Level(TargetTransform):
    name = "level"


class _Difference(TargetTransform):
    name = "difference"
    offset = 1

    def forward(self, levels):
        return np.diff(np.asarray(levels, dtype=np.float64), axis=-1)

    def aggregate(self, z, start, h):
        c = np.concatenate([[0.0], np.cumsum(z)])
        return c[start + h] - c[start]

    def to_level(self, agg, last_level):
        return np.asarray(last_level, dtype=np.float64) + agg

    def path_to_levels(self, z_path, last_level):
        return last_level + np.cumsum(z_path)


class _LogReturn(_Difference):
    name = "log_return"

    def forward(self, levels):
        levels = np.asarray(levels, dtype=np.float64)
        if np.any(levels <= 0):
            check_positive_levels(levels)
        return np.diff(np.log(levels), axis=-1)

    def to_level(self, agg, last_level):
        return np.asarray(last_level, dtype=np.float64) * np.exp(agg)

    def path_to_levels(self, z_path, last_level):
        return last_level * np.exp(np.cumsum(z_path))


class _Standardize(TargetTransform):
    name = "standardize"

    def fit(self, levels):
        levels = np.asarray(levels, dtype=np.float64)
        self.mean_ = float(levels.mean())
        self.scale_ = float(levels.std())
        if self.scale_ == 0:
            raise ValueError(
                "target='standardize' needs a non-constant training series"
            )
        return self

    def forward(self, levels):
        return (np.asarray(levels, dtype=np.float64) - self.mean_) / self.scale_

    def to_level(self, agg, last_level):
        return np.asarray(agg, dtype=np.float64) * self.scale_ + self.mean_

    def path_to_levels(self, z_path, last_level):
        return np.asarray(z_path) * self.scale_ + self.mean_


_CLASSES = {
    "level": _Level,
    "difference": _Difference,
    "log_return": _LogReturn,
    "standardize": _Standardize,
}


def make_transform(target: str) -> TargetTransform:
    """A fresh, unfitted transform by name (one of :data:`TARGETS`)."""
    if target not in _CLASSES:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    return _CLASSES[target]()
