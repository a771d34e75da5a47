"""Linear programs of the quantile Lasso and of min-norm interpolation (HiGHS).

Two formulations of ``A z + xi 1`` on the data:

* dense: the constraint matrix holds ``A`` itself (``N p`` nonzeros);
* slope changes, for a :class:`TwoLayerOperator` with a continuous
  activation: every column ``sigma(d_k (x - t_k))`` is affine on each side
  of its knot, so a fit is a continuous piecewise-linear function whose slope
  jumps by ``kappa z_k`` at ``t_k`` (``kappa = a_plus - a_minus``) and whose
  slope left of every knot is ``sum_k l_k z_k`` (``l_k = a_minus`` for
  ``d_k = +1`` and ``-a_plus`` for ``d_k = -1``). The LP keeps ``z`` as
  variables and adds the function values ``F_m`` and slopes ``s_m`` on the
  sorted grid of inputs and knots, tied by ``F_{m+1} - F_m = h_m s_m`` and
  ``s_m - s_{m-1} = kappa * sum_{t_k = g_m} z_k``: ``O(N + p)`` nonzeros, and
  the same feasible set of ``(z, fitted values)`` as the dense LP, so the
  same optimum. ``F_0`` is free exactly when the intercept is.

The problems are solved by HiGHS (:mod:`tsmirrors.solvers._highs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._highs import _highspy, _pass_lp, new_highs

__all__ = ["LinearProgram", "build_quantile_lp", "split_solution"]


@dataclass
class LinearProgram:
    """``min c^T v  s.t.  M v = b,  lower <= v <= upper`` plus the maps back.

    ``z_plus``/``z_minus`` index the split coefficients, ``u_plus``/
    ``u_minus`` the residual parts (empty for interpolation), ``data_rows``
    the rows whose duals are the dual variables of the data, and
    ``intercept_of`` recovers the intercept from a solution.
    """

    cost: np.ndarray
    matrix: sp.csc_array
    rhs: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    z_plus: np.ndarray
    z_minus: np.ndarray
    u_plus: np.ndarray
    u_minus: np.ndarray
    data_rows: np.ndarray
    formulation: str
    intercept_index: int = -1
    anchor_values: np.ndarray | None = None


def _assemble(rows, cols, vals, shape) -> sp.csc_array:
    return sp.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=shape,
    ).tocsc()


def _dense_lp_matrix(A: np.ndarray, n_xi: int, n_u: int) -> sp.csc_array:
    """``[A, -A, 1 (n_xi columns), I, -I (n_u each)]`` in CSC, without zeros.

    Built from the nonzeros of ``A`` directly: stacking sparse blocks
    converts and sorts the ``N p`` entries several times.
    """
    n, p = A.shape
    at = np.ascontiguousarray(A.T).reshape(-1)  # column after column
    flat = np.flatnonzero(at)
    counts = np.bincount(flat // n, minlength=p)
    rows = flat % n
    values = at[flat]
    del at, flat
    unit = np.arange(n)
    indices = np.concatenate(
        [rows, rows, np.tile(unit, n_xi), np.tile(unit, 2 * (n_u > 0))]
    )
    data = np.concatenate(
        [values, -values, np.ones(n * n_xi),
         np.ones(n_u), -np.ones(n_u)] if n_u else [values, -values, np.ones(n * n_xi)]
    )
    lengths = np.concatenate([counts, counts, np.full(n_xi, n), np.ones(2 * n_u, int)])
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    return sp.csc_array((data, indices, indptr), shape=(n, 2 * p + n_xi + 2 * n_u))


def build_dense_lp(A: np.ndarray, y: np.ndarray, cost_z: np.ndarray,
                   tau: float | None, fit_intercept: bool) -> LinearProgram:
    """LP with the dictionary as a dense block (any design).

    ``tau=None`` builds min-norm interpolation (no residual variables).
    """
    n, p = A.shape
    interp = tau is None
    n_xi = 1 if fit_intercept else 0
    n_u = 0 if interp else n
    n_var = 2 * p + n_xi + 2 * n_u
    matrix = _dense_lp_matrix(np.asarray(A, dtype=np.float64), n_xi, n_u)
    cost = np.concatenate([
        cost_z, cost_z, np.zeros(n_xi),
        np.full(n_u, 0.0 if interp else tau), np.full(n_u, 0.0 if interp else 1 - tau),
    ])
    lower = np.zeros(n_var)
    upper = np.full(n_var, np.inf)
    if fit_intercept:
        lower[2 * p] = -np.inf
    start_u = 2 * p + n_xi
    return LinearProgram(
        cost=cost, matrix=sp.csc_array(matrix), rhs=np.asarray(y, dtype=float),
        lower=lower, upper=upper,
        z_plus=np.arange(p), z_minus=np.arange(p, 2 * p),
        u_plus=np.arange(start_u, start_u + n_u),
        u_minus=np.arange(start_u + n_u, start_u + 2 * n_u),
        data_rows=np.arange(n), formulation="dense",
        intercept_index=2 * p if fit_intercept else -1,
    )


def build_slope_lp(op, y: np.ndarray, cost_z: np.ndarray, tau: float | None,
                   fit_intercept: bool) -> LinearProgram:
    """Slope-change LP for a :class:`TwoLayerOperator` with a continuous activation."""
    act = op.activation
    kappa = act.a_plus - act.a_minus
    x = op._xc
    t = op._tc
    d = op.directions.astype(float)
    n, p = op.shape
    interp = tau is None
    grid = np.unique(np.concatenate([x, t]))
    n_grid = grid.size
    n_seg = n_grid - 1
    h = np.diff(grid)
    knot_pos = np.searchsorted(grid, t)
    data_pos = np.searchsorted(grid, x)
    left_slope = np.where(d > 0, act.a_minus, -act.a_plus)

    # Variable layout.
    off_F = 0
    off_s = n_grid
    off_zp = off_s + n_seg
    off_zm = off_zp + p
    off_up = off_zm + p
    n_u = 0 if interp else n
    off_um = off_up + n_u
    n_var = off_um + n_u

    rows, cols, vals = [], [], []
    r = 0
    # (a) F_{m+1} - F_m - h_m s_m = 0
    m = np.arange(n_seg)
    rows += [r + m, r + m, r + m]
    cols += [off_F + m + 1, off_F + m, off_s + m]
    vals += [np.ones(n_seg), -np.ones(n_seg), -h]
    r += n_seg
    if n_seg:
        # (b) s_m - s_{m-1} - kappa sum_{t_k = g_m} z_k = 0 for m = 1..M-1,
        # (c) s_0 - sum_k (l_k + kappa [t_k = g_0]) z_k = 0 (row r_left).
        r_left = r
        mm = np.arange(1, n_seg)
        rows += [r + mm, r + mm]
        cols += [off_s + mm, off_s + mm - 1]
        vals += [np.ones(mm.size), -np.ones(mm.size)]
        rows.append(np.array([r_left]))
        cols.append(np.array([off_s]))
        vals.append(np.array([1.0]))
        coef_left = left_slope + kappa * (knot_pos == 0)
        k_all = np.arange(p)
        rows += [np.full(p, r_left), np.full(p, r_left)]
        cols += [off_zp + k_all, off_zm + k_all]
        vals += [-coef_left, coef_left]
        inner = (knot_pos >= 1) & (knot_pos <= n_seg - 1)
        ki = k_all[inner]
        rows += [r + knot_pos[ki], r + knot_pos[ki]]
        cols += [off_zp + ki, off_zm + ki]
        vals += [np.full(ki.size, -kappa), np.full(ki.size, kappa)]
        r += n_seg
    # (d) data rows: F_{m(i)} + u+_i - u-_i = y_i
    data_rows = r + np.arange(n)
    rows.append(data_rows)
    cols.append(off_F + data_pos)
    vals.append(np.ones(n))
    if not interp:
        rows += [data_rows, data_rows]
        cols += [off_up + np.arange(n), off_um + np.arange(n)]
        vals += [np.ones(n), -np.ones(n)]
    r += n
    rhs = [np.zeros(r - n), np.asarray(y, dtype=float)]
    # Value of every column at the first grid point: F_0 = xi + sum_k v_k z_k.
    anchor = op.activation(d * (grid[0] - t))
    if not fit_intercept:
        nz = np.flatnonzero(anchor)
        rows += [np.array([r]), np.full(nz.size, r), np.full(nz.size, r)]
        cols += [np.array([off_F]), off_zp + nz, off_zm + nz]
        vals += [np.array([1.0]), -anchor[nz], anchor[nz]]
        rhs.append(np.zeros(1))
        r += 1
    matrix = _assemble(rows, cols, vals, (r, n_var))
    cost, lower, upper = _chain_costs(off_zp, p, n_u, cost_z, tau)
    return LinearProgram(
        cost=cost, matrix=matrix, rhs=np.concatenate(rhs), lower=lower, upper=upper,
        z_plus=np.arange(off_zp, off_zp + p), z_minus=np.arange(off_zm, off_zm + p),
        u_plus=np.arange(off_up, off_up + n_u), u_minus=np.arange(off_um, off_um + n_u),
        data_rows=data_rows, formulation="slope",
        intercept_index=off_F if fit_intercept else -1,
        anchor_values=anchor,
    )


def build_quantile_lp(design, y, cost_z, tau, fit_intercept, formulation="auto"):
    """Choose and build the LP for ``design`` (slope changes when possible)."""
    from ..features.operators import TwoLayerOperator
    from ._additive_lp import additive_blocks, build_additive_lp

    op = getattr(design, "op", None)
    slope_ok = isinstance(op, TwoLayerOperator) and op.is_continuous
    if formulation not in ("auto", "slope", "dense"):
        raise ValueError(
            f"formulation must be 'auto', 'slope' or 'dense', got {formulation!r}"
        )
    blocks = None if tau is None else additive_blocks(design)
    if blocks is not None and formulation != "dense":
        # several input columns: one slope-change chain per column
        return build_additive_lp(blocks, y, cost_z, tau, fit_intercept)
    if formulation == "slope" and not slope_ok:
        raise ValueError(
            "formulation='slope' needs a TwoLayerOperator with a continuous "
            "activation (relu, leaky_relu or abs); got "
            + (f"activation {op.activation.name!r}"
               if isinstance(op, TwoLayerOperator)
               else f"a {type(getattr(design, 'op', design)).__name__} design")
        )
    if slope_ok and formulation != "dense":
        return build_slope_lp(op, y, cost_z, tau, fit_intercept)
    return build_dense_lp(design.toarray(), y, cost_z, tau, fit_intercept)


def split_solution(lp: LinearProgram, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Coefficients ``z`` and intercept ``xi`` from an LP solution."""
    z = x[lp.z_plus] - x[lp.z_minus]
    if lp.intercept_index < 0:
        return z, 0.0
    if lp.formulation in ("slope", "additive"):
        return z, float(x[lp.intercept_index] - lp.anchor_values @ z)
    return z, float(x[lp.intercept_index])


