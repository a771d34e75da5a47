"""The deep narrow and the symmetrized networks of Section 2 as float64 torch modules.

* :class:`DeepNarrowNet`: a parallel network with one neuron per hidden layer.
* :class:`SymmetrizedNet`: the 3-layer symmetrized network, two neurons in
  the first hidden layer whose weights share one magnitude, and a second
  layer weight vector whose two entries share one magnitude.

Both convert to an equivalent :class:`~tsmirrors.nets.StandardNet` with
``to_standard()``; see :mod:`tsmirrors.nets.architectures` for the
conventions (amplitudes, ``penalty()``) shared by every network.
"""

from __future__ import annotations

import numpy as np

from ._base import (
    DTYPE,
    MirrorNet,
    as_parameter,
    check_amplitudes_unused,
    check_input_index,
    make_generator,
    resolve_activation,
    torch,
    uniform,
)
from .architectures import StandardNet, _scalar_parameter

__all__ = ["DeepNarrowNet", "SymmetrizedNet"]


class DeepNarrowNet(MirrorNet):
    """Deep narrow network: parallel units with one neuron per hidden layer.

    Unit ``i`` computes ``h = x[input_index[i]]`` and, for ``l = 1..L-1``,
    ``h = s_{i,l} * sigma(w_{i,l} h + b_{i,l})``; the output is
    ``f(x) = xi + sum_i alpha_i h_i``. With several input columns this is
    the additive network ``f(x) = sum_k f_k(x_k)`` (plus ``xi``).

    Parameters
    ----------
    weights : array-like of shape (m, L-1)
        ``weights[i, l-1] = W^(i,l)``; a 1-D array means depth 2.
    biases : array-like of shape (m, L-1)
    alpha : array-like of shape (m,)
    xi : float, default=0.0
    activation : str or Activation, default="relu"
    amplitudes : array-like of shape (m, L-1), optional
        ``s_{i,l}``, sign and threshold only; default ones.
    input_index : array-like of int of shape (m,), optional
        Input column read by each unit; default all column 0.
    n_inputs : int, optional
        Number of input columns; default ``max(input_index) + 1``.
    negative_slope : float, default=0.01

    Notes
    -----
    ``theta_w`` holds every ``alpha_i`` and every scalar ``w_{i,l}``, so the
    penalty is ``sum_i (|alpha_i|^L + sum_l |w_{i,l}|^L)`` for ReLU, leaky
    ReLU and abs. For sign and threshold it is
    ``sum_i (alpha_i^2 + s_{i,L-1}^2)`` (``L~ = 2``, Lemma D.3).

    Examples
    --------
    >>> net = DeepNarrowNet([[1.0, 1.0]], [[-1.0, -2.0]], [1.0], activation="abs")
    >>> net.predict([5.0]).tolist()  # ||5 - 1| - 2|
    [2.0]
    """

    architecture = "deep_narrow"

    def __init__(
        self,
        weights,
        biases,
        alpha,
        xi: float = 0.0,
        activation="relu",
        amplitudes=None,
        input_index=None,
        n_inputs: int | None = None,
        negative_slope: float = 0.01,
    ):
        act = resolve_activation(activation, negative_slope)
        w = as_parameter(weights, "weights")
        if w.ndim == 1:
            w = torch.nn.Parameter(w.detach().reshape(-1, 1))
        if w.ndim != 2 or w.shape[1] < 1:
            raise ValueError(
                f"weights must have shape (n_units, depth - 1), got {tuple(w.shape)}"
            )
        n_units, n_layers = w.shape
        b = as_parameter(biases, "biases")
        if b.ndim == 1 and n_layers == 1:
            b = torch.nn.Parameter(b.detach().reshape(-1, 1))
        if tuple(b.shape) != (n_units, n_layers):
            raise ValueError(
                f"biases must have shape {(n_units, n_layers)}, got {tuple(b.shape)}"
            )
        idx, n_inputs = check_input_index(input_index, n_units, n_inputs)
        super().__init__(act, depth=n_layers + 1, n_inputs=n_inputs)
        self.weights = w
        self.biases = b
        if act.is_sign_determined:
            if amplitudes is None:
                amplitudes = np.ones((n_units, n_layers))
            amps = np.asarray(amplitudes, dtype=np.float64)
            if amps.ndim == 1 and n_layers == 1:
                amps = amps.reshape(-1, 1)
            self.amplitudes = as_parameter(amps, "amplitudes", (n_units, n_layers))
        else:
            check_amplitudes_unused(act, amplitudes)
            self.amplitudes = None
        self.alpha = as_parameter(alpha, "alpha", (n_units,))
        self.xi = _scalar_parameter(xi, "xi")
        self.register_buffer("input_index", torch.as_tensor(idx, dtype=torch.long))

    @property
    def n_units(self) -> int:
        return self.alpha.shape[0]

    @classmethod
    def random(
        cls,
        n_units: int,
        depth: int,
        activation="relu",
        random_state=None,
        input_index=None,
        n_inputs: int | None = None,
        negative_slope: float = 0.01,
    ) -> DeepNarrowNet:
        """Random deep narrow network, PyTorch's default ``Linear`` scales.

        Hidden weights and biases are ``U(-1, 1)`` (fan-in 1) and ``alpha`` is
        ``U(-1/sqrt(m), 1/sqrt(m))``; ``xi = 0``.

        Parameters
        ----------
        n_units : int
            Number of parallel units ``m``.
        depth : int
            ``L >= 2``.
        random_state : None, int, numpy or torch generator
            Seeds a local ``torch.Generator``.
        """
        n_units, depth = int(n_units), int(depth)
        if n_units < 1 or depth < 2:
            raise ValueError(
                f"need n_units >= 1 and depth >= 2, got {n_units} and {depth}"
            )
        gen = make_generator(random_state)
        w = uniform((n_units, depth - 1), 1.0, gen)
        b = uniform((n_units, depth - 1), 1.0, gen)
        alpha = uniform((n_units,), 1.0 / np.sqrt(n_units), gen)
        return cls(w, b, alpha, 0.0, activation, input_index=input_index,
                   n_inputs=n_inputs, negative_slope=negative_slope)

    def forward(self, X):
        h = self._as_input(X)[:, self.input_index]
        for layer in range(self.depth - 1):
            h = self._act(h * self.weights[:, layer] + self.biases[:, layer])
            if self.amplitudes is not None:
                h = h * self.amplitudes[:, layer]
        return self.xi + h @ self.alpha

    def squared_weight_norms(self):
        if self.activation.is_sign_determined:
            last = self.amplitudes[:, -1].pow(2)
        else:
            last = self.weights.pow(2).reshape(-1)
        return torch.cat([self.alpha.pow(2), last])

    def to_standard(self) -> StandardNet:
        """Equivalent standard network (Appendix A.1), diagonal inner weights."""
        with torch.no_grad():
            m = self.n_units
            first = torch.zeros((self.n_inputs, m), dtype=DTYPE)
            first[self.input_index, torch.arange(m)] = self.weights[:, 0]
            weights = [first] + [
                torch.diag(self.weights[:, layer]) for layer in range(1, self.depth - 1)
            ]
            biases = [self.biases[:, layer].clone() for layer in range(self.depth - 1)]
            amps = None
            if self.amplitudes is not None:
                amps = [self.amplitudes[:, layer].clone()
                        for layer in range(self.depth - 1)]
            return StandardNet(
                weights, biases, self.alpha.clone(), self.xi.clone(),
                self.activation, amplitudes=amps,
            )


