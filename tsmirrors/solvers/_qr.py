"""QR factorisation of the active columns, updated one column at a time."""

from __future__ import annotations

import numpy as np

from .. import _kernels


class ActiveQR:
    """Thin ``A_S = Q R`` of the (centred) active columns, grown and shrunk.

    The Gram matrix ``G_S = A_S^T A_S = R^T R`` is never formed: ``R`` comes
    from the columns themselves (classical Gram-Schmidt, with a second pass
    when the first one cancels: "twice is enough"), so it carries errors of
    ``eps cond(A_S)`` instead of the ``eps cond(A_S)^2`` of a Cholesky factor
    of ``G_S``, and the distance
    of a new column to the span of the active ones is computed to about
    ``eps ||a||``. Near interpolation (``cond(A_S) ~ 1e6``) that is the
    difference between telling a column at relative distance ``1e-5`` from
    the span apart from an exactly dependent one, and not.

    Adding a column costs ``O(N s)``; removing one applies Givens rotations
    to ``R`` and ``Q`` (``O(s^2 + N s)``). The interface is that of
    :class:`~tsmirrors.solvers._cholesky.ActiveCholesky` (``L = R^T``, so that
    ``L L^T = G_S``), with :meth:`add_column` instead of ``add``.

    Parameters
    ----------
    n_samples : int
        Length ``N`` of the columns.
    rtol : float
        A new column is refused when its squared distance to the span of the
        active columns is at most ``rtol`` times its squared norm.
    """

    def __init__(self, n_samples: int, rtol: float, capacity: int = 16):
        self.rtol = rtol
        self.size = 0
        self.n_samples = n_samples
        self._L = np.zeros((capacity, capacity))
        self._Qt = np.zeros((capacity, n_samples))

    def _grow(self) -> None:
        cap = 2 * self._L.shape[0]
        s = self.size
        L = np.zeros((cap, cap))
        Qt = np.zeros((cap, self.n_samples))
        L[:s, :s] = self._L[:s, :s]
        Qt[:s] = self._Qt[:s]
        self._L, self._Qt = L, Qt

    @property
    def L(self) -> np.ndarray:
        return self._L[: self.size, : self.size]

    @property
    def Q(self) -> np.ndarray:
        return self._Qt[: self.size].T

    def distances(self, cols: np.ndarray) -> np.ndarray:
        """Squared distances of the columns of ``cols`` to the active span.

        One projection: with ``Q`` orthonormal to rounding the remainder is
        accurate to about ``eps ||a||`` (a second pass would only make it
        orthogonal to ``Q``, which a distance does not need).
        """
        cols = np.asarray(cols, dtype=np.float64)
        Qt = self._Qt[: self.size]
        rest = cols - Qt.T @ (Qt @ cols)
        return np.einsum("ij,ij->j", rest, rest)

    def add_column(self, col: np.ndarray) -> bool:
        """Append the (centred) column ``col``.

        Returns
        -------
        bool
            False (and nothing changes) when the column is degenerate.
        """
        col = np.asarray(col, dtype=np.float64)
        norm2 = float(col @ col)
        if not (norm2 > 0.0 and np.isfinite(norm2)):
            return False
        s = self.size
        Qt = self._Qt[:s]
        coef = Qt @ col
        rest = col - Qt.T @ coef
        d2 = float(rest @ rest)
        if d2 > self.rtol * norm2 and not d2 > 0.5 * norm2:
            # cancellation: a second pass makes the remainder orthogonal to Q
            # ("twice is enough"); one pass already measured it to eps ||a||
            more = Qt @ rest
            rest -= Qt.T @ more
            coef += more
            d2 = float(rest @ rest)
        if not (d2 > self.rtol * norm2 and np.all(np.isfinite(coef))):
            return False
        if s == self._L.shape[0]:
            self._grow()
        d = np.sqrt(d2)
        self._L[s, :s] = coef
        self._L[s, s] = d
        self._Qt[s] = rest / d
        self.size = s + 1
        return True

    def remove(self, k: int) -> None:
        """Remove the ``k``-th active column."""
        _kernels.qr_delete(self._L, self._Qt, k, self.size)
        self.size -= 1

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``G_S^{-1} b = R^{-1} R^{-T} b``."""
        out = np.empty(self.size)
        if self.size:
            _kernels.chol_solve(self._L, np.ascontiguousarray(b, dtype=np.float64),
                                self.size, out)
        return out
