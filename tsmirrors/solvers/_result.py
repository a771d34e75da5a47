"""Result objects shared by the solvers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SolverResult"]


@dataclass
class SolverResult:
    """Solution of a penalized problem, with its optimality certificate.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        The coefficients ``z``.
    intercept : float
        The unpenalized intercept ``xi`` (0 when ``fit_intercept=False``).
    objective : float
        Objective value at ``(coef, intercept)``.
    duality_gap : float
        Primal objective minus the objective of a feasible dual point built
        from the solution; an upper bound on the suboptimality.
    kkt_residual : float
        Scaled violation of the optimality conditions. For the squared loss,
        the largest distance from ``A_c^T r`` to ``beta * d||z||_1``, divided
        by ``beta_max = ||A_c^T y_c||_inf`` (the scale of the correlations,
        independent of ``beta``); for the quantile loss,
        the duality gap divided by ``max(1, |objective|)``.
    n_iter : int
        Homotopy steps (squared loss) or simplex iterations (quantile loss).
    converged : bool
        Whether the certificate meets the requested tolerance.
    active_set : ndarray of int
        Indices of the nonzero coefficients, in the order they entered.
    beta : float
        The penalty level solved for.
    datafit : str
        ``"squared"`` or ``"quantile"``.
    tau : float or None
        Quantile level of the quantile loss.
    message : str
        How the solver stopped.
    """

    coef: np.ndarray
    intercept: float
    objective: float
    duality_gap: float
    kkt_residual: float
    n_iter: int
    converged: bool
    active_set: np.ndarray
    beta: float
    datafit: str = "squared"
    tau: float | None = None
    message: str = ""
    state: Any = field(default=None, repr=False, compare=False)

    @property
    def certificate(self) -> float:
        """The convergence certificate: ``kkt_residual``."""
        return self.kkt_residual

    @property
    def n_active(self) -> int:
        """Number of nonzero coefficients."""
        return int(np.count_nonzero(self.coef))

    def predict(self, A) -> np.ndarray:
        """Fitted values ``A @ coef + intercept`` for a matrix or operator ``A``."""
        from ._design import as_design

        design = as_design(A)
        return design.matvec(self.coef) + self.intercept
