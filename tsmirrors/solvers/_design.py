"""Uniform access to a design: dense matrix, sparse matrix or operator.

The solvers only need ``A v``, ``A^T r``, a few explicit columns and the
column means. This module wraps each accepted input in one small interface
and validates the problem data.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._validation import check_finite_array

__all__ = ["as_design", "check_problem"]

#: Largest dictionary (entries) that a solver may densify on its own.
MAX_DENSE_ENTRIES = 60_000_000

#: Extended precision for residuals (80-bit on x86; float64 where unavailable).
_EXT = np.longdouble


class _Design:
    """Interface used by the solvers (subclasses implement the products)."""

    kind = "operator"
    n_samples: int
    n_features: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_samples, self.n_features

    def matvec(self, v: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def rmatvec(self, r: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def columns(self, idx) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.intp).reshape(-1)
        out = np.empty((self.n_samples, idx.size))
        e = np.zeros(self.n_features)
        for k, j in enumerate(idx):
            e[j] = 1.0
            out[:, k] = self.matvec(e)
            e[j] = 0.0
        return out

    def local_maxima(self, values) -> np.ndarray | None:
        """Columns whose ``values`` peak among similar columns (None: unknown)."""
        return None

    def gram(self, rows, cols) -> np.ndarray:
        """Uncentered inner products ``A[:, rows]^T A[:, cols]``."""
        return self.columns(rows).T @ self.columns(cols)

    def redundant_columns(self, centre: bool) -> np.ndarray | None:
        """Mask of columns a Lasso solution never needs (None: not known).

        Exact copies of an earlier column, and columns that are constant
        (zero once centred, when ``centre``) or zero.
        """
        return None

    def gram_vector(self, j: int, centre: bool) -> tuple[np.ndarray, float]:
        """``A^T a_j`` and ``||a_j||^2``, ``a_j`` centred when ``centre``."""
        col = self.columns([j])[:, 0]
        if centre:
            col = col - col.mean()
        return self.rmatvec(col), float(col @ col)

    def matvec_subset(self, idx, w) -> np.ndarray:
        v = np.zeros(self.n_features)
        v[np.asarray(idx, dtype=np.intp)] = w
        return self.matvec(v)

    def residual_subset(self, idx, w, y, centre: bool) -> np.ndarray:
        """``y - A[:, idx] w``, centred when ``centre`` (``y`` already is)."""
        r = y - self.matvec_subset(idx, w)
        return r - r.mean() if centre else r

    def column_means(self) -> np.ndarray:
        return self.rmatvec(np.ones(self.n_samples)) / self.n_samples

    def rows(self, idx) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.intp).reshape(-1)
        out = np.empty((idx.size, self.n_features))
        e = np.zeros(self.n_samples)
        for k, i in enumerate(idx):
            e[i] = 1.0
            out[k] = self.rmatvec(e)
            e[i] = 0.0
        return out

    def toarray(self) -> np.ndarray:
        size = self.n_samples * self.n_features
        if size > MAX_DENSE_ENTRIES:
            raise ValueError(
                f"this solver needs the dense dictionary, and {self.n_samples} x "
                f"{self.n_features} = {size} entries is over the limit of "
                f"{MAX_DENSE_ENTRIES}; pass a TwoLayerOperator with a continuous "
                "activation to use the matrix-free formulation"
            )
        return self.columns(np.arange(self.n_features))


class _DenseDesign(_Design):
    kind = "dense"

    def __init__(self, A: np.ndarray):
        self.A = A
        self.n_samples, self.n_features = A.shape

    def matvec(self, v):
        return self.A @ v

    def rmatvec(self, r):
        return self.A.T @ r

    def columns(self, idx):
        return self.A[:, np.asarray(idx, dtype=np.intp).reshape(-1)]

    def matvec_subset(self, idx, w):
        return self.A[:, np.asarray(idx, dtype=np.intp)] @ w

    def residual_subset(self, idx, w, y, centre):
        # Near interpolation y - A z cancels to a small residual; summing in
        # extended precision (where the platform has it) keeps the
        # correlations A^T r, and so the KKT certificate, accurate.
        As = self.A[:, np.asarray(idx, dtype=np.intp)].astype(_EXT)
        r = y.astype(_EXT) - As @ np.asarray(w, dtype=_EXT)
        if centre:
            r -= r.mean()
        return r.astype(np.float64)

    def column_means(self):
        return self.A.mean(axis=0)

    def rows(self, idx):
        return self.A[np.asarray(idx, dtype=np.intp).reshape(-1)]

    def toarray(self):
        return self.A


class _SparseDesign(_Design):
    kind = "sparse"

    def __init__(self, A):
        self.A = sp.csc_array(A, dtype=np.float64)
        self.At = self.A.T.tocsr()
        self.n_samples, self.n_features = self.A.shape

    def matvec(self, v):
        return self.A @ v

    def rmatvec(self, r):
        return self.At @ r

    def columns(self, idx):
        return self.A[:, np.asarray(idx, dtype=np.intp).reshape(-1)].toarray()

    def column_means(self):
        return np.asarray(self.A.sum(axis=0)).ravel() / self.n_samples

    def gram(self, rows, cols):
        B = self.A[:, np.asarray(rows, dtype=np.intp)]
        C = self.A[:, np.asarray(cols, dtype=np.intp)]
        return np.asarray((B.T @ C).toarray())

    def rows(self, idx):
        return self.A[np.asarray(idx, dtype=np.intp).reshape(-1)].toarray()


class _OperatorDesign(_Design):
    def __init__(self, op):
        self.op = op
        self.n_samples, self.n_features = (int(s) for s in op.shape)
        # Bound methods, called directly on the hot path.
        self._mv = getattr(op, "_matvec", None) if _is_two_layer(op) else None
        self._rmv = getattr(op, "_rmatvec", None) if _is_two_layer(op) else None
        if self._mv is None:
            self._mv = op.matvec
            self._rmv = op.rmatvec

    def matvec(self, v):
        return np.asarray(self._mv(np.ascontiguousarray(v, dtype=np.float64)),
                          dtype=np.float64).reshape(-1)

    def rmatvec(self, r):
        return np.asarray(self._rmv(np.ascontiguousarray(r, dtype=np.float64)),
                          dtype=np.float64).reshape(-1)

    def columns(self, idx):
        if hasattr(self.op, "columns"):
            idx = np.asarray(idx, dtype=np.intp).reshape(-1)
            out = np.asarray(self.op.columns(idx), dtype=np.float64)
            return out.reshape(self.n_samples, -1)
        return super().columns(idx)

    def column_means(self):
        if hasattr(self.op, "column_means"):
            return np.asarray(self.op.column_means(), dtype=np.float64).reshape(-1)
        return super().column_means()

    def redundant_columns(self, centre):
        if hasattr(self.op, "redundant_columns"):
            return np.asarray(self.op.redundant_columns(centre), dtype=bool)
        return None

    def gram_vector(self, j, centre):
        if hasattr(self.op, "gram_vector"):
            g, sq = self.op.gram_vector(j, centre)
            return np.asarray(g, dtype=np.float64).reshape(-1), float(sq)
        return super().gram_vector(j, centre)

    def matvec_subset(self, idx, w):
        if hasattr(self.op, "matvec_sparse"):
            return np.asarray(self.op.matvec_sparse(idx, w), dtype=np.float64)
        return super().matvec_subset(idx, w)

    def local_maxima(self, values):
        if hasattr(self.op, "local_maxima"):
            return np.asarray(self.op.local_maxima(values), dtype=bool)
        return None

    def gram(self, rows, cols):
        if hasattr(self.op, "gram"):
            return np.asarray(self.op.gram(rows, cols), dtype=np.float64)
        return super().gram(rows, cols)

    def rows(self, idx):
        if hasattr(self.op, "rows"):
            return np.asarray(self.op.rows(idx), dtype=np.float64)
        return super().rows(idx)

    def toarray(self):
        if hasattr(self.op, "toarray"):
            size = self.n_samples * self.n_features
            if size <= MAX_DENSE_ENTRIES:
                return np.asarray(self.op.toarray(), dtype=np.float64)
        return super().toarray()


class _ScaledDesign(_Design):
    """``A diag(1 / w)``: turns a weighted l1 penalty into a plain one."""

    def __init__(self, inner: _Design, weights: np.ndarray):
        self.inner = inner
        self.inv_w = 1.0 / weights
        self.kind = inner.kind
        self.n_samples, self.n_features = inner.shape

    def matvec(self, v):
        return self.inner.matvec(v * self.inv_w)

    def rmatvec(self, r):
        return self.inner.rmatvec(r) * self.inv_w

    def columns(self, idx):
        idx = np.asarray(idx, dtype=np.intp).reshape(-1)
        return self.inner.columns(idx) * self.inv_w[idx]

    def gram_vector(self, j, centre):
        g, sq = self.inner.gram_vector(j, centre)
        s = self.inv_w[j]
        return g * (self.inv_w * s), sq * s * s

    def matvec_subset(self, idx, w):
        idx = np.asarray(idx, dtype=np.intp)
        return self.inner.matvec_subset(idx, w * self.inv_w[idx])

    def local_maxima(self, values):
        return self.inner.local_maxima(values)

    def gram(self, rows, cols):
        rows = np.asarray(rows, dtype=np.intp)
        cols = np.asarray(cols, dtype=np.intp)
        return (self.inner.gram(rows, cols) * self.inv_w[rows][:, None]
                * self.inv_w[cols][None, :])

    def column_means(self):
        return self.inner.column_means() * self.inv_w

    def rows(self, idx):
        return self.inner.rows(idx) * self.inv_w

    def toarray(self):
        return self.inner.toarray() * self.inv_w


def _is_two_layer(obj) -> bool:
    from ..features.operators import TwoLayerOperator

    return isinstance(obj, TwoLayerOperator)


def as_design(A) -> _Design:
    """Wrap ``A`` (ndarray, sparse matrix, or operator) for the solvers.

    Parameters
    ----------
    A : array-like, sparse matrix, TwoLayerOperator or operator
        An operator needs ``shape``, ``matvec`` and ``rmatvec``; ``columns``,
        ``column_means`` and ``toarray`` are used when present.

    Returns
    -------
    design : _Design
    """
    if isinstance(A, _Design):
        return A
    if sp.issparse(A):
        data = A.data if hasattr(A, "data") else sp.csc_array(A).data
        if data.size and not np.all(np.isfinite(data)):
            raise ValueError("A contains non-finite values (NaN or inf)")
        design = _SparseDesign(A)
    elif hasattr(A, "matvec") and hasattr(A, "rmatvec") and hasattr(A, "shape"):
        if len(A.shape) != 2:
            raise ValueError(f"A must be 2-D, got shape {tuple(A.shape)}")
        design = _OperatorDesign(A)
    else:
        if hasattr(A, "to_numpy"):
            A = A.to_numpy()
        arr = check_finite_array(A, "A", ndim=2)
        design = _DenseDesign(np.ascontiguousarray(arr))
    if design.n_samples == 0 or design.n_features == 0:
        raise ValueError(f"empty problem: A has shape {design.shape}")
    return design


def check_problem(A, y) -> tuple[_Design, np.ndarray]:
    """Validate ``(A, y)``: finite values, matching shapes, nothing empty."""
    y_arr = check_finite_array(y, "y")
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        y_arr = y_arr[:, 0]
    if y_arr.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y_arr.shape}")
    design = as_design(A)
    if design.n_samples != y_arr.shape[0]:
        raise ValueError(
            f"A has {design.n_samples} rows but y has {y_arr.shape[0]} samples"
        )
    return design, np.ascontiguousarray(y_arr)
