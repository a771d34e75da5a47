"""Products of side-by-side 2-layer dictionaries in one compiled call.

The additive network of several inputs (one 1-D library per lag) is the
Lasso over ``[A_1, ..., A_d]``, each block a
:class:`~tsmirrors.features.operators.TwoLayerOperator`. A homotopy step asks
for a handful of products of the whole dictionary; block by block, each
product is ``d`` Python calls whose overhead outweighs the ``O(N + p)`` work
of the kernel on short windows. :class:`PackedBlocks` holds the blocks' sort
data side by side so that ``A^T r``, ``A[:, idx] w`` and ``A[:, idx]`` are
one numba call each, with the same per-block kernels (so the same sums, in
the same order, as the block-by-block products).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._kernels import _OPTS, matvec_sorted_knots, rmatvec_sorted
from ..features.operators import TwoLayerOperator

__all__ = ["PackedBlocks"]


@njit(**_OPTS)
def _rmatvec_blocks(r, orders, xs, tc, dirs, split, offsets, a_p, a_m, b_p, b_m,
                    out):
    n = r.shape[0]
    rs = np.empty(n)
    for k in range(orders.shape[0]):
        o = orders[k]
        for i in range(n):
            rs[i] = r[o[i]]
        lo = offsets[k]
        hi = offsets[k + 1]
        rmatvec_sorted(rs, xs[k], tc[lo:hi], dirs[lo:hi], split[lo:hi],
                       a_p, a_m, b_p, b_m, out[lo:hi])


@njit(**_OPTS)
def _matvec_subset_blocks(idx, vals, orders, xs, tc, dirs, offsets,
                          a_p, a_m, b_p, b_m, out):
    m = idx.shape[0]
    for k in range(orders.shape[0]):
        lo = offsets[k]
        hi = offsets[k + 1]
        for direction in (1, -1):
            count = 0
            for j in range(m):
                c = idx[j]
                if lo <= c < hi and dirs[c] == direction:
                    count += 1
            if count == 0:
                continue
            ts = np.empty(count)
            vs = np.empty(count)
            q = 0
            for j in range(m):
                c = idx[j]
                if lo <= c < hi and dirs[c] == direction:
                    ts[q] = tc[c]
                    vs[q] = vals[j]
                    q += 1
            order = np.argsort(ts, kind="mergesort")
            matvec_sorted_knots(vs[order], ts[order], direction, xs[k], orders[k],
                                a_p, a_m, b_p, b_m, out)


@njit(**_OPTS)
def _columns_blocks(idx, xc, tc, dirs, offsets, a_p, a_m, b_p, b_m, out):
    n = xc.shape[1]
    for j in range(idx.shape[0]):
        c = idx[j]
        k = np.searchsorted(offsets, c, side="right") - 1
        t = tc[c]
        d = dirs[c]
        for i in range(n):
            u = d * (xc[k, i] - t)
            out[i, j] = a_p * u + b_p if u >= 0.0 else a_m * u + b_m


class PackedBlocks:
    """The sort data of 2-layer operator blocks, side by side.

    Only for blocks whose activation is continuous at its kink (abs, ReLU,
    leaky ReLU): there ``sigma(0)`` is the same from either branch, so the
    coefficient form ``a u + b`` of the kernels equals the activation on
    every column, at the knots included.
    """

    def __init__(self, blocks):
        self.orders = np.ascontiguousarray(np.stack([b._order for b in blocks]))
        self.xs = np.ascontiguousarray(np.stack([b._x_sorted for b in blocks]))
        self.xc = np.ascontiguousarray(np.stack([b._xc for b in blocks]))
        self.tc = np.ascontiguousarray(np.concatenate([b._tc for b in blocks]))
        self.dirs = np.ascontiguousarray(
            np.concatenate([b.directions for b in blocks]).astype(np.int8))
        self.split = np.ascontiguousarray(np.concatenate([b._split for b in blocks]))
        sizes = [b.shape[1] for b in blocks]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        self.coefs = tuple(float(c) for c in blocks[0]._coefficients())
        self.n_samples = int(blocks[0].shape[0])

    @staticmethod
    def supports(blocks) -> bool:
        """Whether ``blocks`` can be packed (same activation and length)."""
        if len(blocks) < 2 or not all(isinstance(b, TwoLayerOperator) for b in blocks):
            return False
        coefs = blocks[0]._coefficients()  # (a_p, a_m, b_p, b_m)
        return (
            coefs[2] == coefs[3]
            and all(b._coefficients() == coefs for b in blocks)
            and len({b.shape[0] for b in blocks}) == 1
        )

    def rmatvec(self, r: np.ndarray) -> np.ndarray:
        out = np.empty(self.offsets[-1])
        _rmatvec_blocks(np.ascontiguousarray(r, dtype=np.float64), self.orders,
                        self.xs, self.tc, self.dirs, self.split, self.offsets,
                        *self.coefs, out)
        return out

    def matvec_sparse(self, idx, values) -> np.ndarray:
        out = np.zeros(self.n_samples)
        _matvec_subset_blocks(
            np.ascontiguousarray(idx, dtype=np.intp).reshape(-1),
            np.ascontiguousarray(values, dtype=np.float64).reshape(-1),
            self.orders, self.xs, self.tc, self.dirs, self.offsets,
            *self.coefs, out)
        return out

    def columns(self, idx) -> np.ndarray:
        idx = np.ascontiguousarray(idx, dtype=np.intp).reshape(-1)
        out = np.empty((self.n_samples, idx.size))
        _columns_blocks(idx, self.xc, self.tc, self.dirs, self.offsets,
                        *self.coefs, out)
        return out
