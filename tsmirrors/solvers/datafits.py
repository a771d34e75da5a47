"""Datafits: the loss part of ``loss(y - A z - xi) + penalty(z)``."""

from __future__ import annotations

import numpy as np

from .._validation import check_quantile

__all__ = ["SquaredLoss", "QuantileLoss", "pinball_loss"]


def pinball_loss(residual, tau: float) -> np.ndarray:
    """Elementwise pinball loss ``L_tau(u) = 0.5 |u| + (tau - 0.5) u``.

    Applied to ``u = y - f``, its minimizer over a constant ``f`` is the
    tau-quantile of ``y``.
    """
    u = np.asarray(residual, dtype=float)
    return 0.5 * np.abs(u) + (tau - 0.5) * u


class SquaredLoss:
    """Squared loss ``F(f) = 1/2 ||y - f||^2``.

    Examples
    --------
    >>> import numpy as np
    >>> SquaredLoss().value(np.array([1.0, 2.0]), np.array([0.0, 0.0]))
    2.5
    """

    name = "squared"

    def value(self, y, fit) -> float:
        """Loss at the fitted values ``fit``."""
        r = np.asarray(y, dtype=float) - np.asarray(fit, dtype=float)
        return 0.5 * float(r @ r)

    def gradient(self, y, fit) -> np.ndarray:
        """Gradient with respect to ``fit``: ``fit - y``."""
        return np.asarray(fit, dtype=float) - np.asarray(y, dtype=float)

    def lipschitz(self) -> float:
        """Lipschitz constant of the gradient in ``fit`` (1)."""
        return 1.0

    def conjugate_dual(self, y, theta) -> float:
        """Dual objective ``1/2 ||y||^2 - 1/2 ||y - theta||^2`` at ``theta``."""
        y = np.asarray(y, dtype=float)
        d = y - theta
        return 0.5 * float(y @ y) - 0.5 * float(d @ d)

    def __repr__(self) -> str:
        return "SquaredLoss()"


class QuantileLoss:
    """Quantile (pinball) loss ``F(f) = sum_i L_tau(y_i - f_i)``.

    ``tau`` is the quantile level, as in scikit-learn: the fit models the
    tau-quantile, so about a fraction ``tau`` of the points lies below it.

    Parameters
    ----------
    tau : float, default=0.5
        Quantile level in (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> QuantileLoss(0.9).value(np.array([1.0, -1.0]), np.zeros(2))
    1.0
    """

    name = "quantile"

    def __init__(self, tau: float = 0.5):
        self.tau = check_quantile(tau, "tau")

    def value(self, y, fit) -> float:
        """Loss at the fitted values ``fit``."""
        r = np.asarray(y, dtype=float) - np.asarray(fit, dtype=float)
        return float(pinball_loss(r, self.tau).sum())

    def subgradient(self, y, fit) -> np.ndarray:
        """One subgradient with respect to ``fit`` (0 chosen at kinks)."""
        r = np.asarray(y, dtype=float) - np.asarray(fit, dtype=float)
        g = np.where(r > 0, -self.tau, 1.0 - self.tau)
        return np.where(r == 0, 0.0, g)

    def prox(self, fit, y, step: float) -> np.ndarray:
        """Proximal operator of ``step * F`` at ``fit``."""
        fit = np.asarray(fit, dtype=float)
        y = np.asarray(y, dtype=float)
        u = y - fit
        # prox of step * L_tau applied to y - f, written in f.
        shrunk = np.where(
            u > step * self.tau, u - step * self.tau,
            np.where(u < -step * (1.0 - self.tau), u + step * (1.0 - self.tau), 0.0),
        )
        return y - shrunk

    def dual_box(self) -> tuple[float, float]:
        """Bounds ``[tau - 1, tau]`` on the dual variables of the LP."""
        return self.tau - 1.0, self.tau

    def __repr__(self) -> str:
        return f"QuantileLoss(tau={self.tau})"
