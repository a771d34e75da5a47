"""LARS with the Lasso modification (homotopy), on a design or on a Gram block.

The homotopy follows the piecewise-linear Lasso path of the centered
problem ``min_z 1/2 ||A_c z - y_c||^2 + beta ||z||_1`` from ``beta_max`` down.
It needs four things from a backend: the correlations ``A_c^T y_c``, the
vector ``A_c^T a_j`` of a column ``a_j``, fresh correlations at a given ``z``,
and ``A_c^T A_S w``. :class:`DesignBackend` gets them from products with the
dictionary (``O(N + p)`` for a :class:`TwoLayerOperator`); :class:`GramBackend`
reads them off a precomputed Gram block, which is what the working-set solver
uses. The active set is factored accordingly: a QR factorisation of the
active columns on a design (:class:`~tsmirrors.solvers._qr.ActiveQR`, accurate
to ``eps cond(A_S)``), a Cholesky factor of the Gram block otherwise
(``eps cond(A_S)^2``).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.linalg import solve_triangular
from threadpoolctl import ThreadpoolController

from .. import _kernels
from ._cholesky import ActiveCholesky
from ._qr import ActiveQR

_TINY = 1e-300
_RESOLUTION = 1e-11
#: Entries of ``A_c^T A_S`` kept in memory; beyond it, products are recomputed.
_GRAM_BUDGET = 2**25
#: A column enters only if its squared distance to the span of the active
#: columns exceeds this fraction of its squared norm. The computed distance
#: carries an error of about ``cond(G_S) eps`` relative, so a much smaller
#: threshold lets exactly dependent columns in (e.g. the centred
#: ``relu(x - t) - relu(t - x) = x - t`` of two knots) and the active-set
#: solves lose every digit.
_INDEPENDENCE_RTOL = 1e-10
#: The same test on a QR factor of the active columns (:class:`DesignBackend`),
#: whose distances are accurate to about ``eps`` relative: exactly dependent
#: columns come out near ``eps^2``, while near interpolation independent
#: columns lie at squared relative distances down to ``1e-11`` and below.
_QR_INDEPENDENCE_RTOL = 1e-20


@functools.cache
def _blas_controller() -> ThreadpoolController:
    # made once: building it reads the process's loaded libraries (ms per call)
    return ThreadpoolController()


def _small_blas():
    """One BLAS thread: the homotopy's products are small (``s x s`` triangular
    solves, ``s <= n``) and called thousands of times; threaded BLAS spends
    more on synchronization than on them, by a factor of ten on a loaded
    machine."""
    return _blas_controller().limit(limits=1, user_api="blas")


def lasso_objective(z: np.ndarray, r: np.ndarray, beta: float) -> float:
    """``1/2 ||r||^2 + beta ||z||_1`` for the residual ``r`` of ``z``."""
    return 0.5 * float(r @ r) + beta * float(np.abs(z).sum())


class Problem:
    """The centered least-squares data: ``A_c``, ``y_c`` and their products."""

    def __init__(self, design, y: np.ndarray, fit_intercept: bool):
        self.design = design
        self.fit_intercept = fit_intercept
        self.n_samples, self.n_features = design.shape
        self.y_mean = float(y.mean()) if fit_intercept else 0.0
        yc = y - self.y_mean
        if fit_intercept:
            yc = yc - yc.mean()
        self.yc = yc
        self.col_means = design.column_means() if fit_intercept else None
        self.c0 = design.rmatvec(yc)
        self.beta_max = float(np.max(np.abs(self.c0)))
        #: Columns that never need to enter (see :class:`DesignBackend`).
        self.redundant = design.redundant_columns(fit_intercept)
        self._memo: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def centered(self, v: np.ndarray) -> np.ndarray:
        return v - v.mean() if self.fit_intercept else v

    def fitted(self, z: np.ndarray) -> np.ndarray:
        """``A_c z``."""
        idx = np.flatnonzero(z)
        if idx.size == 0:
            return np.zeros(self.n_samples)
        return self.centered(self.design.matvec_subset(idx, z[idx]))

    def residual(self, z: np.ndarray) -> np.ndarray:
        """``y_c - A_c z``, with the design's most accurate summation."""
        idx = np.flatnonzero(z)
        if idx.size == 0:
            return self.yc.copy()
        return self.design.residual_subset(idx, z[idx], self.yc, self.fit_intercept)

    def correlations(self, z: np.ndarray) -> np.ndarray:
        """``A_c^T (y_c - A_c z)``."""
        return self.residual_correlations(z)[1]

    def gram_block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Centered Gram block ``A_c[:, rows]^T A_c[:, cols]``."""
        G = self.design.gram(rows, cols)
        if self.fit_intercept:
            m = self.col_means
            G = G - self.n_samples * np.outer(m[rows], m[cols])
        return G

    def intercept(self, z: np.ndarray) -> float:
        if not self.fit_intercept:
            return 0.0
        return self.y_mean - float(self.col_means @ z)

    def residual_correlations(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Residual ``y_c - A_c z`` and correlations ``A_c^T`` of it.

        The last result is kept (verification often asks again for the same
        ``z``); callers get their own copies.
        """
        memo = self._memo
        if memo is None or not np.array_equal(memo[0], z):
            r = self.residual(z)
            memo = self._memo = (z.copy(), r, self.design.rmatvec(r))
        return memo[1].copy(), memo[2].copy()

    def gap(self, z: np.ndarray, r: np.ndarray, c: np.ndarray,
            beta: float) -> tuple[float, float]:
        """Primal objective and duality gap, from a rescaled residual."""
        primal = lasso_objective(z, r, beta)
        cmax = float(np.max(np.abs(c)))
        theta = r if cmax <= beta else (beta / cmax) * r
        d = self.yc - theta
        dual = 0.5 * float(self.yc @ self.yc) - 0.5 * float(d @ d)
        return primal, max(primal - dual, 0.0)

    def certificate(self, z: np.ndarray, beta: float) -> tuple[float, float, float]:
        """Objective, duality gap and scaled KKT residual at ``z``.

        The KKT residual is ``max_j dist(c_j, beta * d|z_j|) / beta_max`` with
        fresh correlations ``c = A_c^T (y_c - A_c z)``: relative to
        ``beta_max = ||A_c^T y_c||_inf``, the scale of the correlations, so
        that rounding (which is relative to that scale, not to ``beta``) does
        not depend on how far down the path ``beta`` is.
        """
        r, c = self.residual_correlations(z)
        primal, gap = self.gap(z, r, c, beta)
        dist = np.where(z != 0, np.abs(c - beta * np.sign(z)),
                        np.maximum(np.abs(c) - beta, 0.0))
        return primal, gap, float(dist.max()) / self.kkt_scale

    @property
    def kkt_scale(self) -> float:
        """``beta_max``, the denominator of the scaled KKT residual."""
        return max(self.beta_max, np.finfo(float).tiny)

    @property
    def objective_scale(self) -> float:
        """``1/2 ||y_c||^2``, the objective at ``z = 0`` (scale of the gap)."""
        return max(0.5 * float(self.yc @ self.yc), np.finfo(float).tiny)

    def certified(self, z: np.ndarray, beta: float, tol: float
                  ) -> tuple[bool, float, float, float]:
        """Whether ``z`` is certified optimal at ``beta``, and its certificate.

        Certified when the scaled KKT residual (see :meth:`certificate`) is
        at most ``tol`` or the duality gap is at most ``tol * 1/2 ||y_c||^2``.
        """
        primal, gap, kkt = self.certificate(z, beta)
        ok = kkt <= tol or gap <= tol * self.objective_scale
        return ok, primal, gap, kkt


