"""Online calibration of quantile forecasts: adaptive conformal inference.

:class:`AdaptiveConformal` recalibrates a sequence of quantile forecasts as
outcomes arrive (Gibbs and Candes, 2021, "Adaptive conformal inference
under distribution shift"). For each level ``tau`` it keeps an effective
level ``a_t`` and the conformity scores of the outcomes observed so far,

    s_r = (y_r - q_r) / w_r,   w_r = (largest - smallest quantile of row r),

(scores in units of the row's own spread, so that a change of volatility
does not make old scores useless). The forecast of row ``t`` becomes
``q_t + w_t Q_{a_t}(s_observed)`` with ``Q_a`` the empirical ``a``-quantile
(inverted CDF) of the scores of the rows whose outcomes are known at row
``t``'s origin, and after each outcome

    a_{t+1} = a_t + gamma (tau - 1{y_t <= adjusted q_t}).

Only past outcomes are used. Gibbs and Candes show that the long-run
frequency of ``y <= adjusted q`` is within ``(max(a_1, 1 - a_1) + gamma) /
(gamma T)`` of ``tau`` for any sequence, when ``Q_a`` is ``-inf`` for
``a <= 0`` and ``+inf`` for ``a >= 1``; here those cases are clipped to the
smallest and largest observed scores so that every forecast stays finite.
Adjusted rows are sorted so that quantiles never cross.
"""

from __future__ import annotations

import bisect
import numbers

import numpy as np

from .._validation import check_finite_array

__all__ = ["AdaptiveConformal", "CALIBRATIONS"]

#: Calibrations a forecaster can request from a backtest.
CALIBRATIONS = (None, "adaptive")


class AdaptiveConformal:
    """Adaptive conformal inference for a set of quantile levels.

    Parameters
    ----------
    quantiles : array-like of shape (k,)
        The levels of the forecasts to recalibrate.
    gamma : float, default=0.005
        Step size of the effective level; larger adapts faster and
        fluctuates more.

    Examples
    --------
    >>> import numpy as np
    >>> aci = AdaptiveConformal([0.1, 0.9], gamma=0.05)
    >>> q = np.tile([-1.0, 1.0], (4, 1))
    >>> aci.calibrate(q, np.array([0.0, 3.0, 3.0, 0.0])).shape
    (4, 2)
    """

    def __init__(self, quantiles, gamma: float = 0.005):
        self.quantiles = np.asarray(quantiles, dtype=np.float64).reshape(-1)
        if self.quantiles.size == 0 or np.any(
            (self.quantiles <= 0) | (self.quantiles >= 1)
        ):
            raise ValueError(
                f"quantiles must be levels in (0, 1), got {self.quantiles.tolist()}"
            )
        if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not (
            0 < gamma < 1
        ):
            raise ValueError(f"gamma must be a number in (0, 1), got {gamma!r}")
        self.gamma = float(gamma)

    @staticmethod
    def _empirical(scores: list[float], level: float) -> float:
        if not scores:
            return 0.0
        if level <= 0:
            return scores[0]
        if level >= 1:
            return scores[-1]
        k = int(np.ceil(level * len(scores)))  # inverted CDF
        return scores[max(k, 1) - 1]

    def calibrate(self, q, y_true, origin=None, target=None) -> np.ndarray:
        """Recalibrated quantiles, row by row, from past outcomes only.

        Parameters
        ----------
        q : array-like of shape (n, k)
            Quantile forecasts in time order, one column per level.
        y_true : array-like of shape (n,)
            Outcomes; ``y_true[r]`` is used only by rows whose origin comes
            after it.
        origin, target : array-like of int of shape (n,), optional
            Positions in the series of each row's origin (the forecast saw
            ``y[:origin]``) and of its target. Row ``r``'s outcome is used
            for row ``t`` only when ``target[r] < origin[t]``. By default
            ``origin = target = arange(n)``: one-step forecasts, each row
            seeing the outcomes of the rows before it.

        Returns
        -------
        ndarray of shape (n, k)
        """
        q = check_finite_array(q, "q")
        y = check_finite_array(y_true, "y_true").reshape(-1)
        if q.ndim != 2 or q.shape != (y.size, self.quantiles.size):
            raise ValueError(
                f"q must have shape {(y.size, self.quantiles.size)}, got {q.shape}"
            )
        n = y.size
        origin = np.arange(n) if origin is None else np.asarray(origin).reshape(-1)
        target = np.arange(n) if target is None else np.asarray(target).reshape(-1)
        if origin.shape != (n,) or target.shape != (n,):
            raise ValueError("origin and target must have one position per row")
        if np.any(target < origin):
            raise ValueError("every target must come at or after its origin")
        spread = q.max(axis=1) - q.min(axis=1)
        width = np.where(spread > 0, spread, 1.0)
        taus = self.quantiles
        level = taus.copy()
        scores: list[list[float]] = [[] for _ in taus]
        out = np.empty_like(q)
        known = np.argsort(target, kind="stable")  # rows in order of outcome
        pointer = 0
        for t in range(n):
            while pointer < n and target[known[pointer]] < origin[t]:
                r = known[pointer]
                pointer += 1
                covered = y[r] <= out[r]
                level += self.gamma * (taus - covered)
                for j in range(taus.size):
                    bisect.insort(scores[j], (y[r] - q[r, j]) / width[r])
            shift = [self._empirical(scores[j], level[j]) for j in range(taus.size)]
            out[t] = np.sort(q[t] + width[t] * np.asarray(shift))
        return out
