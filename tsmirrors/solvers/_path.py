"""The exact Lasso regularization path, certified at every kink."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from .._validation import check_nonnegative, check_positive_int
from ._homotopy import DesignBackend, Homotopy, Problem, _small_blas, run

__all__ = ["LassoPath", "lasso_path"]


@dataclass
class LassoPath:
    """The exact, piecewise-linear Lasso path, stored at its kinks.

    Between two consecutive kinks the coefficients and the intercept are
    affine in ``beta``, so :meth:`coef_at` is exact (linear interpolation).

    Attributes
    ----------
    betas : ndarray of shape (n_kinks,)
        Decreasing penalty levels of the kinks; ``betas[0] = beta_max``.
    coefs : scipy.sparse.csr_array of shape (n_kinks, n_features)
        Coefficients at the kinks.
    intercepts : ndarray of shape (n_kinks,)
        Intercepts at the kinks.
    beta_max : float
        Smallest penalty with ``z = 0``.
    n_iter : int
        Homotopy steps taken.
    converged : bool
        False when ``max_iter`` stopped the path early or when a kink could
        not be certified.
    fit_intercept : bool
        Whether the intercept was fitted.
    y_mean : float
        Mean of the targets (0 without intercept).
    certified : ndarray of bool of shape (n_kinks,)
        Whether each kink is certified optimal at its ``beta``, from fresh
        correlations on the whole dictionary: its scaled KKT residual
        ``max_j dist(c_j, beta * d|z_j|) / beta_max`` is at most ``tol``, or
        its duality gap at most ``tol * 1/2 ||y_c||^2``. Values between two
        certified kinks are exact up to the same rounding. Uncertified kinks
        are also reported by a ``ConvergenceWarning``.
    kkt_residuals : ndarray of shape (n_kinks,)
        The scaled KKT residual of each kink.
    """

    betas: np.ndarray
    coefs: sp.csr_array
    intercepts: np.ndarray
    beta_max: float
    n_iter: int
    converged: bool
    fit_intercept: bool
    y_mean: float = 0.0
    certified: np.ndarray | None = None
    kkt_residuals: np.ndarray | None = None

    @property
    def n_kinks(self) -> int:
        """Number of stored kinks."""
        return int(self.betas.shape[0])

    def _locate(self, beta: float) -> tuple[int, float]:
        b = self.betas
        if beta >= b[0]:
            return 0, 1.0
        if beta < b[-1] * (1 - 1e-15) - 1e-300:
            raise ValueError(
                f"beta={beta} is below the computed path (last kink {b[-1]}); "
                "compute the path further with a smaller beta"
            )
        # b is decreasing: find k with b[k] >= beta >= b[k + 1].
        k = int(np.searchsorted(-b, -beta, side="right")) - 1
        k = min(max(k, 0), b.size - 2) if b.size > 1 else 0
        if b.size == 1 or b[k] == b[k + 1]:
            return k, 1.0
        theta = (beta - b[k + 1]) / (b[k] - b[k + 1])
        return k, float(min(max(theta, 0.0), 1.0))

    def coef_at(self, beta: float) -> np.ndarray:
        """Exact coefficients at ``beta``, shape (n_features,)."""
        beta = check_nonnegative(beta, "beta")
        k, theta = self._locate(beta)
        if self.betas.size == 1 or beta >= self.betas[0]:
            return self.coefs[[k]].toarray().ravel() * (beta < self.betas[0])
        hi = self.coefs[[k]].toarray().ravel()
        lo = self.coefs[[k + 1]].toarray().ravel()
        return theta * hi + (1.0 - theta) * lo

    def intercept_at(self, beta: float) -> float:
        """Exact intercept at ``beta``."""
        beta = check_nonnegative(beta, "beta")
        if beta >= self.betas[0] or self.betas.size == 1:
            return float(self.intercepts[0])
        k, theta = self._locate(beta)
        return float(theta * self.intercepts[k] + (1 - theta) * self.intercepts[k + 1])

    def evaluate(self, betas) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients and intercepts at each of ``betas``.

        Returns
        -------
        coefs : ndarray of shape (n_betas, n_features)
        intercepts : ndarray of shape (n_betas,)
        """
        betas = np.atleast_1d(np.asarray(betas, dtype=float))
        coefs = np.vstack([self.coef_at(float(b)) for b in betas])
        intercepts = np.array([self.intercept_at(float(b)) for b in betas])
        return coefs, intercepts

    def certified_at(self, betas) -> np.ndarray:
        """Whether the path is certified at each of ``betas``.

        True when the kinks bounding ``beta`` (or the kink itself) are
        certified; a caller drawing the path should mark the others.

        Returns
        -------
        ndarray of bool of shape (n_betas,)
        """
        betas = np.atleast_1d(np.asarray(betas, dtype=float))
        cert = (np.ones(self.n_kinks, dtype=bool) if self.certified is None
                else self.certified)
        out = np.empty(betas.shape[0], dtype=bool)
        for i, beta in enumerate(betas):
            k, theta = self._locate(float(check_nonnegative(beta, "beta")))
            out[i] = cert[k] and (theta == 1.0 or k + 1 >= self.n_kinks
                                  or bool(cert[k + 1]))
        return out

    def n_active(self) -> np.ndarray:
        """Number of nonzero coefficients at each kink."""
        return np.diff(self.coefs.indptr)


