"""HiGHS behind the linear programs of :mod:`tsmirrors.solvers._lp`.

Through ``highspy`` when it is importable (a model kept alive re-solves from
its basis after a cost change, so a path warm-starts) and through
:func:`scipy.optimize.linprog` otherwise. HiGHS prints nothing: its banner
and log are silenced.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

if TYPE_CHECKING:
    from ._lp import LinearProgram

__all__ = ["HighsSession", "LPSolution", "new_highs", "solve_lp"]


@dataclass
class LPSolution:
    x: np.ndarray
    row_duals: np.ndarray
    ok: bool
    status: str
    iterations: int


def _highspy():
    try:
        import highspy
    except ImportError:  # pragma: no cover - scipy fallback
        return None
    return highspy


# HiGHS's C++ constructor writes its banner ("Running HiGHS ...",
# "Includes third-party software components ...") straight to the process's
# file descriptor 1, once per process, before any option can be set. The
# first construction therefore runs with fd 1 pointed at the null device.
_BANNER_LOCK = threading.Lock()
_BANNER_SILENCED = False


@contextmanager
def _fd_stdout_silenced():
    try:
        sys.stdout.flush()
    except Exception:  # pragma: no cover - closed or odd stdout
        pass
    try:
        saved = os.dup(1)
    except OSError:  # pragma: no cover - no fd 1 at all
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def new_highs(hs=None):
    """A silent ``highspy.Highs`` (no banner, no log)."""
    global _BANNER_SILENCED
    hs = hs or _highspy()
    if _BANNER_SILENCED:
        h = hs.Highs()
    else:
        with _BANNER_LOCK:
            with _fd_stdout_silenced():
                h = hs.Highs()
            _BANNER_SILENCED = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h


class HighsSession:
    """A HiGHS model kept alive so that a cost change re-solves from the basis."""

    def __init__(self, lp: LinearProgram, options: dict | None = None):
        hs = _highspy()
        self.hs = hs
        self.lp = lp
        h = new_highs(hs)
        for key, value in (options or {}).items():
            h.setOptionValue(key, value)
        if lp.formulation == "dense" and "presolve" not in (options or {}):
            # Presolve looks for parallel and dominated columns among the
            # N p dense entries and takes 10 times the simplex itself (which
            # needs only about N iterations on these N rows).
            h.setOptionValue("presolve", "off")
        _pass_lp(hs, h, lp.cost, lp.matrix, lp.rhs, lp.lower, lp.upper)
        self.h = h
        self.total_iterations = 0

    def set_costs(self, idx: np.ndarray, values: np.ndarray) -> None:
        idx = np.asarray(idx, dtype=np.int32)
        # the optimal basis stays primal feasible after a cost change, so the
        # primal simplex re-solves from it (the dual simplex would first have
        # to restore dual feasibility); a warm basis needs no presolve
        self.h.setOptionValue("simplex_strategy", 4)
        self.h.setOptionValue("presolve", "off")
        self.h.changeColsCost(idx.size, idx, np.asarray(values, dtype=np.float64))
        self.lp.cost[idx] = values

    def solve(self) -> LPSolution:
        h = self.h
        h.run()
        status = h.getModelStatus()
        ok = status == self.hs.HighsModelStatus.kOptimal
        sol = h.getSolution()
        info = h.getInfo()
        iters = int(max(info.simplex_iteration_count, 0)
                    + max(info.ipm_iteration_count, 0))
        self.total_iterations += iters
        return LPSolution(
            x=np.asarray(sol.col_value, dtype=float),
            row_duals=np.asarray(sol.row_dual, dtype=float),
            ok=ok, status=h.modelStatusToString(status), iterations=iters,
        )


def solve_lp(lp: LinearProgram, backend: str = "auto",
             session: HighsSession | None = None
             ) -> tuple[LPSolution, HighsSession | None]:
    """Solve ``lp`` with HiGHS; returns the solution and a reusable session."""
    if backend not in ("auto", "highspy", "scipy"):
        raise ValueError(
            f"backend must be 'auto', 'highspy' or 'scipy', got {backend!r}"
        )
    have = _highspy() is not None
    use_highspy = backend == "highspy" or (backend == "auto" and have)
    if use_highspy:
        if _highspy() is None:
            raise ImportError("backend='highspy' needs the highspy package")
        if session is None:
            session = HighsSession(lp)
        return session.solve(), session
    res = linprog(
        lp.cost, A_eq=lp.matrix, b_eq=lp.rhs,
        bounds=np.column_stack([
            np.where(np.isinf(lp.lower), -np.inf, lp.lower),
            np.where(np.isinf(lp.upper), np.inf, lp.upper),
        ]),
        method="highs",
    )
    ok = res.status == 0
    x = res.x if res.x is not None else np.full(lp.cost.size, np.nan)
    duals = (res.eqlin.marginals if ok and res.eqlin is not None
             else np.full(lp.rhs.size, np.nan))
    return LPSolution(x=x, row_duals=np.asarray(duals), ok=ok, status=res.message,
                      iterations=int(getattr(res, "nit", 0) or 0)), None


def _pass_lp(hs, h, cost, matrix, rhs, lower, upper) -> None:
    """Pass ``min cost^T v, matrix v = rhs, lower <= v <= upper`` to ``h``.

    Arrays go through highspy's array overload of ``passModel``: assigning
    them to a ``HighsLp`` converts element by element (seconds for millions
    of nonzeros).
    """
    mat = sp.csc_array(matrix)
    inf = hs.kHighsInf
    rhs = np.asarray(rhs, dtype=np.float64)
    status = h.passModel(
        int(cost.size), int(rhs.size), int(mat.nnz),
        int(hs.MatrixFormat.kColwise), int(hs.ObjSense.kMinimize), 0.0,
        np.asarray(cost, dtype=np.float64),
        np.where(np.isinf(lower), -inf, lower).astype(np.float64),
        np.where(np.isinf(upper), inf, upper).astype(np.float64),
        rhs, rhs,
        mat.indptr[:-1].astype(np.int32), mat.indices.astype(np.int32),
        np.asarray(mat.data, dtype=np.float64),
        np.zeros(cost.size, dtype=np.int32),  # all continuous
    )
    if status == hs.HighsStatus.kError:  # pragma: no cover - malformed LP
        raise ValueError("HiGHS refused the linear program")
