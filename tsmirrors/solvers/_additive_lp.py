"""Slope-change LP of an additive 2-layer network (several input columns).

The design ``[A_1, ..., A_d]`` side by side, each block a continuous
:class:`~tsmirrors.features.operators.TwoLayerOperator` on its own input
column, fits ``f(x) = xi + sum_k f_k(x_k)`` with every ``f_k`` continuous and
piecewise linear, its breakpoints among the block's knots ``b^k``. So each
``f_k`` is described by its values ``F^k_j`` at its sorted distinct knots and
its slopes ``s^k_0..s^k_B`` on the ``B + 1`` pieces, tied by

* continuity: ``F^k_j - F^k_{j-1} = (b^k_j - b^k_{j-1}) s^k_j``;
* slope jumps: ``s^k_j - s^k_{j-1} = kappa sum_{t_l = b^k_{j-1}} z_l``;
* left slope: ``s^k_0 = sum_l ell_l z_l`` (``ell_l = a_minus`` for a direction
  ``+1``, ``-a_plus`` for ``-1``);
* anchor: ``F^k_0 = sum_l sigma(d_l (b^k_0 - t_l)) z_l`` for every block but
  the first when the intercept is fitted (the first block's ``F^1_0`` then
  carries the intercept and is free), for every block otherwise;

and every data row reads ``sum_k (F^k_r + (x_ik - b^k_r) s^k_seg) + u+_i -
u-_i = y_i`` with ``r`` the knot at or left of ``x_ik`` and ``seg`` its piece.
The map ``z -> fitted values`` is the same as the dense dictionary's, so the
LP has the dense LP's optimum, with ``O(N d + p)`` nonzeros instead of
``O(N p)``: ``N`` rows of ``2 d + 2`` entries. Its data-row duals are the
dense LP's dual variables (same sign convention), so the certificate of
:mod:`tsmirrors.solvers.quantile` applies unchanged.
"""

from __future__ import annotations

import numpy as np

from ._lp import LinearProgram, _assemble, _chain_costs, _continuity_rows

__all__ = ["additive_blocks", "build_additive_lp"]


def additive_blocks(design):
    """The blocks of a side-by-side design of continuous 2-layer operators.

    Returns None unless ``design`` (a validated design) wraps an object with
    a ``blocks`` list of at least two continuous :class:`TwoLayerOperator`.
    """
    from ..features.operators import TwoLayerOperator

    blocks = getattr(getattr(design, "op", None), "blocks", None)
    if not isinstance(blocks, list) or len(blocks) < 2:
        return None
    for block in blocks:
        if not (isinstance(block, TwoLayerOperator) and block.is_continuous):
            return None
    return blocks


def build_additive_lp(blocks, y, cost_z, tau, fit_intercept) -> LinearProgram:
    """The quantile LP (``tau``) of the additive design ``blocks`` (see module)."""
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    sizes = [op.shape[1] for op in blocks]
    p = int(sum(sizes))
    # variable layout: per block F (B_k) and s (B_k + 1); then z+, z-, u+, u-
    prepared = []
    n_fs = 0
    for op in blocks:
        b = np.unique(op._tc)
        prepared.append((op, b, n_fs))
        n_fs += 2 * b.size + 1
    off_zp = n_fs
    off_zm = off_zp + p
    off_up = off_zm + p
    off_um = off_up + n
    n_var = off_um + n
    rows, cols, vals = [], [], []
    r = 0
    i = np.arange(n)
    data_cols, data_vals = [], []
    anchor_first = np.zeros(sizes[0])
    z_start = 0
    for k, (op, b, off_F) in enumerate(prepared):
        act = op.activation
        kappa = act.a_plus - act.a_minus
        t = op._tc
        d = op.directions.astype(np.float64)
        q = t.size
        B = b.size
        off_s = off_F + B
        zk = np.arange(z_start, z_start + q)
        z_start += q
        knot_pos = np.searchsorted(b, t)
        r = _continuity_rows(rows, cols, vals, r, off_F, off_s, b)
        # slope jumps, j = 1..B
        j = np.arange(1, B + 1)
        rows += [r + j - 1, r + j - 1, r + knot_pos, r + knot_pos]
        cols += [off_s + j, off_s + j - 1, off_zp + zk, off_zm + zk]
        vals += [np.ones(B), -np.ones(B), np.full(q, -kappa), np.full(q, kappa)]
        r += B
        # left slope
        left = np.where(d > 0, act.a_minus, -act.a_plus)
        rows += [np.array([r]), np.full(q, r), np.full(q, r)]
        cols += [np.array([off_s]), off_zp + zk, off_zm + zk]
        vals += [np.array([1.0]), -left, left]
        r += 1
        anchor = act(d * (b[0] - t))
        if k == 0 and fit_intercept:
            anchor_first = anchor
        else:
            nz = np.flatnonzero(anchor)
            rows += [np.array([r]), np.full(nz.size, r), np.full(nz.size, r)]
            cols += [np.array([off_F]), off_zp + zk[nz], off_zm + zk[nz]]
            vals += [np.array([1.0]), -anchor[nz], anchor[nz]]
            r += 1
        # this block's part of the data rows
        x = op._xc
        seg = np.searchsorted(b, x, side="right")  # 0..B
        ref = np.maximum(seg - 1, 0)
        data_cols += [off_F + ref, off_s + seg]
        data_vals += [np.ones(n), x - b[ref]]
    n_aux = r
    data = n_aux + i
    rows += [data] * len(data_cols) + [data, data]
    cols += data_cols + [off_up + i, off_um + i]
    vals += data_vals + [np.ones(n), -np.ones(n)]
    r += n
    matrix = _assemble(rows, cols, vals, (r, n_var))
    matrix.eliminate_zeros()
    cost, lower, upper = _chain_costs(off_zp, p, n, cost_z, tau)
    anchor_values = np.zeros(p)
    anchor_values[: sizes[0]] = anchor_first
    return LinearProgram(
        cost=cost, matrix=matrix, rhs=np.concatenate([np.zeros(n_aux), y]),
        lower=lower, upper=upper,
        z_plus=np.arange(off_zp, off_zm), z_minus=np.arange(off_zm, off_up),
        u_plus=np.arange(off_up, off_um), u_minus=np.arange(off_um, n_var),
        data_rows=data, formulation="additive",
        intercept_index=0 if fit_intercept else -1,
        anchor_values=anchor_values,
    )
