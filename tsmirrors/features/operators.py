"""Matrix-free 2-layer dictionaries.

A 2-layer dictionary (Corollary 3.15) has columns ``sigma(d_k (x - t_k))``:
one ramp (or step) per knot ``t_k`` and direction ``d_k in {+1, -1}``. With
``N`` training inputs and ``p`` knots the dense matrix needs ``N * p`` numbers,
which is out of reach for long series. Every piece of ``sigma`` is affine, so
``A v`` and ``A^T r`` reduce to prefix sums of ``v``, ``v t``, ``r`` and
``r x`` over sorted knots and sorted inputs: after one sort, each product costs
``O(N + p)``.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import LinearOperator

from .. import _kernels
from .._validation import check_finite_array
from .activations import Activation, get_activation

__all__ = ["TwoLayerOperator"]


def _prefix(values: np.ndarray) -> np.ndarray:
    """Cumulative sums with a leading zero: ``out[k] = values[:k].sum()``."""
    out = np.empty(values.shape[0] + 1)
    out[0] = 0.0
    np.cumsum(values, out=out[1:])
    return out


def _is_even_or_odd(act: Activation) -> bool:
    """Even (abs) or odd (sign) activations need only the +1 direction."""
    even = act.a_minus == -act.a_plus and act.b_plus == act.b_minus == 0.0
    odd = act.a_plus == act.a_minus and act.b_minus == -act.b_plus
    return even or odd


class _DirectionGroup:
    """Knots sharing one direction, with the sort data used by the products."""

    def __init__(
        self,
        direction: int,
        members: np.ndarray,
        knots: np.ndarray,
        x_sorted: np.ndarray,
        inputs: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.direction = direction
        self.member_idx = members  # column indices of this group
        self.members = members
        if members.size and members[-1] - members[0] == members.size - 1:
            self.members = slice(int(members[0]), int(members[-1]) + 1)
        self.knots = knots[self.members]  # centred knots, in column order
        k = self.knots
        # For A^T r: how many sorted inputs lie strictly below (d=+1) or at or
        # below (d=-1) each knot; those inputs sit on the other branch.
        side = "left" if direction > 0 else "right"
        if inputs is not None and k.shape == inputs[0].shape and np.array_equal(
            k, inputs[0]
        ):
            # knots at the inputs themselves (Corollary 3.15): reuse their sort
            order = inputs[1]
            self.knot_order = order
            self.knots_sorted = x_sorted
            new = np.empty(x_sorted.size + 1, dtype=bool)
            new[0] = new[-1] = True
            np.not_equal(x_sorted[1:], x_sorted[:-1], out=new[1:-1])
            bounds = np.flatnonzero(new)  # starts of runs of equal inputs, and n
            run = np.cumsum(new[:-1]) - 1  # run of each sorted input
            at = bounds[run] if side == "left" else bounds[run + 1]
            self.input_split = np.empty(k.size, dtype=np.intp)
            self.input_split[order] = at
        else:
            self.knot_order = (
                np.arange(k.size) if np.all(k[1:] >= k[:-1])
                else np.argsort(k, kind="stable")
            )
            self.knots_sorted = self.knots[self.knot_order]
            self.input_split = np.searchsorted(x_sorted, k, side=side)


class TwoLayerOperator(LinearOperator):
    """The 2-layer dictionary ``A[i, k] = sigma(d_k * (x_i - t_k))``, matrix-free.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
        Training inputs, in any order; repeated values are allowed.
    activation : str or Activation, default="relu"
        The activation ``sigma`` (``"relu"``, ``"leaky_relu"``, ``"abs"``,
        ``"sign"``, ``"threshold"``). At a zero argument the value is
        ``b_plus``, so ``sign(0) = threshold(0) = 1``.
    knots : array-like of shape (n_features,)
        Breakpoints ``t_k``.
    directions : array-like of shape (n_features,)
        First-layer weight signs ``d_k``, each ``+1`` or ``-1``.

    Attributes
    ----------
    shape : tuple of int
        ``(n_samples, n_features)``.
    x, knots, directions : ndarray
        Validated copies of the inputs.
    activation : Activation
        The resolved activation.

    Notes
    -----
    Construction sorts the inputs and the knots once, ``O((N + p) log(N + p))``;
    :meth:`matvec`, :meth:`rmatvec`, :meth:`column_norms` and
    :meth:`column_means` then cost ``O(N + p)`` and never form the matrix.
    Inputs and knots are shifted by the midpoint of the input range before
    any sum is taken, which leaves the features unchanged and keeps the prefix
    sums well scaled.

    Examples
    --------
    >>> import numpy as np
    >>> from tsmirrors.features.operators import TwoLayerOperator
    >>> x = np.array([0.0, 1.0, 3.0])
    >>> op = TwoLayerOperator.from_inputs(x, "relu")
    >>> op.shape
    (3, 6)
    >>> op.matvec(np.eye(6)[0])  # relu(x - 0)
    array([0., 1., 3.])
    """

    def __init__(self, x, activation="relu", knots=None, directions=None):
        act = get_activation(activation)
        x = check_finite_array(x, "x", ndim=1)
        if knots is None or directions is None:
            raise ValueError(
                "TwoLayerOperator needs knots and directions; use "
                "TwoLayerOperator.from_inputs(x, activation) for the dictionary "
                "of Corollary 3.15"
            )
        knots = check_finite_array(knots, "knots", ndim=1)
        directions = check_finite_array(directions, "directions", ndim=1)
        if directions.shape != knots.shape:
            raise ValueError(
                f"directions must have the same length as knots, got "
                f"{directions.shape[0]} directions for {knots.shape[0]} knots"
            )
        bad = np.abs(directions) != 1.0
        if bad.any():
            raise ValueError(
                "directions must be +1 or -1, got "
                f"{np.unique(directions[bad])[:5].tolist()}"
            )
        self.x = x
        self.knots = knots
        self.directions = directions.astype(np.int8)
        self.activation: Activation = act
        super().__init__(dtype=np.dtype(np.float64), shape=(x.shape[0], knots.shape[0]))

        self._shift = 0.5 * (x.min() + x.max())
        xc = x - self._shift
        tc = knots - self._shift
        self._xc = xc
        self._tc = tc
        self._order = np.argsort(xc, kind="stable")
        self._x_sorted = xc[self._order]
        self._groups = [
            _DirectionGroup(
                d, np.flatnonzero(self.directions == d), tc, self._x_sorted,
                (xc, self._order),
            )
            for d in (1, -1)
            if np.any(self.directions == d)
        ]
        self._moments: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        # Per column: how many sorted inputs lie on the "low" side of its knot.
        self._split = np.empty(self.shape[1], dtype=np.intp)
        for g in self._groups:
            self._split[g.members] = g.input_split

    # ------------------------------------------------------------------ build
    @classmethod
    def from_inputs(
        cls, x, activation="relu", *, unique: bool = False, directions: str = "auto"
    ) -> TwoLayerOperator:
        """The dictionary of Corollary 3.15: knots at the training inputs.

        Parameters
        ----------
        x : array-like of shape (n_samples,)
            Training inputs.
        activation : str or Activation, default="relu"
            The activation.
        unique : bool, default=False
            Use each distinct input once as a knot.
        directions : {"auto", "both", "plus"}, default="auto"
            ``"auto"`` gives ``A = [A_+, A_-]`` for ReLU, leaky ReLU and
            threshold and ``A = A_+`` for abs and sign (Corollary 3.15).

        Returns
        -------
        TwoLayerOperator
            Columns ordered as ``A_+`` (all knots) then ``A_-``.
        """
        act = get_activation(activation)
        x_arr = check_finite_array(x, "x", ndim=1)
        knots = np.unique(x_arr) if unique else x_arr.copy()
        if directions == "auto":
            both = not _is_even_or_odd(act)
        elif directions in ("both", "plus"):
            both = directions == "both"
        else:
            raise ValueError(
                f"directions must be 'auto', 'both' or 'plus', got {directions!r}"
            )
        if both:
            t = np.concatenate([knots, knots])
            d = np.concatenate([np.ones(knots.size), -np.ones(knots.size)])
        else:
            t, d = knots, np.ones(knots.size)
        return cls(x_arr, act, t, d)

    # --------------------------------------------------------------- products
    def _coefficients(self):
        a = self.activation
        return a.a_plus, a.a_minus, a.b_plus, a.b_minus

    def _rmatvec(self, r):
        r = np.ascontiguousarray(r, dtype=np.float64).reshape(-1)
        out = np.empty(self.shape[1])
        _kernels.rmatvec(r, self._order, self._x_sorted, self._tc, self.directions,
                         self._split, *self._coefficients(), out)
        return out

    def _matvec(self, v):
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        out = np.zeros(self.shape[0])
        coefs = self._coefficients()
        for g in self._groups:
            vs = np.ascontiguousarray(v[g.members][g.knot_order])
            _kernels.matvec_sorted_knots(vs, g.knots_sorted, g.direction,
                                         self._x_sorted, self._order, *coefs, out)
        return out

    def gram_vector(self, k: int, centre: bool = True) -> tuple[np.ndarray, float]:
        """``A^T a_k`` and ``||a_k||^2`` for one column, in ``O(N + p)``.

        With ``centre=True`` the column is centred first (its mean removed):
        the products the Lasso homotopy needs when it fits an intercept.
        """
        out = np.empty(self.shape[1])
        sq = _kernels.gram_vector(int(k), bool(centre), self._x_sorted, self._tc,
                                  self.directions, self._split,
                                  *self._coefficients(), out)
        return out, float(sq)

    def redundant_columns(self, centre: bool = True) -> np.ndarray:
        """Mask of columns that repeat an earlier column or are constant.

        Two columns are equal when they share knot and direction. A column is
        constant on the inputs when every input lies on one branch of the
        activation and that branch is flat (``relu(t - x)`` with ``t`` at or
        below the smallest input, a step beyond the data); it is redundant
        when ``centre`` (an intercept absorbs it) or when it is zero.

        Parameters
        ----------
        centre : bool, default=True
            Whether the columns are centred (a free intercept is fitted).

        Returns
        -------
        ndarray of bool, shape (n_features,)
        """
        p = self.shape[1]
        n = self.shape[0]
        a_p, a_m, b_p, b_m = self._coefficients()
        mask = np.zeros(p, dtype=bool)
        for g in self._groups:
            cols = g.member_idx[g.knot_order]
            ts = g.knots_sorted
            mask[cols[1:]] = ts[1:] == ts[:-1]
        split = self._split
        plus = self.directions > 0
        # inputs on the plus branch: n - split (d = +1) or split (d = -1)
        on_plus = np.where(plus, n - split, split)
        all_plus = on_plus == n
        all_minus = on_plus == 0
        flat_plus = a_p == 0.0 and (centre or b_p == 0.0)
        flat_minus = a_m == 0.0 and (centre or b_m == 0.0)
        if flat_plus:
            mask |= all_plus
        if flat_minus:
            mask |= all_minus
        return mask

    def matvec_sparse(self, idx, values) -> np.ndarray:
        """``A[:, idx] @ values`` in ``O(N + s log s)`` for ``s`` columns.

        Only the knots in ``idx`` are sorted, so a fit with few active
        columns never touches arrays of length ``n_features``.
        """
        idx = np.asarray(idx, dtype=np.intp).reshape(-1)
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        out = np.zeros(self.shape[0])
        dirs = self.directions[idx]
        coefs = self._coefficients()
        for direction in (1, -1):
            sel = dirs == direction
            if not sel.any():
                continue
            t = self._tc[idx[sel]]
            order = np.argsort(t, kind="stable")
            _kernels.matvec_sorted_knots(
                np.ascontiguousarray(values[sel][order]), t[order], direction,
                self._x_sorted, self._order, *coefs, out)
        return out

    def _matmat(self, X):
        X = np.asarray(X, dtype=np.float64)
        return np.column_stack([self._matvec(X[:, j]) for j in range(X.shape[1])])

    def _rmatmat(self, X):
        X = np.asarray(X, dtype=np.float64)
        return np.column_stack([self._rmatvec(X[:, j]) for j in range(X.shape[1])])

    def _adjoint(self):
        return LinearOperator(
            dtype=self.dtype,
            shape=(self.shape[1], self.shape[0]),
            matvec=self._rmatvec,
            rmatvec=self._matvec,
        )

    # ---------------------------------------------------------------- columns
    def _check_index(self, idx) -> np.ndarray:
        idx = np.asarray(idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.intp, copy=False).reshape(-1)
        p = self.shape[1]
        if idx.size and (idx.min() < -p or idx.max() >= p):
            raise IndexError(f"column index out of range for {p} columns")
        return idx

    def columns(self, idx) -> np.ndarray:
        """Dense columns ``A[:, idx]``, shape ``(n_samples, len(idx))``."""
        idx = self._check_index(idx)
        arg = self.directions[idx] * (self._xc[:, None] - self._tc[idx][None, :])
        return self.activation(arg)

    def column(self, k: int) -> np.ndarray:
        """Column ``A[:, k]``, shape ``(n_samples,)``."""
        return self.columns([k])[:, 0]

    def rows(self, idx) -> np.ndarray:
        """Dense rows ``A[idx, :]``, shape ``(len(idx), n_features)``."""
        idx = np.asarray(idx, dtype=np.intp).reshape(-1)
        arg = self.directions[None, :] * (self._xc[idx][:, None] - self._tc[None, :])
        return self.activation(arg)

    def toarray(self) -> np.ndarray:
        """The dense dictionary, shape ``(n_samples, n_features)``."""
        return self.columns(np.arange(self.shape[1]))

    def column_means(self) -> np.ndarray:
        """Mean of each column over the training inputs, shape ``(n_features,)``."""
        return self._rmatvec(np.ones(self.shape[0])) / self.shape[0]

    def column_norms(self) -> np.ndarray:
        """Euclidean norm of each column, shape ``(n_features,)``."""
        if self._moments is None:
            xs = self._x_sorted
            self._moments = (
                np.arange(xs.size + 1, dtype=np.float64),
                _prefix(xs),
                _prefix(xs * xs),
            )
        m0, m1, m2 = self._moments
        a_p, a_m, b_p, b_m = self._coefficients()
        out = np.empty(self.shape[1])

        def branch(a, b, n, s1, s2, t, sgn):
            # sum over a branch of (a * sgn * (x - t) + b)^2; terms whose
            # cancellation leaves only rounding noise are set to zero.
            sq = s2 - 2.0 * t * s1 + t * t * n  # sum (x - t)^2
            noise = 1e-13 * (np.abs(s2) + 2.0 * np.abs(t * s1) + t * t * n)
            sq = np.where(sq <= noise, 0.0, sq)
            lin = s1 - t * n  # sum (x - t)
            return a * a * sq + 2.0 * a * b * sgn * lin + b * b * n

        for g in self._groups:
            k = g.input_split
            t = g.knots
            lo = (m0[k], m1[k], m2[k])
            hi = (m0[-1] - lo[0], m1[-1] - lo[1], m2[-1] - lo[2])
            if g.direction > 0:
                val = branch(a_p, b_p, *hi, t, 1.0) + branch(a_m, b_m, *lo, t, 1.0)
            else:
                val = branch(a_p, b_p, *lo, t, -1.0) + branch(a_m, b_m, *hi, t, -1.0)
            out[g.members] = val
        return np.sqrt(np.maximum(out, 0.0))

    def _pieces(self, idx: np.ndarray):
        """Split position and the two affine pieces of each column in ``idx``.

        Column ``k`` equals ``lo_slope * x + lo_icpt`` on the first ``split``
        sorted (centred) inputs and ``hi_slope * x + hi_icpt`` on the rest.
        """
        a_p, a_m, b_p, b_m = self._coefficients()
        t = self._tc[idx]
        d = self.directions[idx]
        plus = d > 0
        split = self._split[idx]
        lo_slope = np.where(plus, a_m, -a_p)
        lo_icpt = np.where(plus, b_m - a_m * t, b_p + a_p * t)
        hi_slope = np.where(plus, a_p, -a_m)
        hi_icpt = np.where(plus, b_p - a_p * t, b_m + a_m * t)
        return split, lo_slope, lo_icpt, hi_slope, hi_icpt

    def gram(self, rows, cols=None) -> np.ndarray:
        """Inner products ``A[:, rows]^T A[:, cols]`` without forming columns.

        Each column is affine on each side of its knot, so an inner product is
        a sum of at most three quadratic polynomials over ranges of the sorted
        inputs, read off prefix sums of ``1, x, x^2``: ``O(1)`` per entry.

        Parameters
        ----------
        rows, cols : array-like of int
            Column indices; ``cols`` defaults to ``rows``.

        Returns
        -------
        ndarray of shape (len(rows), len(cols))
        """
        rows = self._check_index(rows)
        cols = rows if cols is None else self._check_index(cols)
        if self._moments is None:
            xs = self._x_sorted
            self._moments = (
                np.arange(xs.size + 1, dtype=np.float64), _prefix(xs), _prefix(xs * xs)
            )
        m0, m1, m2 = self._moments
        n = self.shape[0]
        kc, lsc, lic, hsc, hic = (v[None, :] for v in self._pieces(cols))
        out = np.empty((rows.size, cols.size))
        block = max(1, 2**20 // max(cols.size, 1))
        for start in range(0, rows.size, block):
            sl = slice(start, min(start + block, rows.size))
            kr, lsr, lir, hsr, hir = (v[:, None] for v in self._pieces(rows[sl]))
            lo = np.minimum(kr, kc)
            hi = np.maximum(kr, kc)

            def seg(u, v, s1, i1, s2, i2):
                return (s1 * s2 * (m2[v] - m2[u])
                        + (s1 * i2 + s2 * i1) * (m1[v] - m1[u])
                        + i1 * i2 * (m0[v] - m0[u]))

            zero = np.zeros_like(lo)
            total = seg(zero, lo, lsr, lir, lsc, lic)
            total += seg(hi, np.full_like(hi, n), hsr, hir, hsc, hic)
            row_first = kr <= kc  # between the knots: row on its right piece
            mid = seg(lo, hi,
                      np.where(row_first, hsr, lsr), np.where(row_first, hir, lir),
                      np.where(row_first, lsc, hsc), np.where(row_first, lic, hic))
            total += mid
            out[sl] = total
        return out

    def local_maxima(self, values) -> np.ndarray:
        """Mask of columns whose ``values`` are >= those of the neighbouring knots.

        Neighbours are the adjacent knots of the same direction. Correlations
        of ramp columns vary smoothly with the knot, so their local maxima pick
        one candidate per region of the input range.
        """
        values = np.asarray(values, dtype=float)
        mask = np.zeros(self.shape[1], dtype=bool)
        for g in self._groups:
            cols = g.member_idx[g.knot_order]
            v = values[cols]
            pad = np.concatenate([[-np.inf], v, [-np.inf]])
            mask[cols] = (v >= pad[:-2]) & (v >= pad[2:])
        return mask

    def aslinearoperator(self) -> LinearOperator:
        """This operator as a plain :class:`scipy.sparse.linalg.LinearOperator`."""
        return LinearOperator(
            dtype=self.dtype,
            shape=self.shape,
            matvec=self._matvec,
            rmatvec=self._rmatvec,
            matmat=self._matmat,
            rmatmat=self._rmatmat,
        )

    @property
    def is_continuous(self) -> bool:
        """True when every column is continuous piecewise linear in ``x``."""
        return self.activation.is_continuous

    def __repr__(self) -> str:
        return (
            f"TwoLayerOperator(activation={self.activation.name!r}, "
            f"n_samples={self.shape[0]}, n_features={self.shape[1]})"
        )
