"""The planted model of Section 4: (4.1) x_t = f(x_{t-1}) + eps_t, (4.2) f."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from tsmirrors.data import PlantedNetwork, PlantedSeries, make_planted
from tsmirrors.data.planted import _LIPSCHITZ


@pytest.mark.parametrize("activation", ["abs", "relu"])
@pytest.mark.parametrize("n_neurons", [1, 2, 10])
def test_series_follows_the_planted_recursion(activation, n_neurons):
    planted = make_planted(
        500, n_neurons=n_neurons, sigma2=0.5, activation=activation, random_state=3
    )
    x = planted.values
    assert x.shape == (501,)
    # x_1 is the first draw; after it, x_t - f(x_{t-1}) is exactly the noise.
    assert x[0] == planted.noise[0]
    np.testing.assert_allclose(x[1:] - planted.f(x[:-1]), planted.noise[1:], atol=1e-12)
    # f written out from (4.2) with the stored parameters.
    net = planted.network
    act = np.abs if activation == "abs" else (lambda z: np.maximum(z, 0.0))
    by_hand = act(np.outer(x, net.w) + net.b) @ net.alpha
    np.testing.assert_allclose(net(x), by_hand, rtol=1e-12, atol=1e-12)
    assert isinstance(net(0.3), float)
    assert net.n_neurons == n_neurons


def test_result_shapes_and_index():
    planted = make_planted(1000, random_state=0)
    assert isinstance(planted, PlantedSeries)
    assert isinstance(planted.network, PlantedNetwork)
    series = planted.series
    assert isinstance(series, pd.Series) and series.name == "x"
    assert len(series) == 1001
    assert series.index[0] == pd.Timestamp("2017-01-01", tz="UTC")
    assert series.index.freq == "h" and series.index.name == "timestamp"
    np.testing.assert_array_equal(planted.values, series.to_numpy())
    assert planted.noise.shape == (1001,)
    assert planted.sigma2 == 1.0 and planted.noise_std == 1.0
    net = planted.network
    assert net.alpha.shape == net.w.shape == net.b.shape == (10,)
    np.testing.assert_array_equal(net.breakpoints, -net.b / net.w)


def test_reproducible_from_random_state():
    a = make_planted(300, n_neurons=4, activation="relu", random_state=42)
    b = make_planted(300, n_neurons=4, activation="relu", random_state=42)
    c = make_planted(300, n_neurons=4, activation="relu", random_state=43)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.network.alpha, b.network.alpha)
    assert not np.array_equal(a.values, c.values)
    rng = np.random.RandomState(42)
    d = make_planted(300, n_neurons=4, activation="relu", random_state=rng)
    np.testing.assert_array_equal(a.values, d.values)


def test_global_random_state_is_never_seeded():
    # The legacy global generator is what "global seeds" means here.
    before = np.random.get_state()  # noqa: NPY002
    make_planted(100, random_state=7)
    make_planted(100, random_state=np.random.RandomState(0))
    after = np.random.get_state()  # noqa: NPY002
    np.testing.assert_array_equal(after[1], before[1])
    assert after[2] == before[2]
    # None draws from numpy's global generator (scikit-learn's convention)
    # without reseeding it, so two calls differ.
    a, b = make_planted(50, random_state=None), make_planted(50, random_state=None)
    assert not np.array_equal(a.values, b.values)


@pytest.mark.parametrize("activation", ["abs", "relu"])
@pytest.mark.parametrize("seed", range(5))
def test_planted_network_is_a_contraction_with_breakpoints_in_range(activation, seed):
    sigma2 = 4.0
    planted = make_planted(
        2000, n_neurons=10, sigma2=sigma2, activation=activation, random_state=seed
    )
    net = planted.network
    assert net.lipschitz_bound == pytest.approx(_LIPSCHITZ)
    assert np.all(np.abs(net.w) == 1.0)
    assert np.all(np.abs(net.alpha) > 0.2 * _LIPSCHITZ / net.n_neurons)
    sigma = np.sqrt(sigma2)
    lo, hi = sigma * norm.ppf([0.1, 0.9])
    assert np.all((net.breakpoints >= lo) & (net.breakpoints <= hi))
    # No neuron is idle: the series visits both sides of every breakpoint.
    x = planted.values
    for c in net.breakpoints:
        share = np.mean(x < c)
        assert 0.02 < share < 0.98
    # Slopes of f stay below 1 in absolute value (so the series is stationary).
    grid = np.linspace(x.min() - 5, x.max() + 5, 4001)
    slopes = np.diff(net(grid)) / np.diff(grid)
    assert np.max(np.abs(slopes)) <= _LIPSCHITZ + 1e-9


def test_long_series_stays_stationary():
    planted = make_planted(50_000, n_neurons=10, random_state=1)
    x = planted.values
    halves = np.split(x[1:], 2)
    assert abs(halves[0].mean() - halves[1].mean()) < 0.1
    assert 1.0 <= x.std() < 3.0
    assert np.abs(x).max() < 10.0


def test_single_neuron_bends_at_zero():
    planted = make_planted(200, n_neurons=1, random_state=0)
    np.testing.assert_array_equal(planted.network.breakpoints, [0.0])
    assert planted.f(0.0) == 0.0


def test_noise_scale_follows_sigma2():
    planted = make_planted(20_000, sigma2=0.01, random_state=0)
    assert planted.noise[1:].std() == pytest.approx(0.1, rel=0.03)
    assert planted.noise_std == pytest.approx(0.1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(T=0), "T must be an integer >= 1, got 0"),
        (dict(T=10.5), "T must be an integer >= 1, got 10.5"),
        (dict(T=10, n_neurons=0), "n_neurons must be an integer >= 1, got 0"),
        (dict(T=10, sigma2=0.0), "sigma2 must be a finite number > 0, got 0.0"),
        (dict(T=10, sigma2=float("nan")), "sigma2 must be a finite number > 0"),
        (dict(T=10, sigma2="1"), "sigma2 must be a positive number, got '1'"),
        (
            dict(T=10, activation="sign"),
            "activation must be one of 'abs', 'relu', got 'sign'",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.")):
        make_planted(**kwargs)