def _split_symmetric(values, name: str, n_units: int):
    """Signs and the common magnitude of rows with ``|v_1| = |v_2|``."""
    arr = np.asarray(
        values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else values,
        dtype=np.float64,
    )
    if arr.shape != (n_units, 2):
        raise ValueError(f"{name} must have shape ({n_units}, 2), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    mag = np.abs(arr)
    bad = ~np.isclose(mag[:, 0], mag[:, 1], rtol=1e-9, atol=0.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"a symmetrized network needs |{name}[i, 0]| == |{name}[i, 1]| for "
            f"every unit; unit {i} has {arr[i].tolist()}"
        )
    signs = np.where(np.signbit(arr), -1.0, 1.0)
    return signs, mag.mean(axis=1)


class SymmetrizedNet(MirrorNet):
    """3-layer symmetrized network (Section 3).

    Unit ``i`` computes ``h_k = sigma(W1[i, k] x + b1[i, k])`` for ``k = 1, 2``
    and ``out_i = sigma(W2[i, 1] h_1 + W2[i, 2] h_2 + b2[i])``; the output is
    ``f(x) = xi + sum_i alpha_i out_i``.

    Parameters
    ----------
    first_weights : array-like of shape (m, 2)
        ``W^(i,1)``; each row's entries must have equal magnitude.
    first_biases : array-like of shape (m, 2)
    second_weights : array-like of shape (m, 2)
        ``W^(i,2)``; each row's entries must have equal magnitude.
    second_biases : array-like of shape (m,)
    alpha : array-like of shape (m,)
    xi : float, default=0.0
    activation : {"relu", "leaky_relu", "abs"} or Activation, default="relu"
        The architecture is defined for continuous piecewise linear
        activations only.
    input_index : array-like of int of shape (m,), optional
        Input column read by each unit (additive nets); default column 0.
    n_inputs : int, optional
    negative_slope : float, default=0.01

    Notes
    -----
    The constraint ``|W_1^(i,l)| = |W_2^(i,l)|`` of the parameter space is
    built into the parameterization: ``W^(i,1) = first_signs[i] *
    first_scale[i]`` and ``W^(i,2) = second_signs[i] * second_scale[i]``,
    where the signs (entries +1 or -1, fixed at construction) are buffers
    and the scales are the trainable parameters. Gradient steps therefore
    never leave the constrained set; a scale that crosses zero flips both
    entries together. ``theta_w`` holds the 2-vectors ``W^(i,1)`` and
    ``W^(i,2)`` (norm ``sqrt(2) |scale|``) and each ``alpha_i``; ``L~ = 3``.
    """

    architecture = "symmetrized"

    def __init__(
        self,
        first_weights,
        first_biases,
        second_weights,
        second_biases,
        alpha,
        xi: float = 0.0,
        activation="relu",
        input_index=None,
        n_inputs: int | None = None,
        negative_slope: float = 0.01,
    ):
        act = resolve_activation(activation, negative_slope)
        if not act.is_continuous:
            raise ValueError(
                "the symmetrized network is defined for continuous piecewise "
                "linear activations ('relu', 'leaky_relu', 'abs'), got "
                f"{act.name!r}"
            )
        alpha_p = as_parameter(alpha, "alpha")
        if alpha_p.ndim != 1:
            raise ValueError(f"alpha must be 1-D, got shape {tuple(alpha_p.shape)}")
        n_units = alpha_p.shape[0]
        s1, m1 = _split_symmetric(first_weights, "first_weights", n_units)
        s2, m2 = _split_symmetric(second_weights, "second_weights", n_units)
        idx, n_inputs = check_input_index(input_index, n_units, n_inputs)
        super().__init__(act, depth=3, n_inputs=n_inputs)
        self.register_buffer("first_signs", torch.tensor(s1, dtype=DTYPE))
        self.register_buffer("second_signs", torch.tensor(s2, dtype=DTYPE))
        self.first_scale = as_parameter(m1, "first_scale")
        self.second_scale = as_parameter(m2, "second_scale")
        self.first_biases = as_parameter(first_biases, "first_biases", (n_units, 2))
        self.second_biases = as_parameter(second_biases, "second_biases", (n_units,))
        self.alpha = alpha_p
        self.xi = _scalar_parameter(xi, "xi")
        self.register_buffer("input_index", torch.as_tensor(idx, dtype=torch.long))

    @property
    def n_units(self) -> int:
        return self.alpha.shape[0]

    @property
    def first_weights(self):
        """``W^(i,1)`` as an (m, 2) tensor."""
        return self.first_signs * self.first_scale[:, None]

    @property
    def second_weights(self):
        """``W^(i,2)`` as an (m, 2) tensor."""
        return self.second_signs * self.second_scale[:, None]

    @classmethod
    def random(
        cls,
        n_units: int,
        activation="relu",
        random_state=None,
        input_index=None,
        n_inputs: int | None = None,
        negative_slope: float = 0.01,
    ) -> SymmetrizedNet:
        """Random symmetrized network: random signs, PyTorch-like scales.

        First-layer scales and biases are ``U(0, 1)`` and ``U(-1, 1)``
        (fan-in 1); second-layer ones ``U(0, 1/sqrt(2))`` and
        ``U(-1/sqrt(2), 1/sqrt(2))`` (fan-in 2); ``alpha`` is
        ``U(-1/sqrt(m), 1/sqrt(m))``; ``xi = 0``.
        """
        n_units = int(n_units)
        if n_units < 1:
            raise ValueError(f"n_units must be >= 1, got {n_units}")
        gen = make_generator(random_state)
        r2 = 1.0 / np.sqrt(2.0)

        def signs():
            return torch.where(
                torch.rand((n_units, 2), generator=gen, dtype=DTYPE) < 0.5, -1.0, 1.0
            )

        w1 = signs() * torch.rand((n_units, 1), generator=gen, dtype=DTYPE)
        b1 = uniform((n_units, 2), 1.0, gen)
        w2 = signs() * r2 * torch.rand((n_units, 1), generator=gen, dtype=DTYPE)
        b2 = uniform((n_units,), r2, gen)
        alpha = uniform((n_units,), 1.0 / np.sqrt(n_units), gen)
        return cls(w1, b1, w2, b2, alpha, 0.0, activation, input_index=input_index,
                   n_inputs=n_inputs, negative_slope=negative_slope)

    def forward(self, X):
        x = self._as_input(X)[:, self.input_index]
        w1, w2, b1 = self.first_weights, self.second_weights, self.first_biases
        h0 = self._act(x * w1[:, 0] + b1[:, 0])
        h1 = self._act(x * w1[:, 1] + b1[:, 1])
        out = self._act(h0 * w2[:, 0] + h1 * w2[:, 1] + self.second_biases)
        return self.xi + out @ self.alpha

    def squared_weight_norms(self):
        return torch.cat(
            [
                self.alpha.pow(2),
                2.0 * self.first_scale.pow(2),
                2.0 * self.second_scale.pow(2),
            ]
        )

    def to_standard(self) -> StandardNet:
        """Equivalent standard network (Appendix A.1): widths ``2m`` then ``m``."""
        with torch.no_grad():
            m = self.n_units
            units = torch.arange(m)
            w1, w2 = self.first_weights, self.second_weights
            first = torch.zeros((self.n_inputs, 2 * m), dtype=DTYPE)
            first[self.input_index, 2 * units] = w1[:, 0]
            first[self.input_index, 2 * units + 1] = w1[:, 1]
            second = torch.zeros((2 * m, m), dtype=DTYPE)
            second[2 * units, units] = w2[:, 0]
            second[2 * units + 1, units] = w2[:, 1]
            return StandardNet(
                [first, second],
                [self.first_biases.reshape(-1).clone(), self.second_biases.clone()],
                self.alpha.clone(),
                self.xi.clone(),
                self.activation,
            )