def _chain_costs(off_zp: int, p: int, n_u: int, cost_z, tau):
    """Costs and bounds of a slope-chain LP's variables.

    The layout ``[values and slopes (free) | z+ (p) | z- (p) | u+ (n_u) |
    u- (n_u)]``: each ``|z|`` part costs ``cost_z``, the residual parts
    ``tau`` and ``1 - tau`` (none when ``n_u = 0``: interpolation).
    Returns ``(cost, lower, upper)``.
    """
    off_up = off_zp + 2 * p
    n_var = off_up + 2 * n_u
    cost = np.zeros(n_var)
    cost[off_zp:off_zp + p] = cost_z
    cost[off_zp + p:off_up] = cost_z
    if n_u:
        cost[off_up:off_up + n_u] = tau
        cost[off_up + n_u:] = 1.0 - tau
    lower = np.zeros(n_var)
    lower[:off_zp] = -np.inf  # values and slopes are free
    upper = np.full(n_var, np.inf)
    return cost, lower, upper


def _continuity_rows(rows, cols, vals, r, off_F, off_s, b) -> int:
    """Append ``F_j - F_{j-1} - (b_j - b_{j-1}) s_j = 0`` (``j = 1..B-1``) of a
    slope chain over the knots ``b`` from row ``r``; returns the next row."""
    j = np.arange(1, b.size)
    rows += [r + j - 1] * 3
    cols += [off_F + j, off_F + j - 1, off_s + j]
    vals += [np.ones(j.size), -np.ones(j.size), -(b[j] - b[j - 1])]
    return r + b.size - 1


