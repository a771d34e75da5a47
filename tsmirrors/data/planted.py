"""The planted autoregressive model of Section 4, equations (4.1)-(4.2)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PlantedNetwork", "PlantedSeries", "make_planted"]

_LIPSCHITZ = 0.9
_BREAKPOINT_QUANTILES = (0.1, 0.9)
_ALPHA_RANGE = (0.5, 1.0)
_START = pd.Timestamp("2017-01-01", tz="UTC")
_ACTIVATIONS = ("abs", "relu")


@dataclass(frozen=True)
class PlantedNetwork:
    """A 2-layer network ``f(x) = sum_i alpha_i * act(w_i * x + b_i)`` (4.2).

    Parameters
    ----------
    alpha : ndarray of shape (n_neurons,)
        Output weights.
    w : ndarray of shape (n_neurons,)
        Input weights (all ``+1`` or ``-1`` as planted).
    b : ndarray of shape (n_neurons,)
        Biases.
    activation : str
        ``"abs"`` or ``"relu"``.
    """

    alpha: np.ndarray
    w: np.ndarray
    b: np.ndarray
    activation: str

    @property
    def n_neurons(self) -> int:
        """Number of neurons ``m``."""
        return int(self.alpha.size)

    @property
    def breakpoints(self) -> np.ndarray:
        """Where each neuron bends, ``-b / w``, in neuron order."""
        return -self.b / self.w

    @property
    def lipschitz_bound(self) -> float:
        """``sum_i |alpha_i w_i|``, a Lipschitz constant of ``f`` (< 1 as planted)."""
        return float(np.sum(np.abs(self.alpha * self.w)))

    def __call__(self, x):
        """Evaluate ``f``; a scalar gives a float, an array an array of its shape."""
        from ..features.activations import get_activation

        act = get_activation(self.activation)
        arr = np.asarray(x, dtype=np.float64)
        out = act(np.multiply.outer(arr, self.w) + self.b) @ self.alpha
        return float(out) if arr.ndim == 0 else out


@dataclass(frozen=True)
class PlantedSeries:
    """A series drawn from the planted model and the network that drew it.

    Attributes
    ----------
    series : pandas.Series of length T + 1
        ``x_1, ..., x_{T+1}`` on an hourly UTC index from 2017-01-01 00:00,
        named ``"x"``.
    noise : ndarray of shape (T + 1,)
        The draws: ``noise[0] = x_1`` and ``noise[t] = x_{t+1} - f(x_t)``.
    network : PlantedNetwork
        The planted network ``f``.
    sigma2 : float
        Noise variance ``sigma^2``.
    """

    series: pd.Series
    noise: np.ndarray
    network: PlantedNetwork
    sigma2: float

    @property
    def values(self) -> np.ndarray:
        """The series as a float64 array of shape (T + 1,)."""
        return self.series.to_numpy(dtype=np.float64)

    @property
    def f(self) -> PlantedNetwork:
        """The planted map ``x_t -> E[x_{t+1} | x_t]``, callable."""
        return self.network

    @property
    def noise_std(self) -> float:
        """Noise standard deviation ``sigma``."""
        return float(np.sqrt(self.sigma2))


def _check_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _plant_network(n_neurons, sigma, activation, rng) -> PlantedNetwork:
    """Draw a contraction whose breakpoints lie where the series lives."""
    lo, hi = _BREAKPOINT_QUANTILES
    if n_neurons == 1:
        breakpoints = np.zeros(1)  # f(0) = 0: no drift away from the breakpoint
    else:
        from scipy.stats import norm  # scipy.stats takes ~1 s to import

        breakpoints = np.sort(sigma * norm.ppf(rng.uniform(lo, hi, n_neurons)))
    if activation == "abs":
        w = np.ones(n_neurons)  # |w x + b| = |w| |x + b / w|: the sign is moot
    else:
        w = rng.choice([-1.0, 1.0], size=n_neurons)
    b = -w * breakpoints
    magnitude = rng.uniform(*_ALPHA_RANGE, n_neurons)
    # Signs that keep f(0) = sum_i alpha_i act(b_i) small (greedy balancing,
    # largest contribution first), so the fixed point of f stays near 0.
    from ..features.activations import get_activation

    at_zero = get_activation(activation)(b) * magnitude
    signs = np.ones(n_neurons)
    total = 0.0
    for i in np.argsort(-np.abs(at_zero), kind="stable"):
        signs[i] = -1.0 if total > 0 else 1.0
        total += signs[i] * at_zero[i]
    alpha = signs * magnitude
    alpha *= _LIPSCHITZ / np.sum(np.abs(alpha * w))
    return PlantedNetwork(alpha=alpha, w=w, b=b, activation=activation)


def make_planted(
    T: int,
    n_neurons: int = 10,
    sigma2: float = 1.0,
    activation: str = "abs",
    random_state=None,
) -> PlantedSeries:
    """Draw a series from the planted autoregressive model of Section 4.

    ``x_1 ~ N(0, sigma2)`` and ``x_t = f(x_{t-1}) + eps_t`` with
    ``eps_t ~ N(0, sigma2)`` (4.1), where ``f`` is the 2-layer network
    ``f(x) = sum_i alpha_i act(w_i x + b_i)`` with ``n_neurons`` planted
    neurons (4.2). The series and the network are returned, so a fitted
    model can be checked against the truth.

    The planted parameters are drawn so that the series is stationary and
    the neurons matter:

    - breakpoints ``-b_i / w_i`` at random quantiles between 10% and 90% of
      ``N(0, sigma2)``, inside the range the series visits (one neuron: at 0);
    - ``|w_i| = 1`` (``w_i = 1`` for ``abs``, a random sign for ``relu``);
    - ``|alpha_i|`` uniform on ``[0.5, 1]`` before scaling, so no neuron is
      negligible, with signs chosen to keep ``f(0)`` near 0 (the series stays
      centred on the breakpoints), then scaled so that
      ``sum_i |alpha_i w_i| = 0.9``. That sum bounds the slope of ``f``, so
      ``f`` is a contraction and the series is geometrically ergodic.

    Parameters
    ----------
    T : int
        Number of transitions; the series has ``T + 1`` points
        ``x_1, ..., x_{T+1}`` (the paper uses ``T = 1000``).
    n_neurons : int, default=10
        Number of planted neurons ``p``.
    sigma2 : float, default=1.0
        Noise variance ``sigma^2`` (the paper uses 1 and 0.01). Breakpoints
        scale with ``sigma``.
    activation : {"abs", "relu"}, default="abs"
        Activation of the planted network; ``"abs"`` is (4.2).
    random_state : int, RandomState instance or None, default=None
        Seed or generator for the network and the noise, through
        ``sklearn.utils.check_random_state``: an int gives reproducible
        output, None draws from numpy's global generator. No seed is ever
        set.

    Returns
    -------
    planted : PlantedSeries
        ``planted.series`` (pandas Series on an hourly UTC index from
        2017-01-01), ``planted.values`` (ndarray), ``planted.noise``,
        ``planted.network`` (``alpha``, ``w``, ``b``, ``breakpoints``),
        ``planted.f`` (callable) and ``planted.sigma2``.

    Raises
    ------
    ValueError
        If ``T`` or ``n_neurons`` is not an integer >= 1, ``sigma2`` is not a
        finite positive number, or ``activation`` is not ``"abs"`` or
        ``"relu"``.

    Examples
    --------
    >>> from tsmirrors.data import make_planted
    >>> planted = make_planted(1000, n_neurons=5, random_state=0)
    >>> planted.series.shape
    (1001,)
    >>> x = planted.values
    >>> bool(abs(x[1] - planted.f(x[0]) - planted.noise[1]) < 1e-12)
    True
    """
    T = _check_int(T, "T")
    n_neurons = _check_int(n_neurons, "n_neurons")
    if isinstance(sigma2, bool) or not isinstance(sigma2, numbers.Real):
        raise ValueError(f"sigma2 must be a positive number, got {sigma2!r}")
    sigma2 = float(sigma2)
    if not np.isfinite(sigma2) or sigma2 <= 0:
        raise ValueError(f"sigma2 must be a finite number > 0, got {sigma2}")
    if not isinstance(activation, str) or activation not in _ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {', '.join(map(repr, _ACTIVATIONS))}, "
            f"got {activation!r}"
        )
    from sklearn.utils import check_random_state  # sklearn: ~1 s to import

    rng = check_random_state(random_state)
    sigma = np.sqrt(sigma2)
    network = _plant_network(n_neurons, sigma, activation, rng)
    noise = rng.normal(0.0, sigma, size=T + 1)

    alpha, w, b = network.alpha, network.w, network.b
    relu = activation == "relu"
    x = np.empty(T + 1)
    x[0] = noise[0]
    for t in range(1, T + 1):
        z = w * x[t - 1] + b
        hidden = np.maximum(z, 0.0) if relu else np.abs(z)
        x[t] = hidden @ alpha + noise[t]
    index = pd.date_range(_START, periods=T + 1, freq="h", name="timestamp", unit="ns")
    series = pd.Series(x, index=index, name="x")
    return PlantedSeries(series=series, noise=noise, network=network, sigma2=sigma2)
