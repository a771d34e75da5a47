"""Compiled inner loops (numba) of the 2-layer operator and the homotopy.

Each kernel fuses a handful of array passes that numpy would run one at a
time (a gather, two prefix sums and the per-column formulas of a product;
the ratio test, drop test and update of a homotopy step), or replaces a
LAPACK call whose overhead dominates at the sizes of an active set (the
triangular solves, appends and deletions of the active-set Cholesky
factor). No fast-math: results agree with the dense computations the tests
compare them to, to rounding. Compiled code is cached on disk
(``cache=True``): the first call in a fresh installation compiles, later
processes load it.

Activations enter through the four coefficients of ``sigma(u) = a_p u + b_p``
for ``u >= 0`` and ``a_m u + b_m`` for ``u < 0``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_OPTS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")


@njit(**_OPTS)
def _column_values(vs, p0, p1, tc, dirs, split, a_p, a_m, b_p, b_m, out):
    """Per-column formulas of ``A^T r`` from prefix sums of sorted ``r``."""
    n = p0.shape[0] - 1
    tot0 = p0[n]
    tot1 = p1[n]
    for k in range(tc.shape[0]):
        s = split[k]
        low0 = p0[s]
        low1 = p1[s]
        high0 = tot0 - low0
        high1 = tot1 - low1
        t = tc[k]
        if dirs[k] > 0:
            out[k] = (b_p * high0 + b_m * low0
                      + a_p * (high1 - t * high0) + a_m * (low1 - t * low0))
        else:
            out[k] = (b_p * low0 + b_m * high0
                      + a_p * (t * low0 - low1) + a_m * (t * high0 - high1))


@njit(**_OPTS)
def rmatvec_sorted(rs, xs, tc, dirs, split, a_p, a_m, b_p, b_m, out):
    """``out = A^T r`` for ``rs = r`` in sorted-input order."""
    n = rs.shape[0]
    p0 = np.empty(n + 1)
    p1 = np.empty(n + 1)
    p0[0] = 0.0
    p1[0] = 0.0
    acc0 = 0.0
    acc1 = 0.0
    for i in range(n):
        acc0 += rs[i]
        acc1 += rs[i] * xs[i]
        p0[i + 1] = acc0
        p1[i + 1] = acc1
    _column_values(rs, p0, p1, tc, dirs, split, a_p, a_m, b_p, b_m, out)


@njit(**_OPTS)
def rmatvec(r, order, xs, tc, dirs, split, a_p, a_m, b_p, b_m, out):
    """``out = A^T r`` (``r`` in input order)."""
    n = r.shape[0]
    rs = np.empty(n)
    for i in range(n):
        rs[i] = r[order[i]]
    rmatvec_sorted(rs, xs, tc, dirs, split, a_p, a_m, b_p, b_m, out)


@njit(**_OPTS)
def gram_vector(k, centre, xs, tc, dirs, split, a_p, a_m, b_p, b_m, out):
    """``out = A^T a_k`` (``A^T`` of the centred column when ``centre``).

    Returns the squared norm of the (centred) column ``a_k``.
    """
    n = xs.shape[0]
    col = np.empty(n)
    t = tc[k]
    d = dirs[k]
    mean = 0.0
    for i in range(n):
        u = d * (xs[i] - t)
        v = a_p * u + b_p if u >= 0.0 else a_m * u + b_m
        col[i] = v
        mean += v
    mean /= n
    sq = 0.0
    if centre:
        for i in range(n):
            col[i] -= mean
    for i in range(n):
        sq += col[i] * col[i]
    rmatvec_sorted(col, xs, tc, dirs, split, a_p, a_m, b_p, b_m, out)
    return sq


@njit(**_OPTS)
def matvec_sorted_knots(vs, ts, direction, xs, order, a_p, a_m, b_p, b_m, out):
    """``out += sum_k vs[k] sigma(direction (x - ts[k]))`` for sorted ``ts``.

    ``xs`` are the sorted inputs and ``order`` their positions in ``out``.
    One merge of the two sorted sequences, ``O(N + s)``.
    """
    s = ts.shape[0]
    n = xs.shape[0]
    tot0 = 0.0
    tot1 = 0.0
    for k in range(s):
        tot0 += vs[k]
        tot1 += vs[k] * ts[k]
    # knots counted in low0/low1: t <= x (plus branch of sigma(x - t)) for
    # direction +1, t < x (minus branch of sigma(t - x)) for direction -1
    inclusive = direction > 0
    low0 = 0.0
    low1 = 0.0
    j = 0
    for i in range(n):
        x = xs[i]
        while j < s and (ts[j] < x or (inclusive and ts[j] == x)):
            low0 += vs[j]
            low1 += vs[j] * ts[j]
            j += 1
        high0 = tot0 - low0
        high1 = tot1 - low1
        if inclusive:
            val = (b_p * low0 + b_m * high0
                   + a_p * (x * low0 - low1) + a_m * (x * high0 - high1))
        else:
            val = (b_p * high0 + b_m * low0
                   + a_p * (high1 - x * high0) + a_m * (low1 - x * low0))
        out[order[i]] += val


@njit(**_OPTS)
def ratio_test(c, a, beta, penalty, just_dropped, tiny):
    """Entering feature of a homotopy step.

    Feature ``j`` reaches ``|c_j - gamma a_j| = beta - gamma`` at
    ``gamma = (beta -+ c_j) / (1 -+ a_j)``; the smallest step is the largest
    ``q = (1 -+ a_j) / (beta -+ c_j)`` (no division by ~0). ``penalty`` is
    ``-inf`` for blocked features. A feature just dropped is not re-entered
    at once on a vanishing step. Returns ``(j, q, sign)``; ``j = -1`` when
    nothing can enter.
    """
    best = -np.inf
    jbest = -1
    sbest = 1.0
    second = -np.inf
    jsecond = -1
    ssecond = 1.0
    for j in range(c.shape[0]):
        pen = penalty[j]
        if pen == -np.inf:
            continue
        n1 = beta - c[j]
        if n1 < tiny:
            n1 = tiny
        n2 = beta + c[j]
        if n2 < tiny:
            n2 = tiny
        q1 = (1.0 - a[j]) / n1
        q2 = (1.0 + a[j]) / n2
        if q1 >= q2:
            q = q1 + pen
            sg = 1.0
        else:
            q = q2 + pen
            sg = -1.0
        if q > best:
            second, jsecond, ssecond = best, jbest, sbest
            best, jbest, sbest = q, j, sg
        elif q > second:
            second, jsecond, ssecond = q, j, sg
    if jbest == just_dropped and jbest >= 0 and best >= 1e10 / beta:
        return jsecond, second, ssecond
    return jbest, best, sbest


# ----------------------------------------------------------------- Cholesky
@njit(**_OPTS)
def chol_forward(L, b, s, out):
    """Solve ``L[:s, :s] out = b`` (lower triangular)."""
    for i in range(s):
        acc = b[i]
        for k in range(i):
            acc -= L[i, k] * out[k]
        out[i] = acc / L[i, i]


@njit(**_OPTS)
def chol_solve(L, b, s, out):
    """Solve ``L L^T out = b`` with the leading ``s x s`` block of ``L``."""
    chol_forward(L, b, s, out)
    # back substitution with L^T by rows of L (contiguous in memory)
    for i in range(s - 1, -1, -1):
        xi = out[i] / L[i, i]
        out[i] = xi
        for k in range(i):
            out[k] -= L[i, k] * xi


@njit(**_OPTS)
def chol_append(L, G, g_row, g_diag, s, rtol):
    """Append row ``s`` to ``L`` (and ``G``) if the new column is independent.

    The column is refused (False, nothing written) when its squared distance
    to the span of the first ``s`` columns, ``g_diag - ||ell||^2`` with
    ``L ell = g_row``, is at most ``rtol * g_diag``.
    """
    if not (g_diag > 0.0 and np.isfinite(g_diag)):
        return False
    ell = np.empty(s)
    chol_forward(L, g_row, s, ell)
    d2 = g_diag
    for k in range(s):
        if not np.isfinite(ell[k]):
            return False
        d2 -= ell[k] * ell[k]
    if not d2 > rtol * g_diag:
        return False
    for k in range(s):
        L[s, k] = ell[k]
        G[s, k] = g_row[k]
        G[k, s] = g_row[k]
    L[s, s] = np.sqrt(d2)
    G[s, s] = g_diag
    return True


@njit(**_OPTS)
def chol_factor(G, L, s):
    """``L L^T = G[:s, :s]`` in place of ``L``; False if not positive definite."""
    for j in range(s):
        d = G[j, j]
        for k in range(j):
            d -= L[j, k] * L[j, k]
        if not d > 0.0:
            return False
        ljj = np.sqrt(d)
        L[j, j] = ljj
        for i in range(j + 1, s):
            acc = G[i, j]
            for k in range(j):
                acc -= L[i, k] * L[j, k]
            L[i, j] = acc / ljj
    return True


# ----------------------------------------------------------------- homotopy
@njit(**_OPTS)
def drop_test(z, S, w, signs, just_added):
    """First active coefficient to reach zero along ``z_S + gamma w``.

    Only coefficients shrinking towards zero (``w s < 0``) count, and not the
    one that just entered. Returns ``(position, gamma)``; ``(-1, inf)`` if none.
    """
    best = np.inf
    pos = -1
    for i in range(S.shape[0]):
        if w[i] * signs[i] < 0.0 and S[i] != just_added:
            g = abs(z[S[i]]) / abs(w[i])
            if g < best:
                best = g
                pos = i
    return pos, best


@njit(**_OPTS)
def advance(z, S, w, c, a, gamma):
    """``z_S += gamma w`` and ``c -= gamma a``."""
    for i in range(S.shape[0]):
        z[S[i]] += gamma * w[i]
    for j in range(c.shape[0]):
        c[j] -= gamma * a[j]


@njit(**_OPTS)
def chol_delete(G, L, k, s):
    """Delete row and column ``k`` of ``G[:s, :s]`` and refactor ``L`` from it.

    Later rows and columns shift up by one. Returns False (``G`` updated,
    ``L`` untouched) if the smaller matrix is not numerically positive
    definite.
    """
    for i in range(k, s - 1):
        for j in range(s):
            G[i, j] = G[i + 1, j]
    for i in range(s - 1):
        for j in range(k, s - 1):
            G[i, j] = G[i, j + 1]
    for j in range(s):
        G[s - 1, j] = 0.0
        G[j, s - 1] = 0.0
    m = s - 1
    T = np.zeros((m, m))
    if not chol_factor(G, T, m):
        return False
    for i in range(s):
        for j in range(s):
            L[i, j] = T[i, j] if (i < m and j < m) else 0.0
    return True


@njit(**_OPTS)
def step_events(c, a, beta, penalty, just_dropped, z, S, w, signs, just_added,
                gamma_target, floor, tiny):
    """One homotopy step from its direction: events, step length, update.

    Combines :func:`ratio_test` (entering), :func:`drop_test` (leaving) and
    the target; an event closer to ``beta = 0`` than ``floor`` is rounding
    noise and the step goes to the target. Updates ``z`` and ``c`` in place
    (:func:`advance`). Returns ``(gamma, j_enter, sign, pos_drop,
    gamma_drop)``.
    """
    j_enter, q_best, sign = ratio_test(c, a, beta, penalty, just_dropped, tiny)
    gamma_enter = 1.0 / q_best if q_best > 0 else np.inf
    pos_drop, gamma_drop = drop_test(z, S, w, signs, just_added)
    gamma = min(gamma_target, gamma_enter, gamma_drop)
    if gamma < gamma_target and beta - gamma < floor:
        gamma = gamma_target
    advance(z, S, w, c, a, gamma)
    return gamma, j_enter, sign, pos_drop, gamma_drop


@njit(**_OPTS)
def qr_delete(L, Qt, k, s):
    """Delete column ``k`` of ``A_S = Q R`` with ``L = R^T`` and ``Qt = Q^T``.

    Row ``k`` of ``L[:s, :s]`` is removed (later rows shift up) and Givens
    rotations of columns ``j, j + 1`` of ``L`` (rows ``j, j + 1`` of ``Qt``)
    restore the lower triangle; the diagonal is made positive. ``O(s^2 + N s)``.
    """
    n = Qt.shape[1]
    for i in range(k, s - 1):
        for m in range(s):
            L[i, m] = L[i + 1, m]
    for m in range(s):
        L[s - 1, m] = 0.0
    for j in range(k, s - 1):
        a = L[j, j]
        b = L[j, j + 1]
        r = np.hypot(a, b)
        if r == 0.0:
            continue
        c = a / r
        sn = b / r
        for i in range(j, s - 1):
            x = L[i, j]
            y = L[i, j + 1]
            L[i, j] = c * x + sn * y
            L[i, j + 1] = -sn * x + c * y
        for i in range(n):
            x = Qt[j, i]
            y = Qt[j + 1, i]
            Qt[j, i] = c * x + sn * y
            Qt[j + 1, i] = -sn * x + c * y
    for i in range(s):
        L[i, s - 1] = 0.0
    for i in range(n):
        Qt[s - 1, i] = 0.0
    for j in range(s - 1):
        if L[j, j] < 0.0:
            for i in range(j, s - 1):
                L[i, j] = -L[i, j]
            for i in range(n):
                Qt[j, i] = -Qt[j, i]