def _compressed_slope_lp(x, y, t, d, act, cost_z, tau, fit_intercept):
    """Slope-change LP whose grid is only the knots ``t`` (a working set).

    Between consecutive knots the fit is affine, so each data row reads
    ``F_ref + (x_i - ref) s_seg + u+_i - u-_i = y_i`` and the LP has
    ``O(N + |t|)`` nonzeros with only ``O(|t|)`` structural columns.
    Returns ``(cost, matrix, rhs, lower, upper, offsets)``.
    """
    kappa = act.a_plus - act.a_minus
    n = x.size
    q = t.size
    b = np.unique(t)
    B = b.size
    knot_pos = np.searchsorted(b, t)
    seg = np.searchsorted(b, x, side="right")  # 0..B
    ref_F = np.maximum(seg - 1, 0)
    ref_x = b[ref_F]
    left_slope = np.where(d > 0, act.a_minus, -act.a_plus)
    off_F, off_s = 0, B
    off_zp = off_s + B + 1
    off_zm = off_zp + q
    off_up = off_zm + q
    off_um = off_up + n
    n_var = off_um + n
    rows, cols, vals = [], [], []
    r = _continuity_rows(rows, cols, vals, 0, off_F, off_s, b)
    # slope jumps: s_j - s_{j-1} - kappa sum_{t_k = b_{j-1}} z_k = 0, j = 1..B
    j = np.arange(1, B + 1)
    rows += [r + j - 1, r + j - 1]
    cols += [off_s + j, off_s + j - 1]
    vals += [np.ones(B), -np.ones(B)]
    k = np.arange(q)
    rows += [r + knot_pos, r + knot_pos]
    cols += [off_zp + k, off_zm + k]
    vals += [np.full(q, -kappa), np.full(q, kappa)]
    r += B
    # left slope: s_0 - sum_k l_k z_k = 0
    rows += [np.array([r]), np.full(q, r), np.full(q, r)]
    cols += [np.array([off_s]), off_zp + k, off_zm + k]
    vals += [np.array([1.0]), -left_slope, left_slope]
    r += 1
    anchor = act(d * (b[0] - t))
    if not fit_intercept:
        nz = np.flatnonzero(anchor)
        rows += [np.array([r]), np.full(nz.size, r), np.full(nz.size, r)]
        cols += [np.array([off_F]), off_zp + nz, off_zm + nz]
        vals += [np.array([1.0]), -anchor[nz], anchor[nz]]
        r += 1
    n_aux = r
    i = np.arange(n)
    rows += [r + i, r + i, r + i, r + i]
    cols += [off_F + ref_F, off_s + seg, off_up + i, off_um + i]
    vals += [np.ones(n), x - ref_x, np.ones(n), -np.ones(n)]
    r += n
    matrix = _assemble(rows, cols, vals, (r, n_var))
    rhs = np.concatenate([np.zeros(n_aux), np.asarray(y, dtype=float)])
    cost, lower, upper = _chain_costs(off_zp, q, n, cost_z, tau)
    return cost, matrix, rhs, lower, upper, (off_F, off_zp, off_zm, n_aux, anchor, b)


