"""The library of mirrors against the paper's closed forms (Section 3, App. B)."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest
from sklearn.base import clone

from tsmirrors.features import Library, _blocked, get_activation, library_size
from tsmirrors.features._candidates import _build_units, _IndexSpace
from tsmirrors.features.activations import ACTIVATIONS

GRID = np.linspace(-12, 12, 2401)


def _column_set(a: np.ndarray, decimals: int = 9) -> set:
    return {tuple(np.round(col, decimals)) for col in a.T}


def _reference_unit(params: dict, x: float, act) -> float:
    """An independent scalar forward pass of one parallel unit."""
    if params["architecture"] == "symmetrized":
        h = [
            float(act(w * x + b))
            for w, b in zip(params["first_weights"], params["first_biases"])
        ]
        z = sum(w * hk for w, hk in zip(params["second_weights"], h))
        return float(act(z + params["second_bias"]))
    h = x
    for w, b in zip(params["weights"], params["biases"]):
        h = float(act(w * h + b))
    return h


def ramp_plus(a1, a2, x):
    """Ramp^+_{a1,a2} of Definition 3.3."""
    if a1 > a2:
        return np.zeros_like(x)
    return np.clip(x, a1, a2) - a1


def ramp_minus(a1, a2, x):
    """Ramp^-_{a1,a2} of Definition 3.3."""
    if a1 > a2:
        return np.zeros_like(x)
    return a2 - np.clip(x, a1, a2)


def w_shape(alpha, beta, x):
    """W_{alpha,beta} of Definition B.1 (valid for alpha <= beta)."""
    refl = 2 * beta - alpha
    return np.select(
        [x <= alpha, x <= beta, x <= refl],
        [alpha - x, x - alpha, refl - x],
        default=x - refl,
    )


# ---------------------------------------------------------------- 2 layers
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_two_layer_dictionary_is_corollary_3_15(activation):
    rng = np.random.default_rng(0)
    x = rng.normal(size=12)
    act = get_activation(activation)
    lib = Library(activation=activation, depth=2, deduplicate=False)
    a = lib.fit_transform(x)
    knots = np.sort(x)
    a_plus = act(x[:, None] - knots[None, :])
    a_minus = act(knots[None, :] - x[:, None])
    if activation in ("abs", "sign"):
        expected = a_plus
        assert a.shape == (12, 12)  # N columns, Table 3.1
    else:
        expected = np.hstack([a_plus, a_minus])
        assert a.shape == (12, 24)  # 2N columns, Table 3.1
    np.testing.assert_array_equal(a, expected)
    assert lib.fit_intercept_ is (activation not in ("sign", "threshold"))


@pytest.mark.parametrize(
    ("activation", "n_after"),
    [
        ("relu", 2 * 9 - 2),
        ("leaky_relu", 18),
        ("abs", 9),
        ("sign", 9),
        ("threshold", 17),
    ],
)
def test_two_layer_counts_after_deduplication(activation, n_after):
    x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0, 7.0])
    lib = Library(activation=activation).fit(x)
    assert np.unique(x).size == 9
    assert lib.n_features_ == n_after
    a = lib.transform(x)
    # no zero and no repeated column is left
    assert np.all(np.abs(a).max(axis=0) > 0)
    assert len(_column_set(a)) == a.shape[1]


def test_two_layer_names():
    lib = Library(activation="relu").fit(np.array([0.0, 2.0, 5.0]))
    names = list(lib.get_feature_names_out())
    assert "relu(x-2)" in names and "relu(2-x)" in names
    assert list(lib.get_feature_names_out(["lag1"]))[0].startswith("relu(lag1")


# ------------------------------------------------------------ Lemma B.2
def test_relu_depth3_features_are_ramps_and_capped_ramps():
    """Lemma B.2 (L=3, ReLU): each sign pattern gives its closed form."""
    x = np.array([-2.0, -0.5, 0.3, 1.0, 2.5])
    lib = Library(activation="relu", depth=3, deduplicate=False).fit(x)
    f = lib.features_
    values = f.evaluate(GRID)
    knots = lib.knots_
    for i in range(len(f)):
        w1, w2 = f.weights[i]
        a, b = knots[f.knot_index[i]]
        if w2 > 0:
            ref = (
                np.maximum(GRID - max(a, b), 0)
                if w1 > 0
                else np.maximum(min(a, b) - GRID, 0)
            )
        else:
            ref = ramp_plus(b, a, GRID) if w1 < 0 else ramp_minus(a, b, GRID)
        np.testing.assert_allclose(values[:, i], ref, atol=1e-12)


def test_relu_deep_library_size_and_lemma_3_7():
    """Deep narrow ReLU: N(N-1) distinct columns at depth 3 and 4 (Lemma 3.7)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=9)
    a3 = Library(activation="relu", depth=3).fit_transform(x)
    a4 = Library(activation="relu", depth=4).fit_transform(x)
    assert a3.shape[1] == 9 * 8
    assert _column_set(a3) == _column_set(a4)
    assert library_size("relu", 3, n_points=9) == 4 * 81  # 2^(L-1) N^(L-1)


