"""The network architectures of Section 2 as float64 torch modules.

* :class:`StandardNet` (2.2): ``X^(l+1) = sigma_{s^(l)}(X^(l) W^(l) + b^(l))``,
  ``f(x) = xi + X^(L) alpha``.
* :class:`ParallelNet` (2.3): ``m_L`` parallel units, each a standard network
  whose last hidden layer has one neuron, ``f(x) = xi + sum_i alpha_i X^(i,L)(x)``.
* :class:`DeepNarrowNet` and :class:`SymmetrizedNet` are defined in
  :mod:`tsmirrors.nets.deep` and re-exported here.

Amplitude parameters ``s`` (Section 2) exist only for the sign and threshold
activations; for ReLU, leaky ReLU and absolute value they read as 1 and are
not stored. Every network has ``penalty()``, the sum over its regularized
set ``theta_w`` of ``||q||_2^{L~}``, used by
:func:`tsmirrors.nets.training_objective`.
"""

from __future__ import annotations

import copy

import numpy as np

from ._base import (
    MirrorNet,
    as_parameter,
    check_amplitudes_unused,
    make_generator,
    resolve_activation,
    torch,
    uniform,
)

__all__ = ["StandardNet", "ParallelNet", "DeepNarrowNet", "SymmetrizedNet"]


def _as_list(values, name: str) -> list:
    if isinstance(values, (np.ndarray, torch.Tensor)) or not hasattr(
        values, "__len__"
    ):
        raise ValueError(f"{name} must be a list with one array per layer")
    return list(values)


def _scalar_parameter(value, name: str):
    arr = np.asarray(
        value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value,
        dtype=np.float64,
    )
    if arr.size != 1:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return as_parameter(arr.reshape(()), name)