def solve_slope_working_set(op, y, cost_z, tau, fit_intercept, initial, *,
                            batch: int = 500, max_rounds: int = 100,
                            price_tol: float = 1e-9, options: dict | None = None):
    """Exact quantile Lasso of a continuous 2-layer operator by column generation.

    The slope-change LP is solved with only the knots ``initial`` allowed to
    carry coefficients (:func:`_compressed_slope_lp`); the data-row duals
    ``g`` then price every knot, ``|A^T g|_k <= cost_k`` (one ``rmatvec``),
    and the most violated knots (at most ``batch``) join the set before the
    next solve. When none violates, ``g`` with the restricted solution
    satisfies the optimality conditions of the full problem, so the solution
    is exact. Returns ``(z, xi, g, ok, status, iterations)``.
    """
    hs = _highspy()
    act = op.activation
    x = op._xc
    t_all = op._tc
    d_all = op.directions.astype(float)
    p = t_all.size
    active = np.zeros(p, dtype=bool)
    active[np.asarray(initial, dtype=np.int64)] = True
    total_iter = 0
    status_str = "working-set round limit"
    ok = False
    z = np.zeros(p)
    xi = 0.0
    g = np.zeros(x.size)
    ok_status = hs.HighsModelStatus.kOptimal
    prev = None
    for _ in range(max_rounds):
        ws = np.flatnonzero(active)
        cost, matrix, rhs, lower, upper, meta = _compressed_slope_lp(
            x, y, t_all[ws], d_all[ws], act, cost_z[ws], tau, fit_intercept)
        off_F, off_zp, off_zm, n_aux, anchor, b = meta
        h = new_highs(hs)
        for key, value in (options or {}).items():
            h.setOptionValue(key, value)
        _pass_lp(hs, h, cost, matrix, rhs, lower, upper)
        if prev is not None:
            try:
                _map_basis(hs, h, prev, ws, b, x.size, fit_intercept)
            except Exception:  # pragma: no cover - a cold start is still exact
                pass
        h.run()
        info = h.getInfo()
        basis = h.getBasis()
        prev = (np.asarray([int(v) for v in basis.col_status]),
                np.asarray([int(v) for v in basis.row_status]), ws, b)
        total_iter += int(max(info.simplex_iteration_count, 0)
                          + max(info.ipm_iteration_count, 0))
        status = h.getModelStatus()
        status_str = h.modelStatusToString(status)
        if status != ok_status:
            ok = False
            break
        sol = h.getSolution()
        xv = np.asarray(sol.col_value, dtype=float)
        g = np.asarray(sol.row_dual, dtype=float)[n_aux:]
        zw = xv[off_zp:off_zm] - xv[off_zm:off_zm + ws.size]
        z = np.zeros(p)
        z[ws] = zw
        xi = float(xv[off_F] - anchor @ zw) if fit_intercept else 0.0
        c = np.abs(op.rmatvec(g))
        excess = c - cost_z * (1.0 + price_tol)
        viol = (excess > price_tol) & ~active
        if not viol.any():
            ok = True
            break
        cand = np.flatnonzero(viol)
        if cand.size > batch:
            cand = cand[np.argpartition(-excess[cand], batch)[:batch]]
        active[cand] = True
    return z, xi, g, ok, status_str, total_iter