def test_abs_depth3_features_are_w_shapes():
    """Lemma B.2 (L=3, abs): ||x - a| - |x_j2 - a|| = W_{min(x_j2, R(x_j2,a)), a}.

    ``a`` is a data point or a midpoint (x_j1 + x_j1')/2. The paper prints a
    second formula for the midpoint case, W_{min(R(a,x_j1), R(a,x_j2)), a};
    evaluating the network shows the first formula holds for both.
    """
    x = np.array([-1.5, 0.0, 0.5, 2.0])
    lib = Library(activation="abs", depth=3, deduplicate=False).fit(x)
    assert lib.midpoints_
    f = lib.features_
    values = f.evaluate(GRID)
    knots = lib.knots_
    n_mid = 0
    for i in range(len(f)):
        j1, j2 = f.knot_index[i]
        partner = f.partner_index[i]
        a = knots[j1] if partner < 0 else (knots[j1] + knots[partner]) / 2
        n_mid += partner >= 0
        xj2 = knots[j2]
        ref = w_shape(min(xj2, 2 * a - xj2), a, GRID)
        np.testing.assert_allclose(values[:, i], ref, atol=1e-12)
    assert n_mid == 6 * 4  # C(4, 2) midpoints x 4 second-layer biases


def test_theorem_3_2_abs_features_in_library():
    rng = np.random.default_rng(2)
    x = rng.normal(size=6)
    a3 = Library(activation="abs", depth=3).fit_transform(x)
    a4 = Library(activation="abs", depth=4).fit_transform(x)
    cols3, cols4 = _column_set(a3), _column_set(a4)
    for j1, j2 in itertools.product(range(6), repeat=2):
        col = np.abs(np.abs(x - x[j1]) - abs(x[j2] - x[j1]))
        if np.any(col):
            assert tuple(np.round(col, 9)) in cols3
    for j1, j2, j3 in itertools.product(range(6), repeat=3):
        inner = np.abs(x - x[j1]) - abs(x[j2] - x[j1])
        shift = abs(abs(x[j3] - x[j1]) - abs(x[j2] - x[j1]))
        col = np.abs(np.abs(inner) - shift)
        if np.any(col):
            assert tuple(np.round(col, 9)) in cols4


