"""Shared pieces of the torch networks: the base class, activations, randomness."""

from __future__ import annotations

import numbers

import numpy as np

from .._optional import import_optional
from ..features.activations import Activation, get_activation

torch = import_optional("torch")

__all__ = ["MirrorNet", "ARCHITECTURES"]

ARCHITECTURES = ("standard", "parallel", "deep_narrow", "symmetrized")

DTYPE = torch.float64


def apply_activation(act: Activation, t):
    """``sigma(t)`` of (2.1) on a tensor, written with the activation's slopes.

    Sign and threshold get a zero gradient everywhere (their slopes are 0).
    """
    return torch.where(
        t < 0, act.a_minus * t + act.b_minus, act.a_plus * t + act.b_plus
    )


def resolve_activation(activation, negative_slope: float) -> Activation:
    return get_activation(activation, negative_slope=negative_slope)


def as_parameter(values, name: str, shape: tuple | None = None):
    """A float64 ``torch.nn.Parameter`` from an array, checked for shape and NaN."""
    if isinstance(values, torch.Tensor):
        arr = values.detach().cpu().to(DTYPE).numpy()
    else:
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name} must be numeric, got {type(values).__name__}"
            ) from exc
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return torch.nn.Parameter(torch.tensor(arr, dtype=DTYPE))


def check_amplitudes_unused(act: Activation, amplitudes) -> None:
    """Amplitudes exist only for sign and threshold (Section 2); others read 1."""
    if amplitudes is None:
        return
    if isinstance(amplitudes, (list, tuple)):
        flat = [np.asarray(a, dtype=np.float64).ravel() for a in amplitudes]
        flat = np.concatenate(flat) if flat else np.zeros(0)
    else:
        flat = np.asarray(amplitudes, dtype=np.float64).ravel()
    if not np.all(flat == 1.0):
        raise ValueError(
            "amplitude parameters are only used with the sign and threshold "
            f"activations (they read as 1 otherwise), got activation "
            f"{act.name!r} with amplitudes different from 1"
        )


def make_generator(random_state):
    """A local ``torch.Generator`` from ``random_state``; global seeds are untouched.

    ``random_state`` may be None (fresh entropy), an int, a
    ``numpy.random.RandomState``/``numpy.random.Generator`` (one seed is
    drawn from it) or a ``torch.Generator`` (used as is).
    """
    if isinstance(random_state, torch.Generator):
        return random_state
    gen = torch.Generator()
    if random_state is None:
        seed = int(np.random.default_rng().integers(2**62))
    elif isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, bool
    ):
        seed = int(random_state)
        if seed < 0:
            raise ValueError(f"random_state must be >= 0, got {seed}")
    elif isinstance(random_state, np.random.RandomState):
        seed = int(random_state.randint(np.iinfo(np.int32).max))
    elif isinstance(random_state, np.random.Generator):
        seed = int(random_state.integers(2**62))
    else:
        raise ValueError(
            "random_state must be None, an int, a numpy RandomState/Generator "
            f"or a torch.Generator, got {random_state!r}"
        )
    gen.manual_seed(seed)
    return gen


def uniform(shape, bound: float, generator):
    """``U(-bound, bound)`` samples in float64, as PyTorch's default Linear init."""
    u = torch.rand(shape, generator=generator, dtype=DTYPE)
    return (2.0 * u - 1.0) * bound


def check_input_index(input_index, n_units: int, n_inputs) -> tuple[np.ndarray, int]:
    if input_index is None:
        idx = np.zeros(n_units, dtype=np.int64)
    else:
        raw = np.asarray(input_index)
        if raw.shape != (n_units,):
            raise ValueError(
                f"input_index must have shape ({n_units},), got {raw.shape}"
            )
        if raw.size and not np.issubdtype(raw.dtype, np.integer):
            raise ValueError(
                f"input_index must hold integers, got dtype {raw.dtype}"
            )
        idx = raw.astype(np.int64)
        if idx.size and idx.min() < 0:
            raise ValueError(f"input_index must be >= 0, got {idx.min()}")
    needed = int(idx.max()) + 1 if idx.size else 1
    if n_inputs is None:
        n_inputs = needed
    elif isinstance(n_inputs, bool) or not isinstance(n_inputs, numbers.Integral):
        raise ValueError(f"n_inputs must be a positive integer, got {n_inputs!r}")
    elif n_inputs < needed:
        raise ValueError(
            f"n_inputs={n_inputs} is too small for input_index up to {needed - 1}"
        )
    return idx, int(n_inputs)


class MirrorNet(torch.nn.Module):
    """Base class of the float64 networks of Section 2.

    Subclasses define ``forward``, ``squared_weight_norms`` (the squared
    norms ``||q||_2^2`` of every element ``q`` of the regularized set
    ``theta_w``) and ``to_standard``.
    """

    architecture: str = ""

    def __init__(self, activation: Activation, depth: int, n_inputs: int):
        super().__init__()
        self.activation = activation
        self.depth = int(depth)
        self.n_inputs = int(n_inputs)

    @property
    def effective_depth(self) -> int:
        """``L~``: the depth for ReLU/leaky ReLU/abs, 2 for sign/threshold."""
        return self.activation.effective_depth(self.depth)

    def _act(self, t):
        return apply_activation(self.activation, t)

    def _as_input(self, X):
        """Inputs as a float64 tensor of shape (n, n_inputs)."""
        if isinstance(X, torch.Tensor):
            t = X.to(DTYPE)
        else:
            arr = np.asarray(X, dtype=np.float64)
            if not arr.flags.writeable:
                arr = arr.copy()  # torch cannot wrap read-only memory
            t = torch.as_tensor(arr, dtype=DTYPE)
        if t.ndim == 1:
            t = t.reshape(-1, 1)
        if t.ndim != 2 or t.shape[1] != self.n_inputs:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape (n, {self.n_inputs})"
                f"{' or (n,)' if self.n_inputs == 1 else ''}, got {tuple(t.shape)}"
            )
        return t

    def squared_weight_norms(self):
        """1-D tensor of ``||q||_2^2`` for every ``q`` in ``theta_w``."""
        raise NotImplementedError

    def weight_norms(self) -> np.ndarray:
        """``||q||_2`` for every ``q`` in ``theta_w``, as a numpy array."""
        with torch.no_grad():
            return torch.sqrt(self.squared_weight_norms()).cpu().numpy()

    def penalty(self):
        """``||theta_w||^{L~} = sum_q ||q||_2^{L~}`` as a differentiable tensor."""
        sq = self.squared_weight_norms()
        power = self.effective_depth / 2.0
        if power == 1.0:
            return sq.sum()
        return sq.pow(power).sum()

    def predict(self, X) -> np.ndarray:
        """Network output at ``X`` as a numpy array of shape (n,)."""
        with torch.no_grad():
            return self(X).cpu().numpy()

    def to_standard(self):
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            f"activation={self.activation.name!r}, depth={self.depth}, "
            f"n_inputs={self.n_inputs}"
        )
