"""The fold description of a backtest: where each fit ends and what it forecasts.

A backtest walks forward through a series of ``n`` observations. Fold ``k``
has the *origin* ``t_k = initial_train_size + k * steps``: the forecast is
issued when ``y[:t_k]`` has been observed, and it covers
``y[t_k + gap : t_k + gap + steps]`` (the last fold may be shorter).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["WINDOWS", "BacktestSplit", "Fold"]

#: Training windows: all data up to the origin, or the last ``initial_train_size``.
WINDOWS = ("expanding", "rolling")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class Fold(NamedTuple):
    """One fold of a backtest.

    Attributes
    ----------
    number : int
        Fold number, from 0.
    train : slice
        Positions the forecaster used in this fold was fit on. On a fold
        without a refit it is the training slice of the latest refit.
    origin : int
        Number of observations available when the forecast is issued: the
        forecast sees ``y[:origin]`` and nothing later.
    test : slice
        Positions forecast: ``origin + gap`` up to
        ``min(origin + gap + steps, n)``.
    refit : bool
        Whether the forecaster is (re)fit at this fold.
    """

    number: int
    train: slice
    origin: int
    test: slice
    refit: bool


@dataclass(frozen=True)
class BacktestSplit:
    """A validated description of the folds of a walk-forward backtest.

    Parameters
    ----------
    initial_train_size : int
        Observations in the first training window, ``>= 1``. Fold ``k``
        forecasts from the origin ``t_k = initial_train_size + k * steps``.
    steps : int, default=1
        Forecasts per fold (the forecast horizon after the gap), ``>= 1``.
    refit : bool or int, default=True
        ``True`` fits the forecaster at every fold, ``False`` only at the
        first, an integer ``k >= 1`` at every ``k``-th fold (0, k, 2k, ...).
        Between refits the forecaster is not refit but forecasts from the
        newest observations (its ``last_window``).
    window : {"expanding", "rolling"}, default="expanding"
        ``"expanding"`` fits on all of ``y[:t]``; ``"rolling"`` on the last
        ``initial_train_size`` values ``y[t - initial_train_size : t]``.
    gap : int, default=0
        Observations skipped between the origin and the first forecast,
        ``>= 0``: fold ``k`` forecasts ``y[t_k + gap : t_k + gap + steps]``,
        that is horizons ``gap + 1`` to ``gap + steps``.

    Raises
    ------
    ValueError
        On a parameter of the wrong type or out of range, naming it.

    Examples
    --------
    Ten observations, three in the first window, two forecasts per fold,
    a refit every second fold and a rolling window:

    >>> from tsmirrors.backtesting import BacktestSplit
    >>> cv = BacktestSplit(3, steps=2, refit=2, window="rolling")
    >>> for fold in cv.folds(10):
    ...     print(fold.number, fold.train, fold.origin, fold.test, fold.refit)
    0 slice(0, 3, None) 3 slice(3, 5, None) True
    1 slice(0, 3, None) 5 slice(5, 7, None) False
    2 slice(4, 7, None) 7 slice(7, 9, None) True
    3 slice(4, 7, None) 9 slice(9, 10, None) False
    """

    initial_train_size: int
    steps: int = 1
    refit: bool | int = True
    window: str = "expanding"
    gap: int = 0

    def __post_init__(self) -> None:
        size = self.initial_train_size
        if not _is_int(size) or size < 1:
            raise ValueError(
                f"initial_train_size must be an integer >= 1, got {size!r}"
            )
        if not _is_int(self.steps) or self.steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {self.steps!r}")
        refit = self.refit
        if not isinstance(refit, bool) and not (_is_int(refit) and refit >= 1):
            raise ValueError(
                "refit must be True, False or an integer >= 1 (refit every that "
                f"many folds), got {refit!r}"
            )
        if not isinstance(self.window, str) or self.window not in WINDOWS:
            raise ValueError(
                f"window must be 'expanding' or 'rolling', got {self.window!r}"
            )
        if not _is_int(self.gap) or self.gap < 0:
            raise ValueError(f"gap must be an integer >= 0, got {self.gap!r}")
        # plain ints, so numpy integers behave like the documented values
        for name in ("initial_train_size", "steps", "gap"):
            object.__setattr__(self, name, int(getattr(self, name)))
        if not isinstance(refit, bool):
            object.__setattr__(self, "refit", int(refit))

    @property
    def refit_every(self) -> int | None:
        """Folds between refits; None when the forecaster is fit only once."""
        if self.refit is True:
            return 1
        if self.refit is False:
            return None
        return int(self.refit)

    def _check_length(self, n) -> int:
        if not _is_int(n) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        n = int(n)
        size, gap = self.initial_train_size, self.gap
        if size + gap >= n:
            if gap == 0:
                raise ValueError(
                    f"initial_train_size must be smaller than the series length "
                    f"{n} to leave at least one value to forecast, got {size}"
                )
            raise ValueError(
                f"initial_train_size + gap must be smaller than the series length "
                f"{n} to leave at least one value to forecast, got {size} + {gap} "
                f"= {size + gap}"
            )
        return n

    def n_folds(self, n: int) -> int:
        """Number of folds for a series of ``n`` observations."""
        n = self._check_length(n)
        return math.ceil((n - self.initial_train_size - self.gap) / self.steps)

    def folds(self, n: int) -> list[Fold]:
        """Every fold for a series of ``n`` observations, in time order.

        Parameters
        ----------
        n : int
            Length of the series.

        Returns
        -------
        list of Fold

        Raises
        ------
        ValueError
            If ``initial_train_size + gap >= n`` (nothing left to forecast).
        """
        lay = self._layout(n)
        return [
            Fold(k, slice(int(a), int(b)), int(o), slice(int(c), int(d)), bool(r))
            for k, (a, b, o, c, d, r) in enumerate(zip(
                lay["train_start"], lay["train_stop"], lay["origin"],
                lay["test_start"], lay["test_stop"], lay["refit"], strict=True))
        ]

    def _layout(self, n: int) -> dict[str, np.ndarray]:
        """The folds of :meth:`folds` as arrays (one entry per fold)."""
        n_folds = self.n_folds(n)
        every = self.refit_every
        size = self.initial_train_size
        k = np.arange(n_folds)
        origin = size + k * self.steps
        refit = k == 0
        if every is not None:
            refit |= k % every == 0
        # each fold keeps the training slice of the last refit at or before it
        last_refit = np.maximum.accumulate(np.where(refit, k, 0))
        train_stop = origin[last_refit]
        train_start = train_stop - size if self.window == "rolling" else 0 * train_stop
        test_start = origin + self.gap
        test_stop = np.minimum(test_start + self.steps, n)
        return {"origin": origin, "refit": refit, "train_start": train_start,
                "train_stop": train_stop, "test_start": test_start,
                "test_stop": test_stop}

    def split(self, n: int) -> Iterator[tuple[slice, slice]]:
        """Yield ``(train, test)`` slices of positions, one pair per fold.

        ``train`` is what the fold's forecaster was fit on and ``test`` what
        it forecasts; see :meth:`folds` for the origins and refits.

        Parameters
        ----------
        n : int
            Length of the series.

        Yields
        ------
        train, test : slice
        """
        for fold in self.folds(n):
            yield fold.train, fold.test