def test_figure_3_1_reflection_breakpoints():
    """Breakpoints at R(x_j2, x_j1) = 2 x_j1 - x_j2 and a double reflection."""
    x = np.array([2.0, 3.0, 4.0, 5.0, 7.0, 8.0])
    lib = Library(activation="abs", depth=3, midpoints=False, deduplicate=False).fit(x)
    f, knots = lib.features_, lib.knots_

    def find(units, idx):
        hits = np.flatnonzero(np.all(units.knot_index == idx, axis=1))
        return hits[0]

    i = find(f, [np.searchsorted(knots, 3.0), np.searchsorted(knots, 2.0)])
    np.testing.assert_allclose(f.breakpoints(i, -20, 20), [2.0, 3.0, 4.0])
    i = find(f, [np.searchsorted(knots, 8.0), np.searchsorted(knots, 4.0)])
    np.testing.assert_allclose(f.breakpoints(i, -20, 20), [4.0, 8.0, 12.0])

    lib4 = Library(activation="abs", depth=4, deduplicate=False).fit(x)
    f4 = lib4.features_
    i = find(f4, [np.searchsorted(knots, v) for v in (7.0, 4.0, 5.0)])
    bp = f4.breakpoints(i, -20, 20)
    # R(R(x_j3, x_j2), x_j1) = R(3, 7) = 11 is a double reflection
    np.testing.assert_allclose(bp, [3.0, 4.0, 5.0, 7.0, 9.0, 10.0, 11.0])
    assert not {9.0, 10.0, 11.0} & set(x)


def test_figure_b1_symmetrized_generalized_reflections():
    """Symmetrized ReLU features on {-1, 0, 2} break at x_j + x_k - x_i."""
    x = np.array([-1.0, 0.0, 2.0])
    lib = Library(
        activation="relu", depth=3, architecture="symmetrized", deduplicate=False
    ).fit(x)
    f = lib.features_
    assert len(f) == 16 * 27  # 2^{2(L-1)} N^3 (Theorem 3.13)
    found = set()
    for i in range(len(f)):
        found |= {round(float(b), 9) for b in f.breakpoints(i, -20, 20)}
    generalized = {float(a + b - c) for a in x for b in x for c in x}
    assert found == generalized
    # reflections that are not training points do appear (Theorem 3.5)
    assert {3.0, 4.0, -3.0} <= found - set(x)
    # de-duplication leaves far fewer columns than the bound
    assert (
        Library(activation="relu", depth=3, architecture="symmetrized")
        .fit(x)
        .n_features_
        < 16 * 27
    )


# ------------------------------------------------- parameters and functions
@pytest.mark.parametrize(
    ("activation", "depth", "architecture"),
    [
        ("relu", 2, "deep_narrow"),
        ("leaky_relu", 2, "deep_narrow"),
        ("abs", 2, "deep_narrow"),
        ("sign", 2, "deep_narrow"),
        ("threshold", 2, "deep_narrow"),
        ("relu", 3, "deep_narrow"),
        ("leaky_relu", 3, "deep_narrow"),
        ("abs", 3, "deep_narrow"),
        ("abs", 4, "deep_narrow"),
        ("relu", 4, "deep_narrow"),
        ("relu", 3, "symmetrized"),
        ("leaky_relu", 3, "symmetrized"),
    ],
)
def test_columns_equal_forward_pass_of_their_parameters(
    activation, depth, architecture
):
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=5), 3)
    lib = Library(activation=activation, depth=depth, architecture=architecture)
    a = lib.fit_transform(x)
    new = np.array([-3.1, 0.123, 2.7])
    b = lib.transform(new)
    act = lib.activation_
    for i in range(lib.n_features_):
        p = lib.features_.params(i)
        ref = [_reference_unit(p, float(t), act) for t in x]
        np.testing.assert_allclose(a[:, i], ref, rtol=1e-12, atol=1e-12)
        ref_new = [_reference_unit(p, float(t), act) for t in new]
        np.testing.assert_allclose(b[:, i], ref_new, rtol=1e-12, atol=1e-12)
        # data feature biases: b^(l) = -W^(l) X^(l)(x_j) (Definition 3.9);
        # a weight-0 unit is a sign/threshold column constant on the data,
        # its bias moved to infinity (test_sign_extrapolation.py)
        if (
            architecture == "deep_narrow"
            and p["partner_index"] < 0
            and p["weights"][0] != 0
        ):
            knots = lib.knots_[p["knot_index"]]
            h = knots[0]
            assert p["biases"][0] == pytest.approx(-p["weights"][0] * h)
            for layer in range(1, depth - 1):
                partial = {
                    **p,
                    "weights": p["weights"][:layer],
                    "biases": p["biases"][:layer],
                }
                h = _reference_unit(partial, float(knots[layer]), act)
                assert p["biases"][layer] == pytest.approx(-p["weights"][layer] * h)


