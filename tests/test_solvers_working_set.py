"""Working-set Lasso for long series: when the dictionary correction runs."""

from __future__ import annotations

import numpy as np
import pytest

from tsmirrors.features.operators import TwoLayerOperator
from tsmirrors.solvers import _homotopy, lars, lasso
from tsmirrors.solvers._design import check_problem


def random_walk(n, seed=0):
    rng = np.random.default_rng(seed)
    w = np.cumsum(rng.normal(size=n + 1))
    w = (w - w.mean()) / w.std()
    return w[:-1], w[1:]


def _count_calls(monkeypatch, owner, name):
    calls = []
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


@pytest.mark.parametrize("name, n, beta", [("abs", 300, 1e-4), ("relu", 1000, 1e-3)])
def test_certified_working_set_skips_the_dictionary_correction(monkeypatch, name,
                                                               n, beta):
    # Deep in the path the working set's Gram block misses the strict target
    # (relative to beta) but its solution is certified on the problem's scale;
    # the correction on the whole dictionary would only move it by rounding
    # (on a year of minutes, 10 s of products for nothing).
    x, y = random_walk(n)
    op = TwoLayerOperator.from_inputs(x, name)
    full = lasso(op, y, beta)
    monkeypatch.setattr(lars, "_WORKING_SET_SIZE", 0)  # working sets at small N
    calls = _count_calls(monkeypatch, lars, "_design_polish")
    res = lasso(op, y, beta)
    assert res.converged and full.converged
    assert res.kkt_residual <= 1e-9
    assert calls == []
    # both certified on the same problem: each objective lies within its own
    # duality gap above the optimum, so they differ by at most the larger gap
    # (plus rounding of an objective of order ||y_c||^2 / 2)
    bound = max(res.duality_gap, full.duality_gap) + 1e-12 * abs(full.objective)
    assert abs(res.objective - full.objective) <= bound


def _uncapped_correction(problem, z, beta, max_rounds):
    """The dictionary correction run for all its rounds (no early stop)."""
    h = _homotopy.Homotopy(_homotopy.DesignBackend(problem))
    for j in np.flatnonzero(z):
        if h.try_add(int(j), float(np.sign(z[j]))):
            h.z[j] = z[j]
    h.just_added = -1
    h.polish(beta, 1e-9, max_rounds=max_rounds)
    return h.z.copy()


def _objective(problem, z, beta):
    return _homotopy.lasso_objective(z, problem.residual(z), beta)


def test_dictionary_correction_stops_when_it_stalls(monkeypatch):
    # From an optimal state whose remaining violators are refused one by one
    # (columns within the factor's precision of the active ones), the
    # correction stops after a few rounds instead of trying each of them,
    # and ends where all its rounds would have.
    x, y = random_walk(300)
    op = TwoLayerOperator.from_inputs(x, "relu")
    beta = 1e-3
    res = lasso(op, y, beta)
    problem = _homotopy.Problem(*check_problem(op, y), True)
    max_rounds = 3 * res.n_active + 20
    full = _uncapped_correction(problem, res.coef, beta, max_rounds)
    rounds = _count_calls(monkeypatch, _homotopy.Homotopy, "solve_active")
    z, _ = lars._design_polish(problem, res.coef, beta, 1e-9, max_rounds)
    assert 1 <= len(rounds) <= lars._POLISH_PATIENCE + 1
    # the same operations up to the stop: equal objectives up to rounding
    assert _objective(problem, z, beta) == pytest.approx(
        _objective(problem, full, beta), rel=1e-12)


def test_dictionary_correction_runs_while_it_improves(monkeypatch):
    # Six of the ten neurons of the optimum removed: the correction adds
    # columns back and lowers the objective for more rounds than its
    # patience, and ends where all its rounds would have.
    x, y = random_walk(300)
    op = TwoLayerOperator.from_inputs(x, "relu")
    beta = 0.1
    res = lasso(op, y, beta)
    z0 = res.coef.copy()
    S = np.flatnonzero(z0)
    z0[S[np.argsort(np.abs(z0[S]))[:6]]] = 0.0
    problem = _homotopy.Problem(*check_problem(op, y), True)
    max_rounds = 3 * res.n_active + 20
    full = _uncapped_correction(problem, z0, beta, max_rounds)
    rounds = _count_calls(monkeypatch, _homotopy.Homotopy, "solve_active")
    z, _ = lars._design_polish(problem, z0, beta, 1e-9, max_rounds)
    assert len(rounds) > lars._POLISH_PATIENCE + 1
    obj, obj_full = _objective(problem, z, beta), _objective(problem, full, beta)
    assert obj < _objective(problem, z0, beta)
    # the same operations up to the stop: equal objectives up to rounding
    assert obj == pytest.approx(obj_full, rel=1e-12)