def _map_basis(hs, h, prev, ws, b, n, fit_intercept):
    """Carry the previous round's basis into the LP with more knots."""
    col_old, row_old, ws_old, b_old = prev
    B0, B = b_old.size, b.size
    q0, q = ws_old.size, ws.size
    BASIC = int(hs.HighsBasisStatus.kBasic)
    LOWER = int(hs.HighsBasisStatus.kLower)
    pos = np.searchsorted(b, b_old)
    # columns: F (B), s (B+1), z+ (q), z- (q), u+ (n), u- (n)
    col = np.full(B + B + 1 + 2 * q + 2 * n, LOWER)
    col[:B] = BASIC
    col[pos] = col_old[:B0]
    col[B:2 * B + 1] = BASIC
    s_old = col_old[B0:2 * B0 + 1]
    first_sub = np.concatenate([[0], pos + 1])
    col[B + first_sub] = s_old
    kz = np.searchsorted(ws, ws_old)
    o0, o = 2 * B0 + 1, 2 * B + 1
    col[o + kz] = col_old[o0:o0 + q0]
    col[o + q + kz] = col_old[o0 + q0:o0 + 2 * q0]
    col[o + 2 * q:] = col_old[o0 + 2 * q0:]
    # rows: continuity (B-1), slopes (B), left, [anchor], data (n)
    n_extra = 1 if fit_intercept else 2
    row = np.full((B - 1) + B + n_extra + n, LOWER)
    if B0 > 1:
        row[pos[1:] - 1] = row_old[:B0 - 1]
    row[(B - 1) + pos] = row_old[B0 - 1:2 * B0 - 1]
    row[2 * B - 1:] = row_old[2 * B0 - 1:]
    if int((col == BASIC).sum() + (row == BASIC).sum()) != row.size:
        return
    basis = hs.HighsBasis()
    basis.col_status = [hs.HighsBasisStatus(int(v)) for v in col]
    basis.row_status = [hs.HighsBasisStatus(int(v)) for v in row]
    basis.valid = True
    h.setBasis(basis)