@pytest.mark.parametrize("activation", ["abs", "leaky_relu"])
def test_midpoint_bias_is_the_zero_crossing(activation):
    """A first-layer midpoint bias makes sigma(w x_j + b) = sigma(w x_j' + b)."""
    x = np.array([-1.0, 0.5, 2.0, 3.5])
    lib = Library(
        activation=activation, depth=3, negative_slope=-0.5, deduplicate=False
    ).fit(x)
    assert lib.midpoints_
    f, act = lib.features_, lib.activation_
    mids = np.flatnonzero(f.partner_index >= 0)
    n_signs = 1 if activation == "abs" else 4  # (W1, W2) in {+-1}^2
    assert mids.size == n_signs * 6 * 4  # C(4, 2) pairs x 4 second-layer biases
    for i in mids:
        w, b = f.weights[i, 0], f.biases[i, 0]
        t1, t2 = lib.knots_[f.knot_index[i, 0]], lib.knots_[f.partner_index[i]]
        assert act(w * t1 + b) == pytest.approx(act(w * t2 + b), abs=1e-12)
    if activation == "abs":
        i = mids[0]
        t1, t2 = lib.knots_[f.knot_index[i, 0]], lib.knots_[f.partner_index[i]]
        assert -f.biases[i, 0] / f.weights[i, 0] == pytest.approx((t1 + t2) / 2)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "abs"])
def test_remark_3_12_deeper_library_contains_shallower(activation):
    rng = np.random.default_rng(4)
    x = rng.normal(size=6)
    a2 = Library(activation=activation, depth=2).fit_transform(x)
    a3 = Library(activation=activation, depth=3).fit_transform(x)
    assert _column_set(a2) <= _column_set(a3)
    if activation == "abs":
        a4 = Library(activation=activation, depth=4).fit_transform(x)
        a3_data = Library(
            activation=activation, depth=3, midpoints=False
        ).fit_transform(x)
        assert _column_set(a3_data) <= _column_set(a4)


def test_repeated_data_values_do_not_duplicate_columns():
    x = np.array([1.0, 1.0, 2.0, 3.0, 3.0, 3.0])
    a = Library(activation="abs", depth=3).fit_transform(x)
    assert len(_column_set(a)) == a.shape[1]
    assert np.all(np.abs(a).max(axis=0) > 0)


# ------------------------------------------------------------- sampling
def test_sampling_is_reproducible_and_within_budget():
    rng = np.random.default_rng(5)
    x = rng.normal(size=200)
    kw = dict(activation="abs", depth=4, n_features=300, random_state=7)
    for sampling in ("sequential", "uniform"):
        a = Library(sampling=sampling, **kw).fit_transform(x)
        b = Library(sampling=sampling, **kw).fit_transform(x)
        np.testing.assert_array_equal(a, b)
        assert 0 < a.shape[1] <= 300
        c = Library(sampling=sampling, **{**kw, "random_state": 8}).fit_transform(x)
        assert not np.array_equal(a[:, :50], c[:, :50])
    with pytest.raises(ValueError, match="over the memory budget"):
        Library(memory_budget=10_000, **kw).fit(x)


def test_uniform_sampling_draws_distinct_candidates():
    x = np.arange(30.0)
    lib = Library(
        activation="relu",
        depth=3,
        n_features=500,
        sampling="uniform",
        random_state=0,
        deduplicate=False,
    ).fit(x)
    assert lib.n_features_ == 500
    assert np.unique(lib.feature_codes_).size == 500
    assert np.all(lib.feature_codes_ < lib.n_candidates_)


