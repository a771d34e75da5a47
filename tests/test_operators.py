"""Matrix-free 2-layer dictionaries against their dense matrices."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator, lsqr

from tsmirrors.features.activations import get_activation
from tsmirrors.features.operators import TwoLayerOperator

ACTIVATIONS = ["relu", "leaky_relu", "abs", "sign", "threshold"]


def _random_operator(name, seed, n=37, p=29):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[3] = x[4] = x[5]  # repeated inputs
    knots = np.concatenate([x[:10], rng.normal(scale=2.0, size=p - 12),
                            [x.max() + 1.0, x.min() - 1.0]])
    directions = rng.choice([-1.0, 1.0], size=knots.size)
    return TwoLayerOperator(x, name, knots, directions), x, knots, directions


def _dense(name, x, knots, directions):
    act = get_activation(name)
    return act(directions[None, :] * (x[:, None] - knots[None, :]))


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("layout", ["random", "from_inputs"])
def test_products_match_dense(name, layout):
    rng = np.random.default_rng(1)
    if layout == "random":
        op, x, t, d = _random_operator(name, 0)
    else:
        x = np.round(rng.normal(size=41), 1)  # many ties
        op = TwoLayerOperator.from_inputs(x, name)
        t, d = op.knots, op.directions.astype(float)
    D = _dense(name, x, t, d)
    n, p = D.shape
    assert op.shape == (n, p)
    v = rng.normal(size=p)
    r = rng.normal(size=n)
    idx = rng.choice(p, 6, replace=False)
    np.testing.assert_allclose(op.toarray(), D, atol=1e-14)
    np.testing.assert_allclose(op.matvec(v), D @ v, atol=1e-12)
    np.testing.assert_allclose(op.rmatvec(r), D.T @ r, atol=1e-12)
    np.testing.assert_allclose(op @ v, D @ v, atol=1e-12)
    np.testing.assert_allclose(op.T @ r, D.T @ r, atol=1e-12)
    np.testing.assert_allclose(op.columns(idx), D[:, idx], atol=1e-14)
    np.testing.assert_allclose(op.column(int(idx[0])), D[:, idx[0]], atol=1e-14)
    np.testing.assert_allclose(op.rows([0, 3]), D[[0, 3]], atol=1e-14)
    np.testing.assert_allclose(op.column_means(), D.mean(axis=0), atol=1e-13)
    np.testing.assert_allclose(op.column_norms() ** 2, (D**2).sum(axis=0), atol=1e-11)
    np.testing.assert_allclose(op.matvec_sparse(idx, v[idx]), D[:, idx] @ v[idx],
                               atol=1e-12)
    np.testing.assert_allclose(op.gram(idx, np.arange(p)), D[:, idx].T @ D, atol=1e-11)
    lin = op.aslinearoperator()
    assert isinstance(lin, LinearOperator) and isinstance(op, LinearOperator)
    np.testing.assert_allclose(lin.matmat(np.eye(p)[:, :3]), D[:, :3], atol=1e-12)
    for k in idx[:3]:
        for centre in (True, False):
            col = D[:, k] - D[:, k].mean() if centre else D[:, k]
            g, sq = op.gram_vector(int(k), centre=centre)
            np.testing.assert_allclose(g, D.T @ col, atol=1e-11)
            assert sq == pytest.approx(col @ col, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("layout", ["random", "from_inputs"])
def test_redundant_columns_are_copies_or_constant(name, layout):
    """Every column flagged is a copy of an earlier column or (centred) zero.

    The flags must be safe (a Lasso never needs a flagged column); they also
    catch every repeated knot and the flat branches beyond the data.
    """
    if layout == "random":
        op, x, t, d = _random_operator(name, 2)
        op = TwoLayerOperator(x, name, np.concatenate([t, t[:4]]),
                              np.concatenate([d, d[:4]]))
        t, d = op.knots, op.directions.astype(float)
    else:
        x = np.round(np.random.default_rng(3).normal(size=41), 1)
        op = TwoLayerOperator.from_inputs(x, name)
        t, d = op.knots, op.directions.astype(float)
    D = _dense(name, x, t, d)
    for centre in (True, False):
        mask = op.redundant_columns(centre)
        Dc = D - D.mean(axis=0) if centre else D
        for j in np.flatnonzero(mask):
            copy = any(np.array_equal(D[:, k], D[:, j]) for k in range(j))
            assert copy or np.allclose(Dc[:, j], 0.0, atol=1e-13), (j, centre)
        pairs = {}
        for j in range(D.shape[1]):
            key = (t[j], d[j])
            if key in pairs:
                assert mask[j], (j, "repeated knot not flagged")
            pairs.setdefault(key, j)
    # relu(t - x) below every input and relu(x - t) above are zero columns;
    # relu(x - t) below every input is affine, needed
    op = TwoLayerOperator(x, "relu", [x.min() - 1.0, x.max() + 1.0, x.min() - 1.0],
                          [-1.0, 1.0, 1.0])
    assert op.redundant_columns(False).tolist() == [True, True, False]


def test_value_at_zero_argument_is_b_plus():
    x = np.array([0.0, 1.0, -1.0])
    for name, expected in [("sign", [1.0, 1.0, -1.0]), ("threshold", [1.0, 1.0, 0.0])]:
        op = TwoLayerOperator(x, name, [0.0], [1.0])
        np.testing.assert_array_equal(op.toarray()[:, 0], expected)
        np.testing.assert_array_equal(op.matvec(np.ones(1)), expected)
        np.testing.assert_array_equal(op.rmatvec(np.eye(3)[0]), [1.0])
    # direction -1: sigma(t - x); at x = t the argument is 0 again.
    op = TwoLayerOperator(x, "threshold", [0.0], [-1.0])
    np.testing.assert_array_equal(op.toarray()[:, 0], [1.0, 0.0, 1.0])


def test_dictionary_of_corollary_3_15():
    x = np.array([3.0, 1.0, 0.0])
    relu = TwoLayerOperator.from_inputs(x, "relu")
    np.testing.assert_array_equal(
        relu.toarray(),
        np.maximum(np.hstack([x[:, None] - x[None, :], x[None, :] - x[:, None]]), 0),
    )
    assert TwoLayerOperator.from_inputs(x, "abs").shape == (3, 3)
    assert TwoLayerOperator.from_inputs(x, "sign").shape == (3, 3)
    assert TwoLayerOperator.from_inputs(x, "threshold").shape == (3, 6)
    assert TwoLayerOperator.from_inputs(x, "abs", directions="both").shape == (3, 6)


def test_long_series_precision():
    rng = np.random.default_rng(2)
    x = np.cumsum(rng.normal(size=50_000))
    op = TwoLayerOperator.from_inputs(x, "abs")
    r = rng.normal(size=x.size)
    r -= r.mean()
    idx = rng.choice(x.size, 5, replace=False)
    exact = np.array([np.sum(np.abs(x - x[k]) * r) for k in idx])
    np.testing.assert_allclose(op.rmatvec(r)[idx], exact, rtol=1e-9, atol=1e-7)


def test_scipy_solvers_accept_the_operator():
    x = np.linspace(-1, 1, 30)
    op = TwoLayerOperator.from_inputs(x, "abs")
    sol = lsqr(op, np.sin(3 * x), atol=1e-12, btol=1e-12)[0]
    np.testing.assert_allclose(op @ sol, np.sin(3 * x), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x": [0.0, np.nan], "knots": [0.0], "directions": [1.0]},
         "x contains 1 non-finite value(s) (NaN)"),
        ({"x": [0.0, 1.0], "knots": [np.inf], "directions": [1.0]},
         "knots contains 1 non-finite value(s) (inf)"),
        ({"x": [0.0, 1.0], "knots": [0.0, 1.0], "directions": [1.0]},
         "directions must have the same length as knots, got 1 directions for 2"),
        ({"x": [0.0, 1.0], "knots": [0.0], "directions": [0.5]},
         "directions must be +1 or -1, got [0.5]"),
        ({"x": [0.0, 1.0], "knots": None, "directions": None},
         "TwoLayerOperator needs knots and directions"),
        ({"x": [], "knots": [0.0], "directions": [1.0]}, "x is empty"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError) as err:
        TwoLayerOperator(kwargs["x"], "relu", kwargs["knots"], kwargs["directions"])
    assert message in str(err.value)


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'tanh'"):
        TwoLayerOperator([0.0, 1.0], "tanh", [0.0], [1.0])
