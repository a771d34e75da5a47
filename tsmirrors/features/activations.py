"""Piecewise linear activations, as in (2.1) of the paper.

Every activation is ``sigma(x) = a_minus * x + b_minus`` for ``x < 0`` and
``a_plus * x + b_plus`` otherwise, so ``sign(0) = 1`` and ``threshold(0) = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "relu",
    "leaky_relu",
    "absolute",
    "sign",
    "threshold",
]


@dataclass(frozen=True)
class Activation:
    """A piecewise linear activation ``sigma`` (equation (2.1)).

    Parameters
    ----------
    name : str
        Canonical name (``"relu"``, ``"leaky_relu"``, ``"abs"``, ``"sign"``,
        ``"threshold"``).
    a_plus, a_minus : float
        Slopes for ``x >= 0`` and ``x < 0``.
    b_plus, b_minus : float
        Offsets for ``x >= 0`` and ``x < 0``.
    """

    name: str
    a_plus: float
    a_minus: float
    b_plus: float = 0.0
    b_minus: float = 0.0

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        if self.name == "relu":
            return np.maximum(x, 0.0)
        if self.name == "abs":
            return np.abs(x)
        return np.where(
            x < 0, self.a_minus * x + self.b_minus, self.a_plus * x + self.b_plus
        )

    def apply_(self, z: np.ndarray) -> np.ndarray:
        """Apply in place to a float64 array (no copy for relu and abs)."""
        if self.name == "relu":
            return np.maximum(z, 0.0, out=z)
        if self.name == "abs":
            return np.abs(z, out=z)
        z[...] = self(z)
        return z

    @property
    def is_continuous(self) -> bool:
        """True for ReLU, leaky ReLU and absolute value."""
        return self.b_plus == self.b_minus == 0.0

    @property
    def is_homogeneous(self) -> bool:
        """``sigma(a x) = a sigma(x)`` for ``a >= 0`` (Appendix D.1)."""
        return self.is_continuous

    @property
    def is_sign_determined(self) -> bool:
        """Value depends only on the sign of the input (sign, threshold)."""
        return self.a_plus == self.a_minus == 0.0

    @property
    def is_monotone(self) -> bool:
        """Nondecreasing everywhere (ReLU, leaky ReLU with slope >= 0)."""
        if self.is_sign_determined:
            return self.b_plus >= self.b_minus
        return self.a_plus >= 0 and self.a_minus >= 0

    @property
    def is_symmetric(self) -> bool:
        """Even or odd (abs, sign): first-layer weight -1 adds no new feature.

        Lemma D.15: for these activations the deep library is unchanged when
        the first-layer weight is restricted to +1.
        """
        if self.name == "sign":
            return True
        return self.is_continuous and self.a_minus == -self.a_plus

    def effective_depth(self, depth: int) -> int:
        """Effective regularized depth L~ of Section 1 / Remark D.1."""
        return 2 if self.is_sign_determined else int(depth)

    def normalized_midpoint(self, alpha, beta):
        """Normalized midpoint ``m_{alpha, beta}`` of (3.1).

        This is the bias ``b`` at which ``sigma(alpha + b) - sigma(beta + b)``
        changes sign (Lemma D.10). For ``abs`` it is ``-(alpha + beta) / 2``.
        """
        if self.a_plus == self.a_minus:
            raise ValueError(
                f"the normalized midpoint needs a_plus != a_minus, got "
                f"{self.a_plus} for activation {self.name!r}"
            )
        alpha = np.asarray(alpha, dtype=float)
        beta = np.asarray(beta, dtype=float)
        hi = np.maximum(alpha, beta)
        lo = np.minimum(alpha, beta)
        return -(self.a_plus * hi - self.a_minus * lo) / (self.a_plus - self.a_minus)

    def format(self, inner: str) -> str:
        """Readable name of ``sigma(inner)``."""
        if self.name == "abs":
            return f"|{inner}|"
        if self.name == "leaky_relu":
            return f"lrelu({inner})"
        if self.name == "threshold":
            return f"step({inner})"
        return f"{self.name}({inner})"

    def to_torch(self):
        """The same activation as a callable on torch tensors."""
        from .._optional import import_optional

        torch = import_optional("torch")
        a_p, a_m, b_p, b_m = self.a_plus, self.a_minus, self.b_plus, self.b_minus

        def _act(t):
            return torch.where(t < 0, a_m * t + b_m, a_p * t + b_p)

        return _act


relu = Activation("relu", 1.0, 0.0)
absolute = Activation("abs", 1.0, -1.0)
sign = Activation("sign", 0.0, 0.0, 1.0, -1.0)
threshold = Activation("threshold", 0.0, 0.0, 1.0, 0.0)


def leaky_relu(negative_slope: float = 0.01) -> Activation:
    """Leaky ReLU ``x`` for ``x >= 0`` and ``negative_slope * x`` otherwise."""
    negative_slope = float(negative_slope)
    if not np.isfinite(negative_slope) or negative_slope == 1.0:
        raise ValueError(
            "leaky_relu needs a finite negative_slope different from 1 "
            f"(a+ != a-), got {negative_slope}"
        )
    return Activation("leaky_relu", 1.0, negative_slope)


ACTIVATIONS = ("relu", "leaky_relu", "abs", "sign", "threshold")
_ALIASES = {
    "absolute": "abs",
    "absolute_value": "abs",
    "step": "threshold",
    "leaky": "leaky_relu",
    "lrelu": "leaky_relu",
}


def get_activation(activation, negative_slope: float = 0.01) -> Activation:
    """Return the :class:`Activation` named ``activation``.

    Parameters
    ----------
    activation : str or Activation
        One of ``"relu"``, ``"leaky_relu"``, ``"abs"``, ``"sign"``,
        ``"threshold"``, or an :class:`Activation` instance.
    negative_slope : float, default=0.01
        Slope of leaky ReLU for negative inputs.
    """
    if isinstance(activation, Activation):
        return activation
    if not isinstance(activation, str):
        raise TypeError(
            f"activation must be a string or an Activation, got {type(activation)!r}"
        )
    name = _ALIASES.get(activation.lower(), activation.lower())
    if name == "relu":
        return relu
    if name == "abs":
        return absolute
    if name == "sign":
        return sign
    if name == "threshold":
        return threshold
    if name == "leaky_relu":
        return leaky_relu(negative_slope)
    raise ValueError(
        f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}"
    )
