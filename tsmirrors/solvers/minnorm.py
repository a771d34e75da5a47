"""Minimum l1-norm interpolation, problem (C.1): the Lasso as ``beta -> 0``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._design import check_problem
from ._highs import solve_lp
from ._lp import build_quantile_lp, split_solution
from .penalties import check_weights

__all__ = ["min_norm_interpolation", "MinNormResult"]


@dataclass
class MinNormResult:
    """Solution of ``min ||z||_1  s.t.  A z + xi 1 = y``.

    Attributes
    ----------
    value : float
        The minimum of ``sum_j w_j |z_j|``.
    coef : ndarray of shape (n_features,)
        A minimizer ``z``.
    intercept : float
        Its intercept ``xi`` (0 when ``fit_intercept=False``).
    max_violation : float
        ``max_i |(A z + xi 1 - y)_i|``, recomputed from the dictionary.
    status : str
        HiGHS status.
    formulation : str
        ``"slope"`` or ``"dense"``.
    """

    value: float
    coef: np.ndarray
    intercept: float
    max_violation: float
    status: str
    formulation: str

    @property
    def objective(self) -> float:
        """The optimal value (same as :attr:`value`)."""
        return self.value


def min_norm_interpolation(A, y, *, weights=None, fit_intercept: bool = True,
                           formulation: str = "auto",
                           backend: str = "auto") -> MinNormResult:
    """Minimum (weighted) l1-norm interpolation ``min ||z||_1 s.t. A z + xi 1 = y``.

    Solved as a linear program by HiGHS; for a :class:`TwoLayerOperator` with a
    continuous activation over slope changes with ``O(N + p)`` nonzeros.

    Parameters
    ----------
    A : ndarray, sparse matrix, TwoLayerOperator or operator
        Dictionary of shape (n_samples, n_features).
    y : array-like of shape (n_samples,)
        Targets to interpolate.
    weights : array-like of shape (n_features,), default=None
        Positive weights of the l1 norm.
    fit_intercept : bool, default=True
        Free intercept ``xi``; ``False`` forces ``xi = 0`` (sign and threshold
        dictionaries in Appendix C).
    formulation : {"auto", "slope", "dense"}, default="auto"
    backend : {"auto", "highspy", "scipy"}, default="auto"

    Returns
    -------
    MinNormResult

    Raises
    ------
    ValueError
        When no ``(z, xi)`` interpolates ``y`` (for instance repeated inputs
        with different targets).

    Examples
    --------
    >>> import numpy as np
    >>> from tsmirrors.features.operators import TwoLayerOperator
    >>> x = np.array([0.0, 1.0, 2.0])
    >>> op = TwoLayerOperator.from_inputs(x, "relu")
    >>> round(min_norm_interpolation(op, np.abs(x - 1.0)).value, 12)
    2.0
    """
    design, y = check_problem(A, y)
    w = (np.ones(design.n_features) if weights is None
         else check_weights(weights, design.n_features))
    lp = build_quantile_lp(design, y, w, None, fit_intercept, formulation)
    sol, _ = solve_lp(lp, backend)
    if not sol.ok:
        raise ValueError(
            "no interpolating solution: A z + xi 1 = y is infeasible "
            f"(HiGHS status: {sol.status})"
        )
    z, xi = split_solution(lp, sol.x)
    fit = design.matvec(z) + xi
    return MinNormResult(
        value=float(w @ np.abs(z)), coef=z, intercept=xi,
        max_violation=float(np.max(np.abs(fit - y))), status=sol.status,
        formulation=lp.formulation,
    )