class _Stopped(Exception):
    """Raised by a path's ``stop`` callback to end the homotopy."""


def lasso_path(A, y, betas=None, *, weights=None, fit_intercept: bool = True,
               beta_min: float | None = None, max_features: int | None = None,
               tol: float = 1e-9, max_iter: int | None = None,
               stop=None) -> LassoPath:
    """The exact Lasso regularization path from ``beta_max`` down, by homotopy.

    Parameters
    ----------
    A : ndarray, sparse matrix, TwoLayerOperator or operator
        Dictionary of shape (n_samples, n_features).
    y : array-like of shape (n_samples,)
        Targets.
    betas : array-like, default=None
        Penalty levels of interest; the path is computed down to
        ``min(betas)``. Evaluate it there with :meth:`LassoPath.evaluate`.
    weights : array-like of shape (n_features,), default=None
        Positive l1 weights.
    fit_intercept : bool, default=True
        Fit the unpenalized intercept.
    beta_min : float, default=None
        Lowest penalty of the path when ``betas`` is None (default 0: the
        whole path).
    max_features : int, default=None
        Stop once this many coefficients are nonzero.
    tol : float, default=1e-9
        Tolerance of the certificate checked at every kink (see
        :attr:`LassoPath.certified`).
    max_iter : int, default=None
        Largest number of homotopy steps.
    stop : callable, default=None
        ``stop(beta, indices, values, intercept) -> bool``, called at every
        recorded kink with its certified solution (nonzero indices and
        values in the scaling of ``A``, before ``weights``); the path ends
        at the first kink where it returns True (for example once a
        validation loss has stopped improving). Every kink up to there is
        computed and certified as without it.

    Returns
    -------
    LassoPath

    Examples
    --------
    >>> import numpy as np
    >>> from tsmirrors.solvers import lasso_path
    >>> rng = np.random.default_rng(0)
    >>> A, y = rng.normal(size=(20, 5)), rng.normal(size=20)
    >>> path = lasso_path(A, y)
    >>> bool(path.betas[0] == path.beta_max)
    True
    """
    if betas is not None:
        b = np.atleast_1d(np.asarray(betas, dtype=float))
        if b.size == 0:
            raise ValueError("betas is empty")
        for v in b:
            check_nonnegative(float(v), "beta")
        target = float(b.min())
    else:
        target = 0.0 if beta_min is None else beta_min
    from .lars import _default_max_iter, _prepare

    design, y, target, w = _prepare(A, y, target, weights, fit_intercept)
    if max_features is not None:
        max_features = check_positive_int(max_features, "max_features")
    max_iter = (_default_max_iter(design) if max_iter is None
                else check_positive_int(max_iter, "max_iter"))
    problem = Problem(design, y, fit_intercept)
    h = Homotopy(DesignBackend(problem))

    kink_betas = [h.beta_max]
    kink_idx = [np.empty(0, dtype=np.intp)]
    kink_val = [np.empty(0)]

    kink_ok = [True]
    kink_kkt = [0.0]

    def kink(state: Homotopy) -> tuple[np.ndarray, np.ndarray]:
        S = np.asarray(state.active, dtype=np.intp)
        zS = state.z[S]
        # a coefficient against its sign crossed zero with the one that left
        # at this kink (a tie, up to rounding), and one at rounding level
        # entered here (a vanishing step after it): both are zero here
        scale = float(np.abs(zS).max()) if S.size else 0.0
        S = S[(zS * state.signs > 0) & (np.abs(zS) > 1e-14 * scale)]
        return S, state.z[S].copy()

    def certify(state: Homotopy, S: np.ndarray, vals: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, bool, float]:
        z = np.zeros(state.n_features)
        z[S] = vals
        ok, _, _, kkt = problem.certified(z, state.beta, tol)
        if not ok:
            # correct the drift of the homotopy with fresh correlations
            state.solve_active(state.beta, refine=3, from_scratch=True)
            S2, vals2 = kink(state)
            z = np.zeros(state.n_features)
            z[S2] = vals2
            ok2, _, _, kkt2 = problem.certified(z, state.beta, tol)
            if kkt2 < kkt:
                S, vals, ok, kkt = S2, vals2, ok2, kkt2
        return S, vals, ok, kkt

    def record(state: Homotopy, zero_step: bool) -> None:
        S, vals = kink(state)
        S, vals, ok, kkt = certify(state, S, vals)
        if zero_step and len(kink_betas) > 1:
            kink_betas[-1], kink_idx[-1], kink_val[-1] = state.beta, S, vals
            kink_ok[-1], kink_kkt[-1] = ok, kkt
        else:
            kink_betas.append(state.beta)
            kink_idx.append(S)
            kink_val.append(vals)
            kink_ok.append(ok)
            kink_kkt.append(kkt)
        if stop is not None:
            v = vals if w is None else vals / w[S]
            icpt = (problem.y_mean - float(problem.col_means[S] @ vals)
                    if fit_intercept else 0.0)
            if stop(state.beta, S, v, icpt):
                raise _Stopped

    hit = stopped = False
    if target < h.beta_max:
        with _small_blas():
            try:
                hit = run(h, target, max_iter, record, max_features)
            except _Stopped:
                stopped = True
        if not hit and not stopped:
            # Re-solve the last kink with verified KKT conditions.
            beta_end = h.beta
            h.polish(beta_end, tol)
            S, vals, ok, kkt = certify(h, *kink(h))
            kink_betas[-1], kink_idx[-1], kink_val[-1] = beta_end, S, vals
            kink_ok[-1], kink_kkt[-1] = ok, kkt
    if hit:
        warnings.warn(
            f"lasso_path stopped at beta={h.beta} after max_iter={max_iter} steps",
            ConvergenceWarning, stacklevel=2,
        )
    certified = np.asarray(kink_ok, dtype=bool)
    if not certified.all():
        bad = np.flatnonzero(~certified)
        warnings.warn(
            f"lasso_path could not certify {bad.size} of {certified.size} kinks "
            f"(first at beta={kink_betas[bad[0]]:.6g}, largest scaled KKT "
            f"residual {max(kink_kkt[i] for i in bad):.3e} > tol={tol:g}); "
            "they are flagged False in LassoPath.certified",
            ConvergenceWarning, stacklevel=2,
        )

    n_k = len(kink_betas)
    indptr = np.zeros(n_k + 1, dtype=np.intp)
    indptr[1:] = np.cumsum([i.size for i in kink_idx])
    indices = np.concatenate(kink_idx) if n_k else np.empty(0, dtype=np.intp)
    data = np.concatenate(kink_val) if n_k else np.empty(0)
    if w is not None:
        data = data / w[indices]
    coefs = sp.csr_array((data, indices, indptr), shape=(n_k, h.n_features))
    if fit_intercept:
        means = problem.col_means * (1.0 if w is None else w)
        intercepts = problem.y_mean - coefs @ means
    else:
        intercepts = np.zeros(n_k)
    return LassoPath(
        betas=np.asarray(kink_betas), coefs=coefs, intercepts=np.asarray(intercepts),
        beta_max=h.beta_max, n_iter=h.n_iter,
        converged=bool(not hit and certified.all()),
        fit_intercept=fit_intercept, y_mean=problem.y_mean,
        certified=certified, kkt_residuals=np.asarray(kink_kkt, dtype=float),
    )