class StandardNet(MirrorNet):
    """Standard network (2.2) with explicit weights.

    Parameters
    ----------
    weights : list of array-like, length L-1
        ``weights[l]`` is ``W^(l+1)`` of shape ``(m_{l+1}, m_{l+2})`` (0-based
        list, 1-based paper), with ``m_1 = d`` the input dimension.
    biases : list of array-like, length L-1
        ``biases[l]`` of shape ``(m_{l+2},)``.
    alpha : array-like of shape (m_L,)
        Final layer coefficients.
    xi : float, default=0.0
        External bias.
    activation : str or Activation, default="relu"
    amplitudes : list of array-like, optional
        Amplitudes ``s^(l)`` (same shapes as ``biases``), sign and threshold
        only; default all ones.
    negative_slope : float, default=0.01
        Leaky ReLU slope when ``activation="leaky_relu"``.

    Notes
    -----
    The regularized set is ``theta_w = {alpha, W^(l), s^(l)}`` (Section 2.1).
    Each matrix ``W^(l)`` is one element ``q`` with ``||q||_2`` its Frobenius
    norm, and ``alpha`` is one element with its Euclidean norm. For sign and
    threshold only ``alpha`` and the last amplitude vector ``s^(L-1)`` are
    regularized, with ``L~ = 2`` (Remark D.1, Lemma D.3).

    Examples
    --------
    >>> net = StandardNet([[[1.0, -1.0]]], [[0.0, 1.0]], [1.0, 2.0], activation="relu")
    >>> net.predict([[2.0]]).tolist()
    [2.0]
    """

    architecture = "standard"

    def __init__(
        self,
        weights,
        biases,
        alpha,
        xi: float = 0.0,
        activation="relu",
        amplitudes=None,
        negative_slope: float = 0.01,
    ):
        act = resolve_activation(activation, negative_slope)
        weights = _as_list(weights, "weights")
        biases = _as_list(biases, "biases")
        if len(weights) < 1:
            raise ValueError("a standard network needs at least one weight matrix")
        if len(biases) != len(weights):
            raise ValueError(
                f"biases must have one array per layer ({len(weights)}), got "
                f"{len(biases)}"
            )
        w_params = []
        for layer, w in enumerate(weights):
            arr = np.asarray(
                w.detach().cpu().numpy() if isinstance(w, torch.Tensor) else w,
                dtype=np.float64,
            )
            if arr.ndim != 2:
                raise ValueError(
                    f"weights[{layer}] must be 2-D, got shape {arr.shape}"
                )
            if w_params and arr.shape[0] != w_params[-1].shape[1]:
                raise ValueError(
                    f"weights[{layer}] has {arr.shape[0]} rows but the previous "
                    f"layer has {w_params[-1].shape[1]} neurons"
                )
            w_params.append(as_parameter(arr, f"weights[{layer}]"))
        sizes = [w_params[0].shape[0]] + [w.shape[1] for w in w_params]
        super().__init__(act, depth=len(w_params) + 1, n_inputs=sizes[0])
        self.weights = torch.nn.ParameterList(w_params)
        self.biases = torch.nn.ParameterList(
            [
                as_parameter(b, f"biases[{layer}]", (sizes[layer + 1],))
                for layer, b in enumerate(biases)
            ]
        )
        if act.is_sign_determined:
            if amplitudes is None:
                amplitudes = [np.ones(m) for m in sizes[1:]]
            amplitudes = _as_list(amplitudes, "amplitudes")
            if len(amplitudes) != len(w_params):
                raise ValueError(
                    f"amplitudes must have one array per layer ({len(w_params)}), "
                    f"got {len(amplitudes)}"
                )
            self.amplitudes = torch.nn.ParameterList(
                [
                    as_parameter(s, f"amplitudes[{layer}]", (sizes[layer + 1],))
                    for layer, s in enumerate(amplitudes)
                ]
            )
        else:
            check_amplitudes_unused(act, amplitudes)
            self.amplitudes = None
        self.alpha = as_parameter(alpha, "alpha", (sizes[-1],))
        self.xi = _scalar_parameter(xi, "xi")

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """``(m_1 = d, m_2, ..., m_L)``."""
        return (self.weights[0].shape[0],) + tuple(w.shape[1] for w in self.weights)

    @classmethod
    def random(
        cls,
        layer_sizes,
        activation="relu",
        random_state=None,
        negative_slope: float = 0.01,
    ) -> StandardNet:
        """Random network with PyTorch's default ``Linear`` initialization.

        Parameters
        ----------
        layer_sizes : sequence of int
            ``(d, m_2, ..., m_L)``; the depth is ``len(layer_sizes)``.
        random_state : None, int, numpy or torch generator
            Seeds a local ``torch.Generator``.
        """
        sizes = [int(m) for m in layer_sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(
                f"layer_sizes must hold at least 2 positive sizes, got {layer_sizes}"
            )
        gen = make_generator(random_state)
        weights, biases = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1.0 / np.sqrt(fan_in)
            weights.append(uniform((fan_in, fan_out), bound, gen))
            biases.append(uniform((fan_out,), bound, gen))
        alpha = uniform((sizes[-1],), 1.0 / np.sqrt(sizes[-1]), gen)
        return cls(weights, biases, alpha, 0.0, activation,
                   negative_slope=negative_slope)

    def forward(self, X):
        h = self._as_input(X)
        for layer, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = self._act(h @ w + b)
            if self.amplitudes is not None:
                h = h * self.amplitudes[layer]
        return self.xi + h @ self.alpha

    def squared_weight_norms(self):
        terms = [self.alpha.pow(2).sum()]
        if self.activation.is_sign_determined:
            terms.append(self.amplitudes[-1].pow(2).sum())
        else:
            terms.extend(w.pow(2).sum() for w in self.weights)
        return torch.stack(terms)

    def to_standard(self) -> StandardNet:
        """A copy of this network."""
        return copy.deepcopy(self)


class ParallelNet(MirrorNet):
    """Parallel network (2.3): ``f(x) = xi + sum_i alpha_i X^(i,L)(x)``.

    Parameters
    ----------
    weights : list of array-like, length L-1
        ``weights[l]`` has shape ``(m_L, m_l, m_{l+1})`` (0-based list): unit
        ``i``'s weight ``W^(i,l+1)``, with ``m_0 = d`` and ``m_{L-1} = 1``, so
        the last array has shape ``(m_L, m_{L-2}, 1)``.
    biases : list of array-like, length L-1
        ``biases[l]`` of shape ``(m_L, m_{l+1})``.
    alpha : array-like of shape (m_L,)
    xi : float, default=0.0
    activation : str or Activation, default="relu"
    amplitudes : list of array-like, optional
        Amplitudes ``s^(i,l)`` (same shapes as ``biases``), sign and threshold
        only; default all ones.
    negative_slope : float, default=0.01

    Notes
    -----
    ``theta_w`` is the disjoint union over units of
    ``{alpha_i, W^(i,l), s^(i,l)}`` (Section 2.2): every ``W^(i,l)`` is its
    own element ``q`` (Frobenius norm), as is every ``alpha_i``. For sign and
    threshold, only ``alpha_i`` and ``s^(i,L-1)`` are regularized, ``L~ = 2``.
    """

    architecture = "parallel"

    def __init__(
        self,
        weights,
        biases,
        alpha,
        xi: float = 0.0,
        activation="relu",
        amplitudes=None,
        negative_slope: float = 0.01,
    ):
        act = resolve_activation(activation, negative_slope)
        weights = _as_list(weights, "weights")
        biases = _as_list(biases, "biases")
        if len(weights) < 1:
            raise ValueError("a parallel network needs at least one weight array")
        if len(biases) != len(weights):
            raise ValueError(
                f"biases must have one array per layer ({len(weights)}), got "
                f"{len(biases)}"
            )
        w_params = []
        for layer, w in enumerate(weights):
            p = as_parameter(w, f"weights[{layer}]")
            if p.ndim != 3:
                raise ValueError(
                    f"weights[{layer}] must have shape (n_units, fan_in, fan_out), "
                    f"got {tuple(p.shape)}"
                )
            if w_params and (
                p.shape[0] != w_params[0].shape[0]
                or p.shape[1] != w_params[-1].shape[2]
            ):
                raise ValueError(
                    f"weights[{layer}] has shape {tuple(p.shape)}, incompatible "
                    f"with the previous layer's {tuple(w_params[-1].shape)}"
                )
            w_params.append(p)
        if w_params[-1].shape[2] != 1:
            raise ValueError(
                "the last hidden layer of a parallel unit has one neuron "
                f"(m_(L-1) = 1), got {w_params[-1].shape[2]}"
            )
        n_units = w_params[0].shape[0]
        super().__init__(act, depth=len(w_params) + 1, n_inputs=w_params[0].shape[1])
        self.weights = torch.nn.ParameterList(w_params)
        widths = [w.shape[2] for w in w_params]
        self.biases = torch.nn.ParameterList(
            [
                as_parameter(b, f"biases[{layer}]", (n_units, widths[layer]))
                for layer, b in enumerate(biases)
            ]
        )
        if act.is_sign_determined:
            if amplitudes is None:
                amplitudes = [np.ones((n_units, m)) for m in widths]
            amplitudes = _as_list(amplitudes, "amplitudes")
            if len(amplitudes) != len(w_params):
                raise ValueError(
                    f"amplitudes must have one array per layer ({len(w_params)}), "
                    f"got {len(amplitudes)}"
                )
            self.amplitudes = torch.nn.ParameterList(
                [
                    as_parameter(s, f"amplitudes[{layer}]", (n_units, widths[layer]))
                    for layer, s in enumerate(amplitudes)
                ]
            )
        else:
            check_amplitudes_unused(act, amplitudes)
            self.amplitudes = None
        self.alpha = as_parameter(alpha, "alpha", (n_units,))
        self.xi = _scalar_parameter(xi, "xi")

    @property
    def n_units(self) -> int:
        return self.alpha.shape[0]

    @classmethod
    def random(
        cls,
        n_units: int,
        hidden_sizes=(),
        n_inputs: int = 1,
        activation="relu",
        random_state=None,
        negative_slope: float = 0.01,
    ) -> ParallelNet:
        """Random parallel network with units of widths ``(d, *hidden_sizes, 1)``.

        The depth is ``len(hidden_sizes) + 2``. Weights and biases follow
        PyTorch's default ``Linear`` initialization per unit.
        """
        widths = [int(n_inputs), *[int(m) for m in hidden_sizes], 1]
        if int(n_units) < 1 or min(widths) < 1:
            raise ValueError(
                f"n_units, n_inputs and hidden_sizes must be positive, got "
                f"{n_units}, {n_inputs}, {hidden_sizes}"
            )
        gen = make_generator(random_state)
        weights, biases = [], []
        for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
            bound = 1.0 / np.sqrt(fan_in)
            weights.append(uniform((n_units, fan_in, fan_out), bound, gen))
            biases.append(uniform((n_units, fan_out), bound, gen))
        alpha = uniform((n_units,), 1.0 / np.sqrt(n_units), gen)
        return cls(weights, biases, alpha, 0.0, activation,
                   negative_slope=negative_slope)

    def forward(self, X):
        h = self._as_input(X)  # (n, d), broadcast to (units, n, width) below
        for layer, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = self._act(torch.matmul(h, w) + b[:, None, :])
            if self.amplitudes is not None:
                h = h * self.amplitudes[layer][:, None, :]
        return self.xi + h[:, :, 0].T @ self.alpha

    def squared_weight_norms(self):
        terms = [self.alpha.pow(2)]
        if self.activation.is_sign_determined:
            terms.append(self.amplitudes[-1].pow(2).sum(dim=1))
        else:
            terms.extend(w.pow(2).sum(dim=(1, 2)) for w in self.weights)
        return torch.cat(terms)

    def to_standard(self) -> StandardNet:
        """Equivalent standard network (Appendix A.1), block-diagonal weights."""
        with torch.no_grad():
            first = self.weights[0]
            weights = [first.permute(1, 0, 2).reshape(first.shape[1], -1).clone()]
            weights += [torch.block_diag(*w) for w in list(self.weights)[1:]]
            biases = [b.reshape(-1).clone() for b in self.biases]
            amps = None
            if self.amplitudes is not None:
                amps = [s.reshape(-1).clone() for s in self.amplitudes]
            return StandardNet(
                weights, biases, self.alpha.clone(), self.xi.clone(),
                self.activation, amplitudes=amps,
            )


# DeepNarrowNet and SymmetrizedNet live in .deep, which imports StandardNet
# from here; re-exported at the end, once StandardNet is defined.
from .deep import DeepNarrowNet, SymmetrizedNet  # noqa: E402