def test_sequential_sampling_extends_the_shallower_feature():
    """Section 4: with j_{L-1} = j_{L-2} the depth-L feature is its parent."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=15)
    kw = dict(
        activation="abs",
        n_features=400,
        sampling="sequential",
        random_state=11,
        deduplicate=False,
    )
    lib3 = Library(depth=3, **kw).fit(x)
    lib4 = Library(depth=4, **kw).fit(x)
    f3, f4 = lib3.features_, lib4.features_
    np.testing.assert_array_equal(f4.knot_index[:, :2], f3.knot_index)
    np.testing.assert_array_equal(f4.biases[:, :2], f3.biases)
    same = f4.knot_index[:, 2] == f4.knot_index[:, 1]
    assert same.sum() > 5
    np.testing.assert_allclose(
        f4.evaluate(GRID)[:, same], f3.evaluate(GRID)[:, same], atol=1e-12
    )
    # otherwise it is the parent with extra breakpoints, never fewer
    i = np.flatnonzero(~same)[0]
    assert set(np.round(f3.breakpoints(i, -30, 30), 9)) <= set(
        np.round(f4.breakpoints(i, -30, 30), 9)
    )


def test_exact_library_over_budget_suggests_sampling():
    x = np.linspace(0, 1, 400)
    with pytest.raises(ValueError) as err:
        Library(activation="abs", depth=4).fit(x)
    msg = str(err.value)
    assert "64,000,000 candidate features" in msg and "n_features" in msg


def _whole_matrix_reference(lib: Library, x: np.ndarray):
    """Codes and columns of the whole-matrix de-duplication, built at once.

    Every candidate, ordered by novelty then code, evaluated in one matrix;
    columns rounded to 1e-10 of the largest entry; the first of every
    distinct nonzero column is kept (compared entry by entry).
    """
    space = _IndexSpace(lib.activation_, lib.depth_, lib.architecture,
                        lib.knots_.size, lib.midpoints)
    grids = np.meshgrid(*[np.arange(r) for r in space.radix], indexing="ij")
    digits = np.stack([g.reshape(-1) for g in grids], axis=1)
    digits = digits[np.argsort(space.novelty(digits), kind="stable")]
    a = _build_units(space, lib.knots_, digits).evaluate(x)
    q = np.rint(a * (1.0 / (max(a.max(), -a.min()) * 1e-10)))
    seen, keep = set(), []
    for j in range(q.shape[1]):
        key = q[:, j].tobytes()
        if q[:, j].any() and key not in seen:
            seen.add(key)
            keep.append(j)
    return space.codes(digits[keep]), a[:, keep]


@pytest.mark.parametrize(
    ("architecture", "depth", "activation"),
    [
        ("deep_narrow", 3, "relu"),
        ("deep_narrow", 3, "abs"),
        ("deep_narrow", 3, "leaky_relu"),
        ("deep_narrow", 4, "abs"),
        ("deep_narrow", 4, "relu"),
        ("symmetrized", 3, "relu"),
    ],
)
def test_blocked_build_equals_whole_matrix_deduplication(
    monkeypatch, architecture, depth, activation
):
    x = np.array([0.3, -1.2, 2.0, 0.3, 1.1, -0.4, 2.0, 0.8])  # repeated points
    lib = Library(activation=activation, depth=depth, architecture=architecture)
    monkeypatch.setattr(_blocked, "BLOCK_BYTES", 8 * x.size * 7)  # 7 per block
    a = lib.fit_transform(x)
    codes, reference = _whole_matrix_reference(lib, x)
    np.testing.assert_array_equal(lib.feature_codes_, codes)
    np.testing.assert_array_equal(a, reference)  # same columns, same order
    assert a.flags.c_contiguous


@pytest.mark.parametrize("budget_mib", [6, 9])
def test_library_build_peak_stays_within_memory_budget(budget_mib):
    # symmetrized relu on 14 points: 43,904 candidates, 4.9 MB as float64;
    # its 3,000 distinct columns fit 6 MiB. Depth-3 abs on 36 points (23,976
    # candidates, 6.9 MB) keeps almost all of them, with their parameters and
    # the working blocks more than 9 MiB: refused, within the budget too.
    budget = budget_mib * 2**20
    x = np.random.default_rng(3).normal(size=14 if budget_mib == 6 else 36)
    kw = (dict(architecture="symmetrized", activation="relu") if budget_mib == 6
          else dict(activation="abs"))
    lib = Library(depth=3, memory_budget=budget, **kw)
    assert library_size(depth=3, n_points=x.size, **kw) * x.size * 8 < budget
    tracemalloc.start()
    try:
        lib.fit_transform(x)
    except ValueError as exc:
        assert budget_mib == 9, exc
        assert "distinct columns" in str(exc) and "memory budget" in str(exc)
    else:
        assert budget_mib == 6
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak <= budget


def test_two_layer_library_never_builds_the_matrix():
    x = np.linspace(0, 1, 200_000)
    lib = Library(activation="relu", memory_budget=2**20).fit(x)
    assert lib.n_features_ == 2 * 200_000 - 2
    with pytest.raises(ValueError, match="memory budget"):
        Library(activation="relu", memory_budget=2**20).fit_transform(x)


# ---------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("x", "kwargs", "message"),
    [
        (np.ones((5, 2)), {}, "got shape \\(5, 2\\) with 2 columns"),
        (np.array([0.0, np.nan, 1.0]), {}, "NaN"),
        (np.array([0.0, np.inf, 1.0]), {}, "inf"),
        (np.array([1.0, 1.0, 1.0]), {}, "at least 2 distinct points, got 1"),
        (np.arange(4.0), {"activation": "tanh"}, "unknown activation 'tanh'"),
        (
            np.arange(4.0),
            {"activation": "sign", "depth": 3},
            "supported combinations: deep_narrow depth 2",
        ),
        (
            np.arange(4.0),
            {"activation": "abs", "architecture": "symmetrized", "depth": 3},
            "monotone",
        ),
        (
            np.arange(4.0),
            {"architecture": "symmetrized", "depth": 4},
            "symmetrized architecture has depth 3",
        ),
        (np.arange(4.0), {"architecture": "wide"}, "unknown architecture 'wide'"),
        (np.arange(4.0), {"depth": 1}, "depth must be >= 2"),
        (np.arange(4.0), {"n_features": 0}, "n_features must be a positive"),
        (np.arange(4.0), {"n_features": -3}, "n_features must be a positive"),
        (
            np.arange(4.0),
            {"n_features": 2, "sampling": "greedy"},
            "sampling must be 'sequential' or 'uniform'",
        ),
        (
            np.arange(4.0),
            {"activation": "leaky_relu", "negative_slope": 1.0},
            "different from 1",
        ),
    ],
)
def test_bad_input_raises_value_error(x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Library(**kwargs).fit(x)


def test_transform_checks_shape_and_fit():
    lib = Library()
    with pytest.raises(Exception, match="not fitted"):
        lib.transform(np.arange(3.0))
    lib.fit(np.arange(3.0))
    with pytest.raises(ValueError, match="shape"):
        lib.transform(np.ones((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        lib.transform(np.array([np.nan]))


def test_library_is_a_scikit_learn_transformer():
    lib = Library(activation="abs", depth=3, n_features=20, random_state=0)
    cloned = clone(lib)
    assert cloned.get_params() == lib.get_params()
    x = np.linspace(-1, 1, 30)
    np.testing.assert_array_equal(
        lib.fit(x).transform(x), Library(**lib.get_params()).fit_transform(x)
    )
    assert lib.get_feature_names_out().shape == (lib.n_features_,)