class DesignBackend:
    """Homotopy products from the dictionary itself (all features monitored).

    Columns the design reports as redundant (exact copies of an earlier
    column, or constant columns once centred) never enter: a copy can always
    be replaced by its original at the same objective, and a centred constant
    column is zero.
    """

    cache_rows = True

    def new_factor(self) -> ActiveQR | ActiveCholesky:
        """QR factor of the active columns (the columns are at hand).

        ``Q`` holds ``N`` numbers per active column; when that could exceed
        the budget of cached products (long sparse designs), a Cholesky
        factor of the Gram matrix is kept instead.
        """
        n, p = self.problem.n_samples, self.problem.n_features
        if n * min(n, p) > _GRAM_BUDGET:
            return ActiveCholesky(rtol=_INDEPENDENCE_RTOL)
        return ActiveQR(n, _QR_INDEPENDENCE_RTOL)

    def centred_columns(self, idx) -> np.ndarray:
        """Columns ``A_c[:, idx]``."""
        p = self.problem
        cols = p.design.columns(idx)
        return cols - cols.mean(axis=0) if p.fit_intercept else cols

    def __init__(self, problem: Problem):
        self.problem = problem
        self.n_features = problem.n_features
        self.c0 = problem.c0
        self.beta_max = problem.beta_max
        self.excluded = problem.redundant

    def gram_vector(self, j: int) -> tuple[np.ndarray, float]:
        return self.problem.design.gram_vector(j, self.problem.fit_intercept)

    def correlations(self, z: np.ndarray) -> np.ndarray:
        return self.problem.correlations(z)

    def span_data(self, S: np.ndarray, cand: np.ndarray, rows=None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """``A_c[:, S]^T A_c[:, cand]`` and the squared norms of ``cand``.

        ``rows``, when given, are the cached rows ``A_c^T a_j`` of ``S``.
        """
        p = self.problem
        cols = p.design.columns(cand)
        if p.fit_intercept:
            cols = cols - cols.mean(axis=0)
        if rows is not None:
            return rows[:, cand], np.einsum("ij,ij->j", cols, cols)
        act = p.design.columns(S)
        if p.fit_intercept:
            act = act - act.mean(axis=0)
        return act.T @ cols, np.einsum("ij,ij->j", cols, cols)

    def direction(self, S: np.ndarray, w: np.ndarray) -> np.ndarray:
        p = self.problem
        return p.design.rmatvec(p.centered(p.design.matvec_subset(S, w)))


class GramBackend:
    """Homotopy products read off a Gram block ``G = A_c[:, W]^T A_c[:, W]``."""

    cache_rows = False

    def new_factor(self) -> ActiveCholesky:
        """Cholesky factor of the active Gram block (no columns at hand)."""
        return ActiveCholesky(rtol=_INDEPENDENCE_RTOL)

    def __init__(self, G: np.ndarray, c0: np.ndarray):
        self.G = G
        self.c0 = c0
        self.n_features = c0.shape[0]
        self.beta_max = float(np.max(np.abs(c0))) if c0.size else 0.0

    def gram_vector(self, j: int) -> tuple[np.ndarray, float]:
        return self.G[j], float(self.G[j, j])

    def correlations(self, z: np.ndarray) -> np.ndarray:
        idx = np.flatnonzero(z)
        return self.c0 - self.G[:, idx] @ z[idx]

    def span_data(self, S: np.ndarray, cand: np.ndarray, rows=None
                  ) -> tuple[np.ndarray, np.ndarray]:
        return self.G[np.ix_(S, cand)], self.G[cand, cand]

    def direction(self, S: np.ndarray, w: np.ndarray) -> np.ndarray:
        return w @ self.G[S]


class Homotopy:
    """State of the LARS-Lasso homotopy on the centered problem."""

    def __init__(self, backend):
        self.backend = backend
        self.n_features = backend.n_features
        self.c0 = backend.c0
        self.beta_max = backend.beta_max
        self.c = self.c0.copy()
        self.z = np.zeros(self.n_features)
        self.n_active = 0
        self._S = np.empty(16, dtype=np.intp)
        self._s = np.empty(16)
        self.blocked = np.zeros(self.n_features, dtype=bool)  # active or skipped
        self.block_penalty = np.zeros(self.n_features)  # -inf where blocked
        self.excluded = getattr(backend, "excluded", None)  # blocked for good
        if self.excluded is not None:
            self.blocked[self.excluded] = True
            self.block_penalty[self.excluded] = -np.inf
        self.skipped = np.zeros(self.n_features, dtype=bool)
        self.chol = backend.new_factor()
        self.beta = self.beta_max
        self.n_iter = 0
        self.just_dropped = -1
        self.just_added = -1
        # Rows A_c^T a_j of the active columns, so that A_c^T A_S w = K_S^T w.
        self.K: np.ndarray | None = (
            np.empty((8, self.n_features)) if backend.cache_rows else None
        )

    @property
    def active(self) -> np.ndarray:
        return self._S[: self.n_active]

    @property
    def signs(self) -> np.ndarray:
        return self._s[: self.n_active]

    # ----------------------------------------------------------- primitives
    def refresh(self) -> None:
        self.c = self.backend.correlations(self.z)

    def try_add(self, j: int, sign: float) -> bool:
        s = self.n_active
        if self.K is not None:
            g_row = self.K[:s, j].copy()
            g_vec, g_diag = None, None
        else:
            g_vec, g_diag = self.backend.gram_vector(j)
            g_row = g_vec[self.active]
        if g_diag is None:
            g_vec, g_diag = self.backend.gram_vector(j)
        if isinstance(self.chol, ActiveQR):
            ok = self.chol.add_column(self.backend.centred_columns([j])[:, 0])
        else:
            ok = self.chol.add(g_row, g_diag)
        if not ok:
            self.skipped[j] = True
            self._block(j, True)
            self._block_tied_in_span()
            return False
        if self.K is not None:
            if s == self.K.shape[0]:
                if 2 * s * self.n_features > _GRAM_BUDGET:
                    self.K = None
                else:
                    K = np.empty((2 * s, self.n_features))
                    K[:s] = self.K[:s]
                    self.K = K
            if self.K is not None:
                self.K[s] = g_vec
        if s == self._S.shape[0]:
            self._S = np.concatenate([self._S, np.empty(s, dtype=np.intp)])
            self._s = np.concatenate([self._s, np.empty(s)])
        self._S[s] = j
        self._s[s] = sign
        self.n_active = s + 1
        self._block(j, True)
        self.just_added = j
        return True

    def drop(self, pos: int) -> None:
        s = self.n_active
        j = int(self._S[pos])
        self.n_active = s - 1
        self._S[pos : s - 1] = self._S[pos + 1 : s]
        self._s[pos : s - 1] = self._s[pos + 1 : s]
        self.chol.remove(pos)
        if self.K is not None:
            self.K[pos : s - 1] = self.K[pos + 1 : s]
        self.z[j] = 0.0
        self.just_dropped = j
        # Columns refused as collinear may be independent of the smaller set.
        if self.skipped.any():
            self.unblock_all()
        else:
            self._block(j, False)

    def unblock_all(self) -> None:
        """Forget refusals: block only the active and the excluded columns."""
        self.skipped[:] = False
        self.blocked[:] = False
        self.block_penalty[:] = 0.0
        if self.excluded is not None:
            self.blocked[self.excluded] = True
            self.block_penalty[self.excluded] = -np.inf
        S = self.active
        self.blocked[S] = True
        self.block_penalty[S] = -np.inf

    def _block_tied_in_span(self, max_cand: int = 64) -> None:
        """Refuse, in one go, every tied column in the span of the active set.

        A column in the span of the active columns has correlation
        ``v^T c_S = beta v^T s``: once tied with the active set it stays tied
        along the segment, its step length is ``0 / 0`` (rounding noise), and
        the homotopy would pick and refuse such columns one zero-length step
        at a time. With many exact linear dependencies (e.g. ``relu(x - t) -
        relu(t - x) = x - t`` in every 2-layer block of an additive model)
        that is thousands of steps. The tied candidates are few: their
        distances to the span are computed together and the degenerate ones
        are refused now (until the next drop, as for a single refusal).
        """
        s = self.n_active
        if not s:
            return
        beta = self.beta
        tie_tol = 1e-8 * max(beta, _RESOLUTION * self.beta_max)
        cand = np.flatnonzero((np.abs(self.c) >= beta - tie_tol) & ~self.blocked)
        if not cand.size:
            return
        if cand.size > max_cand:
            gap = beta - np.abs(self.c[cand])
            cand = cand[np.argpartition(gap, max_cand - 1)[:max_cand]]
        if isinstance(self.chol, ActiveQR):
            cols = self.backend.centred_columns(cand)
            diag = np.einsum("ij,ij->j", cols, cols)
            d2 = self.chol.distances(cols)
        else:
            rows = None if self.K is None else self.K[:s]
            kb, diag = self.backend.span_data(self.active, cand, rows)
            ell = solve_triangular(self.chol.L, kb, lower=True, check_finite=False)
            d2 = diag - np.einsum("ij,ij->j", ell, ell)
        bad = cand[~(d2 > self.chol.rtol * diag)]
        if bad.size:
            self.skipped[bad] = True
            self.blocked[bad] = True
            self.block_penalty[bad] = -np.inf

    def _block(self, j: int, flag: bool) -> None:
        self.blocked[j] = flag
        self.block_penalty[j] = -np.inf if flag else 0.0

    def _kkt_error(self, beta: float) -> float:
        """Largest KKT violation on the current correlations and signs."""
        S, s = self.active, self.signs
        out = np.abs(self.c) - beta
        out[S] = np.abs(self.c[S] - beta * s)
        if S.size and np.any(self.z[S] * s < 0):
            return np.inf
        return float(out.max())

    def solve_active(self, beta: float, refine: int = 0,
                     from_scratch: bool = True) -> None:
        """Active-set solution of ``A_S^T r = beta s``, never less accurate.

        ``from_scratch`` solves ``G_S z_S = A_S^T y_c - beta s`` anew; then up
        to ``refine`` corrections ``z_S += G_S^{-1} (c_S - beta s)`` use fresh
        correlations. Each candidate is kept only if it lowers the equality
        KKT violation (on the whole dictionary) of the current state: on an
        ill-conditioned active set (knots a few samples apart) a solve from
        scratch is accurate to ``cond(G_S) eps`` only, far worse than the
        state the homotopy carried there with small updates.
        """
        if not self.n_active:
            return
        S, s = self.active, self.signs
        self.refresh()
        err = self._kkt_error(beta)
        candidates = [None] if from_scratch else []
        candidates += [True] * refine
        for cand in candidates:
            if err <= 0.0:
                break
            old_z, old_c = self.z[S].copy(), self.c
            if cand is None:
                self.z[S] = self.chol.solve(self.c0[S] - beta * s)
            else:
                self.z[S] += self.chol.solve(self.c[S] - beta * s)
            self.refresh()
            new_err = self._kkt_error(beta)
            if np.isfinite(new_err) and new_err < err:
                err = new_err
            else:
                self.z[S], self.c = old_z, old_c
                if cand is not None:
                    break

    # ------------------------------------------------------------ one step
    def step(self, beta_target: float) -> str:
        """Move down the path to the next kink or to ``beta_target``."""
        S, s = self.active, self.signs
        w = self.chol.solve(s)
        if self.K is not None:
            a = w @ self.K[: S.size]
        else:
            a = self.backend.direction(S, w)
        beta = self.beta
        c = self.c

        # entering (ratio_test), leaving (drop_test) or the target; z, c move
        gamma_target = beta - beta_target
        gamma, j_enter, sign, pos_drop, gamma_drop = _kernels.step_events(
            c, a, beta, self.block_penalty, self.just_dropped, self.z, S, w, s,
            self.just_added, gamma_target, _RESOLUTION * self.beta_max, _TINY)
        self.beta = beta - gamma
        self.n_iter += 1
        self.just_dropped = -1
        self.just_added = -1
        if gamma == gamma_target:
            self.beta = beta_target
            return "target"
        if gamma == gamma_drop:
            self.drop(pos_drop)
            return "drop"
        self.try_add(j_enter, sign)
        return "enter"

    # ------------------------------------------------------------- polish
    def correct(self, c: np.ndarray, beta: float, tol_abs: float,
                max_rounds: int = 50) -> np.ndarray:
        """Active-set corrections driven by accurate correlations ``c``.

        ``c`` comes from the dictionary itself; the corrections ``delta`` are
        small, so updating ``c -= G[:, S] delta`` with the Gram block keeps it
        accurate although the Gram block alone could not resolve ``c`` (which
        is a small difference of large numbers) to full precision.
        Needs a :class:`GramBackend`. Returns the updated correlations.
        """
        G = self.backend.G
        c = c.copy()
        for _ in range(max_rounds):
            S, s = self.active, self.signs
            if S.size:
                delta = self.chol.solve(c[S] - beta * s)
                self.z[S] += delta
                c -= G[:, S] @ delta
                bad = np.flatnonzero(self.z[S] * s <= 0)
                if bad.size:
                    j = int(S[bad[0]])
                    c += G[:, j] * self.z[j]
                    self.drop(int(bad[0]))
                    self.just_dropped = -1
                    continue
            viol = np.abs(c) - beta
            viol[self.blocked] = -np.inf
            j = int(np.argmax(viol))
            if viol[j] > tol_abs:
                self.try_add(j, float(np.sign(c[j])))
                continue
            break
        self.c = c
        return c

    def polish(self, beta: float, tol: float, max_rounds: int = 50) -> bool:
        """Verify the KKT conditions at ``beta``; correct the active set if needed.

        Returns whether the last round found no violator (to ``tol`` relative
        to ``beta``) to add.
        """
        scale = beta if beta > 0 else max(self.beta_max, np.finfo(float).tiny)
        for _ in range(max_rounds):
            self.solve_active(beta, refine=2)
            bad_sign = self.z[self.active] * self.signs < 0
            if bad_sign.any():
                self.drop(int(np.flatnonzero(bad_sign)[0]))
                self.just_dropped = -1
                continue
            viol = np.abs(self.c) - beta
            viol[self.blocked] = -np.inf
            j = int(np.argmax(viol))
            if viol[j] > tol * scale:
                self.try_add(j, float(np.sign(self.c[j])))
                continue
            return True
        return False


def start(h: Homotopy) -> None:
    """Activate the first feature (largest correlation at ``beta_max``)."""
    j = int(np.argmax(np.abs(h.c)))
    h.try_add(j, float(np.sign(h.c[j])))


def run(h: Homotopy, beta: float, max_iter: int, record=None,
        max_features: int | None = None) -> bool:
    """Run the homotopy down to ``beta``; True if ``max_iter`` steps were hit."""
    if not h.n_active and h.beta > beta:
        start(h)
    last_fix = h.n_iter
    with np.errstate(divide="ignore", invalid="ignore"):
        while h.beta > beta:
            if h.n_iter >= max_iter:
                return True
            beta_before = h.beta
            event = h.step(beta)
            # Correct the drift now and then with fresh correlations, but not
            # at an entry: the entering coefficient is exactly zero there.
            if (h.n_iter - last_fix >= 16 and event == "drop"
                    or h.n_iter - last_fix >= 64 and h.just_added < 0
                    and event != "target"):
                h.solve_active(h.beta, refine=1, from_scratch=False)
                last_fix = h.n_iter
            if record is not None:
                record(h, h.beta == beta_before)
            if (max_features is not None and h.n_active >= max_features
                    and np.count_nonzero(h.z[h.active]) >= max_features):
                break
    return False
