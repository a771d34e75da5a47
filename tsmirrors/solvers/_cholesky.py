"""Cholesky factor of the active-set Gram matrix, updated one column at a time."""

from __future__ import annotations

import numpy as np

from .. import _kernels

#: Above this size a removal uses Givens rotations instead of refactoring.
_REFACTOR_MAX = 200


class ActiveCholesky:
    """Lower Cholesky factor ``L`` with ``L L^T = G_S``, grown and shrunk in place.

    Adding a column costs ``O(s^2)``. A column that is (numerically) in the
    span of the active columns is refused: that is how exact ties between
    collinear dictionary columns are kept out of the active set. Removing a
    column refactors the stored Gram matrix (small ``s``) or applies Givens
    rotations (``O(s^2)``).

    Parameters
    ----------
    rtol : float, default=1e-13
        A new column is refused when its squared distance to the span of the
        active columns is at most ``rtol`` times its squared norm.
    """

    def __init__(self, rtol: float = 1e-13, capacity: int = 16):
        self.rtol = rtol
        self.size = 0
        self._L = np.zeros((capacity, capacity))
        self._G = np.zeros((capacity, capacity))

    def _grow(self) -> None:
        cap = 2 * self._L.shape[0]
        L = np.zeros((cap, cap))
        G = np.zeros((cap, cap))
        s = self.size
        L[:s, :s] = self._L[:s, :s]
        G[:s, :s] = self._G[:s, :s]
        self._L, self._G = L, G

    @property
    def L(self) -> np.ndarray:
        return self._L[: self.size, : self.size]

    @property
    def G(self) -> np.ndarray:
        return self._G[: self.size, : self.size]

    def add(self, g_row: np.ndarray, g_diag: float) -> bool:
        """Append a column with Gram entries ``g_row`` (vs active) and ``g_diag``.

        Returns
        -------
        bool
            False (and nothing changes) when the column is degenerate.
        """
        s = self.size
        if s == self._L.shape[0]:
            self._grow()
        g_row = np.ascontiguousarray(g_row, dtype=np.float64)
        if not _kernels.chol_append(self._L, self._G, g_row, float(g_diag), s,
                                    self.rtol):
            return False
        self.size = s + 1
        return True

    def remove(self, k: int) -> None:
        """Remove the ``k``-th active column."""
        s = self.size
        self.size = s - 1
        if s - 1 <= _REFACTOR_MAX:
            # shift the Gram matrix and refactor it (exact entries: no
            # accumulated rounding); on failure G is shifted, L untouched
            if _kernels.chol_delete(self._G, self._L, k, s):
                return
        else:
            G = self._G
            G[k : s - 1, :s] = G[k + 1 : s, :s]
            G[:s, k : s - 1] = G[:s, k + 1 : s]
            G[s - 1, :] = 0.0
            G[:, s - 1] = 0.0
        L = np.delete(self._L[:s, :s], k, axis=0)
        for j in range(k, s - 1):
            a, b = L[j, j], L[j, j + 1]
            r = np.hypot(a, b)
            if r == 0.0:
                continue
            c, sn = a / r, b / r
            cj = L[j:, j].copy()
            cj1 = L[j:, j + 1].copy()
            L[j:, j] = c * cj + sn * cj1
            L[j:, j + 1] = -sn * cj + c * cj1
        L = L[:, : s - 1]
        neg = np.diag(L) < 0
        L[:, neg] *= -1.0
        self._L[: s - 1, : s - 1] = L
        self._L[s - 1, :] = 0.0
        self._L[:, s - 1] = 0.0

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``G_S^{-1} b``."""
        out = np.empty(self.size)
        if self.size:
            _kernels.chol_solve(self._L, np.ascontiguousarray(b, dtype=np.float64),
                                self.size, out)
        return out
