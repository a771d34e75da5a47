"""Networks of Section 2 and the training objective (1.1), checked by hand."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from tsmirrors.features.activations import get_activation
from tsmirrors.nets import (
    DeepNarrowNet,
    ParallelNet,
    StandardNet,
    SymmetrizedNet,
    training_objective,
    training_objective_torch,
)

ACTIVATIONS = ["relu", "leaky_relu", "abs", "sign", "threshold"]
CONTINUOUS = ["relu", "leaky_relu", "abs"]


def sigma(name, t):
    """Plain numpy activations of (2.1), written out independently."""
    t = np.asarray(t, dtype=float)
    if name == "relu":
        return np.maximum(t, 0.0)
    if name == "leaky_relu":
        return np.where(t < 0, 0.01 * t, t)
    if name == "abs":
        return np.abs(t)
    if name == "sign":
        return np.where(t < 0, -1.0, 1.0)
    if name == "threshold":
        return np.where(t < 0, 0.0, 1.0)
    raise AssertionError(name)


def loss_sum(pred, y, loss, tau):
    r = y - pred
    if loss == "squared":
        return 0.5 * np.sum(r**2)
    return np.sum(np.where(r >= 0, tau * r, (tau - 1) * r))


def sign_determined(name):
    return name in ("sign", "threshold")


# ---------------------------------------------------------------- hand values


def test_relu_deep_narrow_objective_by_hand():
    net = DeepNarrowNet([[2.0]], [[0.0]], [1.5], activation="relu")
    # f(1) = 1.5 * relu(2) = 3, loss 1/2 (3 - 2)^2, penalty (2^2 + 1.5^2) / 2
    assert training_objective(net, [1.0], [2.0], beta=1.0) == pytest.approx(3.625)


def test_sign_objective_regularizes_only_alpha_and_last_amplitude():
    net = DeepNarrowNet(
        [[3.0]], [[-3.0]], [0.5], xi=1.0, activation="sign", amplitudes=[[2.0]]
    )
    # f(0) = 1 + 0.5 * 2 * sign(-3) = 0, f(2) = 1 + 0.5 * 2 * sign(3) = 2
    np.testing.assert_allclose(net.predict([0.0, 2.0]), [0.0, 2.0])
    # 1/2 (0 + 1) + (beta / 2) (0.5^2 + 2^2); the inner weight 3 is free
    value = training_objective(net, [0.0, 2.0], [0.0, 3.0], beta=1.0)
    assert value == pytest.approx(0.5 + 4.25 / 2)


def test_symmetrized_objective_by_hand():
    net = SymmetrizedNet(
        [[1.0, -1.0]], [[0.0, 1.0]], [[2.0, 2.0]], [-1.0], [3.0], activation="relu"
    )
    # h = (relu(2), relu(-2 + 1)) = (2, 0), out = relu(2*2 + 0 - 1) = 3, f = 9
    assert net.predict([2.0]).tolist() == [9.0]
    expected = 0.5 * 1.0 + (27.0 + 2.0**1.5 + 8.0**1.5) / 3.0
    assert training_objective(net, [2.0], [10.0], beta=1.0) == pytest.approx(
        expected, rel=1e-14
    )


def test_quantile_objective_is_pinball_of_tau():
    net = DeepNarrowNet([[1.0]], [[0.0]], [1.0], activation="relu")
    X, y = np.array([1.0, 1.0]), np.array([3.0, 0.0])  # residuals +2 and -1
    value = training_objective(net, X, y, beta=0.0, loss="quantile", quantile=0.9)
    assert value == pytest.approx(0.9 * 2 + 0.1 * 1)


# ------------------------------------------------- numpy reference, all nets


def deep_narrow_reference(params, act, X, y, beta, loss, tau):
    w, b, s, alpha, xi, idx = params
    m, n_layers = w.shape
    pred = np.full(X.shape[0], xi)
    for i in range(m):
        h = X[:, idx[i]]
        for layer in range(n_layers):
            h = sigma(act, w[i, layer] * h + b[i, layer])
            if sign_determined(act):
                h = s[i, layer] * h
        pred += alpha[i] * h
    if sign_determined(act):
        eff = 2
        pen = np.sum(np.abs(alpha) ** 2) + np.sum(np.abs(s[:, -1]) ** 2)
    else:
        eff = n_layers + 1
        pen = np.sum(np.abs(alpha) ** eff) + np.sum(np.abs(w) ** eff)
    return loss_sum(pred, y, loss, tau) + beta / eff * pen


def parallel_reference(weights, biases, amps, alpha, xi, act, X, y, beta, loss, tau):
    depth = len(weights) + 1
    pred = np.full(X.shape[0], xi)
    pen = 0.0
    eff = 2 if sign_determined(act) else depth
    for i in range(alpha.size):
        h = X
        for layer in range(depth - 1):
            h = sigma(act, h @ weights[layer][i] + biases[layer][i])
            if sign_determined(act):
                h = h * amps[layer][i]
        pred += alpha[i] * h[:, 0]
        pen += abs(alpha[i]) ** eff
        if sign_determined(act):
            pen += np.linalg.norm(amps[-1][i]) ** eff
        else:
            pen += sum(np.linalg.norm(w[i]) ** eff for w in weights)
    return loss_sum(pred, y, loss, tau) + beta / eff * pen


def standard_reference(weights, biases, amps, alpha, xi, act, X, y, beta, loss, tau):
    depth = len(weights) + 1
    h = X
    for layer in range(depth - 1):
        h = sigma(act, h @ weights[layer] + biases[layer])
        if sign_determined(act):
            h = h * amps[layer]
    pred = xi + h @ alpha
    if sign_determined(act):
        eff = 2
        pen = np.linalg.norm(alpha) ** 2 + np.linalg.norm(amps[-1]) ** 2
    else:
        eff = depth
        pen = np.linalg.norm(alpha) ** eff + sum(
            np.linalg.norm(w) ** eff for w in weights
        )
    return loss_sum(pred, y, loss, tau) + beta / eff * pen


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("loss", ["squared", "quantile"])
def test_deep_narrow_objective_matches_numpy(act, depth, loss):
    rng = np.random.default_rng(depth)
    m, d, n = 5, 2, 9
    w = rng.normal(size=(m, depth - 1))
    b = rng.normal(size=(m, depth - 1))
    s = rng.normal(size=(m, depth - 1)) if sign_determined(act) else None
    alpha, xi = rng.normal(size=m), 0.3
    idx = np.array([0, 1, 1, 0, 1])
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    net = DeepNarrowNet(w, b, alpha, xi, act, amplitudes=s, input_index=idx)
    expected = deep_narrow_reference(
        (w, b, s, alpha, xi, idx), act, X, y, 0.7, loss, 0.3
    )
    got = training_objective(net, X, y, 0.7, loss=loss, quantile=0.3)
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["squared", "quantile"])
def test_parallel_objective_matches_numpy(act, loss):
    rng = np.random.default_rng(1)
    m, d, widths, n = 4, 2, (3, 2), 8
    sizes = (d, *widths, 1)
    weights = [
        rng.normal(size=(m, a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    biases = [rng.normal(size=(m, b)) for b in sizes[1:]]
    amps = (
        [rng.normal(size=(m, b)) for b in sizes[1:]] if sign_determined(act) else None
    )
    alpha = rng.normal(size=m)
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    net = ParallelNet(weights, biases, alpha, -0.2, act, amplitudes=amps)
    assert net.depth == 4
    expected = parallel_reference(
        weights, biases, amps, alpha, -0.2, act, X, y, 1.3, loss, 0.8
    )
    got = training_objective(net, X, y, 1.3, loss=loss, quantile=0.8)
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["squared", "quantile"])
def test_standard_objective_matches_numpy(act, loss):
    rng = np.random.default_rng(2)
    sizes, n = (2, 4, 3), 7
    weights = [
        rng.normal(size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    biases = [rng.normal(size=b) for b in sizes[1:]]
    amps = [rng.normal(size=b) for b in sizes[1:]] if sign_determined(act) else None
    alpha = rng.normal(size=sizes[-1])
    X, y = rng.normal(size=(n, 2)), rng.normal(size=n)
    net = StandardNet(weights, biases, alpha, 0.5, act, amplitudes=amps)
    expected = standard_reference(
        weights, biases, amps, alpha, 0.5, act, X, y, 0.4, loss, 0.5
    )
    got = training_objective(net, X, y, 0.4, loss=loss)
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("act", CONTINUOUS)
@pytest.mark.parametrize("loss", ["squared", "quantile"])
def test_symmetrized_objective_matches_numpy(act, loss):
    rng = np.random.default_rng(3)
    m, n = 6, 10
    w1 = rng.choice([-1.0, 1.0], size=(m, 2)) * rng.uniform(0.1, 2, size=(m, 1))
    w2 = rng.choice([-1.0, 1.0], size=(m, 2)) * rng.uniform(0.1, 2, size=(m, 1))
    b1, b2 = rng.normal(size=(m, 2)), rng.normal(size=m)
    alpha = rng.normal(size=m)
    x, y = rng.normal(size=n), rng.normal(size=n)
    net = SymmetrizedNet(w1, b1, w2, b2, alpha, 0.1, act)
    pred = np.full(n, 0.1)
    pen = 0.0
    for i in range(m):
        h = sigma(act, np.outer(x, w1[i]) + b1[i])
        pred += alpha[i] * sigma(act, h @ w2[i] + b2[i])
        pen += (
            abs(alpha[i]) ** 3 + np.linalg.norm(w1[i]) ** 3 + np.linalg.norm(w2[i]) ** 3
        )
    expected = loss_sum(pred, y, loss, 0.2) + 0.9 / 3 * pen
    got = training_objective(net, x, y, 0.9, loss=loss, quantile=0.2)
    assert got == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(net.first_weights.detach().numpy(), w1, rtol=1e-15)
    np.testing.assert_allclose(
        net.weight_norms()[m:],
        np.concatenate([np.linalg.norm(w1, axis=1), np.linalg.norm(w2, axis=1)]),
        rtol=1e-14,
    )


# ------------------------------------------------------------- to_standard


def _random_nets(act):
    nets = [
        DeepNarrowNet.random(5, 3, act, random_state=0, input_index=[0, 1, 0, 2, 1]),
        DeepNarrowNet.random(4, 2, act, random_state=1),
        ParallelNet.random(4, (3, 2), n_inputs=3, activation=act, random_state=2),
        ParallelNet.random(3, (), n_inputs=1, activation=act, random_state=3),
    ]
    if act in CONTINUOUS:
        nets.append(
            SymmetrizedNet.random(5, act, random_state=4, input_index=[0, 2, 1, 1, 0])
        )
    if sign_determined(act):
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for net in nets:
                amps = net.amplitudes
                for s in [amps] if isinstance(amps, torch.Tensor) else amps:
                    s.copy_(torch.randn(s.shape, generator=gen, dtype=s.dtype))
    return nets


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_to_standard_has_identical_outputs(act):
    rng = np.random.default_rng(5)
    for net in _random_nets(act):
        X = rng.normal(size=(11, net.n_inputs))
        std = net.to_standard()
        assert isinstance(std, StandardNet)
        assert std.depth == net.depth
        np.testing.assert_allclose(std.predict(X), net.predict(X), rtol=0, atol=1e-13)
        # with L~ = 2 the per-unit and whole-matrix penalties coincide
        if net.effective_depth == 2:
            y = rng.normal(size=11)
            assert training_objective(std, X, y, 1.0) == pytest.approx(
                training_objective(net, X, y, 1.0), rel=1e-12
            )


def test_standard_to_standard_is_a_copy():
    net = StandardNet.random((1, 3, 2), "relu", random_state=0)
    other = net.to_standard()
    assert other is not net
    np.testing.assert_array_equal(other.predict([[0.3]]), net.predict([[0.3]]))


def test_additive_deep_narrow_is_sum_of_columns():
    net = DeepNarrowNet.random(
        6, 3, "abs", random_state=7, input_index=[0, 1, 0, 1, 1, 0]
    )
    X = np.random.default_rng(0).normal(size=(8, 2))
    idx = net.input_index.numpy()
    w, b = net.weights.detach().numpy(), net.biases.detach().numpy()
    alpha = net.alpha.detach().numpy()
    total = np.zeros(8)
    for k in range(2):
        part = DeepNarrowNet(
            w[idx == k], b[idx == k], alpha[idx == k], activation="abs"
        )
        total += part.predict(X[:, k])
    np.testing.assert_allclose(net.predict(X), total, atol=1e-14)


# -------------------------------------------- Appendix B.1 reconstructions


def test_two_layer_abs_reconstruction_b1():
    x_knots = np.array([-1.0, 0.5, 2.0])
    z = np.array([0.7, -1.9, 0.0])
    keep = z != 0
    g = np.sqrt(np.abs(z[keep]))
    net = DeepNarrowNet(
        g[:, None],
        (-x_knots[keep] * g)[:, None],
        np.sign(z[keep]) * g,
        xi=0.4,
        activation="abs",
    )
    x = np.linspace(-3, 4, 41)
    expected = (z[None, :] * np.abs(x[:, None] - x_knots)).sum(axis=1) + 0.4
    np.testing.assert_allclose(net.predict(x), expected, atol=1e-13)
    # the penalty (beta / 2) sum(alpha^2 + W^2) equals beta ||z||_1
    y = np.zeros_like(x)
    value = training_objective(net, x, y, beta=2.5)
    assert value == pytest.approx(
        0.5 * np.sum(expected**2) + 2.5 * np.abs(z).sum(), rel=1e-13
    )


def test_three_layer_abs_reconstruction_b1_exponents():
    """alpha = sign(z)|z|^(1/3), W1 = W2 = |z|^(1/3), b1 = -x_j1|z|^(1/3),
    b2 = -sigma(x_j2 - x_j1)|z|^(2/3) gives z sigma(sigma(x - x_j1) -
    sigma(x_j2 - x_j1)) with penalty beta |z| (Lasso beta~ = beta)."""
    j1 = np.array([2.0, 0.0, -1.0])
    j2 = np.array([0.0, 2.0, 1.5])
    z = np.array([1.3, -0.4, 2.2])
    g = np.abs(z) ** (1 / 3)
    weights = np.column_stack([g, g])
    biases = np.column_stack([-j1 * g, -np.abs(j2 - j1) * g**2])
    net = DeepNarrowNet(weights, biases, np.sign(z) * g, xi=-0.3, activation="abs")
    x = np.linspace(-4, 6, 101)
    feats = np.abs(np.abs(x[:, None] - j1) - np.abs(j2 - j1))
    expected = feats @ z - 0.3
    np.testing.assert_allclose(net.predict(x), expected, atol=1e-12)
    # the first unit has a breakpoint at the reflection R(0, 2) = 4
    first = DeepNarrowNet(weights[:1], biases[:1], [g[0]], activation="abs")
    left, mid, right = first.predict([3.99, 4.0, 4.01])
    assert (mid - left) / 0.01 == pytest.approx(-1.3, rel=1e-9)
    assert (right - mid) / 0.01 == pytest.approx(1.3, rel=1e-9)
    y = np.sin(x)
    value = training_objective(net, x, y, beta=0.8)
    lasso = 0.5 * np.sum((expected - y) ** 2) + 0.8 * np.abs(z).sum()
    assert value == pytest.approx(lasso, rel=1e-13)


def test_symmetrized_reconstruction_b1_penalty_is_two_beta_abs_z():
    """The symmetrized example of B.1, with the +/-1 signs of the deep library
    features inside the biases, reproduces z * feature; its penalty is
    2 beta |z|, so the matching Lasso has beta~ = 2 beta."""
    act = "relu"
    j1, j2, j3 = 0.0, 1.0, 3.0
    s4, s5, s6, s7 = 1.0, -1.0, -1.0, 1.0
    z = -0.6
    g = abs(2 * z) ** (1 / 3)
    c = s4 * sigma(act, s6 * (j3 - j1)) + s5 * sigma(act, s7 * (j3 - j2))
    r2 = np.sqrt(2.0)
    w1 = np.array([[s6, s7]]) * g / r2
    b1 = -np.array([[j1, j2]]) * w1
    w2 = np.array([[s4, s5]]) * g / r2
    b2 = np.array([-c * g**2 / 2])
    net = SymmetrizedNet(w1, b1, w2, b2, [np.sign(z) * g], xi=0.2, activation=act)
    x = np.linspace(-3, 6, 91)
    feature = sigma(
        act, s4 * sigma(act, s6 * (x - j1)) + s5 * sigma(act, s7 * (x - j2)) - c
    )
    np.testing.assert_allclose(net.predict(x), z * feature + 0.2, atol=1e-12)
    beta = 1.7
    assert beta / 3 * net.penalty().item() == pytest.approx(
        2 * beta * abs(z), rel=1e-13
    )


def test_symmetrized_unit_cheapest_scaling_costs_two_beta():
    """Over all scalings (a, b, c) of a unit with +/-1 directions representing
    coefficient z = a b c, the least penalty (1/3)(|sqrt2 a|^3 + |sqrt2 b|^3 +
    |c|^3) is 2 |z| (AM-GM), found here numerically."""
    z = 0.9

    def cost(v):
        a, b = np.exp(v)
        c = z / (a * b)
        return ((np.sqrt(2) * a) ** 3 + (np.sqrt(2) * b) ** 3 + abs(c) ** 3) / 3

    res = minimize(
        cost,
        x0=[0.3, -0.2],
        method="Nelder-Mead",
        options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 4000},
    )
    assert res.fun == pytest.approx(2 * z, rel=1e-8)


# ----------------------------------------------------------- the parameters


def test_symmetrized_constraint_is_kept_by_gradient_steps():
    net = SymmetrizedNet.random(4, "abs", random_state=0)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    X = torch.linspace(-1, 1, 9, dtype=torch.float64)
    for _ in range(3):
        opt.zero_grad()
        training_objective_torch(net, X, torch.sin(3 * X), beta=0.1).backward()
        opt.step()
    for w in (net.first_weights, net.second_weights):
        w = w.detach().numpy()
        np.testing.assert_array_equal(np.abs(w[:, 0]), np.abs(w[:, 1]))
    names = {name for name, _ in net.named_parameters()}
    assert {"first_scale", "second_scale"} <= names
    assert "first_signs" in dict(net.named_buffers())


def test_symmetrized_rejects_unequal_magnitudes():
    with pytest.raises(ValueError, match=r"\|first_weights\[i, 0\]\| == "):
        SymmetrizedNet([[1.0, 2.0]], [[0, 0]], [[1.0, 1.0]], [0.0], [1.0])
    with pytest.raises(ValueError, match="continuous piecewise linear"):
        SymmetrizedNet(
            [[1.0, 1.0]], [[0, 0]], [[1.0, 1.0]], [0.0], [1.0], activation="sign"
        )


def test_training_objective_torch_is_differentiable():
    net = DeepNarrowNet.random(3, 3, "leaky_relu", random_state=0)
    X = np.linspace(-1, 1, 7)
    y = X**2
    value = training_objective_torch(net, X, y, beta=0.5)
    value.backward()
    value = value.detach()
    assert value.dtype == torch.float64
    assert float(value) == pytest.approx(training_objective(net, X, y, 0.5))
    assert net.weights.grad is not None and torch.any(net.weights.grad != 0)
    # torch inputs give the same float
    assert training_objective(
        net, torch.as_tensor(X), torch.as_tensor(y), 0.5
    ) == pytest.approx(float(value), rel=1e-15)


def test_sign_gradients_only_reach_outer_parameters():
    net = DeepNarrowNet.random(3, 2, "sign", random_state=0)
    X = np.linspace(-1, 1, 7)
    training_objective_torch(net, X, X, beta=0.5).backward()
    assert torch.all(net.weights.grad == 0) and torch.all(net.biases.grad == 0)
    assert torch.any(net.alpha.grad != 0) and torch.any(net.amplitudes.grad != 0)


def test_effective_depth_per_activation():
    for act in ACTIVATIONS:
        net = DeepNarrowNet.random(2, 4, act, random_state=0)
        assert net.effective_depth == (2 if sign_determined(act) else 4)
        assert net.activation == get_activation(act)


def test_random_is_reproducible_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a = DeepNarrowNet.random(4, 3, "relu", random_state=11)
    b = DeepNarrowNet.random(4, 3, "relu", random_state=11)
    c = DeepNarrowNet.random(4, 3, "relu", random_state=12)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.weights, b.weights)
    assert not torch.equal(a.weights, c.weights)


def test_networks_are_float64():
    net = ParallelNet.random(2, (2,), activation="abs", random_state=0)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert net(np.zeros((3, 1), dtype=np.float32)).dtype == torch.float64


# ---------------------------------------------------------------- bad input


def test_bad_inputs_raise():
    net = DeepNarrowNet([[1.0]], [[0.0]], [1.0])
    with pytest.raises(ValueError, match="beta must be a finite number >= 0, got -1"):
        training_objective(net, [1.0], [1.0], beta=-1.0)
    with pytest.raises(ValueError, match=r"quantile must be in \(0, 1\), got 1.3"):
        training_objective(net, [1.0], [1.0], 1.0, loss="quantile", quantile=1.3)
    with pytest.raises(ValueError, match="loss must be one of"):
        training_objective(net, [1.0], [1.0], 1.0, loss="huber")
    with pytest.raises(ValueError, match="non-finite"):
        training_objective(net, [np.nan], [1.0], 1.0)
    with pytest.raises(ValueError, match="different numbers of samples: 2 and 1"):
        training_objective(net, [1.0, 2.0], [1.0], 1.0)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(n, 1\)"):
        net.predict(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="tsmirrors.nets network"):
        training_objective(torch.nn.Linear(1, 1), [1.0], [1.0], 1.0)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="amplitude parameters are only used"):
        DeepNarrowNet([[1.0]], [[0.0]], [1.0], activation="relu", amplitudes=[[2.0]])
    with pytest.raises(ValueError, match=r"biases must have shape \(1, 2\)"):
        DeepNarrowNet([[1.0, 1.0]], [[0.0]], [1.0])
    with pytest.raises(ValueError, match=r"input_index must have shape \(2,\)"):
        DeepNarrowNet([[1.0], [1.0]], [[0.0], [0.0]], [1.0, 1.0], input_index=[0])
    with pytest.raises(ValueError, match="one neuron"):
        ParallelNet([np.ones((2, 1, 3))], [np.zeros((2, 3))], [1.0, 1.0])
    with pytest.raises(ValueError, match="weights\\[1\\] has 2 rows"):
        StandardNet(
            [np.ones((1, 3)), np.ones((2, 1))], [np.zeros(3), np.zeros(1)], [1.0]
        )
    with pytest.raises(ValueError, match="alpha contains NaN"):
        DeepNarrowNet([[1.0]], [[0.0]], [np.nan])


def test_importing_tsmirrors_does_not_import_torch():
    code = (
        "import sys, tsmirrors, tsmirrors.metrics, tsmirrors.models.sgd, "
        "tsmirrors.models.baselines; "
        "bad = [m for m in ('torch', 'statsmodels') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
