"""Penalties on the coefficients; the intercept is never penalized."""

from __future__ import annotations

import numpy as np

from .._validation import check_finite_array

__all__ = ["L1"]


class L1:
    """(Weighted) l1 penalty ``beta * sum_j w_j |z_j|``.

    Parameters
    ----------
    beta : float, default=1.0
        Regularization strength, ``>= 0``.
    weights : array-like of shape (n_features,), default=None
        Positive weights ``w_j``; ``None`` means all ones.

    Examples
    --------
    >>> import numpy as np
    >>> L1(2.0).value(np.array([1.0, -3.0]))
    8.0
    """

    name = "l1"

    def __init__(self, beta: float = 1.0, weights=None):
        from .._validation import check_nonnegative

        self.beta = check_nonnegative(beta, "beta")
        self.weights = None if weights is None else check_weights(weights)

    def _w(self, n: int) -> np.ndarray:
        if self.weights is None:
            return np.ones(n)
        if self.weights.shape[0] != n:
            raise ValueError(
                f"weights has {self.weights.shape[0]} entries for {n} coefficients"
            )
        return self.weights

    def value(self, coef) -> float:
        """Penalty value at ``coef``."""
        coef = np.asarray(coef, dtype=float)
        return self.beta * float(self._w(coef.size) @ np.abs(coef))

    def prox(self, coef, step: float) -> np.ndarray:
        """Soft thresholding: proximal operator of ``step * penalty``."""
        coef = np.asarray(coef, dtype=float)
        thr = step * self.beta * self._w(coef.size)
        return np.sign(coef) * np.maximum(np.abs(coef) - thr, 0.0)

    def subdiff_distance(self, coef, grad) -> np.ndarray:
        """Distance of ``-grad`` to the subdifferential, per coordinate."""
        coef = np.asarray(coef, dtype=float)
        grad = np.asarray(grad, dtype=float)
        thr = self.beta * self._w(coef.size)
        return np.where(
            coef != 0,
            np.abs(grad + thr * np.sign(coef)),
            np.maximum(np.abs(grad) - thr, 0.0),
        )

    def __repr__(self) -> str:
        w = "" if self.weights is None else ", weights=..."
        return f"L1(beta={self.beta}{w})"


def check_weights(weights, n_features: int | None = None) -> np.ndarray:
    """Validate l1 weights: finite, strictly positive, right length."""
    w = check_finite_array(weights, "weights", ndim=1)
    if n_features is not None and w.shape[0] != n_features:
        raise ValueError(
            f"weights must have one entry per feature ({n_features}), got {w.shape[0]}"
        )
    if np.any(w <= 0):
        raise ValueError(
            f"weights must be > 0, got min {w.min()}; drop a feature instead of "
            "giving it weight 0"
        )
    return w
