"""Convex solvers: exact Lasso, quantile Lasso, paths and min-norm interpolation.

Every solver takes a dense matrix, a sparse matrix, a
:class:`~tsmirrors.features.operators.TwoLayerOperator` or any operator with
``shape``, ``matvec`` and ``rmatvec``, fits an unpenalized intercept unless
told not to, and returns its optimality certificate.
"""

from ._result import SolverResult
from .base import SUPPORTED, solve
from .datafits import QuantileLoss, SquaredLoss, pinball_loss
from .lars import LassoPath, lasso, lasso_beta_max, lasso_path
from .minnorm import MinNormResult, min_norm_interpolation
from .penalties import L1
from .quantile import QuantilePath, quantile_beta_max, quantile_lasso, quantile_path

__all__ = [
    "solve",
    "SUPPORTED",
    "SolverResult",
    "SquaredLoss",
    "QuantileLoss",
    "pinball_loss",
    "L1",
    "lasso",
    "lasso_path",
    "lasso_beta_max",
    "LassoPath",
    "quantile_lasso",
    "quantile_path",
    "quantile_beta_max",
    "QuantilePath",
    "min_norm_interpolation",
    "MinNormResult",
]
