"""One entry point that pairs a datafit and a penalty with the solver for them."""

from __future__ import annotations

from ._result import SolverResult
from .datafits import QuantileLoss, SquaredLoss
from .penalties import L1

__all__ = ["solve", "SUPPORTED"]

#: (datafit, penalty) pairs and the solver that handles each.
SUPPORTED = {
    ("squared", "l1"): "lasso (exact homotopy, any dictionary or operator)",
    ("quantile", "l1"): "quantile_lasso (HiGHS LP; slope-change LP for "
                        "continuous 2-layer operators)",
}


def solve(A, y, datafit, penalty, *, fit_intercept: bool = True, warm_start=None,
          **kwargs) -> SolverResult:
    """Minimize ``datafit(y - A z - xi) + penalty(z)`` with the matching solver.

    Parameters
    ----------
    A : ndarray, sparse matrix, TwoLayerOperator or operator
        Dictionary of shape (n_samples, n_features).
    y : array-like of shape (n_samples,)
    datafit : SquaredLoss or QuantileLoss
    penalty : L1
    fit_intercept : bool, default=True
    warm_start : SolverResult, default=None
    **kwargs
        Passed to the solver (``tol``, ``max_iter``, ``backend``, ...).

    Returns
    -------
    SolverResult

    Raises
    ------
    ValueError
        For a datafit/penalty pair no solver supports.

    Examples
    --------
    >>> import numpy as np
    >>> from tsmirrors.solvers import L1, SquaredLoss, solve
    >>> A = np.eye(3)
    >>> solve(A, np.array([3.0, 0.0, -3.0]), SquaredLoss(), L1(1.0)).coef
    array([ 2.,  0., -2.])
    """
    key = (getattr(datafit, "name", type(datafit).__name__),
           getattr(penalty, "name", type(penalty).__name__))
    if key not in SUPPORTED or not isinstance(penalty, L1):
        pairs = "; ".join(f"{d} + {p}: {s}" for (d, p), s in SUPPORTED.items())
        raise ValueError(
            f"no solver for datafit {datafit!r} with penalty {penalty!r}; "
            f"supported pairs are {pairs}"
        )
    if isinstance(datafit, SquaredLoss):
        from .lars import lasso

        return lasso(A, y, penalty.beta, weights=penalty.weights,
                     fit_intercept=fit_intercept, warm_start=warm_start, **kwargs)
    if isinstance(datafit, QuantileLoss):
        from .quantile import quantile_lasso

        return quantile_lasso(A, y, penalty.beta, datafit.tau, weights=penalty.weights,
                              fit_intercept=fit_intercept, warm_start=warm_start,
                              **kwargs)
    raise ValueError(f"unsupported datafit {datafit!r}")  # pragma: no cover
